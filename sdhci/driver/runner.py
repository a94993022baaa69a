"""SyncRunner: execute sans-IO driver operations against the Python controller model.

The runner owns the CPU's clock. Each operation costs what the platform says
(sdhci.driver.platform) and the controller sees every access at the time the
CPU makes it. Poll jumps over reads that cannot see a change (the model
tells when its state may next change), yet counts and times the iterations
exactly as the loop in sdhci.driver.ops would have run them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sdhci.driver.ops import (
    Delay, DriverGen, MemRead, MemWrite, Now, Op, Poll, PollResult, Read, ReadBurst, Write, WriteBurst,
)
from sdhci.driver.platform import PlatformConfig


class Controller(Protocol):
    """What the runner needs of a controller (sdhci.controller.SdhciController)."""

    def read(self, offset: int, width: int, t_ps: int) -> int: ...
    def write(self, offset: int, width: int, value: int, t_ps: int) -> None: ...
    def next_event_ps(self) -> int | None: ...


class Memory(Protocol):
    """What the runner needs of host RAM (sdhci.memory.HostMemory)."""

    def write(self, addr: int, data: bytes) -> None: ...
    def read(self, addr: int, length: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
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


class SyncRunner:
    """Runs driver generators to completion against a controller model, synchronously."""

    def __init__(self, controller: Controller, memory: Memory, platform: PlatformConfig, t_ps: int = 0) -> None:
        self.controller = controller
        self.memory = memory
        self.platform = platform
        self.t_ps = t_ps
        self.log: list[OpRecord] = []
        self.counts = AccessCounts()

    def run(self, routine: DriverGen) -> Any:
        """Drive ``routine`` until it returns; its return value is returned."""
        result: Any = None
        try:
            while True:
                op = routine.send(result)
                result = self.execute(op)
        except StopIteration as stop:
            return stop.value

    def execute(self, op: Op) -> Any:
        """Execute one operation at the current time, advance time, log it."""
        start = self.t_ps
        value = self._dispatch(op)
        self.log.append(OpRecord(op, start, self.t_ps, value))
        return value

    def _dispatch(self, op: Op) -> Any:
        p = self.platform
        match op:
            case Read(offset, width):
                value = self.controller.read(offset, width, self.t_ps)
                self.t_ps += p.mmio_read_ps
                self.counts.read += 1
                return value
            case Write(offset, width, value):
                self.controller.write(offset, width, value, self.t_ps)
                self.t_ps += p.mmio_write_ps
                self.counts.write += 1
                return None
            case ReadBurst(offset, count):
                words = []
                for _ in range(count):
                    words.append(self.controller.read(offset, 32, self.t_ps))
                    self.t_ps += p.burst_word_read_ps
                self.counts.burst_words += count
                return words
            case WriteBurst(offset, words):
                for word in words:
                    self.controller.write(offset, 32, word, self.t_ps)
                    self.t_ps += p.burst_word_write_ps
                self.counts.burst_words += len(words)
                return None
            case MemWrite(addr, data):
                self.memory.write(addr, bytes(data))
                return None
            case MemRead(addr, length):
                return self.memory.read(addr, length)
            case Delay(ns):
                self.t_ps += max(0, ns) * 1000
                return None
            case Now():
                return self.t_ps
            case Poll():
                return self._poll(op)
        raise TypeError(f"not a driver operation: {op!r}")

    def _poll(self, op: Poll) -> PollResult:
        """The loop of ops.Poll, skipping reads before the model's next event.

        Iteration k reads at start + k * period, period = read + overhead +
        interval. While the model promises no change before its next event
        E, every read before E returns the last value, so those iterations
        are counted without being made; the first read at or after E (or the
        timing-out iteration) is made for real.
        """
        p = self.platform
        start = self.t_ps
        timeout_ps = max(0, op.timeout_ns) * 1000
        interval_ps = max(0, op.interval_ns) * 1000
        body_ps = p.mmio_read_ps + p.poll_overhead_ps
        period = body_ps + interval_ps
        iterations = 0
        while True:
            value = self.controller.read(op.offset, op.width, self.t_ps)
            iterations += 1
            self.t_ps += body_ps
            if op.matches(value):
                return self._poll_done(value, iterations, False)
            if self.t_ps - start >= timeout_ps:
                return self._poll_done(value, iterations, True)
            next_read = self.t_ps + interval_ps
            # Iteration j (0 = next) reads at next_read + j*period and times out if
            # next_read + j*period + body_ps - start >= timeout_ps.
            to_timeout = max(0, -(-(timeout_ps - (next_read + body_ps - start)) // period))
            event = self.controller.next_event_ps()
            if event is None:
                skip = to_timeout
            else:
                skip = min(to_timeout, max(0, -(-(event - next_read) // period)))
            iterations += skip
            self.t_ps = next_read + skip * period

    def _poll_done(self, value: int, iterations: int, timed_out: bool) -> PollResult:
        self.counts.read += iterations
        self.counts.poll_iterations += iterations
        return PollResult(value, iterations, timed_out)
