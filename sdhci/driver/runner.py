"""SyncRunner: execute sans-IO driver operations against the Python controller model.

The runner owns the CPU's clock. Each operation costs what the platform says
(sdhci.driver.platform) and the controller sees every access at the time the
CPU makes it. Poll jumps over reads that cannot see a change (the model
tells when its state may next change), yet counts and times the iterations
exactly as the loop in sdhci.driver.ops would have run them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

from sdhci.driver.ops import (
    Delay, DriverGen, MemRead, MemWrite, Now, Op, Poll, PollResult, Read, ReadBurst, Write, WriteBurst,
)
from sdhci.driver.platform import PlatformConfig


class Controller(Protocol):
    """What the runner needs of a controller (sdhci.controller.SdhciController).

    A controller may also offer ``read_burst(offset, count, t_ps, word_ps)`` and
    ``write_burst(offset, words, t_ps, word_ps)``: a whole ReadBurst/WriteBurst in
    one call, word i at ``t_ps + i * word_ps``, with exactly the effects of one
    read()/write() per word. The runner uses them when present (PIO moves 16384
    words per 64 KiB), else it makes the single accesses itself.

    And ``run_until_change(offset, width, limit_ps)``: run the model up to
    ``limit_ps`` but stop right after the first event that changes what a read
    of that register returns, and say when (None: no change by then). A Poll
    uses it to skip straight to the read that can see a change, however many
    events (a whole multi-block transfer) come before it.
    """

    def read(self, offset: int, width: int, t_ps: int) -> int: ...
    def write(self, offset: int, width: int, value: int, t_ps: int) -> None: ...
    def next_event_ps(self) -> int | None: ...


class Memory(Protocol):
    """What the runner needs of host RAM (sdhci.memory.HostMemory)."""

    def write(self, addr: int, data: bytes) -> None: ...
    def read(self, addr: int, length: int) -> bytes: ...


# Not frozen: one per executed op (hundreds per panic write) and a frozen
# dataclass's __init__ costs about three times as much. Treat records as read-only.
@dataclass(slots=True)
class OpRecord:
    """One executed operation: what, when (ps), and what it returned."""
    op: Op
    start_ps: int
    end_ps: int
    value: Any


@dataclass
class AccessCounts:
    """Register traffic: single reads (poll reads included), writes, burst words, poll reads."""
    read: int = 0
    write: int = 0
    burst_words: int = 0
    poll_iterations: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as PanicWriteResult.register_accesses keys them."""
        return {"read": self.read, "write": self.write, "burst_words": self.burst_words}


@dataclass(frozen=True)
class RunnerSnapshot:
    """The CPU's clock, the operations executed so far and the access counts (see SyncRunner.snapshot)."""
    t_ps: int
    log: tuple[OpRecord, ...]
    counts: AccessCounts


class SyncRunner:
    """Runs driver generators to completion against a controller model, synchronously."""

    def __init__(self, controller: Controller, memory: Memory, platform: PlatformConfig, t_ps: int = 0) -> None:
        self.controller = controller
        self.memory = memory
        self.platform = platform
        self.t_ps = t_ps
        self.log: list[OpRecord] = []
        self.counts = AccessCounts()
        # Dispatch on the op's exact type: one dict lookup per op instead of a match over nine classes.
        self._handlers: dict[type, Callable[[Any], Any]] = {
            Read: self._read, Write: self._write, ReadBurst: self._read_burst, WriteBurst: self._write_burst,
            MemWrite: self._mem_write, MemRead: self._mem_read, Delay: self._delay, Now: self._now,
            Poll: self._poll,
        }

    def snapshot(self) -> RunnerSnapshot:
        """Where the CPU is: its time, its log (records are read-only, so they are shared) and its counts."""
        return RunnerSnapshot(self.t_ps, tuple(self.log), replace(self.counts))

    def restore(self, snapshot: RunnerSnapshot) -> None:
        """Back to the moment of snapshot()."""
        self.t_ps = snapshot.t_ps
        self.log = list(snapshot.log)
        self.counts = replace(snapshot.counts)

    def run(self, routine: DriverGen) -> Any:
        """Drive ``routine`` until it returns; its return value is returned.

        The body of execute() inlined (hundreds of ops per routine): the
        same handler, the same record, one call fewer per op.
        """
        result: Any = None
        send, handlers, handler_for = routine.send, self._handlers, self._handler_for
        try:
            while True:
                op = send(result)
                start = self.t_ps
                result = (handlers.get(type(op)) or handler_for(op))(op)
                self.log.append(OpRecord(op, start, self.t_ps, result))
        except StopIteration as stop:
            return stop.value

    def execute(self, op: Op) -> Any:
        """Execute one operation at the current time, advance time, log it."""
        start = self.t_ps
        value = (self._handlers.get(type(op)) or self._handler_for(op))(op)
        self.log.append(OpRecord(op, start, self.t_ps, value))
        return value

    def _handler_for(self, op: Any) -> Callable[[Any], Any]:
        """The handler of a subclass of an op (TypeError if `op` is no operation at all)."""
        handler = next((h for cls, h in self._handlers.items() if isinstance(op, cls)), None)
        if handler is None:
            raise TypeError(f"not a driver operation: {op!r}")
        return handler

    def _read(self, op: Read) -> int:
        value = self.controller.read(op.offset, op.width, self.t_ps)
        self.t_ps += self.platform.mmio_read_ps
        self.counts.read += 1
        return value

    def _write(self, op: Write) -> None:
        self.controller.write(op.offset, op.width, op.value, self.t_ps)
        self.t_ps += self.platform.mmio_write_ps
        self.counts.write += 1

    def _read_burst(self, op: ReadBurst) -> list[int]:
        word_ps = self.platform.burst_word_read_ps
        read_burst = getattr(self.controller, "read_burst", None)
        if read_burst is not None:
            words = read_burst(op.offset, op.count, self.t_ps, word_ps)
            self.t_ps += max(0, op.count) * word_ps
        else:
            words = []
            for _ in range(op.count):
                words.append(self.controller.read(op.offset, 32, self.t_ps))
                self.t_ps += word_ps
        self.counts.burst_words += op.count
        return words

    def _write_burst(self, op: WriteBurst) -> None:
        word_ps = self.platform.burst_word_write_ps
        write_burst = getattr(self.controller, "write_burst", None)
        if write_burst is not None:
            write_burst(op.offset, op.words, self.t_ps, word_ps)
            self.t_ps += len(op.words) * word_ps
        else:
            for word in op.words:
                self.controller.write(op.offset, 32, word, self.t_ps)
                self.t_ps += word_ps
        self.counts.burst_words += len(op.words)

    def _mem_write(self, op: MemWrite) -> None:
        self.memory.write(op.addr, bytes(op.data))

    def _mem_read(self, op: MemRead) -> bytes:
        return self.memory.read(op.addr, op.length)

    def _delay(self, op: Delay) -> None:
        self.t_ps += max(0, op.ns) * 1000

    def _now(self, op: Now) -> int:
        return self.t_ps

    def _poll(self, op: Poll) -> PollResult:
        """The loop of ops.Poll, skipping reads before the model's next event.

        Iteration k reads at start + k * period, period = read + overhead +
        interval. While the model promises no change before its next event
        E, every read before E returns the last value, so those iterations
        are counted without being made; the first read at or after E (or the
        timing-out iteration) is made for real. Most polls end at their
        first read, so what the skipping needs is worked out at the first miss.
        """
        p = self.platform
        start = t = self.t_ps
        timeout_ps = max(0, op.timeout_ns) * 1000
        body_ps = p.mmio_read_ps + p.poll_overhead_ps
        offset, width, read, matches = op.offset, op.width, self.controller.read, op.matches
        next_change = None
        iterations = 0
        while True:
            value = read(offset, width, t)
            iterations += 1
            t += body_ps
            hit = matches(value)
            if hit or t - start >= timeout_ps:
                break
            if next_change is None:
                next_change = self._change_finder(offset, width)
                interval_ps = max(0, op.interval_ns) * 1000
                period = body_ps + interval_ps
                # Iteration j (0 = next) reads at next_read + j*period and times out if
                # next_read + j*period + body_ps - start >= timeout_ps, i.e. if it reads at or after last_read.
                last_read = start + timeout_ps - body_ps
            next_read = t + interval_ps
            to_timeout = max(0, -(-(last_read - next_read) // period))
            change = next_change(next_read + to_timeout * period)
            if change is None:
                skip = to_timeout
            else:
                skip = min(to_timeout, max(0, -(-(change - next_read) // period)))
            iterations += skip
            t = next_read + skip * period
        self.t_ps = t
        return self._poll_done(value, iterations, not hit)

    def _change_finder(self, offset: int, width: int) -> Callable[[int], int | None]:
        """f(limit): the earliest time by `limit` at which the polled register may read differently.

        With the controller's run_until_change, the model runs up to that
        change (the next read, at or after it, would run those events anyway);
        else the controller's next event stands for it.
        """
        run_until_change = getattr(self.controller, "run_until_change", None)
        if run_until_change is None:
            next_event_ps = self.controller.next_event_ps
            return lambda limit: next_event_ps()
        return lambda limit: run_until_change(offset, width, limit)

    def _poll_done(self, value: int, iterations: int, timed_out: bool) -> PollResult:
        self.counts.read += iterations
        self.counts.poll_iterations += iterations
        return PollResult(value, iterations, timed_out)
