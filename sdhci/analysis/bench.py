"""Sweep throughput and memory: `python -m sdhci.analysis.bench [--runs N] [-j N]`.

Plays the default configuration over seeds 1..N as `sdhci-emu sweep --seeds N
-j J` does (into a temporary directory) and prints runs per minute, the peak
memory of the main process and of the largest worker, and the machine's
reference: the time of a 10-million-iteration pure-Python loop
(``for i in range(10_000_000): pass``), with the target of 10,000 runs a
minute at -j 2 on a machine whose loop takes 1.2 s scaled to this one.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time

from sdhci.analysis.execute import InProcess, LocalPool
from sdhci.analysis.spec import load_sweep
from sdhci.analysis.sweep import run_sweep
from sdhci.bench import REFERENCE_LOOP, reference_loop_s
from sdhci.config import load_config
from sdhci.emulation import PanicSession

#: The target: runs a minute with -j 2, on a machine whose reference loop takes REFERENCE_LOOP_S.
TARGET_RUNS_PER_MINUTE = 10_000
REFERENCE_LOOP_S = 1.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sdhci.analysis.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="runs (seeds 1..N) of the default configuration")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes")
    args = parser.parse_args(argv)
    loop = reference_loop_s()
    spec = load_sweep(None, [], [], str(args.runs))
    executor = InProcess() if args.jobs == 1 else LocalPool(args.jobs)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        try:
            outcome = run_sweep(spec, out, executor)
        finally:
            executor.close()
        wall = time.perf_counter() - start
    per_minute = outcome.rows / wall * 60
    scaled = TARGET_RUNS_PER_MINUTE * REFERENCE_LOOP_S / loop
    own_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if args.jobs > 1 else own_kib
    restorable = PanicSession(load_config(None, [])).restorable
    print(f"reference loop ({REFERENCE_LOOP}, at module level): {loop:.3f} s")
    print(f"sweep: {outcome.rows} runs of the default configuration (seeds 1..{args.runs}), -j {args.jobs}")
    print(f"wall {wall:.1f} s: {per_minute:,.0f} runs per minute")
    print(f"target: {TARGET_RUNS_PER_MINUTE:,} a minute at -j 2 where the loop takes {REFERENCE_LOOP_S} s; "
          f"scaled to this machine: {scaled:,.0f} a minute ({per_minute / scaled:.0%} of it)")
    print(f"peak memory: main process {own_kib / 1024:.0f} MiB, largest worker {worker_kib / 1024:.0f} MiB")
    print("runs start from a snapshot of the booted board" if restorable else
          "runs bring the card up each (the controller offers no snapshot()/restore() yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
