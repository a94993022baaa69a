"""`sdhci-emu bench`: how fast the emulator runs the default panic write, per transfer mode.

For each transfer mode the default run is repeated several times. The figure
that matters is the wall time of the panic write itself (entry into
mmcpstore_panic_write to its return, as emulated), beside its simulated
time: the ratio says how many seconds of bus time one second of Python
emulates (above 1: faster than the hardware). The whole run (card
initialisation included) is shown too. With --json the same figures come as
JSON, with the model's throughput in SD clocks per wall second and the
machine's reference: the time a 10-million-iteration pure-Python loop takes.
"""
from __future__ import annotations

import json
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
    panic_write_wall_ns: int   # median wall time of the panic write call
    panic_write_ps: int        # its simulated time (entry to return)
    run_wall_ns: int           # median wall time of the whole run (init, panic write, checks)
    run_simulated_ps: int      # card initialisation + panic write
    sd_clock_hz: int = 0       # the SD clock of the panic write

    @property
    def ratio(self) -> float:
        """Simulated seconds of the panic write per wall-clock second (above 1: faster than the hardware)."""
        return (self.panic_write_ps / 1e12) / (self.panic_write_wall_ns / 1e9) if self.panic_write_wall_ns else float("inf")

    @property
    def sd_clocks_per_wall_second(self) -> float:
        """The model's throughput: SD clock cycles of the panic write emulated per wall-clock second."""
        return self.ratio * self.sd_clock_hz


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
            walls, panic_walls = [], []
            for _ in range(runs):
                start = time.perf_counter_ns()
                result = run_panic_write(configs[mode])
                walls.append(time.perf_counter_ns() - start)
                panic_walls.append(result.wall_ns)
                bar.update()
            rows.append(BenchRow(
                transfer=mode,
                runs=runs,
                panic_write_wall_ns=int(statistics.median(panic_walls)),
                panic_write_ps=result.total_ps,
                run_wall_ns=int(statistics.median(walls)),
                run_simulated_ps=result.init_ps + result.total_ps,
                sd_clock_hz=result.sd_clock_hz,
            ))
    return rows


def render_bench(rows: Sequence[BenchRow]) -> str:
    """The benchmark as a fixed-width table."""
    header = (f"{'transfer':<9} {'runs':>4} {'panic write wall':>17} {'simulated':>12} {'sim/wall':>9}"
              f" {'whole run wall':>15} {'simulated':>12}")
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.transfer:<9} {row.runs:>4} {row.panic_write_wall_ns / 1e6:>14.3f} ms "
            f"{row.panic_write_ps / 1e9:>9.3f} ms {row.ratio:>9.3f} "
            f"{row.run_wall_ns / 1e6:>12.3f} ms {row.run_simulated_ps / 1e9:>9.3f} ms"
        )
    return "\n".join(lines) + "\n"


#: The reference loop as a one-line script runs it (module level, so `i` is a global): the figure the
#: project's speed targets are stated against (about 1.2 s on the developers' 2-core machines).
REFERENCE_LOOP = "for i in range(10_000_000): pass"


def reference_loop_s() -> float:
    """Seconds `python3 -c 'for i in range(10_000_000): pass'` spends in its loop here, the best of three."""
    code = compile(REFERENCE_LOOP, "<reference loop>", "exec")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        exec(code, {})
        best = min(best, time.perf_counter() - start)
    return best


def bench_json(rows: Sequence[BenchRow], loop_s: float | None = None) -> str:
    """The benchmark as JSON: per transfer mode, wall and simulated times (integer ns / ps) and ratios."""
    modes = [{
        "transfer": row.transfer,
        "runs": row.runs,
        "panic_write_wall_ns": row.panic_write_wall_ns,
        "panic_write_simulated_ps": row.panic_write_ps,
        "simulated_per_wall": row.ratio,
        "run_wall_ns": row.run_wall_ns,
        "run_simulated_ps": row.run_simulated_ps,
        "sd_clock_hz": row.sd_clock_hz,
        "sd_clocks_per_wall_second": row.sd_clocks_per_wall_second,
    } for row in rows]
    loop = reference_loop_s() if loop_s is None else loop_s
    return json.dumps({"reference_loop_s": round(loop, 4), "modes": modes}, indent=2) + "\n"
