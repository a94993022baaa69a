"""Shared pieces of the rtl_model benches (bench_rtl_*.py, bench_dma_timing.py):
clock and reset, register access over AXI4-Lite (cocotbext-axi), and a
scripted card on the SD pins that the benches drive cell by cell; the AXI4
master's bursts (Bursts) and the DUT's base clock (base_clock) for the
driver benches too.

The scripted card follows the pin convention of rtl_model/README.md: it
samples the host's CMD/DAT on sdclk rising edges and changes cmd_i/dat_i on
sdclk falling edges; undriven lines read 1 (pull-ups). Expectations (token
bytes, CRCs) come from emmc_card.crc, not from the RTL.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from emmc_card.crc import crc7, crc16_lines, split_lines
from sdhci import regmap as rm

CLK_PS = 20_000                         # 50 MHz base clock = BASE_CLK_MHZ default
INT_ALL = 0xFFFF_FFFF


WIDTH_BITS = {1: 0, 4: rm.SDHCI_CTRL_4BITBUS, 8: rm.SDHCI_CTRL_8BITBUS}   # Host Control 1


def now_ps() -> int:
    return int(get_sim_time("ps"))


def base_clock(dut) -> tuple[int, int]:
    """(BASE_CLK_MHZ, clk period in ps) of the DUT; the driver benches run the SD clock at it."""
    base = int(dut.BASE_CLK_MHZ.value)
    return base, 1_000_000 // base


def response_token(index: int, status: int, crc: int | None = None, end: int = 1) -> bytes:
    """A card R1/R3 token (transmission bit 0); `crc`/`end` override for fault tests."""
    head = bytes([index & 0x3F]) + status.to_bytes(4, "big")
    return head + bytes([((crc7(head) if crc is None else crc) << 1) | end])


def r2_token(register: int) -> bytes:
    """An R2: start 0, transmission 0, 111111, then register bits 127..1, end 1.

    `register` is the 128-bit CID/CSD with its own CRC7 in bits 7..1.
    """
    return bytes([0x3F]) + (register | 1).to_bytes(16, "big")


class Host:
    """Register access to sdhci_top over AXI4-Lite."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n,
                                  reset_active_level=False)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)

    async def read(self, offset: int, width: int = 32) -> int:
        resp = await self.axil.read(offset, width // 8)
        return int.from_bytes(resp.data, "little")

    async def read_resp(self, offset: int, width: int = 32) -> tuple[int, int]:
        resp = await self.axil.read(offset, width // 8)
        return int.from_bytes(resp.data, "little"), int(resp.resp)

    async def write(self, offset: int, value: int, width: int = 32) -> int:
        resp = await self.axil.write(offset, value.to_bytes(width // 8, "little"))
        return int(resp.resp)

    async def clock_on(self, divisor: int) -> None:
        """Internal clock on, wait for stable, then SD clock on with 10-bit divisor N."""
        ctrl = ((divisor & 0xFF) << 8) | (((divisor >> 8) & 3) << 6) | rm.SDHCI_CLOCK_INT_EN
        await self.write(rm.SDHCI_CLOCK_CONTROL, ctrl, 16)
        for _ in range(10):
            if await self.read(rm.SDHCI_CLOCK_CONTROL, 16) & rm.SDHCI_CLOCK_INT_STABLE:
                break
        else:
            raise AssertionError("Internal Clock Stable never set")
        await self.write(rm.SDHCI_CLOCK_CONTROL, ctrl | rm.SDHCI_CLOCK_CARD_EN, 16)

    async def set_bus(self, width: int, divisor: int, blocks: int) -> None:
        """SD clock on with divisor N, bus width 1/4/8, 512-byte blocks and the Block Count."""
        await self.clock_on(divisor)
        await self.write(rm.SDHCI_HOST_CONTROL, WIDTH_BITS[width], 8)
        await self.write(rm.SDHCI_BLOCK_SIZE, (blocks << 16) | 512)

    async def enable_interrupts(self, signal: int = 0) -> None:
        await self.write(rm.SDHCI_INT_ENABLE, INT_ALL)
        await self.write(rm.SDHCI_SIGNAL_ENABLE, signal)

    async def status(self) -> int:
        """Normal (15:0) and Error (31:16) Interrupt Status as one 32-bit value."""
        return await self.read(rm.SDHCI_INT_STATUS)

    async def wait_status(self, mask: int, limit: int = 20_000) -> int:
        for _ in range(limit):
            value = await self.status()
            if value & mask:
                return value
        raise AssertionError(f"status {mask:#x} never set")

    async def issue(self, index: int, argument: int, flags: int, mode: int | None = None) -> None:
        """Argument, then (optionally) Transfer Mode and Command in one 32-bit write."""
        await self.write(rm.SDHCI_ARGUMENT, argument)
        if mode is None:
            await self.write(rm.SDHCI_COMMAND, rm.SDHCI_MAKE_CMD(index, flags), 16)
        else:
            await self.write(rm.SDHCI_TRANSFER_MODE, (rm.SDHCI_MAKE_CMD(index, flags) << 16) | mode)


async def start(dut, clk_ps: int = CLK_PS) -> tuple[Host, "PinCard"]:
    """Clock, reset, idle pins; returns the register host and the scripted card."""
    cocotb.start_soon(Clock(dut.clk, clk_ps, unit="ps").start())
    card = PinCard(dut)
    dut.rst_n.value = 0
    host = Host(dut)
    await ClockCycles(dut.clk, 5)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    return host, card


@dataclass
class Received:
    """What the card saw: token/data bits and the times of the first and last cell (rising edges)."""

    data: bytes
    first_ps: int
    last_ps: int
    crcs: tuple[int, ...] = ()
    end_ok: bool = True


class PinCard:
    """A card scripted by the bench, one SD cell per sdclk edge."""

    def __init__(self, dut) -> None:
        self.dut = dut
        dut.cmd_i.value = 1
        dut.dat_i.value = 0xFF
        self.rises: list[int] = []
        cocotb.start_soon(self._count_rises())

    async def _count_rises(self) -> None:
        while True:
            await RisingEdge(self.dut.sdclk)
            self.rises.append(now_ps())

    async def falls(self, count: int) -> None:
        for _ in range(count):
            await FallingEdge(self.dut.sdclk)

    async def receive_command(self) -> Received:
        """The next 48-bit token the host drives on CMD (sampled on rising edges)."""
        dut = self.dut
        while True:
            await RisingEdge(dut.sdclk)
            if int(dut.cmd_oe.value) and not int(dut.cmd_o.value):
                break
        first = now_ps()
        bits = 0
        for _ in range(47):
            await RisingEdge(dut.sdclk)
            assert int(dut.cmd_oe.value), "host released CMD inside a token"
            bits = (bits << 1) | int(dut.cmd_o.value)
        return Received(bits.to_bytes(6, "big"), first, now_ps())

    async def respond(self, token: bytes, ncr: int) -> int:
        """Drive `token` on cmd_i with `ncr` idle cells after the command end bit.

        Call right after receive_command() returned (at the end bit's rising
        edge). Returns the time of the rising edge that samples the end bit.
        """
        bits = int.from_bytes(token, "big")
        nbits = len(token) * 8
        await self.falls(1 + ncr)
        for shift in range(nbits - 1, -1, -1):
            self.dut.cmd_i.value = (bits >> shift) & 1
            await FallingEdge(self.dut.sdclk)
        self.dut.cmd_i.value = 1
        return self.rises[-1]

    async def busy(self, cells: int) -> None:
        """Hold DAT0 low for `cells` clocks from the next falling edge."""
        self.dut.dat_i.value = 0xFE
        await self.falls(cells)
        self.dut.dat_i.value = 0xFF

    async def receive_block(self, nbytes: int, width: int) -> Received:
        """One write block the host drives on DAT: start bit, data, CRC16s, end bit."""
        dut = self.dut
        while True:
            await RisingEdge(dut.sdclk)
            if int(dut.dat_oe.value) and not int(dut.dat_o.value) & 1:
                break
        first = now_ps()
        cells = []
        for _ in range(nbytes * 8 // width + 16 + 1):
            await RisingEdge(dut.sdclk)
            assert int(dut.dat_oe.value), "host released DAT inside a block"
            cells.append(int(dut.dat_o.value))
        data_cells, crc_cells, end = cells[:-17], cells[-17:-1], cells[-1]
        if width == 8:
            data = bytes(data_cells)
        elif width == 4:
            data = bytes(((h & 0xF) << 4) | (lo & 0xF) for h, lo in zip(data_cells[0::2], data_cells[1::2]))
        else:
            bits = [c & 1 for c in data_cells]
            data = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
        crcs = tuple(int("".join(str((c >> line) & 1) for c in crc_cells), 2) for line in range(width))
        mask = (1 << width) - 1
        return Received(data, first, now_ps(), crcs, (end & mask) == mask)

    async def crc_status(self, status: int, delay: int = 2) -> int:
        """CRC status token on DAT0 `delay` idle cells after the block end bit.

        Call right after receive_block() returned. Returns the time of the
        rising edge that samples the token's end bit.
        """
        await self.falls(1 + delay)
        for bit in (0, (status >> 2) & 1, (status >> 1) & 1, status & 1, 1):
            self.dut.dat_i.value = 0xFE | bit
            await FallingEdge(self.dut.sdclk)
        self.dut.dat_i.value = 0xFF
        return self.rises[-1]

    async def send_block(self, data: bytes, width: int, nac: int, crcs: tuple[int, ...] | None = None,
                         end: int = 1) -> int:
        """Drive one read block `nac` idle cells after the last rising edge seen.

        Call at a rising edge (after receive_command() or a previous
        send_block()). Returns the time of the rising edge that samples the
        end bit.
        """
        lines = split_lines(data, width)
        crcs = crc16_lines(data, width) if crcs is None else crcs
        unused = 0xFF & ~((1 << width) - 1)
        nbits = len(lines[0]) * 8
        streams = [int.from_bytes(line, "big") for line in lines]
        cells = [unused]
        for i in range(nbits):
            cells.append(unused | sum(((s >> (nbits - 1 - i)) & 1) << l for l, s in enumerate(streams)))
        for bit in range(15, -1, -1):
            cells.append(unused | sum(((c >> bit) & 1) << l for l, c in enumerate(crcs)))
        cells.append(unused | (((1 << width) - 1) if end else 0))
        await self.falls(1 + nac)
        for value in cells:
            self.dut.dat_i.value = value
            await FallingEdge(self.dut.sdclk)
        self.dut.dat_i.value = 0xFF
        return self.rises[-1]


@dataclass(frozen=True)
class Burst:
    """One burst of sdhci_top's AXI4 master: when its address valid rose, where, how many beats."""

    t_ps: int
    write: bool
    address: int
    beats: int


class Bursts:
    """The AXI4 master's address phases as they start. sdhci_top's master drops ARVALID/AWVALID
    between bursts (one outstanding), so each rising edge of a valid is one burst."""

    def __init__(self, dut) -> None:
        self.seen: list[Burst] = []
        cocotb.start_soon(self._watch(dut.m_axi_arvalid, dut.m_axi_araddr, dut.m_axi_arlen, False))
        cocotb.start_soon(self._watch(dut.m_axi_awvalid, dut.m_axi_awaddr, dut.m_axi_awlen, True))

    async def _watch(self, valid, addr, length, write: bool) -> None:
        while True:
            await RisingEdge(valid)
            t = now_ps()
            await ReadOnly()              # address and length settle in the same time step
            self.seen.append(Burst(t, write, int(addr.value), int(length.value) + 1))

    def since(self, t_ps: int, write: bool | None = None) -> list[Burst]:
        return [b for b in self.seen if b.t_ps >= t_ps and (write is None or b.write == write)]

    def assert_4k(self) -> None:
        """No INCR burst crosses a 4 KiB boundary (AXI4 A3.4.1)."""
        for b in self.seen:
            assert b.address >> 12 == (b.address + 4 * b.beats - 1) >> 12, f"{b} crosses a 4 KiB boundary"
