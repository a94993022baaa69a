"""A whole sweep: check the output directory, play the runs, stream them to the table, summarise.

Rows reach runs.parquet in run order, a batch (one row group) at a time, so
memory holds at most one batch and the executor's window. Ctrl-C stops the
sweep with every finished run of the unbroken prefix written and the file
closed: a readable partial table, which ``--resume`` continues.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sdhci.analysis import table
from sdhci.analysis.execute import Executor, chunks
from sdhci.analysis.spec import SweepSpec

#: Rows per batch (one Parquet row group): what the sweep holds in memory at most.
BATCH_ROWS = 2000


@dataclass(frozen=True)
class SweepOutcome:
    """How far a sweep got: rows in the table out of the sweep's runs, and whether Ctrl-C stopped it."""
    rows: int
    runs: int
    interrupted: bool


def first_run(out_dir: str, spec: SweepSpec, resume: bool) -> int:
    """Check that `out_dir` can take this sweep; the first run still to play (TableError otherwise)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise table.TableError(f"--out {out_dir} is a file; name a directory (created if missing)")
    found = table.existing(out_dir) if os.path.isdir(out_dir) else None
    if found is None:
        return 0
    if found.fingerprint != spec.fingerprint:
        raise table.TableError(f"--out {out_dir} holds a different sweep ({found.rows} runs); choose another "
                               "directory")
    if not resume:
        raise table.TableError(f"--out {out_dir} already holds this sweep ({found.rows} of {spec.runs} runs); "
                               "--resume continues it")
    return found.rows


@contextmanager
def _interrupt_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C back while rows are written: a row group and the rows it took must go together.

    Without this, a Ctrl-C landing between a batch's write and the batch's
    release writes it a second time. The signals caught are in the list
    yielded; the caller decides what they mean.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught                       # signals reach only the main thread; nothing to hold back
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


def run_sweep(spec: SweepSpec, out_dir: str, executor: Executor, start: int = 0,
              batch: int = BATCH_ROWS) -> SweepOutcome:
    """Play runs start .. end on `executor` into out_dir/runs.parquet (after the `start` rows already there)."""
    from tqdm import tqdm
    os.makedirs(out_dir, exist_ok=True)
    writer = table.TableWriter(out_dir, spec, keep_rows=start)
    pending: list[dict] = []
    interrupted = False
    with tqdm(total=spec.runs, initial=start, unit="run", file=sys.stderr, disable=None, smoothing=0.1) as bar:
        try:
            for rows in executor.rows(chunks(spec, start)):
                with _interrupt_deferred() as caught:
                    pending.extend(rows)
                    bar.update(len(rows))
                    if len(pending) >= batch:
                        writer.write(pending)
                        pending = []
                if caught:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted = True
        finally:
            with _interrupt_deferred() as caught:   # a second Ctrl-C must not leave the file without its footer
                writer.write(pending)
                writer.close()
            interrupted = interrupted or bool(caught)
    return SweepOutcome(writer.rows, spec.runs, interrupted)
