"""`sdhci-emu bench`: how fast the emulator runs the default panic write, per transfer mode.

For each transfer mode the whole emulated run (card initialisation and the
panic write, as run_panic_write does it) is timed on the wall clock several
times; the median is reported with the simulated time beside it, so the
ratio says how many seconds of bus time one second of Python emulates.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from sdhci.config import load_config
from sdhci.emulation import run_panic_write

TRANSFER_MODES = ("pio", "sdma", "adma2")


@dataclass(frozen=True)
class BenchRow:
    """One transfer mode's figures; times in integer ns (wall) and ps (simulated)."""

    transfer: str
    runs: int
    wall_median_ns: int
    simulated_ps: int      # card initialisation + panic write, what the run emulated
    panic_write_ps: int    # the panic write alone (entry to return)

    @property
    def ratio(self) -> float:
        """Simulated seconds per wall-clock second (above 1: faster than real time)."""
        return (self.simulated_ps / 1e12) / (self.wall_median_ns / 1e9) if self.wall_median_ns else float("inf")


def run_bench(
    config_path: str | None,
    overrides: Sequence[str],
    runs: int = 5,
    modes: Sequence[str] = TRANSFER_MODES,
) -> list[BenchRow]:
    """Time run_panic_write `runs` times per transfer mode on the given configuration."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    configs = {mode: load_config(config_path, [*overrides, f"run.transfer={mode!r}"]) for mode in modes}
    rows = []
    with tqdm(total=runs * len(modes), file=sys.stderr, disable=not sys.stderr.isatty(), unit="run") as bar:
        for mode in modes:
            walls = []
            for _ in range(runs):
                start = time.perf_counter_ns()
                result = run_panic_write(configs[mode])
                walls.append(time.perf_counter_ns() - start)
                bar.update()
            rows.append(BenchRow(
                transfer=mode,
                runs=runs,
                wall_median_ns=int(statistics.median(walls)),
                simulated_ps=result.init_ps + result.total_ps,
                panic_write_ps=result.total_ps,
            ))
    return rows


def render_bench(rows: Sequence[BenchRow]) -> str:
    """The benchmark as a fixed-width table."""
    header = f"{'transfer':<9} {'runs':>4} {'wall median':>12} {'simulated':>12} {'panic write':>12} {'sim/wall':>9}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.transfer:<9} {row.runs:>4} {row.wall_median_ns / 1e6:>9.3f} ms "
            f"{row.simulated_ps / 1e9:>9.3f} ms {row.panic_write_ps / 1e9:>9.3f} ms {row.ratio:>9.3f}"
        )
    return "\n".join(lines) + "\n"
