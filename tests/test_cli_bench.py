"""`sdhci-emu bench`: one row per transfer mode, figures consistent with each other."""
from __future__ import annotations

import io
import sys

from sdhci.bench import BenchRow, render_bench, run_bench
from sdhci.cli import main


def test_bench_rows_per_mode() -> None:
    rows = run_bench(None, [], runs=1)
    assert [r.transfer for r in rows] == ["pio", "sdma", "adma2"]
    for r in rows:
        assert r.runs == 1 and r.run_wall_ns > r.panic_write_wall_ns > 0
        # Default run: 128 blocks of 1 + 512 + 16 + 1 = 530 SD clocks at 50 MHz (20 000 ps) bound the
        # simulated panic write from below; card initialisation makes the whole run longer still.
        assert r.run_simulated_ps > r.panic_write_ps >= 128 * 530 * 20_000


def test_bench_table_and_no_progress_bar_off_tty(capsys) -> None:
    assert main(["bench", "--runs", "1", "--set", "run.seed=3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""                       # stderr is not a TTY under pytest
    lines = captured.out.splitlines()
    assert lines[0].split() == ["transfer", "runs", "panic", "write", "wall", "simulated", "sim/wall",
                                 "whole", "run", "wall", "simulated"]
    assert [line.split()[0] for line in lines[2:]] == ["pio", "sdma", "adma2"]


def test_render_bench_figures() -> None:
    # A 2 ms panic write emulated in 4 ms of wall time: ratio 0.5.
    row = BenchRow("adma2", 3, panic_write_wall_ns=4_000_000, panic_write_ps=2_000_000_000,
                   run_wall_ns=9_000_000, run_simulated_ps=50_000_000_000)
    assert row.ratio == 0.5
    line = render_bench([row]).splitlines()[2]
    assert line.split() == ["adma2", "3", "4.000", "ms", "2.000", "ms", "0.500", "9.000", "ms", "50.000", "ms"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(monkeypatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_bench(None, [], runs=1, modes=("pio",))
    assert "1/1" in terminal.getvalue()            # tqdm's n/total counter
