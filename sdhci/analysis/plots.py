"""A sweep's pictures, drawn from its table with matplotlib (no display needed): PNG and SVG.

- ``total_hist`` and ``total_ecdf``: the distribution of panic_write's total
  time per group of grid values, with the poll timeout(s) marked.
- ``lost_vs_<key>``: the fraction of runs whose record was lost, with its 95%
  Wilson interval, against each varied input (a grid key's values, or a
  random input in ten bins of equal counts); one line per combination of
  the other grid keys.

SVG text stays text (svg.fonttype 'none'), so labels can be searched.
"""
from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sdhci.analysis import table
from sdhci.analysis.summary import wilson

FORMATS = ("png", "svg")
PLOTS_DIR = "plots"
RANDOM_BINS = 10


def _label(values: tuple[tuple[str, Any], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values) or "all runs"


def _legend(axes, entries: int) -> None:
    """Inside the axes for a few lines, beside them for many."""
    if entries <= 6:
        axes.legend(fontsize=7)
    else:
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _style(number: int) -> dict:
    """Colour and line style of line `number`: ten colours, then the next line style."""
    return {"color": f"C{number % 10}", "linestyle": ("-", "--", ":", "-.")[number // 10 % 4]}


def _save(figure: Figure, out_dir: str, name: str) -> list[str]:
    FigureCanvasAgg(figure)
    paths = []
    for fmt in FORMATS:
        path = os.path.join(out_dir, f"{name}.{fmt}")
        with rc_context({"svg.fonttype": "none"}):
            figure.savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    return paths


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def plot_sweep(out_dir: str) -> list[str]:
    """Every picture of the sweep in out_dir, written to out_dir/plots; their paths."""
    sweep = table.sweep_of(out_dir)
    grid = [key for key, _ in sweep["grid"]]
    randoms = [key for key, _ in sweep["random"]]
    data = table.read(out_dir, columns=[*grid, *randoms, "total_ns", "verdict", "poll_timeout_ms"]).to_pydict()
    played = [i for i, v in enumerate(data["verdict"]) if v is not None]
    target = os.path.join(out_dir, PLOTS_DIR)
    os.makedirs(target, exist_ok=True)
    groups: dict[tuple, list[int]] = {}
    for i in played:
        groups.setdefault(tuple((k, data[k][i]) for k in grid), []).append(i)
    timeouts = sorted({data["poll_timeout_ms"][i] for i in played if data["poll_timeout_ms"][i]})
    paths = _distribution(target, data, groups, timeouts)
    for key in grid + randoms:
        paths += _lost_against(target, data, played, key, [k for k in grid if k != key], key in randoms)
    return paths


def _distribution(target: str, data: dict, groups: dict[tuple, list[int]], timeouts: list[int]) -> list[str]:
    totals = {g: np.array([data["total_ns"][i] for i in rows]) / 1e6 for g, rows in groups.items()}
    everything = np.concatenate(list(totals.values())) if totals else np.array([1.0])
    low, high = max(everything.min(), 1e-3), max(everything.max(), 1e-3)
    logarithmic = high / low > 20
    paths = []
    for kind in ("hist", "ecdf"):
        figure = Figure(figsize=(8, 4.5))
        axes = figure.add_subplot()
        for number, (group, values) in enumerate(totals.items()):
            if kind == "hist":
                bins = np.geomspace(low, high * 1.0001, 60) if logarithmic else 60
                axes.hist(values, bins=bins, histtype="step", label=_label(group), **_style(number))
            else:
                ordered = np.sort(values)
                axes.step(ordered, np.arange(1, len(ordered) + 1) / len(ordered), where="post", label=_label(group),
                          **_style(number))
        for ms in timeouts:
            axes.axvline(ms, color="red", linestyle="--", linewidth=1)
            axes.annotate(f"poll timeout {ms} ms", (ms, 1), xycoords=("data", "axes fraction"), rotation=90,
                          va="top", ha="right", fontsize=8, color="red")
        if logarithmic:
            axes.set_xscale("log")
        axes.set_xlabel("panic_write total time, entry to return (ms)")
        axes.set_ylabel("runs" if kind == "hist" else "fraction of runs at or below")
        axes.set_title("Distribution of the total time" + (" (ECDF)" if kind == "ecdf" else ""))
        _legend(axes, len(totals))
        paths += _save(figure, target, f"total_{kind}")
    return paths


def _bins(values: list[float]) -> list[tuple[float, float]]:
    """Ten bins of (nearly) equal counts over the values."""
    edges = np.unique(np.quantile(np.array(values, dtype=float), np.linspace(0, 1, RANDOM_BINS + 1)))
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])] or [(values[0], values[0])]


def _lost_against(target: str, data: dict, played: list[int], key: str, others: list[str],
                  continuous: bool) -> list[str]:
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    series: dict[tuple, list[int]] = {}
    for i in played:
        series.setdefault(tuple((k, data[k][i]) for k in others), []).append(i)
    categorical = False
    for number, (group, rows) in enumerate(series.items()):
        if continuous:
            bins = _bins([data[key][i] for i in rows])
            members = [[i for i in rows if lo <= data[key][i] <= hi and (j == len(bins) - 1 or data[key][i] < hi)]
                       for j, (lo, hi) in enumerate(bins)]
            xs = [(lo + hi) / 2 for lo, hi in bins]
        else:
            xs = list(dict.fromkeys(data[key][i] for i in rows))
            members = [[i for i in rows if data[key][i] == x] for x in xs]
            categorical = categorical or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
        n = [len(m) for m in members]
        k = [sum(1 for i in m if data["verdict"][i] == "lost") for m in members]
        fractions = [kk / nn if nn else math.nan for kk, nn in zip(k, n)]
        intervals = [wilson(kk, nn) for kk, nn in zip(k, n)]
        below = [f - lo for f, (lo, _) in zip(fractions, intervals)]
        above = [hi - f for f, (_, hi) in zip(fractions, intervals)]
        positions = [str(x) for x in xs] if categorical or any(isinstance(x, (str, bool)) for x in xs) else xs
        axes.errorbar(positions, fractions, yerr=[below, above], marker="o", capsize=3, label=_label(group),
                      alpha=0.9, zorder=3 + number, **_style(number))
    axes.set_xlabel(key + (" (bins of equal counts)" if continuous else ""))
    axes.set_ylabel("fraction lost (95% Wilson interval)")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(f"Records lost against {key}")
    if others:
        _legend(axes, len(series))
    return _save(figure, target, f"lost_vs_{_file_name(key)}")
