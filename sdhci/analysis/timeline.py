"""One emulated panic write as a picture: what every part of the board did, from panic_write's entry on.

Lanes, top to bottom: commands and responses on CMD; data blocks, CRC
status and busy on DAT; the controller's DMA; the CPU's register accesses
and polls; the card programming blocks into its medium. Below them, the
blocks acknowledged but not yet on the medium (in the volatile cache or
waiting to be programmed). Vertical lines mark the record's entry and
return and the power cut. Time runs in ms from the entry.
"""
from __future__ import annotations

import os

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from emmc_card.bus import CRC_STATUS_ACCEPTED
from sdhci.driver.ops import Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.emulation import PanicWriteResult

LANES = ("CMD", "DAT", "DMA", "CPU registers", "card programming")
_DAT_COLOURS = {"data": "tab:blue", "crc_status": "tab:green", "busy": "tab:orange", "timeout": "tab:red"}


def _ms(ps: int, t0: int) -> float:
    return (ps - t0) / 1e9


def _bars(axes, lane: int, spans: list[tuple[float, float]], colour: str, label: str | None = None) -> None:
    if spans:
        axes.broken_barh([(a, max(b - a, 1e-6)) for a, b in spans], (lane - 0.35, 0.7), facecolors=colour,
                         label=label)


def pending_blocks(result: PanicWriteResult) -> list[tuple[int, int]]:
    """(time, blocks acknowledged but not yet programmed) at each change, from entry to the end.

    Dirty blocks cached before the panic and a previous write's blocks count
    from the entry; a block counts from its accepted CRC status until its
    programming ends.
    """
    entry = result.config.run.entry
    base = entry.dirty_blocks if result.config.run.enable_cache else 0
    if entry.busy == "write" and entry.busy_ps:
        base += result.config.card.timing.write_buffer_blocks
    changes = [(e.end_ps, 1) for e in result.trace
               if e.kind == "crc_status" and e.detail.get("status") == CRC_STATUS_ACCEPTED]
    changes += [(p.done_ps, -1) for p in result.programs]
    end = result.power_cut_ps if result.power_cut_ps is not None else max([t for t, _ in changes] + [result.entry_ps])
    level, out = base, [(result.entry_ps, base)]
    for t, delta in sorted(changes):
        if t > end:
            break
        level += delta
        out.append((t, level))
    if result.power_cut_ps is not None:
        out.append((result.power_cut_ps, 0))          # whatever was pending is gone with the power
    return out


def plot_timeline(result: PanicWriteResult, path: str) -> str:
    """Draw the run to `path` (PNG or SVG, by its extension); returns the path."""
    t0 = result.entry_ps
    t_end = t0 + result.total_ps
    horizon = max([t_end] + ([result.power_cut_ps] if result.power_cut_ps is not None else []))
    figure = Figure(figsize=(11, 6))
    lanes, pending = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    trace = [e for e in result.trace if e.end_ps > t0]
    for kind, colour in (("command", "tab:purple"), ("response", "tab:pink")):
        _bars(lanes, 0, [(_ms(e.start_ps, t0), _ms(e.end_ps, t0)) for e in trace if e.kind == kind], colour, kind)
    for event in trace:
        if event.kind == "command" and event.cmd is not None:
            lanes.annotate(f"CMD{event.cmd}", (_ms(event.start_ps, t0), 0.45), fontsize=7, rotation=45)
    for kind, colour in _DAT_COLOURS.items():
        _bars(lanes, 1, [(_ms(e.start_ps, t0), _ms(e.end_ps, t0)) for e in trace if e.kind == kind], colour,
              kind.replace("_", " "))
    _bars(lanes, 2, [(_ms(e.start_ps, t0), _ms(e.end_ps, t0)) for e in trace if e.kind == "dma"], "tab:brown", "DMA")
    ops = [r for r in result.op_log if isinstance(r.op, (Read, Write, ReadBurst, WriteBurst, Poll))]
    _bars(lanes, 3, [(_ms(r.start_ps, t0), _ms(r.end_ps, t0)) for r in ops if isinstance(r.op, Poll)], "tab:olive",
          "polling")
    _bars(lanes, 3, [(_ms(r.start_ps, t0), _ms(r.end_ps, t0)) for r in ops if not isinstance(r.op, Poll)],
          "black", "register access")
    _bars(lanes, 4, [(_ms(p.start_ps, t0), _ms(p.done_ps, t0)) for p in result.programs], "tab:cyan",
          "block programming")
    lanes.set_yticks(range(len(LANES)), LANES)
    lanes.set_ylim(len(LANES) - 0.4, -0.6)
    lanes.set_title(f"panic_write of {result.sectors} sectors: {result.verdict}, patch {result.config.run.patch}, "
                    f"card {result.config.card_preset}, {result.transfer.upper()}, {result.bus_width}-bit bus")
    steps = pending_blocks(result)
    pending.step([_ms(t, t0) for t, _ in steps], [n for _, n in steps], where="post", color="tab:red")
    pending.set_ylabel("blocks not yet\non the medium")
    pending.set_xlabel("time since panic_write entry (ms)")
    marks = [(0.0, "entry", "green"), (_ms(t_end, t0), "return" if not result.cut_before_return else "", "blue")]
    if result.power_cut_ps is not None:
        marks.append((_ms(result.power_cut_ps, t0), "power cut", "red"))
    for axes in (lanes, pending):
        for x, name, colour in marks:
            if name:
                axes.axvline(x, color=colour, linestyle="--", linewidth=1)
    for row, (x, name, colour) in enumerate(marks):
        if name:
            lanes.annotate(name, (x, -0.5 + 0.25 * row), color=colour, fontsize=8, ha="left")
    lanes.set_xlim(-0.02 * _ms(horizon, t0), 1.02 * _ms(horizon, t0) or 1)
    lanes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    FigureCanvasAgg(figure)
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return os.fspath(path)

