"""A whole sweep: check the output directory, play the runs, stream them to the table, summarise.

Rows reach runs.parquet in run order, a batch (one row group) at a time, so
memory holds at most one batch and the executor's window. Ctrl-C stops the
sweep with every finished run of the unbroken prefix written and the file
closed: a readable partial table, which ``--resume`` continues.
"""
from __future__ import annotations

import os
import sys
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
                pending.extend(rows)
                bar.update(len(rows))
                if len(pending) >= batch:
                    writer.write(pending)
                    pending = []
        except KeyboardInterrupt:
            interrupted = True
        finally:
            writer.write(pending)
            writer.close()
    return SweepOutcome(writer.rows, spec.runs, interrupted)
