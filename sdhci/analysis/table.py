"""The sweep's table on disk: runs.parquet (one row group per batch), and runs.csv for people without Parquet tools.

The Parquet file's metadata carries the sweep itself (its JSON and
fingerprint), so a directory knows which sweep its table belongs to:
``--resume`` continues that sweep and no other. Rows are always the runs
0 .. k - 1 in order, so a resumed sweep gives the same table as one that
was never interrupted.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sdhci.analysis.rows import OUTPUTS
from sdhci.analysis.spec import SweepSpec

RUNS = "runs.parquet"
RUNS_CSV = "runs.csv"
SWEEP_KEY = b"sdhci-emu.sweep"
FINGERPRINT_KEY = b"sdhci-emu.fingerprint"

_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
          "list": pa.list_(pa.string())}


class TableError(ValueError):
    """An output directory that cannot take this sweep (one readable line)."""


def _kind(values: Iterable[Any]) -> str:
    """The column kind that holds every value: bool, int, float, or str (mixed values as text)."""
    values = list(values)
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def input_kinds(spec: SweepSpec) -> dict[str, str]:
    """Kinds of the varied input columns."""
    kinds = {key: _kind(values) for key, values in spec.grid}
    for key, dist in spec.random:
        kinds[key] = {"uniform": "float", "loguniform": "float", "integers": "int"}.get(dist.kind) or _kind(dist.args)
    return kinds


def schema(spec: SweepSpec) -> pa.Schema:
    """run, seed, the varied inputs, then every output; the sweep in the metadata."""
    columns = [("run", "int"), ("seed", "int"), *input_kinds(spec).items(), *OUTPUTS]
    return pa.schema([pa.field(name, _TYPES[kind]) for name, kind in columns],
                     metadata={SWEEP_KEY: json.dumps(spec.as_json(), sort_keys=True),
                               FINGERPRINT_KEY: spec.fingerprint})


@dataclass(frozen=True)
class Existing:
    """What an output directory already holds of a sweep."""
    fingerprint: str
    rows: int


def existing(out_dir: str) -> Existing | None:
    """The sweep table in `out_dir`, if there is one; TableError if it cannot be read."""
    path = os.path.join(out_dir, RUNS)
    if not os.path.exists(path):
        return None
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as err:
        raise TableError(f"{path} cannot be read as a sweep table ({err}); remove it or choose another --out") \
            from None
    fingerprint = (meta.metadata or {}).get(FINGERPRINT_KEY)
    if fingerprint is None:
        raise TableError(f"{path} is not a table sdhci-emu sweep wrote; choose another --out")
    return Existing(fingerprint.decode(), meta.num_rows)


class TableWriter:
    """Appends batches of rows to runs.parquet; after a resume, the rows already there come first."""

    def __init__(self, out_dir: str, spec: SweepSpec, keep_rows: int = 0) -> None:
        self.path = os.path.join(out_dir, RUNS)
        self.schema = schema(spec)
        self._text = {name for name, kind in input_kinds(spec).items() if kind == "str"}
        self.rows = 0
        previous = None
        if keep_rows:
            previous = self.path + ".resumed"
            os.replace(self.path, previous)
        self._writer = pq.ParquetWriter(self.path, self.schema)
        if previous is not None:
            source = pq.ParquetFile(previous)
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                self._writer.write_table(table.cast(self.schema))
                self.rows += table.num_rows
            os.remove(previous)

    def write(self, rows: list[dict[str, Any]]) -> None:
        """One batch, as one row group."""
        if not rows:
            return
        for name in self._text:
            for row in rows:
                row[name] = str(row[name])
        self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))
        self.rows += len(rows)

    def close(self) -> None:
        """Write the footer: from here on the file is a readable table."""
        self._writer.close()


def _table_path(out_dir: str) -> str:
    if existing(out_dir) is None:
        raise TableError(f"{out_dir} holds no {RUNS} (run sdhci-emu sweep --out {out_dir} first)")
    return os.path.join(out_dir, RUNS)


def read(out_dir: str, columns: list[str] | None = None) -> pa.Table:
    """The sweep table of `out_dir` (TableError if there is none)."""
    return pq.read_table(_table_path(out_dir), columns=columns)


def sweep_of(out_dir: str) -> dict[str, Any]:
    """The sweep a table belongs to, as SweepSpec.as_json() wrote it."""
    meta = pq.read_metadata(_table_path(out_dir)).metadata or {}
    return json.loads(meta[SWEEP_KEY])


def write_csv(out_dir: str) -> str:
    """runs.csv from runs.parquet, row group by row group; lists as space-separated text."""
    source = pq.ParquetFile(os.path.join(out_dir, RUNS))
    path = os.path.join(out_dir, RUNS_CSV)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(source.schema_arrow.names)
        for group in range(source.num_row_groups):
            for row in source.read_row_group(group).to_pylist():
                writer.writerow(" ".join(v) if isinstance(v, list) else "" if v is None else v for v in row.values())
    return path
