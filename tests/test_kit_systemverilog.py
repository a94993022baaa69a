"""A user's controller in SystemVerilog, described only by a DUT.toml, verified on Verilator; and a design
that does not build is one line naming the compiler's first error, exit status 2 (not a traceback).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DUT_TOML = """\
toplevel = "board_sdhci"
sources = ["{wrapper}", "{rtl}/*.v"]
includes = ["{rtl}"]
simulator = "verilator"
[clock]
name = "pclk"
mhz = 50
[reset]
name = "presetn"
[bus]
kind = "apb"
prefix = "s_apb"
[sd]
width = 4
pins = {{ sdclk = "sd_clk", cmd_o = "sd_cmd_out", cmd_oe = "sd_cmd_en", cmd_i = "sd_cmd_in", dat_o = "sd_dat_out", dat_oe = "sd_dat_en", dat_i = "sd_dat_in" }}
"""


def _rtl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sdhci.cli", "rtl", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=900)


def _describe(tmp_path: Path, wrapper: Path) -> None:
    (tmp_path / "DUT.toml").write_text(DUT_TOML.format(wrapper=wrapper, rtl=REPO / "rtl_model"))


def test_systemverilog_dut_on_verilator_is_calibrated_then_agrees(tmp_path: Path) -> None:
    _describe(tmp_path, REPO / "tests" / "kit_duts" / "board_sdhci.sv")
    first = _rtl(tmp_path, "compare", "--dut", "DUT.toml", "--transfer", "pio", "--json")
    result = json.loads(first.stdout)
    # Uncalibrated: the wrapper's APB access (4 clk) and the defaults' latencies differ, nothing else does,
    # and the diagnosis says how to fit them.
    assert first.returncode == 1 and result["image_identical"] and result["commands_identical"]
    assert result["bus_width"] == 4 and result["latencies_from"] == "defaults (uncalibrated)"
    assert {p["kind"] for p in result["phases"] if not p["ok"]} == {"latency"}
    assert any("sdhci-emu rtl calibrate" in line for line in result["diagnosis"])
    calibrated = _rtl(tmp_path, "calibrate", "--dut", "DUT.toml", "--transfer", "pio", "--output", "board.toml")
    assert calibrated.returncode == 0, calibrated.stdout + calibrated.stderr[-2000:]
    second = _rtl(tmp_path, "compare", "--dut", "DUT.toml", "--transfer", "pio", "--controller", "board.toml",
                  "--json")
    result = json.loads(second.stdout)
    assert second.returncode == 0 and result["passed"] and result["diagnosis"] == []
    data = {p["phase"]: p for p in result["phases"]}["data"]
    assert data["rtl_mean_cycles"] == 1 + 1024 + 16 + 1        # a 512-byte block on 4 lines: 2 nibbles a byte


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_a_design_that_does_not_build_is_one_line_naming_the_error(tmp_path: Path, simulator: str) -> None:
    broken = tmp_path / "board_sdhci.sv"
    broken.write_text((REPO / "tests" / "kit_duts" / "board_sdhci.sv").read_text().replace(
        "sd_dat_out = dat.o[3:0];", "sd_dat_out = no_such_signal;"))
    _describe(tmp_path, broken)
    done = _rtl(tmp_path, "compare", "--dut", "DUT.toml", "--sim", simulator, "--transfer", "pio")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"sdhci-emu: error: rtl compare: the {simulator} build of board_sdhci-")
    assert "board_sdhci.sv:" in done.stderr and "(the whole log in " in done.stderr
