"""AsyncRunner: execute the sans-IO driver's operations against RTL under cocotb.

The same generators the SyncRunner (sdhci.driver.runner) runs against the
Python model run here against a simulated controller, through a bus adapter
(sdhci.kit.adapters). Time is the simulator's: a register access takes
as long as the bus protocol does, Delay is a Timer, and Poll is the real
loop of sdhci.driver.ops (one read per iteration, no skipping), so the
iteration count is what the loop actually did.
"""
from __future__ import annotations

import time
from typing import Any, Protocol

from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from sdhci.kit.adapters import BusAdapter
from sdhci.driver.ops import (
    Delay, DriverGen, MemRead, MemWrite, Now, Op, Poll, PollResult, Read, ReadBurst, Write, WriteBurst,
)
from sdhci.driver.runner import AccessCounts, OpRecord


class NoDmaError(RuntimeError):
    """The driver touched host RAM (a DMA transfer) on a backend without a DMA path."""


class CpuMemory(Protocol):
    """Host RAM as the CPU sees it (sdhci.kit.host_memory.HostMemory): where MemWrite/MemRead go."""

    def cpu_write(self, address: int, data: bytes) -> None: ...
    def cpu_read(self, address: int, length: int) -> bytes: ...


def now_ps() -> int:
    """Simulation time in integer picoseconds."""
    return int(round(get_sim_time("ps")))


async def wait_ps(duration_ps: int) -> None:
    if duration_ps > 0:
        await Timer(duration_ps, "ps")


class AsyncRunner:
    """Runs driver generators to completion over a bus adapter, awaiting each access.

    poll_overhead_ps: CPU time of one poll iteration besides its read
    (PlatformConfig.poll_overhead_ps); 0 by default because on RTL the
    read's bus time is the whole measured cost.
    memory: the host RAM the controller's DMA master reaches; MemWrite and
    MemRead go there, instantly. Without one they raise NoDmaError.
    """

    def __init__(self, adapter: BusAdapter, poll_overhead_ps: int = 0, memory: CpuMemory | None = None) -> None:
        self.adapter = adapter
        self.poll_overhead_ps = poll_overhead_ps
        self.memory = memory
        self.log: list[OpRecord] = []
        self.wall_s: list[float] = []      # wall clock (perf_counter) at the end of each logged op
        self.counts = AccessCounts()

    async def run(self, routine: DriverGen) -> Any:
        """Drive `routine` until it returns; its return value is returned."""
        result: Any = None
        try:
            while True:
                op = routine.send(result)
                result = await self.execute(op)
        except StopIteration as stop:
            return stop.value

    async def execute(self, op: Op) -> Any:
        """Execute one operation now, log it with its start and end time."""
        start = now_ps()
        value = await self._dispatch(op)
        self.log.append(OpRecord(op, start, now_ps(), value))
        self.wall_s.append(time.perf_counter())
        return value

    def wall_between(self, start_ps: int, end_ps: int) -> float:
        """Wall-clock seconds the simulation took from sim time start_ps to end_ps (op granularity)."""
        inside = [w for r, w in zip(self.log, self.wall_s) if start_ps <= r.end_ps <= end_ps]
        return inside[-1] - inside[0] if len(inside) >= 2 else 0.0

    async def _dispatch(self, op: Op) -> Any:
        bus = self.adapter
        match op:
            case Read(offset, width):
                self.counts.read += 1
                return await bus.read(offset, width)
            case Write(offset, width, value):
                self.counts.write += 1
                await bus.write(offset, width, value)
                return None
            case ReadBurst(offset, count):
                self.counts.burst_words += count
                return [await bus.read(offset, 32) for _ in range(count)]
            case WriteBurst(offset, words):
                self.counts.burst_words += len(words)
                for word in words:
                    await bus.write(offset, 32, word)
                return None
            case MemWrite() | MemRead() if self.memory is None:
                raise NoDmaError(f"{type(op).__name__}: no host memory on this bench (the controller's "
                                 "DMA master is not connected); run the driver in PIO mode")
            case MemWrite(addr, data):
                self.memory.cpu_write(addr, data)
                return None
            case MemRead(addr, length):
                return self.memory.cpu_read(addr, length)
            case Delay(ns):
                await wait_ps(ns * 1000)
                return None
            case Now():
                return now_ps()
            case Poll():
                return await self._poll(op)
        raise TypeError(f"not a driver operation: {op!r}")

    async def _poll(self, op: Poll) -> PollResult:
        """The loop of sdhci.driver.ops.Poll, each iteration a real register read."""
        start = now_ps()
        iterations = 0
        while True:
            value = await self.adapter.read(op.offset, op.width)
            iterations += 1
            await wait_ps(self.poll_overhead_ps)
            if op.matches(value):
                break
            if now_ps() - start >= op.timeout_ns * 1000:
                self._count_poll(iterations)
                return PollResult(value, iterations, True)
            await wait_ps(op.interval_ns * 1000)
        self._count_poll(iterations)
        return PollResult(value, iterations, False)

    def _count_poll(self, iterations: int) -> None:
        self.counts.read += iterations
        self.counts.poll_iterations += iterations
