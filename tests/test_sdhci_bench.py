"""The benchmarks: the controller bench's simulated time, and `sdhci-emu bench --json`'s figures."""
from __future__ import annotations

import json

import pytest

from sdhci import bench_controller
from sdhci.bench import BenchRow, bench_json
from sdhci.cli import main


def test_bench_runs(capsys) -> None:
    assert bench_controller.main(["--runs", "1", "--blocks", "4"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["pio", "sdma", "adma"]
    wall, cpu, sim_ps = bench_controller.run("adma", 4)
    # 8-bit SDR at 50 MHz (20 000 ps): each block is 1 + 512 + 16 + 1 = 530 clocks on DAT
    assert sim_ps > 4 * 530 * 20_000 and wall > 0 and cpu > 0


def test_bench_json_figures() -> None:
    # A 2 ms panic write at 50 MHz emulated in 4 ms: ratio 0.5, 100 000 SD clocks in 4 ms = 25 M clocks/s.
    row = BenchRow("adma2", 3, panic_write_wall_ns=4_000_000, panic_write_ps=2_000_000_000,
                   run_wall_ns=9_000_000, run_simulated_ps=50_000_000_000, sd_clock_hz=50_000_000)
    doc = json.loads(bench_json([row], loop_s=1.25))
    assert doc == {"reference_loop_s": 1.25, "modes": [{
        "transfer": "adma2", "runs": 3, "panic_write_wall_ns": 4_000_000, "panic_write_simulated_ps": 2_000_000_000,
        "simulated_per_wall": 0.5, "run_wall_ns": 9_000_000, "run_simulated_ps": 50_000_000_000,
        "sd_clock_hz": 50_000_000, "sd_clocks_per_wall_second": 25_000_000.0}]}


def test_bench_json_from_the_command_line(capsys) -> None:
    assert main(["bench", "--runs", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reference_loop_s"] > 0
    assert [m["transfer"] for m in doc["modes"]] == ["pio", "sdma", "adma2"]
    for m in doc["modes"]:
        # The default run: 8-bit SDR at 50 MHz; 128 blocks of 530 SD clocks bound the panic write from below.
        assert m["sd_clock_hz"] == 50_000_000
        assert m["panic_write_simulated_ps"] >= 128 * 530 * 20_000
        assert m["run_wall_ns"] > m["panic_write_wall_ns"] > 0
        clocks = m["panic_write_simulated_ps"] / 20_000
        assert m["sd_clocks_per_wall_second"] == pytest.approx(clocks / (m["panic_write_wall_ns"] / 1e9))
