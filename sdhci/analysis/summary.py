"""Per group of grid values: how long panic_write took, and what became of the record, with 95% intervals.

Read from the sweep's table, never from the models. Time quantiles are
numpy's (linear interpolation between the two nearest runs); the fraction
of runs with each verdict comes with its 95% Wilson score interval
(Wilson 1927: for k of n, centre (p + z^2/2n) / (1 + z^2/n), half-width
z sqrt(p(1 - p)/n + z^2/4n^2) / (1 + z^2/n), z = 1.959964), which stays
inside 0..1 and is honest at 0 of n. Runs the emulator could not play
count in `runs` and `failed`, not in the fractions.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdhci.analysis import table
from sdhci.emulation import VERDICTS

Z95 = 1.959964
SUMMARY_CSV = "summary.csv"


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n trials (0, 1 for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))   # p inside, despite rounding


@dataclass(frozen=True)
class Group:
    """One combination of grid values and what its runs did."""
    values: tuple[tuple[str, Any], ...]
    runs: int
    failed: int
    total_ms: dict[str, float]                          # median, p90, p99, max
    fractions: dict[str, tuple[float, float, float]]    # verdict -> (fraction, low, high)


def groups(out_dir: str) -> tuple[list[str], list[Group]]:
    """The grid keys and, per combination present in the table, its group (in first-run order)."""
    sweep = table.sweep_of(out_dir)
    keys = [key for key, _ in sweep["grid"]]
    data = table.read(out_dir, columns=[*keys, "total_ns", "verdict"]).to_pydict()
    members: dict[tuple, list[int]] = {}
    for i, combo in enumerate(zip(*(data[k] for k in keys)) if keys else ((),) * len(data["verdict"])):
        members.setdefault(tuple(combo), []).append(i)
    out = []
    for combo, rows in members.items():
        played = [i for i in rows if data["verdict"][i] is not None]
        totals = np.array([data["total_ns"][i] for i in played], dtype=float) / 1e6
        quantiles = ({"median": float(np.quantile(totals, 0.5)), "p90": float(np.quantile(totals, 0.9)),
                      "p99": float(np.quantile(totals, 0.99)), "max": float(totals.max())} if len(totals)
                     else dict.fromkeys(("median", "p90", "p99", "max"), math.nan))
        fractions = {}
        for verdict in VERDICTS:
            k = sum(1 for i in played if data["verdict"][i] == verdict)
            fractions[verdict] = (k / len(played) if played else math.nan, *wilson(k, len(played)))
        out.append(Group(tuple(zip(keys, combo)), len(rows), len(rows) - len(played), quantiles, fractions))
    return keys, out


def write_summary(out_dir: str) -> str:
    """summary.csv: one line per group."""
    keys, found = groups(out_dir)
    path = os.path.join(out_dir, SUMMARY_CSV)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*keys, "runs", "failed", "total_ms_median", "total_ms_p90", "total_ms_p99", "total_ms_max",
                         *(f"{v}{suffix}" for v in VERDICTS for suffix in ("", "_low", "_high"))])
        for group in found:
            writer.writerow([*(v for _, v in group.values), group.runs, group.failed,
                             *(f"{group.total_ms[q]:.6f}" for q in ("median", "p90", "p99", "max")),
                             *(f"{x:.6f}" for v in VERDICTS for x in group.fractions[v])])
    return path


def _percent(fraction: tuple[float, float, float]) -> str:
    value, low, high = fraction
    if math.isnan(value):
        return "-"
    return f"{100 * value:5.1f} [{100 * low:4.1f}-{100 * high:5.1f}]"


def render_summary(out_dir: str) -> str:
    """The summary as a table for the terminal (times in ms; percentages with their 95% interval)."""
    keys, found = groups(out_dir)
    head = [*keys, "runs", "median", "p90", "p99", "max", *(f"{v} %" for v in VERDICTS)]
    lines = [[*(str(v) for _, v in g.values), str(g.runs),
              *(f"{g.total_ms[q]:.3f}" for q in ("median", "p90", "p99", "max")),
              *(_percent(g.fractions[v]) for v in VERDICTS)] for g in found]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    text = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [head, *lines]]
    failed = sum(g.failed for g in found)
    note = [f"{failed} run(s) could not be emulated (see the emulation_error column)"] if failed else []
    return "\n".join(["total time of panic_write in ms; verdict percentages with their 95% Wilson interval",
                      *text, *note]) + "\n"
