"""`sdhci-emu rtl compare --json` on the project's controller: both register buses, both simulators,
and each injected defect named as a controller defect with its wire evidence.

One simulation per test (a whole Linux bring-up and a 64 KiB panic write, 15-40 s each), run
from a scratch directory: the kit writes its builds where it is run, never beside its own files.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


def rtl_compare(tmp_path: Path, *args: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "sdhci.cli", "rtl", "compare", "--json", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert done.stdout, done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


# sdhci-top on Icarus by auto (ADMA2) is tests/test_kit_wheel.py's run (from the installed
# wheel); make sim's bench_kit_rtl compares it by PIO, bench_dma_rtl by SDMA and ADMA2 too.
# Each DMA mode once on Icarus, auto on Verilator.
@pytest.mark.parametrize("dut, sim, transfer", [("sdhci-apb-top", "icarus", "adma2"), ("sdhci-top", "icarus", "sdma"),
                                                ("sdhci-top", "verilator", "auto"),
                                                ("sdhci-apb-top", "verilator", "auto")])
def test_clean_controller_agrees_with_the_model(tmp_path: Path, dut: str, sim: str, transfer: str) -> None:
    code, result = rtl_compare(tmp_path, "--dut", dut, "--sim", sim, "--transfer", transfer)
    assert code == 0 and result["passed"], result["diagnosis"]
    assert (result["dut"], result["simulator"], result["transfer_requested"]) == (dut, sim, transfer)
    # auto: sdhci.c picks ADMA2 on a v3.00 host that advertises it (Capabilities bit 19)
    assert result["transfer"] == ("adma2" if transfer == "auto" else transfer)
    assert result["image_identical"] and result["commands_identical"] and result["diagnosis"] == []
    # the model was built from what the DUT reported: sdhci_top's v3.00 Capabilities at 50 MHz
    assert result["identity"] == {"spec_version": 2, "vendor_version": 0, "capabilities": "0x416C32B2",
                                  "capabilities_1": "0x00000000"}
    phases = {p["phase"]: p for p in result["phases"]}
    framing = {p for p, row in phases.items() if row["kind"] == "framing"}
    assert framing == {"command", "response", "data", "CRC status"}
    for name in framing:
        assert phases[name]["worst_deviation_cycles"] == 0 and phases[name]["tolerance_cycles"] == 0
    assert phases["data"]["samples"] == 128 and phases["data"]["rtl_mean_cycles"] == 530
    assert all(row["ok"] for row in result["phases"])
    # By DMA the controller fetches each block itself, so a block cannot go out before the
    # 128-beat burst that fills the buffer: at least 128 clk = 128 SD clocks at N = 0 after the
    # previous block's end (PIO, with the data already written: ~0.5).
    assert phases["data issue"]["rtl_mean_cycles"] > 2
    assert (tmp_path / "sim_build").is_dir()          # built where it was run


# Each defect under the default transfer (ADMA2, sdhci.c's choice), but the stale Buffer Data Port
# word by PIO: only PIO reads the Buffer Data Port.
def test_a_dma_mode_without_a_described_master_is_refused(tmp_path: Path) -> None:
    # sdhci_top described without its [dma] table: the kit cannot give its master host memory,
    # so ADMA2 (what sdhci.c would choose) cannot run; said at once, before any bring-up.
    rtl = Path(__file__).resolve().parents[1] / "rtl_model"
    (tmp_path / "DUT.toml").write_text(f'toplevel = "sdhci_top"\nsources = ["{rtl}/*.v"]\nincludes = ["{rtl}"]\n')
    code, result = rtl_compare(tmp_path, "--dut", "DUT.toml")
    assert code == 1 and not result["passed"] and result["phases"] == []
    assert result["error"] == ("the driver would move data by adma2 (sdhci.c's choice from its Capabilities), but "
                               "the DUT description names no DMA master: add [dma] prefix = \"...\" to DUT.toml, "
                               "or run with --transfer pio")


DEFECTS = {
    "SDHCI_DEFECT_R2_CRC7": ("controller reported Command CRC Error on CMD2", "auto"),
    "SDHCI_DEFECT_R1B_BUSY_WINDOW": ("Transfer Complete at", "auto"),
    "SDHCI_DEFECT_EARLY_XFER_COMPLETE": ("Transfer Complete at", "auto"),
    "SDHCI_DEFECT_STALE_BUFFER_READ": ("Buffer Data Port read returned", "pio"),
}


@pytest.mark.parametrize("define", DEFECTS)
def test_injected_defect_is_diagnosed(tmp_path: Path, define: str) -> None:
    expected, transfer = DEFECTS[define]
    code, result = rtl_compare(tmp_path, "--define", define, "--transfer", transfer)
    assert code == 1 and not result["passed"]
    found = [m for m in result["diagnosis"] if m.startswith(expected)]
    assert found, result["diagnosis"]
    assert found[0].endswith("controller defect")


def test_a_dut_described_only_by_a_dut_toml_is_calibrated_then_agrees(tmp_path: Path) -> None:
    # The APB top as a user would describe their own controller: sources, top, bus, DMA master.
    # Nothing else is known about it: the model's latencies start from the defaults.
    rtl = Path(__file__).resolve().parents[1] / "rtl_model"
    (tmp_path / "DUT.toml").write_text(f'toplevel = "sdhci_apb_top"\nsources = ["{rtl}/*.v"]\n'
                                       f'includes = ["{rtl}"]\n[bus]\nkind = "apb"\nprefix = "s_apb"\n'
                                       f'[dma]\nprefix = "m_axi"\n')
    done = subprocess.run([sys.executable, "-m", "sdhci.cli", "rtl", "calibrate", "--dut", "DUT.toml",
                           "--output", "my-sdhci.toml", "--json"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=900)
    result = json.loads(done.stdout)
    before = {p["phase"]: p for p in result["uncalibrated_phases"]}
    assert not before["command issue"]["ok"] and not before["data issue"]["ok"]     # defaults do not fit it
    assert done.returncode == 0 and result["passed"] and result["latencies_from"] == "fitted to this run"
    code, result = rtl_compare(tmp_path, "--dut", "DUT.toml", "--controller", "my-sdhci.toml")
    assert code == 0 and result["passed"] and result["latencies_from"] == "preset file"
    assert all(p["worst_deviation_cycles"] <= 1 for p in result["phases"])
    # the same preset drives the fast model, behind the bus costs measured on the DUT: cocotbext-axi's
    # ApbMaster takes 4 clk per access, 80 ns at 50 MHz (rtl_model/README.md, the APB top)
    assert tomllib.loads((tmp_path / "my-sdhci.toml").read_text())["platform"]["mmio_read_ps"] == 80_000
    done = subprocess.run([sys.executable, "-m", "sdhci.cli", "panic-write", "--controller", "my-sdhci.toml",
                           "--platform", "my-sdhci.toml", "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["transfer"] == "adma2"
