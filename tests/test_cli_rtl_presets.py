"""The sdhci_top calibration as presets: `--controller sdhci-top --platform cocotb-axil`."""
from __future__ import annotations

import json

from rtl_model.gen_regmap import rtl_capabilities
from sdhci import regmap as rm
from sdhci.cli import main
from sdhci.controller import SdhciController, controller_preset
from sdhci.memory import HostMemory


def test_panic_write_on_sdhci_top_presets(capsys) -> None:
    assert main(["panic-write", "--json", "--controller", "sdhci-top", "--platform", "cocotb-axil",
                 "--sd-clock", "52000000"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["transfer"] == "adma2"            # v3.00 with ADMA2 advertised: sdhci.c's choice
    assert r["bus_width"] == 8 and r["ddr"] is False
    # 50 MHz base, 52 MHz asked: the v3 divider's first step below the base is
    # 50 / (2 * 1) = 25 MHz, so 50 MHz means N = 0 (base clock undivided).
    assert r["sd_clock_hz"] == 50_000_000
    assert r["sectors"] == 128 and [c["index"] for c in r["commands"]] == [25, 12]
    # Each block on an 8-bit bus: start bit + 512 data cells (4096 bits / 8 lines)
    # + 16 CRC16 cells + end bit = 530 SD clocks of 20 000 ps (50 MHz), 128 blocks.
    assert r["phases_ps"]["data"] == 128 * (1 + 512 + 16 + 1) * 20_000 == 1_356_800_000


def test_sdhci_top_preset_reports_the_rtl_capabilities() -> None:
    ctl = SdhciController(controller_preset("sdhci-top"), None, HostMemory())
    # rtl_model/gen_regmap.py: sdhci_top's Capabilities HWInit value at BASE_CLK_MHZ = 50.
    assert ctl.read(0x40, 32, 0) == rtl_capabilities(50) == 0x416C32B2
    assert ctl.read(0xFE, 16, 0) & 0xFF == rm.SDHCI_SPEC_300


def test_a_calibrated_preset_file_gives_controller_and_platform(tmp_path, capsys) -> None:
    # The two tables `sdhci-emu rtl calibrate` writes: [controller] for --controller FILE.toml,
    # [platform] (the register costs measured on the DUT's bus) for --platform FILE.toml.
    (tmp_path / "my.toml").write_text('[controller]\nversion = 2\n[controller.latencies]\ncommand_issue_cycles = 4\n'
                                      '[platform]\nname = "measured"\nmmio_read_ps = 80000\nmmio_write_ps = 80000\n')
    preset = str(tmp_path / "my.toml")
    assert main(["config", "--controller", preset, "--platform", preset]) == 0
    out = capsys.readouterr().out
    assert 'name = "measured"' in out and "mmio_read_ps = 80000" in out and "command_issue_cycles = 4" in out
    (tmp_path / "bad.toml").write_text("[controller]\nversion = 2\n")
    assert main(["panic-write", "--platform", str(tmp_path / "bad.toml")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"sdhci-emu: error: configuration: platform_preset: {tmp_path / 'bad.toml'} has no [platform] table"
