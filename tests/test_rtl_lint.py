"""rtl_model static checks: Verilator lint clean, Icarus compiles, the register
header is the current rendering of sdhci.regmap (synthesis: make -C rtl_model synth)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RTL = ROOT / "rtl_model"
SOURCES = ["sdhci_top.v", "sdhci_apb_top.v", "sdhci_axil.v", "sdhci_regs.v", "sdhci_clkdiv.v", "sdhci_cmd.v",
           "sdhci_dat.v", "sdhci_dma.v", "sdhci_axi_master.v"]


def run(cmd: list[str], cwd: Path = RTL) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_sources_are_the_whole_design() -> None:
    # The cocotb kit compiles every rtl_model/*.v: nothing else may live there.
    assert sorted(p.name for p in RTL.glob("*.v")) == sorted(SOURCES)


@pytest.mark.parametrize("top", ["sdhci_top", "sdhci_apb_top"])
def test_verilator_lint_clean(top: str) -> None:
    result = run(["verilator", "--lint-only", "-Wall", "--top-module", top, *SOURCES])
    assert result.returncode == 0, result.stderr
    assert "%Warning" not in result.stderr and "%Error" not in result.stderr


@pytest.mark.parametrize("top", ["sdhci_top", "sdhci_apb_top"])
def test_iverilog_compiles(tmp_path: Path, top: str) -> None:
    result = run(["iverilog", "-g2012", "-Wall", "-s", top, "-o", str(tmp_path / "top.vvp"), *SOURCES])
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


def test_bad_base_clock_parameter_is_refused(tmp_path: Path) -> None:
    # 64 MHz does not fit the 6-bit timeout clock field of Capabilities.
    result = run(["iverilog", "-g2012", "-P", "sdhci_top.BASE_CLK_MHZ=64", "-s", "sdhci_top",
                  "-o", str(tmp_path / "bad.vvp"), *SOURCES])
    assert result.returncode != 0
    assert "BASE_CLK_MHZ_must_be_1_to_63" in result.stdout + result.stderr


def test_regmap_header_matches_sdhci_regmap() -> None:
    result = run([sys.executable, "rtl_model/gen_regmap.py", "--check"], cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_capabilities_follow_base_clock() -> None:
    from rtl_model.gen_regmap import rtl_capabilities
    # 50 MHz: timeout clock 50 (0x32) in MHz (bit 7), base clock 0x32 in 15:8,
    # 8-bit (18), ADMA2 (19), high speed (21), SDMA (22), 3.3 V (24), embedded slot (31:30 = 01).
    assert rtl_capabilities(50) == (0x32 | 0x80 | 0x3200 | 1 << 18 | 1 << 19 | 1 << 21 | 1 << 22 | 1 << 24
                                    | 1 << 30) == 0x416C32B2
    with pytest.raises(ValueError, match="1..63"):
        rtl_capabilities(64)
