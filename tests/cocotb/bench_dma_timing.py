"""rtl_model bench: DMA timing of sdhci_top against a scripted card and host memory.

The DMA rows of rtl_model/README.md's timing table, edge by edge, derived
by hand in the comments: when the AXI4 master starts a burst after the
command, after a block's end bit, after an SDMA resume and after a
descriptor; when DMA Interrupt, ADMA Error and a read's Transfer Complete
are latched after the last beat or write response. Data is checked against
what the card sent or what host memory held; no driver, no card model. A
scripted slave answers DECERR (AxiRam only ever answers SLVERR).
"""
from __future__ import annotations

import random
import struct

import cocotb
from cocotb.triggers import Event, RisingEdge

from rtl_harness import CLK_PS, WIDTH_BITS, Burst, Bursts, now_ps, response_token, start
from sdhci import regmap as rm
from sdhci.kit.host_memory import HostMemory

R1_DATA = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX | rm.SDHCI_CMD_DATA
MULTI = rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_BLK_CNT_EN
SDMA_SELECT, ADMA2_SELECT = 0x00, 0x10                # Host Control 1 4:3 = 00, 10
TRAN_VALID, TRAN_END_VALID = 0x21, 0x23               # ADMA2 attribute: tran, valid (, end)
DONE = rm.SDHCI_INT_DMA_END | rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_ERROR


async def handshake(dut, valid: str, ready: str, last: str | None = None) -> int:
    """Time of the next clk edge at which `valid` and `ready` (and `last`) are all 1."""
    while True:
        await RisingEdge(dut.clk)
        if int(getattr(dut, valid).value) and int(getattr(dut, ready).value) \
                and (last is None or int(getattr(dut, last).value)):
            return now_ps()


async def rise(signal) -> int:
    await RisingEdge(signal)
    return now_ps()


async def next_burst(dut, bursts: Bursts) -> None:
    """Wait until the master has started one more burst."""
    seen = len(bursts.seen)
    while len(bursts.seen) == seen:
        await RisingEdge(dut.clk)


async def register_write_edge(dut, offset: int) -> int:
    """Time of the clk edge at which the AXI4-Lite write to the word at `offset` is taken."""
    while True:
        await RisingEdge(dut.clk)
        if int(dut.s_axil_awvalid.value) and int(dut.s_axil_awready.value) \
                and int(dut.s_axil_awaddr.value) >> 2 == offset >> 2:
            return now_ps()


async def setup(dut, select: int, blocks: int, memory: bool = True) -> tuple:
    host, card = await start(dut)
    memory = HostMemory.from_dut(dut) if memory else None
    bursts = Bursts(dut)
    await host.clock_on(0)                                      # sdclk = clk: one tick per clk
    await host.write(rm.SDHCI_HOST_CONTROL, WIDTH_BITS[8] | select, 8)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DMA_END | rm.SDHCI_INT_DATA_END)
    await host.write(rm.SDHCI_BLOCK_SIZE, (blocks << 16) | 512)  # SDMA boundary 4 KiB (bits 14:12 = 0)
    return host, card, memory, bursts


@cocotb.test()
async def sdma_write_boundary_and_resume(dut) -> None:
    host, card, memory, bursts = await setup(dut, SDMA_SELECT, blocks=2)
    rng = random.Random(1)
    data0, data1 = rng.randbytes(512), rng.randbytes(512)
    a = 0x4000_1000 - 512                                       # block 0 ends on a 4 KiB boundary
    b = 0x4002_0000                                             # where the driver resumes
    memory.cpu_write(a, data0)
    memory.cpu_write(b, data1)
    await host.write(rm.SDHCI_DMA_ADDRESS, a)
    block0_done = Event()

    async def card_side():
        await card.receive_command()
        await card.respond(response_token(25, 0x900), ncr=2)
        blocks = [await card.receive_block(512, 8)]
        await card.crc_status(0b010, delay=2)
        await card.busy(10)
        block0_done.set()
        blocks.append(await card.receive_block(512, 8))
        await card.crc_status(0b010, delay=2)
        await card.busy(10)
        return blocks

    task = cocotb.start_soon(card_side())
    issued = cocotb.start_soon(register_write_edge(dut, rm.SDHCI_TRANSFER_MODE))
    last_beat = cocotb.start_soon(handshake(dut, "m_axi_rvalid", "m_axi_rready", "m_axi_rlast"))
    irq = cocotb.start_soon(rise(dut.irq))
    await host.issue(25, 0, R1_DATA, mode=MULTI)
    p = await issued
    # Command taken at P: xfer_start at P (registered), the engine plans at
    # P + 1 clk, the master raises ARVALID at P + 2 clk, for the whole block.
    e = await last_beat
    first = Burst(p + 2 * CLK_PS, False, a, 128)
    assert bursts.since(p) == [first]
    # Block 0 reached the 4 KiB boundary with a block to come: DMA Interrupt
    # latched 2 clk after its last beat E (done at E, the engine at E + 1).
    assert await irq == e + 2 * CLK_PS
    assert await host.status() & DONE == rm.SDHCI_INT_DMA_END
    await host.write(rm.SDHCI_INT_STATUS, rm.SDHCI_INT_DMA_END)
    # Paused: after block 0's end bit nothing is fetched until the address is written.
    await block0_done.wait()
    assert bursts.since(p) == [first]
    resumed = cocotb.start_soon(register_write_edge(dut, rm.SDHCI_DMA_ADDRESS))
    await host.write(rm.SDHCI_DMA_ADDRESS, b)                   # the upper byte restarts SDMA
    q = await resumed
    await next_burst(dut, bursts)
    assert bursts.since(p) == [first, Burst(q + 2 * CLK_PS, False, b, 128)]
    blocks = await task
    assert [blk.data for blk in blocks] == [data0, data1]
    await host.wait_status(rm.SDHCI_INT_DATA_END)
    # The transfer ended off a boundary: no second DMA Interrupt. The register
    # holds the next address (v3.00 2.2.1).
    assert await host.status() & DONE == rm.SDHCI_INT_DATA_END
    assert await host.read(rm.SDHCI_DMA_ADDRESS) == b + 512


@cocotb.test()
async def adma2_write_next_block_fetch(dut) -> None:
    host, card, memory, bursts = await setup(dut, ADMA2_SELECT, blocks=2)
    data = random.Random(2).randbytes(1024)
    table, buf = 0x1000_0000, 0x2000_0000
    memory.cpu_write(buf, data)
    memory.cpu_write(table, struct.pack("<HHI", TRAN_END_VALID, 1024, buf))
    await host.write(rm.SDHCI_ADMA_ADDRESS, table)
    block0_end = Event()
    ends = []

    async def card_side():
        await card.receive_command()
        await card.respond(response_token(25, 0x900), ncr=2)
        blocks = [await card.receive_block(512, 8)]
        ends.append(blocks[0].last_ps)
        block0_end.set()
        await card.crc_status(0b010, delay=2)
        await card.busy(200)                                    # longer than the next block's fetch
        blocks.append(await card.receive_block(512, 8))
        await card.crc_status(0b010, delay=2)
        await card.busy(10)
        return blocks

    task = cocotb.start_soon(card_side())
    await host.issue(25, 0, R1_DATA, mode=MULTI)
    await block0_end.wait()
    # The data engine frees the buffer at the edge D that samples block 0's
    # end bit: the engine plans at D + 1 clk, ARVALID from D + 2 clk. The one
    # descriptor (1024 bytes) still covers block 1: no fetch before it.
    await next_burst(dut, bursts)
    assert bursts.since(ends[0]) == [Burst(ends[0] + 2 * CLK_PS, False, buf + 512, 128)]
    blocks = await task
    assert b"".join(blk.data for blk in blocks) == data
    await host.wait_status(rm.SDHCI_INT_DATA_END)
    assert await host.read(rm.SDHCI_ADMA_ADDRESS) == table + 8


@cocotb.test()
async def adma2_read_descriptor_and_complete(dut) -> None:
    host, card, memory, bursts = await setup(dut, ADMA2_SELECT, blocks=2)
    rng = random.Random(3)
    sent = [rng.randbytes(512), rng.randbytes(512)]
    table, x, y = 0x1000_0000, 0x3000_0000, 0x3000_4000      # each block in its own descriptor
    memory.cpu_write(table, struct.pack("<HHI", TRAN_VALID, 512, x) + struct.pack("<HHI", TRAN_END_VALID, 512, y))
    await host.write(rm.SDHCI_ADMA_ADDRESS, table)
    block0_end = Event()
    ends = []

    async def card_side():
        await card.receive_command()
        responding = cocotb.start_soon(card.respond(response_token(18, 0x900), ncr=2))
        ends.append(await card.send_block(sent[0], 8, nac=4))
        block0_end.set()
        ends.append(await card.send_block(sent[1], 8, nac=2))
        await responding

    task = cocotb.start_soon(card_side())
    await host.issue(18, 0, R1_DATA, mode=MULTI | rm.SDHCI_TRNS_READ)
    await block0_end.wait()
    # Block 0 is in the buffer at the edge S that samples its end bit (Buffer
    # Read Ready would be latched at S + 1 clk): the engine plans at S + 1 clk
    # and fetches the first descriptor, ARVALID from S + 2 clk.
    desc_end = cocotb.start_soon(handshake(dut, "m_axi_rvalid", "m_axi_rready", "m_axi_rlast"))
    # After the descriptor's last beat E: done at E, the engine plans at
    # E + 1 clk, AWVALID from E + 2 clk, the block in one 128-beat burst.
    e = await desc_end
    await next_burst(dut, bursts)
    assert bursts.since(ends[0]) == [Burst(ends[0] + 2 * CLK_PS, False, table, 2), Burst(e + 2 * CLK_PS, True, x, 128)]
    await task
    # Transfer Complete: the data engine is done once block 1 has left the
    # buffer, but the flag waits for the last write response B: done at B,
    # the engine ends the block at B + 1 and goes idle at B + 2, latched at B + 3 clk.
    b = await handshake(dut, "m_axi_bvalid", "m_axi_bready")  # block 1's store: it starts after its end bit
    irq = await rise(dut.irq)
    assert irq == b + 3 * CLK_PS
    assert await host.status() & DONE == rm.SDHCI_INT_DATA_END
    assert memory.cpu_read(x, 512) == sent[0] and memory.cpu_read(y, 512) == sent[1]
    assert await host.read(rm.SDHCI_ADMA_ADDRESS) == table + 16


async def decerr_read_slave(dut) -> int:
    """Take one read burst and answer every beat DECERR (11); the time of the last beat's edge."""
    dut.m_axi_rvalid.value = 0
    dut.m_axi_arready.value = 1
    while True:
        await RisingEdge(dut.clk)
        if int(dut.m_axi_arvalid.value):
            beats = int(dut.m_axi_arlen.value) + 1
            break
    dut.m_axi_arready.value = 0
    for k in range(beats):
        dut.m_axi_rid.value, dut.m_axi_rdata.value, dut.m_axi_rresp.value = 0, 0xFFFF_FFFF, 0b11
        dut.m_axi_rlast.value, dut.m_axi_rvalid.value = int(k == beats - 1), 1
        await RisingEdge(dut.clk)
        assert int(dut.m_axi_rready.value), "the master must take every beat at once"
    dut.m_axi_rvalid.value = 0
    return now_ps()


@cocotb.test()
async def adma2_decerr_on_descriptor(dut) -> None:
    host, card, _, bursts = await setup(dut, ADMA2_SELECT, blocks=1, memory=False)
    await host.write(rm.SDHCI_INT_ENABLE, 0xFFFF_FFFF)
    await host.write(rm.SDHCI_SIGNAL_ENABLE, rm.SDHCI_INT_ADMA_ERROR)
    table = 0x1000_0000
    await host.write(rm.SDHCI_ADMA_ADDRESS, table)

    async def card_side():
        await card.receive_command()
        await card.respond(response_token(24, 0x900), ncr=2)

    task = cocotb.start_soon(card_side())
    slave = cocotb.start_soon(decerr_read_slave(dut))
    issued = cocotb.start_soon(register_write_edge(dut, rm.SDHCI_TRANSFER_MODE))
    irq = cocotb.start_soon(rise(dut.irq))
    await host.issue(24, 0, R1_DATA, mode=rm.SDHCI_TRNS_DMA)
    p = await issued
    e = await slave
    # DECERR on the descriptor fetch, as SLVERR would be: ADMA Error latched
    # E + 2 clk after the last beat; ST_FDS, the address still the descriptor's
    # (SDHCI v3.00 ADMA Error Status); nothing reaches the buffer or DAT.
    assert bursts.seen == [Burst(p + 2 * CLK_PS, False, table, 2)]
    assert await irq == e + 2 * CLK_PS
    await task                                                  # the command itself completes
    assert await host.read(rm.SDHCI_ADMA_ERROR, 8) == 0x1
    assert await host.read(rm.SDHCI_ADMA_ADDRESS) == table
    assert await host.status() & (rm.SDHCI_INT_ADMA_ERROR | rm.SDHCI_INT_DATA_END) == rm.SDHCI_INT_ADMA_ERROR
    assert int(dut.dat_oe.value) == 0
    # sdhci.c then resets DAT: the engine stops, Command Inhibit (DAT) clears.
    await host.write(rm.SDHCI_SOFTWARE_RESET, rm.SDHCI_RESET_DATA, 8)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT == 0
