"""VCD of a panic write, for GTKWave or any VCD reader, and a GTKWave save file that opens on it.

The controller model computes bus phases analytically and records them as
`sdhci.trace.BusEvent`s; this module turns such a trace into waveforms a
hardware engineer can lay beside an RTL simulation: SDCLK, CMD, DAT[7:0],
annotations naming the phase, the command and the data block, the CPU's
register accesses and polls, and markers for panic_write's entry and return
and the power cut.

Time 0 of the VCD is panic_write's entry. With the card bring-up kept, time
0 is power-on instead, the bring-up's bus is drawn in a scope of its own
(``bringup``) and the panic's in ``sd``; the save file opens zoomed on the
panic write either way.

What is drawn, and where it is approximate:
- CMD carries the exact 48-bit command token, and the exact response token
  the card sent (136 bits for R2) when it is given; otherwise start and end
  bits with 'x' between them.
- DAT shows start bit, data and CRC as 'x' on the lines in use (the trace does
  not carry the data), the end bit, the exact CRC status token on DAT0 and
  busy as DAT0 low. Idle lines are high (pull-ups).
- SDCLK toggles, one period per bit, across every command, response, data
  block and CRC status, across busy, and across gaps up to
  `MAX_CLOCKED_GAP_CYCLES` between them. Longer gaps and longer busy periods
  show SDCLK held low so that a five-second card stall does not turn into
  hundreds of millions of edges. Bit k of an event is centred on the rising
  edge k of its clock window, so the eye samples each bit where a card would.
- Text (phase, command, host access, marker) is an ASCII `reg` vector, 8 bits
  a character, padded with spaces: every VCD reader loads it (only IEEE 1364
  variable types are used); GTKWave shows it with the ASCII format.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

#: Characters of each text signal (8 bits each).
TEXT_CHARS = {"annotation.phase": 12, "annotation.command": 12, "annotation.error": 20, "host.access": 16,
              "panic.marker": 12}

#: Full hierarchical names of the signals of the panic write, as GTKWave shows them.
SIGNALS = (
    "sd.SDCLK",
    "sd.CMD",
    "sd.DAT",
    "annotation.phase",
    "annotation.command",
    "annotation.block",
    "annotation.dma",
    "annotation.error",
    "host.access",
    "host.poll",
    "panic.marker",
)
#: The bring-up's bus, when kept.
BRINGUP_SIGNALS = ("bringup.SDCLK", "bringup.CMD", "bringup.DAT")
#: The variable types of IEEE 1364 VCD this writer uses (string variables are a GTKWave extension).
VAR_TYPES = ("wire", "reg", "integer")


@dataclass(frozen=True)
class Waves:
    """What a VCD draws: the panic's bus trace and, when known, what the CPU and the card did around it.

    responses maps a response's first bit (ps) to the token the card sent;
    host_ops are the runner's OpRecords; markers (ps, name) pairs; bringup the
    bus trace before the panic (drawn in its own scope, time 0 = power-on);
    origin_ps is the time drawn as 0 when there is no bring-up (the entry).
    """
    trace: Sequence[BusEvent]
    period_ps: int
    bus_width: int
    responses: Mapping[int, bytes] = field(default_factory=dict)
    host_ops: Sequence[Any] = ()
    markers: Sequence[tuple[int, str]] = ()
    bringup: Sequence[BusEvent] = ()
    origin_ps: int = 0

    @property
    def origin(self) -> int:
        """The trace time drawn as VCD time 0."""
        return 0 if self.bringup else self.origin_ps


def _command_label(event: BusEvent) -> str:
    if event.cmd is None:
        return ""
    return f"CMD{event.cmd}" + ("_auto" if event.detail.get("auto") else "")


def _token_bits(token: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in token for i in range(8)]


def text_value(text: str, chars: int) -> int:
    """`text` as the integer of an ASCII reg vector of `chars` characters (space padded, cut to fit)."""
    return int.from_bytes(text[:chars].ljust(chars).encode("ascii", "replace"), "big")


def text_of(value: int, chars: int) -> str:
    """The text an ASCII reg vector holds (the inverse of text_value)."""
    return value.to_bytes(chars, "big").decode("ascii").rstrip()


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


def _cmd_line(changes: _Changes, scope: str, event: BusEvent, period_ps: int,
              responses: Mapping[int, bytes]) -> None:
    n = _bit_times(event, period_ps)
    bits: list[int | str] | None = None
    if event.kind == "command" and event.cmd is not None and "argument" in event.detail:
        bits = list(_token_bits(encode_command(event.cmd, int(event.detail["argument"]))))
    elif event.kind == "response" and event.start_ps in responses:
        bits = list(_token_bits(responses[event.start_ps]))
    if bits is None or len(bits) != n:
        bits = [0] + ["x"] * max(0, n - 2) + [1] if n > 1 else [0]
    for k, bit in enumerate(bits):
        changes.set(event.start_ps + k * period_ps, f"{scope}.CMD", bit)
    changes.set(event.end_ps, f"{scope}.CMD", 1)


def _dat_value(width: int, lines: str) -> str:
    """An 8-bit DAT value: `lines` on DAT[width-1:0], the unused lines high."""
    return "1" * (8 - width) + lines


def _dat_lines(changes: _Changes, scope: str, event: BusEvent, period_ps: int, width: int) -> None:
    t = event.start_ps
    dat = f"{scope}.DAT"
    if event.kind == "data":
        n = _bit_times(event, period_ps)
        changes.set(t, dat, _dat_value(width, "0" * width))
        changes.set(t + period_ps, dat, _dat_value(width, "x" * width))
        changes.set(t + (n - 1) * period_ps, dat, "11111111")
    elif event.kind == "crc_status":
        status = int(event.detail.get("status", CRC_STATUS_NONE))
        token = [0, (status >> 2) & 1, (status >> 1) & 1, status & 1, 1]
        for k, bit in enumerate(token):
            changes.set(t + k * period_ps, dat, "1111111" + str(bit))
    elif event.kind == "busy":
        changes.set(t, dat, "11111110")
    changes.set(event.end_ps, dat, "11111111")


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


def _clock(changes: _Changes, scope: str, windows: list[tuple[int, int]], period_ps: int) -> None:
    half = period_ps // 2
    clk = f"{scope}.SDCLK"
    for start, end in windows:
        for k in range((end - start) // period_ps):
            edge = start + k * period_ps
            changes.set(edge, clk, 0)
            changes.set(edge + half, clk, 1)
        changes.set(start + ((end - start) // period_ps) * period_ps, clk, 0)


def _bus(changes: _Changes, scope: str, events: Sequence[BusEvent], waves: Waves) -> None:
    """SDCLK, CMD and DAT of `scope` from the events."""
    for event in events:
        if event.kind in CMD_LINE_KINDS:
            _cmd_line(changes, scope, event, waves.period_ps, waves.responses)
        elif event.kind in DAT_LINE_KINDS:
            _dat_lines(changes, scope, event, waves.period_ps, waves.bus_width)
    _clock(changes, scope, _clock_windows(events, waves.period_ps), waves.period_ps)


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


def _access_text(op: Any) -> str:
    """One register operation in a few characters: 'R 0x30', 'W 0x0C=0x23', 'poll 0x30', 'burst 0x20'."""
    name = type(op).__name__
    if name == "Read":
        return f"R 0x{op.offset:02X}"
    if name == "Write":
        return f"W 0x{op.offset:02X}={op.value:X}"
    if name == "Poll":
        return f"poll 0x{op.offset:02X}"
    if name in ("ReadBurst", "WriteBurst"):
        return f"burst 0x{op.offset:02X}"
    return ""


def _host(changes: _Changes, ops: Sequence[Any], origin: int) -> None:
    """The CPU's register operations: what it accesses, and whether it is polling."""
    for record in ops:
        text = _access_text(record.op)
        if not text or record.end_ps < origin:
            continue
        changes.set(record.start_ps, "host.access", text)
        changes.set(record.end_ps, "host.access", "")
        if text.startswith("poll"):
            changes.set(record.start_ps, "host.poll", 1)
            changes.set(record.end_ps, "host.poll", 0)


def write_vcd(out: str | os.PathLike[str] | IO[str], waves: Waves) -> None:
    """Write the waves of one run as a VCD (timescale 1 ps) to a path or text stream."""
    if waves.period_ps <= 0:
        raise ValueError(f"SD clock period must be positive, not {waves.period_ps} ps")
    if waves.bus_width not in (1, 4, 8):
        raise ValueError(f"bus width must be 1, 4 or 8, not {waves.bus_width}")
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="ascii") as stream:
            write_vcd(stream, waves)
        return
    origin = waves.origin
    panic = sorted((e for e in waves.trace if e.end_ps > waves.origin_ps), key=lambda e: (e.start_ps, e.end_ps))
    changes = _Changes()
    _bus(changes, "sd", panic, waves)
    _annotations(changes, panic, waves.period_ps)
    _host(changes, waves.host_ops, waves.origin_ps)
    if waves.bringup:
        _bus(changes, "bringup", sorted(waves.bringup, key=lambda e: (e.start_ps, e.end_ps)), waves)
    for t_ps, name in waves.markers:
        changes.set(t_ps, "panic.marker", name)

    with VCDWriter(out, timescale="1 ps", date="", version="sdhci-emu") as writer:
        def text(scope: str, name: str):
            return writer.register_var(scope, name, "reg", size=8 * TEXT_CHARS[f"{scope}.{name}"],
                                       init=text_value("", TEXT_CHARS[f"{scope}.{name}"]))
        variables = {}
        for scope in ("sd", "bringup") if waves.bringup else ("sd",):
            variables[f"{scope}.SDCLK"] = writer.register_var(scope, "SDCLK", "wire", size=1, init=0)
            variables[f"{scope}.CMD"] = writer.register_var(scope, "CMD", "wire", size=1, init=1)
            variables[f"{scope}.DAT"] = writer.register_var(scope, "DAT", "wire", size=8, init="11111111")
        variables.update({
            "annotation.phase": text("annotation", "phase"),
            "annotation.command": text("annotation", "command"),
            "annotation.block": writer.register_var("annotation", "block", "integer", size=16, init=0),
            "annotation.dma": writer.register_var("annotation", "dma", "wire", size=1, init=0),
            "annotation.error": text("annotation", "error"),
            "host.access": text("host", "access"),
            "host.poll": writer.register_var("host", "poll", "wire", size=1, init=0),
            "panic.marker": text("panic", "marker"),
        })
        for t_ps, signal, value in changes.ordered():
            if t_ps < origin:
                continue
            if signal in TEXT_CHARS:
                value = text_value(value, TEXT_CHARS[signal])
            writer.change(variables[signal], t_ps - origin, value)


def write_gtkw(out: str | os.PathLike[str] | IO[str], dump_path: str, window: tuple[int, int] | None = None,
               markers: Sequence[int] = (), bringup: bool = False) -> None:
    """Write a GTKWave save file that opens `dump_path` on `window` (VCD times, ps) with `markers` (a, b, c...)."""
    if isinstance(out, (str, os.PathLike)):
        with open(out, "w", encoding="ascii") as stream:
            write_gtkw(stream, dump_path, window, markers, bringup)
        return
    save = GTKWSave(out)
    save.dumpfile(dump_path, abspath=False)
    if window is not None:
        start, end = window
        save.size(1200, 700)
        # GTKWave's zoom is a power of two: at zoom z a pixel spans 2^-z time units; fit the window in ~1000 pixels.
        save.zoom_markers(-math.log2(max(end - start, 1000) / 1000), markers[0] if markers else -1,
                          **{name: t for name, t in zip("abcdefghijklmnopqrstuvwxyz", markers)})
        save.timestart(start)
    save.treeopen("sd")
    with save.group("SD bus"):
        save.trace("sd.SDCLK")
        save.trace("sd.CMD")
        save.trace("sd.DAT[7:0]", datafmt="bin")
    with save.group("annotation"):
        save.trace(f"annotation.phase[{8 * TEXT_CHARS['annotation.phase'] - 1}:0]", datafmt="ascii")
        save.trace(f"annotation.command[{8 * TEXT_CHARS['annotation.command'] - 1}:0]", datafmt="ascii")
        save.trace("annotation.block", datafmt="dec")
        save.trace("annotation.dma")
        save.trace(f"annotation.error[{8 * TEXT_CHARS['annotation.error'] - 1}:0]", datafmt="ascii")
    with save.group("host"):
        save.trace(f"host.access[{8 * TEXT_CHARS['host.access'] - 1}:0]", datafmt="ascii")
        save.trace("host.poll")
        save.trace(f"panic.marker[{8 * TEXT_CHARS['panic.marker'] - 1}:0]", datafmt="ascii")
    if bringup:
        with save.group("bring-up", closed=True):
            save.trace("bringup.SDCLK")
            save.trace("bringup.CMD")
            save.trace("bringup.DAT[7:0]", datafmt="bin")


def clock_period_from_trace(trace: Sequence[BusEvent]) -> int | None:
    """The SD clock period the controller used: a command token lasts exactly 48 clocks."""
    for event in trace:
        if event.kind == "command" and event.end_ps > event.start_ps:
            return (event.end_ps - event.start_ps) // COMMAND_BITS
    return None


def panic_waves(result: Any, bringup: bool = False) -> Waves:
    """The waves of a PanicWriteResult: time 0 at panic_write's entry, or at power-on with the bring-up kept."""
    from sdhci.controller.clock import period_ps
    markers = [(result.entry_ps, "entry")]
    if not result.cut_before_return:
        markers.append((result.entry_ps + result.total_ps, "return"))
    if result.power_cut_ps is not None:
        markers.append((result.power_cut_ps, "power cut"))
    return Waves(result.trace, clock_period_from_trace(result.trace) or period_ps(result.sd_clock_hz),
                 result.bus_width, result.responses, result.op_log, markers,
                 result.bringup_trace if bringup else (), result.entry_ps)


def write_panic_waves(vcd_path: str, result: Any, bringup: bool = False) -> str:
    """Write the run's VCD and, beside it, the .gtkw that opens on the panic write; returns the .gtkw's path."""
    waves = panic_waves(result, bringup)
    write_vcd(vcd_path, waves)
    origin = waves.origin
    times = [t - origin for t, _ in waves.markers]
    gtkw_path = os.path.splitext(vcd_path)[0] + ".gtkw"
    margin = max(times[-1] - times[0], 1) // 50
    write_gtkw(gtkw_path, os.path.basename(vcd_path), (max(0, times[0] - margin), times[-1] + margin), times,
               bringup=bool(waves.bringup))
    return gtkw_path
