"""sdhci-emu sweep: the runs a spec expands to, the table, the summary, resume, and bad input refused up front."""
from __future__ import annotations

import csv
import math
import os
import signal
import statistics
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from emmc_card.configtools import ConfigError
from sdhci.analysis import execute, summary, table
from sdhci.analysis.spec import load_sweep
from sdhci.analysis.sweep import run_sweep
from sdhci.cli import main
from sdhci.config import load_config
from sdhci.emulation import run_panic_write

GRID = ["--grid", "run.enable_cache=true,false", "--grid", "patch=as-posted,flush"]


def _sweep(out, *args: str) -> int:
    return main(["sweep", "--out", str(out), *args])


def _table(out) -> list[dict]:
    return pq.read_table(os.path.join(out, table.RUNS)).drop(["wall_ns"]).to_pylist()


# --- the runs a spec stands for -------------------------------------------------------------------------
def test_runs_are_numbered_combination_by_combination_seed_by_seed() -> None:
    spec = load_sweep(None, [], ["card=emmc51,emmc51-slow", "run.bus_width=4,8"], "3..4")
    assert spec.runs == 8 and spec.varied == ("card", "run.bus_width")
    assert [(r.seed, dict(r.values)) for r in spec.runs_from(0)] == [
        (3, {"card": "emmc51", "run.bus_width": 4}), (4, {"card": "emmc51", "run.bus_width": 4}),
        (3, {"card": "emmc51", "run.bus_width": 8}), (4, {"card": "emmc51", "run.bus_width": 8}),
        (3, {"card": "emmc51-slow", "run.bus_width": 4}), (4, {"card": "emmc51-slow", "run.bus_width": 4}),
        (3, {"card": "emmc51-slow", "run.bus_width": 8}), (4, {"card": "emmc51-slow", "run.bus_width": 8})]
    config = spec.config(spec.run(5))
    assert (config.card_preset, config.run.bus_width, config.run.seed) == ("emmc51-slow", 4, 4)


def test_random_inputs_depend_on_seed_and_key_only(tmp_path) -> None:
    path = tmp_path / "mc.toml"
    path.write_text('[sweep]\nseeds = 50\n[sweep.grid]\npatch = ["as-posted", "flush"]\n'
                    '[sweep.random]\n"run.entry.busy_us" = { uniform = [100.0, 900.0] }\n'
                    '"run.entry.records" = { integers = [0, 3] }\n')
    spec = load_sweep(str(path), [], [], None)
    runs = list(spec.runs_from(0))
    first, second = runs[:50], runs[50:]
    # The same draws for the same seed in both grid combinations (paired comparison) ...
    assert [r.values[1:] for r in first] == [r.values[1:] for r in second]
    draws = [dict(r.values)["run.entry.busy_us"] for r in first]
    assert all(100.0 <= d <= 900.0 for d in draws) and len(set(draws)) == 50
    assert {dict(r.values)["run.entry.records"] for r in first} == {0, 1, 2, 3}
    # ... and the same draws whatever else the sweep holds.
    again = load_sweep(str(path), [], ["run.bus_width=4"], None)
    assert [dict(r.values)["run.entry.busy_us"] for r in again.runs_from(0)][:50] == draws


BAD = {
    "unknown key": (["--grid", "run.bogus=1,2"], "run.bogus: unknown key"),
    "unknown value": (["--grid", "card=emmc51,nosuchcard"], "nosuchcard"),
    "empty axis": (["--grid", "run.bus_width="], "empty grid axis"),
    "value out of range": (["--grid", "run.bus_width=4,3"], "bus_width: must be 1, 4 or 8"),
    "seed as grid key": (["--grid", "run.seed=1,2"], "seeds are [sweep] seeds"),
    "bad seeds": (["--seeds", "9..3"], "--seeds"),
    "no seeds": (["--seeds", "0"], "a count of at least 1), got 0"),
    "image": (["--image", "x.img"], "run.image"),
    "bad combination": (["--grid", "controller=v1-pio,v3", "--transfer", "adma2"], "controller does not have it"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_before_any_run(case, tmp_path, capsys) -> None:
    args, expected = BAD[case]
    out = tmp_path / "out"
    assert _sweep(out, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sdhci-emu: error:") and expected in err
    assert not out.exists()                               # nothing ran, nothing written


@pytest.mark.parametrize("text, expected", [
    ('[sweep]\ngrid = {}\n', "the grid is empty"),
    ('[sweep.random]\n"run.entry.busy_us" = { uniform = [5.0, 1.0] }\n', "low <= high"),
    ('[sweep.random]\n"run.sd_clock_hz" = { loguniform = [0, 100] }\n', "low > 0"),
    ('[sweep.random]\n"run.entry.records" = { integers = [0, 2.5] }\n', "two integers"),
    ('[sweep.random]\n"run.entry.busy_us" = { normal = [1, 2] }\n', "expected one of uniform"),
    ('[sweep.random]\n"run.entry.records" = { integers = [0, 200000] }\n', "records: must lie in 0 .. 100000"),
    ('[sweep]\nseeds = 0\n', "sweep.seeds"),
    ('[sweep]\nsteps = 3\n', "sweep.steps: unknown key"),
    ('[sweep.grid]\npatch = ["flush", "flush"]\n', "listed twice"),
])
def test_bad_sweep_files_are_refused(text, expected, tmp_path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("(", r"\(")):
        load_sweep(str(path), [], [], None)


# --- the table and the summary ----------------------------------------------------------------------------
def test_table_rows_are_the_runs_json_reports(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert _sweep(out, *GRID, "--seeds", "3", "-j", "1", "--csv") == 0
    rows = pq.read_table(out / table.RUNS).to_pylist()
    assert [r["run"] for r in rows] == list(range(12)) and [r["seed"] for r in rows[:3]] == [1, 2, 3]
    # Row 4 is run.enable_cache=true, patch=flush, seed 2: the same as that run on its own.
    row = rows[4]
    assert (row["run.enable_cache"], row["patch"], row["seed"]) == (True, "flush", 2)
    alone = run_panic_write(load_config(None, ["run.enable_cache=true", "run.patch='flush'", "run.seed=2"]))
    assert (row["verdict"], row["total_ps"], row["poll_iterations"]) == (alone.verdict, alone.total_ps,
                                                                       alone.poll_iterations)
    assert row["commands"] == ["CMD25", "CMD12", "CMD6"] and row["findings"] == []
    assert row["phases_ns.busy"] == alone.phases_ps["busy"] / 1000 and row["wall_ns"] > 0
    lost = [r for r in rows if r["verdict"] == "lost"]
    assert len(lost) == 3 and all(r["findings"] == ["cache-not-flushed"] for r in lost)
    with open(out / table.RUNS_CSV, newline="") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 12 and lines[4]["commands"] == "CMD25 CMD12 CMD6" and lines[4]["verdict"] == "durable"
    printed = capsys.readouterr().out
    assert "12 of 12 runs" in printed and "durable %" in printed


def test_summary_quantiles_and_wilson_intervals(tmp_path) -> None:
    assert summary.wilson(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert summary.wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert summary.wilson(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)
    out = tmp_path / "out"
    assert _sweep(out, "--grid", "run.enable_cache=true,false", "--seeds", "21", "-j", "1") == 0
    rows = _table(out)
    with open(out / summary.SUMMARY_CSV, newline="") as f:
        lines = list(csv.DictReader(f))
    assert [line["run.enable_cache"] for line in lines] == ["True", "False"]
    for line in lines:
        mine = [r for r in rows if str(r["run.enable_cache"]) == line["run.enable_cache"]]
        totals = sorted(r["total_ns"] / 1e6 for r in mine)
        assert int(line["runs"]) == 21
        assert float(line["total_ms_median"]) == pytest.approx(statistics.median(totals), abs=1e-6)
        assert float(line["total_ms_max"]) == pytest.approx(totals[-1], abs=1e-6)
        # p90 of 21 sorted values: position 0.9 x 20 = 18, exactly the 19th value.
        assert float(line["total_ms_p90"]) == pytest.approx(totals[18], abs=1e-6)
        lost = sum(r["verdict"] == "lost" for r in mine)
        assert float(line["lost"]) == pytest.approx(lost / 21, abs=1e-6)
        assert (float(line["lost_low"]), float(line["lost_high"])) == pytest.approx(summary.wilson(lost, 21), abs=1e-6)
    assert [float(line["lost"]) for line in lines] == [1.0, 0.0]


# --- executors, interruption, resume -----------------------------------------------------------------------
class _StopAfter:
    """An in-process executor whose Ctrl-C comes after `chunks` chunks."""
    workers = 1

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def rows(self, work):
        for chunk in work:
            if not self.left:
                raise KeyboardInterrupt
            self.left -= 1
            yield execute.run_chunk(chunk)

    def close(self) -> None:
        pass


def test_interrupted_sweep_leaves_a_readable_prefix_and_resume_completes_it(tmp_path) -> None:
    spec = load_sweep(None, [], ["run.enable_cache=true,false"], "30")
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert run_sweep(spec, str(whole), execute.InProcess()).rows == 60
    stopped = run_sweep(spec, str(part), _StopAfter(1), batch=10)
    assert stopped.interrupted and stopped.rows == execute.CHUNK_RUNS
    assert [r["run"] for r in _table(part)] == list(range(execute.CHUNK_RUNS))      # readable, in order
    assert _sweep(part, "--grid", "run.enable_cache=true,false", "--seeds", "30", "-j", "1") == 2   # no --resume
    assert _sweep(part, "--grid", "run.enable_cache=true,false", "--seeds", "30", "-j", "1", "--resume") == 0
    assert _table(part) == _table(whole)


def test_another_sweep_in_the_same_directory_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert _sweep(out, "--seeds", "2", "-j", "1") == 0
    before = (out / table.RUNS).read_bytes()
    assert _sweep(out, "--seeds", "3", "-j", "1", "--resume") == 2
    assert "holds a different sweep" in capsys.readouterr().err
    assert (out / table.RUNS).read_bytes() == before


def test_same_table_with_one_or_two_local_processes(tmp_path) -> None:
    args = ["--grid", "patch=as-posted,reliable-write", "--grid", "run.entry.busy=none,gc",
            "--set", "run.entry.busy_us=3000", "--seeds", "5"]
    assert _sweep(tmp_path / "j1", *args, "-j", "1") == 0
    assert _sweep(tmp_path / "j2", *args, "-j", "2") == 0
    one, two = _table(tmp_path / "j1"), _table(tmp_path / "j2")
    assert len(one) == 20 and one == two
    assert {r["verdict"] for r in one} == {"lost", "durable"}


def test_ctrl_c_just_after_a_row_group_is_written_does_not_write_it_twice(tmp_path, monkeypatch) -> None:
    # The moment the command-line test above can only hit by luck: the signal lands as write() returns.
    spec = load_sweep(None, [], [], "60")
    real_write = table.TableWriter.write

    def write_then_ctrl_c(self, rows):
        real_write(self, rows)
        if rows:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(table.TableWriter, "write", write_then_ctrl_c)
    stopped = run_sweep(spec, str(tmp_path), execute.InProcess(), batch=10)
    assert stopped.interrupted and stopped.rows == execute.CHUNK_RUNS
    assert [r["run"] for r in _table(tmp_path)] == list(range(execute.CHUNK_RUNS))


def test_ctrl_c_on_the_command_leaves_a_table_that_resume_completes(tmp_path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sdhci.cli", "sweep", "--out", str(out), "--seeds", "120", "-j", "1",
               "--batch", "10"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not (out / table.RUNS).exists()
                                           or (out / table.RUNS).stat().st_size < 2_000):   # a batch is in
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "--resume continues" in err
    rows = _table(out)
    assert 0 < len(rows) < 120 and [r["run"] for r in rows] == list(range(len(rows)))
    assert _sweep(out, "--seeds", "120", "-j", "1", "--resume") == 0
    assert [r["run"] for r in _table(out)] == list(range(120))
    assert not math.isnan(rows[0]["total_ns"])
