"""Sans-IO operations the driver yields and a runner executes (DESIGN.md decisions 1 and 7).

A driver routine is a generator: it ``yield``s one of these objects and gets
the result back from ``send()``. The same program runs against the Python
controller model (``SyncRunner``) and against RTL under cocotb (an async
runner), so each operation's meaning is defined here, not by a backend.

Results:
    Read       -> int (the register value, zero-extended to ``width`` bits)
    Write      -> None
    ReadBurst  -> list[int] (``count`` 32-bit reads of one port, in order)
    WriteBurst -> None (one 32-bit write per word, in order)
    MemWrite   -> None (host RAM; no bus cost, the CPU's store is instant)
    MemRead    -> bytes (host RAM; no bus cost)
    Delay      -> None (the CPU spins ``ns`` nanoseconds: udelay/mdelay)
    Now        -> int (current time in ps)
    Poll       -> PollResult

Poll semantics, exactly (a runner may skip reads it can prove would return
the same value, but must report the same numbers)::

    start = now
    iterations = 0
    loop:
        value = Read(offset, width)          # one iteration = one read
        iterations += 1
        if matches(value): return PollResult(value, iterations, False)
        if now - start >= timeout_ns:        # checked after the read (and the
            return PollResult(value, iterations, True)   # platform's per-iteration overhead)
        Delay(interval_ns)

where ``matches(v)`` is ``(v & mask) == value`` or, with ``negate``,
``(v & mask) != value`` (so ``mask=M, value=0, negate=True`` waits for any
bit of M). A Poll always makes at least one read, also with ``timeout_ns=0``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, NamedTuple, TypeAlias


@dataclass(frozen=True, slots=True)
class Read:
    """Read one register of ``width`` bits (8, 16, 32) at byte ``offset``."""
    offset: int
    width: int


@dataclass(frozen=True, slots=True)
class Write:
    """Write ``value`` to the ``width``-bit register at byte ``offset``."""
    offset: int
    width: int
    value: int


@dataclass(frozen=True, slots=True)
class ReadBurst:
    """``count`` back-to-back 32-bit reads of one port (the Buffer Data Port)."""
    offset: int
    count: int


@dataclass(frozen=True, slots=True)
class WriteBurst:
    """Back-to-back 32-bit writes of ``words`` to one port (the Buffer Data Port)."""
    offset: int
    words: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MemWrite:
    """Store bytes in host RAM (DMA buffers, ADMA descriptor tables); no bus cost."""
    addr: int
    data: bytes


@dataclass(frozen=True, slots=True)
class MemRead:
    """Load bytes from host RAM (data a DMA engine wrote); no bus cost."""
    addr: int
    length: int


@dataclass(frozen=True, slots=True)
class Delay:
    """The CPU busy-waits ``ns`` nanoseconds (udelay/mdelay in the kernel)."""
    ns: int


@dataclass(frozen=True, slots=True)
class Now:
    """Ask for the current time in picoseconds (ktime_get)."""


@dataclass(frozen=True, slots=True)
class Poll:
    """Read a register every ``interval_ns`` until it matches or ``timeout_ns`` passed.

    See the module docstring for the exact loop, iteration count and timeout rule.
    """
    offset: int
    width: int
    mask: int
    value: int
    interval_ns: int
    timeout_ns: int
    negate: bool = False

    def matches(self, reg: int) -> bool:
        """The loop's exit condition for one register value."""
        hit = (reg & self.mask) == self.value
        return hit != self.negate


class PollResult(NamedTuple):
    """What a Poll returns: the last value read, reads made, whether it gave up."""
    value: int
    iterations: int
    timed_out: bool


Op: TypeAlias = Read | Write | ReadBurst | WriteBurst | MemWrite | MemRead | Delay | Now | Poll

#: A driver routine: yields ops, receives their results, returns its own value.
DriverGen: TypeAlias = Generator[Op, Any, Any]
