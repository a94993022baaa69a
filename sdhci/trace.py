"""The bus trace: what happened on CMD and DAT, with start and end in picoseconds.

The controller model appends one BusEvent per bus phase (command, response,
data block, CRC status, busy, timeout) and per DMA memory transfer. Reports,
VCD writers and tests read it; cycle counts are (end - start) / period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

# An Auto CMD12/CMD23 is a "command" event with detail["auto"] = True.
EventKind = Literal["command", "response", "data", "crc_status", "busy", "dma", "timeout"]


# Not frozen: the model makes several per data block and a frozen dataclass's
# __init__ costs about three times as much. Treat events as read-only all the same.
@dataclass(slots=True)
class BusEvent:
    """One bus phase. `cmd` is the index of the command it belongs to."""

    kind: EventKind
    start_ps: int
    end_ps: int
    cmd: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ps(self) -> int:
        return self.end_ps - self.start_ps

    def cycles(self, period_ps: int) -> int:
        """Length in SD clock cycles; ValueError if not a whole number (a modelling bug)."""
        cycles, rest = divmod(self.duration_ps, period_ps)
        if rest:
            raise ValueError(f"{self.kind} lasts {self.duration_ps} ps, not a whole number of {period_ps} ps cycles")
        return cycles


def events(trace: Iterable[BusEvent], kind: str | None = None, cmd: int | None = None) -> list[BusEvent]:
    """The events of one kind and/or one command index, in trace order."""
    return [e for e in trace if (kind is None or e.kind == kind) and (cmd is None or e.cmd == cmd)]


def format_trace(trace: Iterable[BusEvent]) -> str:
    """A human-readable table, one event per line, times in ns."""
    lines = []
    for e in trace:
        cmd = f"CMD{e.cmd}" if e.cmd is not None else ""
        extra = " ".join(f"{k}={v}" for k, v in e.detail.items())
        lines.append(f"{e.start_ps / 1000:14.3f} {e.end_ps / 1000:14.3f} ns  {e.kind:<10} {cmd:<6} {extra}")
    return "\n".join(lines)
