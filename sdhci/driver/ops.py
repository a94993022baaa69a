"""Sans-IO operations the driver yields and a runner executes (docs/interfaces.md).

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

Operations are checked when they are built (OpError, a ValueError): a
register access is 8, 16 or 32 bits wide, naturally aligned, inside the
slot's 256-byte register block (SD Host Controller Simplified Specification,
1.x "Register Map": each slot's standard registers occupy 256 bytes, accessed
as 8/16/32-bit quantities at their natural alignment), and a written value
fits its width. So a driver bug such as ``Read(0x31, 16)`` fails at the same
line on every backend, the Python model and RTL alike, instead of reading 0
on one and raising in a bus adapter on the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, NamedTuple, TypeAlias

REGISTER_WIDTHS = (8, 16, 32)
REGISTER_BLOCK_BYTES = 0x100        # one slot's standard register block


class OpError(ValueError):
    """A driver operation no SDHCI host can perform (bad width, alignment, offset or value)."""


# Every legal (offset, width): one set lookup per operation built (the drivers build thousands).
_LEGAL = frozenset((offset, width) for width in REGISTER_WIDTHS
                   for offset in range(0, REGISTER_BLOCK_BYTES - width // 8 + 1, width // 8))


def check_access(offset: int, width: int) -> None:
    """Reject a register access that is not 8/16/32 bits, naturally aligned, inside the block."""
    if (offset, width) in _LEGAL:
        return
    if width not in REGISTER_WIDTHS:
        raise OpError(f"register access width must be 8, 16 or 32 bits, not {width}")
    if not 0 <= offset <= REGISTER_BLOCK_BYTES - width // 8:
        raise OpError(f"register offset {offset:#x} is outside the {REGISTER_BLOCK_BYTES:#x}-byte register block")
    if offset % (width // 8):
        raise OpError(f"{width}-bit access at offset {offset:#x} is not naturally aligned")


def _check_value(value: int, width: int, what: str) -> None:
    if not 0 <= value < (1 << width):
        raise OpError(f"{what} {value:#x} does not fit a {width}-bit register")


_LIMIT = {width: 1 << width for width in REGISTER_WIDTHS}     # _check_value's bound, per legal width


@dataclass(frozen=True, slots=True)
class Read:
    """Read one register of ``width`` bits (8, 16, 32) at byte ``offset``."""
    offset: int
    width: int

    def __post_init__(self) -> None:
        if (self.offset, self.width) not in _LEGAL:      # check_access's own first test, without the call
            check_access(self.offset, self.width)


@dataclass(frozen=True, slots=True)
class Write:
    """Write ``value`` to the ``width``-bit register at byte ``offset``."""
    offset: int
    width: int
    value: int

    def __post_init__(self) -> None:
        # One test for the legal case (the drivers build thousands), then the checks that raise.
        if (self.offset, self.width) not in _LEGAL or not 0 <= self.value < _LIMIT[self.width]:
            check_access(self.offset, self.width)
            _check_value(self.value, self.width, "value")


@dataclass(frozen=True, slots=True)
class ReadBurst:
    """``count`` back-to-back 32-bit reads of one port (the Buffer Data Port)."""
    offset: int
    count: int

    def __post_init__(self) -> None:
        check_access(self.offset, 32)
        if self.count < 0:
            raise OpError(f"burst of {self.count} words")


@dataclass(frozen=True, slots=True)
class WriteBurst:
    """Back-to-back 32-bit writes of ``words`` to one port (the Buffer Data Port)."""
    offset: int
    words: tuple[int, ...]

    def __post_init__(self) -> None:
        check_access(self.offset, 32)


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

    def __post_init__(self) -> None:
        limit = _LIMIT.get(self.width, 0)
        if (self.offset, self.width) not in _LEGAL or not (0 <= self.mask < limit and 0 <= self.value < limit):
            check_access(self.offset, self.width)
            _check_value(self.mask, self.width, "mask")
            _check_value(self.value, self.width, "value")

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
