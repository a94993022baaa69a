"""VCD of the SD bus from a bus trace, for GTKWave.

The controller model computes bus phases analytically and records them as
`sdhci.trace.BusEvent`s; this module turns such a trace into waveforms a
hardware engineer can lay beside an RTL simulation: SDCLK, CMD, DAT[7:0], and
annotation signals naming the phase, the command and the data block.

What is drawn, and where it is approximate:
- CMD carries the exact 48-bit command token (start, transmission bit, index,
  argument, CRC7, end) when the trace gives the argument. Responses show
  exact start and end bits and 'x' between them (the trace does not carry
  the response bits).
- DAT shows start bit, data and CRC as 'x' on the lines in use (the trace does
  not carry the data), the end bit, the exact CRC status token on DAT0 and
  busy as DAT0 low. Idle lines are high (pull-ups).
- SDCLK toggles, one period per bit, across every command, response, data
  block and CRC status, across busy, and across gaps up to
  `MAX_CLOCKED_GAP_CYCLES` between them. Longer gaps and longer busy periods
  show SDCLK held low so that a five-second card stall does not turn into
  hundreds of millions of edges. Bit k of an event is centred on the rising
  edge k of its clock window, so the eye samples each bit where a card would.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Any

from vcd import VCDWriter
from vcd.gtkw import GTKWSave

from emmc_card.bus import COMMAND_BITS, CRC_STATUS_NONE
from emmc_card.protocol import encode_command
from sdhci.trace import BusEvent

#: Idle stretches (in SD clocks) up to this length keep SDCLK running.
MAX_CLOCKED_GAP_CYCLES = 256

#: Which bus event wins the phase annotation when several overlap (CMD and
#: DAT lines are independent, e.g. Auto CMD12 goes out while the card is busy).
PHASE_PRIORITY = ("command", "response", "data", "crc_status", "busy", "timeout")

CMD_LINE_KINDS = ("command", "response")
DAT_LINE_KINDS = ("data", "crc_status", "busy")

#: Full hierarchical names of the signals in the VCD, as GTKWave shows them.
SIGNALS = (
    "sd.SDCLK",
    "sd.CMD",
    "sd.DAT",
    "annotation.phase",
    "annotation.command",
    "annotation.block",
    "annotation.dma",
    "annotation.error",
)


def _command_label(event: BusEvent) -> str:
    if event.cmd is None:
        return ""
    return f"CMD{event.cmd}" + ("_auto" if event.detail.get("auto") else "")


def _token_bits(token: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in token for i in range(8)]


class _Changes:
    """Value changes keyed by (time, signal); the last one set at a time wins."""

    def __init__(self) -> None:
        self.values: dict[tuple[int, str], Any] = {}

    def set(self, t_ps: int, signal: str, value: Any) -> None:
        self.values.pop((t_ps, signal), None)
        self.values[(t_ps, signal)] = value

    def ordered(self) -> list[tuple[int, str, Any]]:
        items = [(t, sig, v) for (t, sig), v in self.values.items()]
        items.sort(key=lambda item: item[0])
        return items


def _bit_times(event: BusEvent, period_ps: int) -> int:
    return max(1, round((event.end_ps - event.start_ps) / period_ps))


def _cmd_line(changes: _Changes, event: BusEvent, period_ps: int) -> None:
    n = _bit_times(event, period_ps)
    bits: list[int | str] | None = None
    if event.kind == "command" and event.cmd is not None and "argument" in event.detail:
        bits = list(_token_bits(encode_command(event.cmd, int(event.detail["argument"]))))
    if bits is None or len(bits) != n:
        bits = [0] + ["x"] * max(0, n - 2) + [1] if n > 1 else [0]
    for k, bit in enumerate(bits):
        changes.set(event.start_ps + k * period_ps, "sd.CMD", bit)
    changes.set(event.end_ps, "sd.CMD", 1)


def _dat_value(width: int, lines: str) -> str:
    """An 8-bit DAT value: `lines` on DAT[width-1:0], the unused lines high."""
    return "1" * (8 - width) + lines


def _dat_lines(changes: _Changes, event: BusEvent, period_ps: int, width: int) -> None:
    t = event.start_ps
    if event.kind == "data":
        n = _bit_times(event, period_ps)
        changes.set(t, "sd.DAT", _dat_value(width, "0" * width))
        changes.set(t + period_ps, "sd.DAT", _dat_value(width, "x" * width))
        changes.set(t + (n - 1) * period_ps, "sd.DAT", "11111111")
    elif event.kind == "crc_status":
        status = int(event.detail.get("status", CRC_STATUS_NONE))
        token = [0, (status >> 2) & 1, (status >> 1) & 1, status & 1, 1]
        for k, bit in enumerate(token):
            changes.set(t + k * period_ps, "sd.DAT", "1111111" + str(bit))
    elif event.kind == "busy":
        changes.set(t, "sd.DAT", "11111110")
    changes.set(event.end_ps, "sd.DAT", "11111111")


def _clock_windows(events: Sequence[BusEvent], period_ps: int) -> list[tuple[int, int]]:
    """Intervals in which SDCLK is drawn toggling (see the module docstring)."""
    max_gap = MAX_CLOCKED_GAP_CYCLES * period_ps
    spans = sorted(
        (e.start_ps, e.end_ps)
        for e in events
        if e.kind in CMD_LINE_KINDS + DAT_LINE_KINDS
        and e.end_ps > e.start_ps
        and (e.kind != "busy" or e.end_ps - e.start_ps <= max_gap)
    )
    windows: list[tuple[int, int]] = []
    for start, end in spans:
        if windows and start - windows[-1][1] <= max_gap:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def _clock(changes: _Changes, windows: list[tuple[int, int]], period_ps: int) -> None:
    half = period_ps // 2
    for start, end in windows:
        for k in range((end - start) // period_ps):
            edge = start + k * period_ps
            changes.set(edge, "sd.SDCLK", 0)
            changes.set(edge + half, "sd.SDCLK", 1)
        changes.set(start + ((end - start) // period_ps) * period_ps, "sd.SDCLK", 0)


def _annotations(changes: _Changes, events: Sequence[BusEvent], period_ps: int) -> None:
    bus = [e for e in events if e.kind in PHASE_PRIORITY and e.end_ps > e.start_ps]
    bounds = sorted({t for e in bus for t in (e.start_ps, e.end_ps)})
    rank = {kind: i for i, kind in enumerate(PHASE_PRIORITY)}
    for left in bounds:
        active = [e for e in bus if e.start_ps <= left < e.end_ps]
        if active:
            top = min(active, key=lambda e: rank[e.kind])
            changes.set(left, "annotation.phase", top.kind)
            changes.set(left, "annotation.command", _command_label(top))
        else:
            changes.set(left, "annotation.phase", "idle")
            changes.set(left, "annotation.command", "")
    for e in events:
        if e.kind == "data" and "block" in e.detail:
            changes.set(e.start_ps, "annotation.block", int(e.detail["block"]))
        elif e.kind == "dma":
            changes.set(e.start_ps, "annotation.dma", 1)
            changes.set(max(e.end_ps, e.start_ps + 1), "annotation.dma", 0)
        elif e.kind == "timeout":
            changes.set(e.end_ps, "annotation.error", f"timeout_{e.detail.get('what', '')}".rstrip("_"))
            changes.set(e.end_ps + period_ps, "annotation.error", "")


def clock_period_from_trace(trace: Sequence[BusEvent]) -> int | None:
    """The SD clock period the controller used: a command token lasts exactly 48 clocks."""
    for event in trace:
        if event.kind == "command" and event.end_ps > event.start_ps:
            return (event.end_ps - event.start_ps) // COMMAND_BITS
    return None


def write_vcd(
    out: str | os.PathLike[str] | IO[str],
    trace: Sequence[BusEvent],
    sd_clock_period_ps: int,
    bus_width: int,
) -> None:
    """Write the bus trace of one run as a VCD (timescale 1 ps) to a path or text stream."""
    if sd_clock_period_ps <= 0:
        raise ValueError(f"SD clock period must be positive, not {sd_clock_period_ps} ps")
    if bus_width not in (1, 4, 8):
        raise ValueError(f"bus width must be 1, 4 or 8, not {bus_width}")
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="ascii") as stream:
            write_vcd(stream, trace, sd_clock_period_ps, bus_width)
        return
    events = sorted(trace, key=lambda e: (e.start_ps, e.end_ps))
    changes = _Changes()
    for event in events:
        if event.kind in CMD_LINE_KINDS:
            _cmd_line(changes, event, sd_clock_period_ps)
        elif event.kind in DAT_LINE_KINDS:
            _dat_lines(changes, event, sd_clock_period_ps, bus_width)
    _clock(changes, _clock_windows(events, sd_clock_period_ps), sd_clock_period_ps)
    _annotations(changes, events, sd_clock_period_ps)

    with VCDWriter(out, timescale="1 ps", date="", version="sdhci-emu") as writer:
        variables = {
            "sd.SDCLK": writer.register_var("sd", "SDCLK", "wire", size=1, init=0),
            "sd.CMD": writer.register_var("sd", "CMD", "wire", size=1, init=1),
            "sd.DAT": writer.register_var("sd", "DAT", "wire", size=8, init="11111111"),
            "annotation.phase": writer.register_var("annotation", "phase", "string", init="idle"),
            "annotation.command": writer.register_var("annotation", "command", "string", init=""),
            "annotation.block": writer.register_var("annotation", "block", "integer", size=16, init=0),
            "annotation.dma": writer.register_var("annotation", "dma", "wire", size=1, init=0),
            "annotation.error": writer.register_var("annotation", "error", "string", init=""),
        }
        for t_ps, signal, value in changes.ordered():
            writer.change(variables[signal], t_ps, value)


def write_gtkw(out: str | os.PathLike[str] | IO[str], dump_path: str) -> None:
    """Write a GTKWave save file that opens `dump_path` and shows every signal of `write_vcd`."""
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="ascii") as stream:
            write_gtkw(stream, dump_path)
        return
    save = GTKWSave(out)
    save.dumpfile(dump_path, abspath=False)
    save.treeopen("sd")
    with save.group("SD bus"):
        save.trace("sd.SDCLK")
        save.trace("sd.CMD")
        save.trace("sd.DAT[7:0]", datafmt="bin")
    with save.group("annotation"):
        save.trace("annotation.phase", datafmt="ascii")
        save.trace("annotation.command", datafmt="ascii")
        save.trace("annotation.block", datafmt="dec")
        save.trace("annotation.dma")
        save.trace("annotation.error", datafmt="ascii")
