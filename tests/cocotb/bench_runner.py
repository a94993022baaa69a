"""Kit self-test: the AXI4-Lite adapter (byte strobes, lanes) and the AsyncRunner's
op semantics, checked against cocotbext-axi's AxiLiteRam and against the
SyncRunner on the same scripted device.
"""
from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from cocotbext.axi import AxiLiteBus, AxiLiteRam

from sdhci.kit.adapters import AxiLiteAdapter
from sdhci.kit.runner import AsyncRunner, NoDmaError, now_ps
from sdhci.driver.ops import Delay, MemRead, MemWrite, Now, OpError, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.driver.platform import PlatformConfig
from sdhci.driver.runner import SyncRunner

CLK_PS = 20_000


async def axil_setup(dut) -> tuple[AxiLiteAdapter, AxiLiteRam]:
    cocotb.start_soon(Clock(dut.clk, CLK_PS, unit="ps").start())
    ram = AxiLiteRam(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n,
                     reset_active_level=False, size=4096)
    adapter = AxiLiteAdapter.from_dut(dut)
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    return adapter, ram


@cocotb.test()
async def axil_adapter_widths_and_strobes(dut) -> None:
    adapter, ram = await axil_setup(dut)
    strobes: list[int] = []

    async def watch_w() -> None:
        while True:
            await dut.clk.rising_edge
            if int(dut.s_axil_wvalid.value) and int(dut.s_axil_wready.value):
                strobes.append(int(dut.s_axil_wstrb.value))

    cocotb.start_soon(watch_w())
    await adapter.write(0x08, 32, 0x11223344)
    await adapter.write(0x09, 8, 0xAA)
    await adapter.write(0x0E, 16, 0xBEEF)
    assert strobes == [0b1111, 0b0010, 0b1100]
    assert ram.read(0x08, 8) == bytes([0x44, 0xAA, 0x22, 0x11, 0, 0, 0xEF, 0xBE])
    assert await adapter.read(0x08, 32) == 0x1122AA44
    assert await adapter.read(0x0B, 8) == 0x11
    assert await adapter.read(0x0E, 16) == 0xBEEF
    for offset, width in ((0x09, 16), (0x0A, 32), (0x08, 12)):
        try:
            await adapter.read(offset, width)
        except ValueError:
            continue
        raise AssertionError(f"{width}-bit access at {offset:#x} must be rejected")
    assert adapter.errors == []


@cocotb.test()
async def axil_adapter_pauses_keep_the_data(dut) -> None:
    # bus.pause: the master stalls AW/W/AR 2 clocks in every 3; the same accesses take
    # longer and move the same bytes.
    adapter, ram = await axil_setup(dut)

    async def timed() -> tuple[int, int]:
        start = now_ps()
        await adapter.write(0x24, 32, 0xCAFEF00D)
        value = await adapter.read(0x24, 32)
        return value, now_ps() - start

    plain_value, plain_ps = await timed()
    adapter.pause(2, 1)
    paused_value, paused_ps = await timed()
    assert plain_value == paused_value == 0xCAFEF00D and ram.read(0x24, 4) == bytes.fromhex("0DF0FECA")
    assert paused_ps > plain_ps, (plain_ps, paused_ps)


class ScriptedDevice:
    """A register device whose status register (0x30) reads 1 from `ready_ps` on."""

    def __init__(self, ready_ps: int) -> None:
        self.ready_ps = ready_ps
        self.regs = {0x08: 0, 0x20: 0}
        self.port_writes: list[int] = []

    def read(self, offset: int, width: int, t_ps: int) -> int:
        if offset == 0x30:
            return int(t_ps >= self.ready_ps)
        return self.regs.get(offset, 0)

    def write(self, offset: int, width: int, value: int, t_ps: int) -> None:
        if offset == 0x20:
            self.port_writes.append(value)
        self.regs[offset] = value

    def next_event_ps(self) -> int | None:
        return self.ready_ps


class FixedLatencyAdapter:
    """A bus with fixed costs: the register is sampled at the start of the access."""

    def __init__(self, device: ScriptedDevice, read_ps: int, write_ps: int) -> None:
        self.device, self.read_ps, self.write_ps = device, read_ps, write_ps

    async def read(self, offset: int, width: int) -> int:
        value = self.device.read(offset, width, now_ps())
        await Timer(self.read_ps, "ps")
        return value

    async def write(self, offset: int, width: int, value: int) -> None:
        self.device.write(offset, width, value, now_ps())
        await Timer(self.write_ps, "ps")


def program(results: list):
    """A driver-shaped routine using every op the RTL backend supports."""
    yield Write(0x08, 32, 5)
    results.append((yield Read(0x08, 32)))
    results.append((yield Now()))
    yield Delay(300)
    results.append((yield Poll(0x30, 16, 1, 1, interval_ns=1000, timeout_ns=50_000)))
    results.append((yield Poll(0x08, 32, 0xFF, 7, interval_ns=1000, timeout_ns=5_000)))
    yield WriteBurst(0x20, (1, 2, 3))
    results.append((yield ReadBurst(0x08, 2)))
    return "done"


@cocotb.test()
async def async_runner_matches_sync_runner(dut) -> None:
    await Timer(1, "us")
    start = now_ps()
    read_ps, write_ps = 100_000, 40_000
    ready_ps = start + 7_777_000

    device = ScriptedDevice(ready_ps)
    runner = AsyncRunner(FixedLatencyAdapter(device, read_ps, write_ps))
    async_results: list = []
    assert await runner.run(program(async_results)) == "done"

    platform = PlatformConfig(mmio_read_ps=read_ps, mmio_write_ps=write_ps, burst_word_read_ps=read_ps,
                              burst_word_write_ps=write_ps, poll_overhead_ps=0)
    sync = SyncRunner(ScriptedDevice(ready_ps), memory=None, platform=platform, t_ps=start)
    sync_results: list = []
    assert sync.run(program(sync_results)) == "done"

    assert async_results == sync_results
    assert [(r.op, r.start_ps, r.end_ps, r.value) for r in runner.log] == \
        [(r.op, r.start_ps, r.end_ps, r.value) for r in sync.log]
    # Hand count for the first Poll: it starts at start + 40 (write) + 100
    # (read) + 300 (delay) = start + 440 ns; one iteration is 100 ns read +
    # 1000 ns interval. Reads at 440, 1540, ... 7040 (iterations 1..7) see 0;
    # the read at 8140 ns (>= 7777) sees 1: 8 iterations.
    assert async_results[2] == (1, 8, False)
    # Second Poll never matches: reads at t0 + k*1100 end at t0 + k*1100 + 100;
    # it gives up once that is >= 5000 ns: k = 5, so 6 iterations.
    assert async_results[3] == (5, 6, True)
    assert device.port_writes == [1, 2, 3]
    assert runner.counts.as_dict() == {"read": 1 + 8 + 6, "write": 1, "burst_words": 5}


@cocotb.test()
async def async_runner_host_memory(dut) -> None:
    def dma():
        yield MemWrite(0x8000_0004, b"\x01\x02\x03")
        t = yield Now()
        data = yield MemRead(0x8000_0003, 5)
        return data, (yield Now()) - t

    # Without host memory a DMA buffer has nowhere to go.
    runner = AsyncRunner(FixedLatencyAdapter(ScriptedDevice(0), 1000, 1000))
    try:
        await runner.run(dma())
    except NoDmaError as err:
        assert "no host memory" in str(err)
    else:
        raise AssertionError("MemWrite without host memory must raise NoDmaError")

    class Ram:
        """The CPU's side of host memory (sdhci.kit.runner.CpuMemory), 16 bytes at 0x8000_0000."""

        def __init__(self) -> None:
            self.bytes = bytearray(16)

        def cpu_write(self, address: int, data: bytes) -> None:
            self.bytes[address - 0x8000_0000:address - 0x8000_0000 + len(data)] = data

        def cpu_read(self, address: int, length: int) -> bytes:
            return bytes(self.bytes[address - 0x8000_0000:address - 0x8000_0000 + length])

    ram = Ram()
    runner = AsyncRunner(FixedLatencyAdapter(ScriptedDevice(0), 1000, 1000), memory=ram)
    # MemWrite and MemRead are the CPU's own stores and loads: in memory at once, no simulated time.
    assert await runner.run(dma()) == (b"\x00\x01\x02\x03\x00", 0)
    assert ram.bytes[4:7] == b"\x01\x02\x03"


@cocotb.test()
async def async_runner_refuses_misaligned_access(dut) -> None:
    # The op is refused where the driver builds it, as on the SyncRunner
    # (tests/test_driver_ops.py): the good read runs, the bad one never reaches the bus.
    runner = AsyncRunner(FixedLatencyAdapter(ScriptedDevice(0), 1000, 1000))

    def routine():
        yield Read(0x30, 16)
        yield Read(0x31, 16)

    try:
        await runner.run(routine())
    except OpError as err:
        assert "not naturally aligned" in str(err)
    else:
        raise AssertionError("Read(0x31, 16) must raise OpError")
    assert [type(r.op) for r in runner.log] == [Read]
