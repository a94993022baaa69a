"""DUT.toml: what a user writes to point the kit at a controller, and the errors a bad one gets."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emmc_card.configtools import ConfigError
from sdhci.kit.dut import DutDescription, builtin_dut, load_dut, rtl_sources


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "rtl").mkdir(exist_ok=True)
    (tmp_path / "rtl" / "a.sv").write_text("module a; endmodule\n")
    (tmp_path / "rtl" / "b.sv").write_text("module b; endmodule\n")
    path = tmp_path / "DUT.toml"
    path.write_text(text)
    return path


def test_minimal_description_takes_the_defaults(tmp_path: Path) -> None:
    desc = load_dut(write(tmp_path, 'toplevel = "a"\nsources = ["rtl/*.sv"]\n'))
    assert desc.sources == [str(tmp_path / "rtl" / "a.sv"), str(tmp_path / "rtl" / "b.sv")]
    assert (desc.simulator, desc.clock.name, desc.clock.period_ps, desc.reset.active_low) == ("icarus", "clk", 20_000, True)
    assert (desc.bus.kind, desc.bus.prefix, desc.sd.width) == ("axi4-lite", "s_axil", 8)
    assert desc.sd.pin_map()["dat_i"] == "dat_i"
    assert desc.dma.prefix == ""                       # no DMA master unless described


def test_full_description(tmp_path: Path) -> None:
    desc = load_dut(write(tmp_path, '''
toplevel = "a"
sources = ["rtl/a.sv"]
includes = ["rtl"]
defines = { FOO = 1 }
simulator = "verilator"
[clock]
name = "pclk"
mhz = 100
[reset]
name = "presetn"
active_low = true
[bus]
kind = "apb"
prefix = "s_apb"
spacing_clocks = 2
[sd]
prefix = "sd"
width = 4
pins = { dat_i = "sd_dat_in" }
[dma]
prefix = "m_axi"
'''))
    assert desc.clock.period_ps == 10_000 and desc.bus.spacing_clocks == 2 and desc.dma.prefix == "m_axi"
    assert desc.sd.pin_map() == {"sdclk": "sd_sdclk", "cmd_o": "sd_cmd_o", "cmd_oe": "sd_cmd_oe", "cmd_i": "sd_cmd_i",
                                 "dat_o": "sd_dat_o", "dat_oe": "sd_dat_oe", "dat_i": "sd_dat_in"}
    # the description crosses into the simulator as a dict and comes back the same
    assert DutDescription.from_dict(desc.as_dict()) == desc


@pytest.mark.parametrize("text, key", [
    ('sources = ["rtl/a.sv"]\n', "toplevel"),
    ('toplevel = "a"\n', "sources"),
    ('toplevel = "a"\nsources = ["rtl/nothing*.sv"]\n', "sources[0]"),
    ('toplevel = "a"\nsources = ["rtl/missing.sv"]\n', "sources[0]"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\nsimulator = "vcs"\n', "simulator"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[sd]\nwidth = 2\n', "sd.width"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[sd]\npins = { dat = "x" }\n', "sd.pins"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[bus]\nkind = "wishbone"\n', "bus.kind"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[clock]\nmhz = 0\n', "clock.mhz"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[bus]\npause = [1, 0]\n', "bus.pause"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[dma]\nprefix = "m axi"\n', "dma.prefix"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\n[dma]\nwidth = 64\n', "dma.width"),
    ('toplevel = "a"\nsources = ["rtl/a.sv"]\ncolour = "red"\n', "colour"),
])
def test_bad_description_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_dut(write(tmp_path, text))
    assert err.value.key == key


def test_cli_refuses_a_bad_description_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'toplevel = "a"\nsources = ["rtl/a.sv"]\n[sd]\nwidth = 2\n')
    done = subprocess.run([sys.executable, "-m", "sdhci.cli", "rtl", "compare", "--dut", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "sdhci-emu: error: configuration: sd.width: must be 1, 4 or 8 DAT lines, not 2"


def test_builtin_duts_use_the_packaged_rtl() -> None:
    top, apb = builtin_dut("sdhci-top"), builtin_dut("sdhci-apb-top")
    assert top.toplevel == "sdhci_top" and top.bus.kind == "axi4-lite"
    assert apb.toplevel == "sdhci_apb_top" and apb.bus.kind == "apb" and apb.bus.prefix == "s_apb"
    assert top.dma.prefix == apb.dma.prefix == "m_axi"
    names = {Path(s).name for s in top.sources}
    assert {"sdhci_top.v", "sdhci_apb_top.v", "sdhci_dat.v"} <= names and names == {p.name for p in rtl_sources()}


def test_the_cli_never_loads_cocotb_for_the_emulator() -> None:
    code = ("import sys; from sdhci.cli import main; main(['config']); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('cocotb', 'cocotb_tools', 'numpy')], "
            "sorted(m for m in sys.modules if m.startswith(('cocotb', 'numpy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_emmc_card_is_simulator_free() -> None:
    code = ("import sys, emmc_card, emmc_card.card, emmc_card.crc, emmc_card.bus; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('cocotb', 'numpy')]")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    root = Path(__file__).resolve().parents[1] / "emmc_card"
    assert not [p.name for p in root.glob("*.py") if "cocotb" in p.read_text() or "numpy" in p.read_text()]


@pytest.mark.parametrize("args, message", [
    (["panic-write", "--controller", "nothere.toml"],
     "configuration: controller_preset: cannot read preset file nothere.toml: No such file or directory"),
    (["panic-write", "--controller", "bad.toml"], "configuration: controller_preset: bad.toml has no [controller] table"),
    (["rtl", "compare", "--controller", "bad.toml"], "argument --controller: bad.toml has no [controller] table"),
    (["rtl", "compare", "--busy-onset-r1b", "3"], "argument --busy-onset-r1b: must lie in 0..2 cells"),
    (["rtl", "compare", "--define", "1X"], "argument --define: '1X' is not NAME or NAME=VALUE"),
    (["rtl", "compare", "--sim", "vcs"], "argument --sim: invalid choice: 'vcs' (choose from 'icarus', 'verilator')"),
])
def test_bad_kit_arguments_get_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.toml").write_text("x = 1\n")
    done = subprocess.run([sys.executable, "-m", "sdhci.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == f"sdhci-emu: error: {message}"
    assert not (tmp_path / "sim_build").exists()


def test_bfm_timing_stays_within_the_limits() -> None:
    from sdhci.kit.bfm import BfmTiming
    assert BfmTiming(busy_onset_r1b_cells=2).busy_onset_r1b_cells == 2
    with pytest.raises(ValueError, match="busy_onset_crc_status_cells must lie in 0..2"):
        BfmTiming(busy_onset_crc_status_cells=3)
