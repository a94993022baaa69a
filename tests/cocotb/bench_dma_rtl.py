"""Directed DMA benches: the driver, unchanged, moving data by SDMA and ADMA2 through sdhci_top's
AXI4 master into host memory (cocotbext-axi's AxiRam, sdhci.kit.host_memory).

sdma_boundary_and_bus_error: from the bring-up shortcut (KitEnv.bring_up_shortcut:
Linux's bring-up on the model, the card in tran and the registers it left
handed to the RTL), the mmcpstore panic write by SDMA, with the 64 KiB bounce buffer placed across a 512 KiB buffer
boundary (the one sdhci.c programs): DMA Interrupt after the block that
reaches it, the driver writes the next address, the transfer resumes; the
scoreboard against the model; a CMD18 read-back across the same boundary;
then a SLVERR on a block's fetch: ADMA Error, the driver's -EIO.

adma2_tables_and_errors: the default scenario (Linux's bring-up, the 64 KiB
panic write by ADMA2 on 8 lines: sdhci.c's table is one length-0 entry,
65536 bytes) against the model; then ADMA2 tables the bench writes in place
of the driver's (same address, same driver otherwise): a link to a second
table, an entry with Int; then an invalid descriptor, a table that ends
before Block Count, a SLVERR on data, on a descriptor fetch, and on a
read's memory write, each with ADMA Error Status, ADMA System Address and
the driver's reaction checked.

Expectations come from the SD Host Controller specification (v3.00: ADMA2
descriptor format, ADMA Error Status states, SDMA System Address) and from
Linux's sdhci.c (what the driver does on DMA Interrupt and ADMA Error), not
from the RTL. Every burst seen on the AXI4 master is checked for the 4 KiB
rule here too (AxiRam asserts it as well).
"""
from __future__ import annotations

import random
import struct
import time
from dataclasses import replace

import cocotb

from emmc_card.storage import USER
from rtl_harness import Bursts, base_clock
from sdhci import regmap as rm
from sdhci.kit.env import start_kit
from sdhci.kit.runner import now_ps
from sdhci.kit.scenario import kit_config, panic_scenario, run_on_rtl
from sdhci.kit.scoreboard import compare_sides, model_side, side
from sdhci.driver.mmc_core import EIO, MMC_CMD_ADTC, MMC_DATA_READ, MMC_DATA_WRITE, MMC_RSP_R1, MMC_RSP_R1B, \
    MMC_CMD_AC, MMC_STOP_TRANSMISSION, MMC_WRITE_MULTIPLE_BLOCK, MmcCommand, MmcData, MmcRequest, \
    mmc_set_data_timeout
from sdhci.driver.ops import DriverGen, MemWrite, Read, Write
from sdhci.emulation import PanicSession

MMC_READ_MULTIPLE_BLOCK = 18          # include/linux/mmc/mmc.h
BLOCK = 512

# sdhci.c programs the SDMA buffer boundary SDHCI_DEFAULT_BOUNDARY_ARG = 7:
# 4 KiB << 7 = 512 KiB (Block Size 14:12). The bounce buffer is put 24 blocks
# below a boundary, so block 23 of the 128 reaches it.
SDMA_BOUNDARY = 0x8008_0000
SDMA_BUFFER = SDMA_BOUNDARY - 24 * BLOCK

# The 32-bit ADMA2 descriptor (SD Host Controller Simplified Specification
# v3.00, Advanced DMA): attribute 15:0 (Valid 0, End 1, Int 2, Act 5:4 = 00 nop,
# 10 tran, 11 link), length 31:16, address 63:32.
VALID, END, INT = 0x1, 0x2, 0x4
TRAN, LINK = 0x20, 0x30
ST_FDS, ST_TFR, LENGTH_MISMATCH = 0x1, 0x3, 0x4      # ADMA Error Status 1:0 and 2
FAR_TABLE = 0x8020_0000                               # where the link descriptor points


def desc(attr: int, length: int, address: int) -> bytes:
    """One 8-byte descriptor; length 65536 is written as 0."""
    return struct.pack("<HHI", attr, length & 0xFFFF, address)


def replace_table(routine: DriverGen, table_addr: int, table: bytes) -> DriverGen:
    """The driver's routine, with the ADMA2 table it stores at `table_addr` replaced by `table`."""
    result = None
    try:
        while True:
            op = routine.send(result)
            if isinstance(op, MemWrite) and op.addr == table_addr:
                op = MemWrite(table_addr, table)
            result = yield op
    except StopIteration as stop:
        return stop.value


def request(opcode: int, sector: int, blocks: int, session: PanicSession, buf: bytes | None = None) -> MmcRequest:
    """CMD25/CMD18 with CMD12, as mmc_blk builds them."""
    flags = MMC_DATA_READ if buf is None else MMC_DATA_WRITE
    data = MmcData(blksz=BLOCK, blocks=blocks, flags=flags,
                   buf=bytearray(blocks * BLOCK) if buf is None else bytearray(buf), sg_len=1)
    mmc_set_data_timeout(data, session.mmc_card)
    cmd = MmcCommand(opcode=opcode, arg=sector, flags=MMC_RSP_R1 | MMC_CMD_ADTC, data=data)
    stop = MmcCommand(opcode=MMC_STOP_TRANSMISSION, arg=0, flags=MMC_RSP_R1B | MMC_CMD_AC)
    return MmcRequest(cmd=cmd, data=data, stop=stop)


def writes_to(env, offset: int, since_ps: int) -> list[int]:
    """Values the driver wrote to the 32-bit register at `offset` since `since_ps`."""
    return [r.op.value for r in env.runner.log
            if r.start_ps >= since_ps and isinstance(r.op, Write) and r.op.offset == offset]


def reads_of(env, offset: int, since_ps: int) -> list[int]:
    return [r.value for r in env.runner.log
            if r.start_ps >= since_ps and isinstance(r.op, Read) and r.op.offset == offset]


@cocotb.test()
async def sdma_boundary_and_bus_error(dut) -> None:
    base, period = base_clock(dut)
    config = kit_config(base, transfer="sdma")
    config.platform = replace(config.platform, dma_buffer_addr=SDMA_BUFFER)
    session = PanicSession(config)
    env = await start_kit(dut, None, clk_period_ps=period)
    await env.bring_up_shortcut(session)
    bursts = Bursts(dut)
    memory, host = env.memory, session.host

    # 1. The panic write by SDMA.
    run = await run_on_rtl(env.runner, panic_scenario(session, bring_up=False))
    assert run.returned == [0] and host.transfer == "sdma"
    rtl = side(session, run, env.bfm.records, env.runner.log)
    assert rtl.record_on_card
    # DMA Interrupt at the boundary: sdhci_data_irq() writes the next address,
    # the boundary itself (start aligned down to 512 KiB, plus 512 KiB), once.
    t0 = run.record_start_ps
    assert writes_to(env, rm.SDHCI_DMA_ADDRESS, t0) == [SDMA_BUFFER, SDMA_BOUNDARY]
    resume = next(r for r in env.runner.log if r.start_ps >= t0 and isinstance(r.op, Write)
                  and r.op.offset == rm.SDHCI_DMA_ADDRESS and r.op.value == SDMA_BOUNDARY)
    reads = bursts.since(t0, write=False)
    before = [b for b in reads if b.address < SDMA_BOUNDARY]
    after = [b for b in reads if b.address >= SDMA_BOUNDARY]
    # 24 blocks below the boundary, each one burst of 128 beats (512-byte
    # blocks, 4 KiB-aligned in pairs: no cut); nothing above it until the driver's write.
    assert [(b.address, b.beats) for b in before] == [(SDMA_BUFFER + k * BLOCK, 128) for k in range(24)]
    assert len(after) == 104 and after[0].address == SDMA_BOUNDARY
    assert after[0].t_ps >= resume.end_ps - 2 * period, "SDMA went on before the address was written"
    # After the transfer the register holds the next address: the end of the data (v3.00 2.2.1).
    assert await env.adapter.read(rm.SDHCI_DMA_ADDRESS, 32) == SDMA_BUFFER + 128 * BLOCK

    # The model, same configuration and the same start: every phase of the
    # record's write, the boundary's resume included, within 2 SD clocks.
    model, _ = model_side(config, bring_up=False)
    result = compare_sides(model, rtl, period)
    dut._log.info("SDMA across a buffer boundary, model versus RTL:\n%s", result.table())
    assert result.ok, result.table()

    # 2. Read the record's first 32 blocks back by SDMA into the same buffer:
    #    DMA Interrupt after the 24th block's store, the rest above the boundary.
    t1 = now_ps()
    sector = rtl.commands[0][1]
    back = request(MMC_READ_MULTIPLE_BLOCK, sector, 32, session)
    assert await env.runner.run(host.mmc_wait_for_req(back)) == 0
    assert bytes(back.data.buf) == rtl.record[:32 * BLOCK]
    assert writes_to(env, rm.SDHCI_DMA_ADDRESS, t1) == [SDMA_BUFFER, SDMA_BOUNDARY]
    stores = bursts.since(t1, write=True)
    assert [b.address for b in stores] == [SDMA_BUFFER + k * BLOCK for k in range(32)]

    # 3. SLVERR on the 6th block's fetch: ADMA Error (SDMA has no error state
    # of its own: ADMA Error Status stays 0); sdhci.c fails the data with
    # -EIO, resets CMD and DAT, sends CMD12; the patch still returns 0.
    memory.fail(SDMA_BUFFER + 5 * BLOCK + 64, 4, "read")
    host.mmc.claimed = False              # a new panic on the booted board (docs/mmcpstore.md, claim-never-released)
    t2 = now_ps()
    data = random.Random(12).randbytes(16 * BLOCK)
    returned = await env.runner.run(session.mmcpstore.mmcpstore_panic_write(data, 256, 16))
    assert returned == 0 and session.mmcpstore.last.data_error == -EIO
    assert any("ADMA error" in e for e in host.log.errors)
    assert [r.cmd for r in env.bfm.records if r.kind == "command" and r.start_ps >= t2] == [25, 12]
    assert len([r for r in env.bfm.records if r.kind == "data" and r.start_ps >= t2]) == 5
    part = session.mmcpstore.start_sect * BLOCK + 256 * BLOCK
    assert session.card.read(USER, part, 5 * BLOCK) == data[:5 * BLOCK]
    assert session.card.read(USER, part + 5 * BLOCK, BLOCK) != data[5 * BLOCK:6 * BLOCK]
    assert await env.adapter.read(rm.SDHCI_ADMA_ERROR, 8) == 0
    assert [a.address for a in memory.accesses if a.faulted] == [SDMA_BUFFER + 5 * BLOCK + 64]
    bursts.assert_4k()
    env.bfm.assert_clean()


async def adma2_request(env, session, req: MmcRequest, table: bytes | None = None) -> int:
    """mmc_wait_for_req() through the driver, with its descriptor table replaced if `table` is given."""
    routine = session.host.mmc_wait_for_req(req)
    if table is not None:
        routine = replace_table(routine, session.config.platform.adma_table_addr, table)
    return await env.runner.run(routine)


@cocotb.test()
async def adma2_tables_and_errors(dut) -> None:
    base, period = base_clock(dut)
    config = kit_config(base, transfer="auto")      # sdhci.c's choice on a v3.00 host with ADMA2: ADMA2
    session = PanicSession(config)
    env = await start_kit(dut, session.card, clk_period_ps=period)
    bursts = Bursts(dut)
    memory, host = env.memory, session.host
    table = config.platform.adma_table_addr
    buf = config.platform.dma_buffer_addr
    rng = random.Random(80)

    # 0. The default scenario: sdhci.c's table for the 64 KiB record is one
    #    tran descriptor with length 0 (65536) and a nop/end.
    wall0 = time.perf_counter()
    run = await run_on_rtl(env.runner, panic_scenario(session))
    wall = time.perf_counter() - wall0
    assert run.returned == [0] and host.transfer == "adma2"
    rtl = side(session, run, env.bfm.records, env.runner.log)
    assert rtl.record_on_card
    # The length-0 entry: 65536 bytes, all 128 blocks from the one descriptor
    # (one fetch), then nothing more fetched: ADMA System Address past it.
    assert memory.cpu_read(table, 16) == desc(VALID | TRAN, 65536, buf) + desc(VALID | END, 0, 0)
    assert memory.cpu_read(table + 2, 2) == b"\x00\x00"
    assert [(b.address, b.beats) for b in bursts.since(run.record_start_ps, write=False)] == \
        [(table, 2)] + [(buf + k * BLOCK, 128) for k in range(128)]
    assert await env.adapter.read(rm.SDHCI_ADMA_ADDRESS, 32) == table + 8
    model, _ = model_side(config)
    result = compare_sides(model, rtl, period)
    dut._log.info("ADMA2 panic write, model versus RTL:\n%s", result.table())
    dut._log.info("RTL: the whole scenario in %.1f s wall, the 64 KiB record's write in %.2f s", wall,
                  env.runner.wall_between(run.record_start_ps, run.record_end_ps))
    assert result.ok, result.table()

    # 1. 8 KiB by CMD25 through a link: 4 KiB from the first table, a link to
    #    a second one, 4 KiB with Int there.
    data = rng.randbytes(16 * BLOCK)
    t1 = now_ps()
    adma = desc(VALID | TRAN, 4096, buf) + desc(VALID | LINK, 0, FAR_TABLE)
    memory.cpu_write(FAR_TABLE, desc(VALID | TRAN | INT, 4096, buf + 4096) + desc(VALID | END, 0, 0))
    assert await adma2_request(env, session, request(MMC_WRITE_MULTIPLE_BLOCK, 4096, 16, session, data), adma) == 0
    assert session.card.read(USER, 4096 * BLOCK, len(data)) == data
    fetches = [b.address for b in bursts.since(t1, write=False) if b.beats == 2]
    assert fetches == [table, table + 8, FAR_TABLE]       # lazily: the End descriptor is never needed
    # ADMA System Address: past the last descriptor fetched (it advances per fetch, a link loads it).
    assert await env.adapter.read(rm.SDHCI_ADMA_ADDRESS, 32) == FAR_TABLE + 8
    # Int on the second entry: DMA Interrupt; sdhci_data_irq() answers it as
    # for SDMA (it writes the SDMA address; harmless in ADMA2) and goes on.
    assert len(writes_to(env, rm.SDHCI_DMA_ADDRESS, t1)) == 1
    data_bursts = [b for b in bursts.since(t1, write=False) if b.beats != 2]
    assert sum(b.beats for b in data_bursts) * 4 == len(data)

    # 2. Read it back by the driver's own table (one 8 KiB entry, then nop/end).
    t2 = now_ps()
    back = request(MMC_READ_MULTIPLE_BLOCK, 4096, 16, session)
    assert await adma2_request(env, session, back) == 0
    assert bytes(back.data.buf) == data
    assert await env.adapter.read(rm.SDHCI_ADMA_ADDRESS, 32) == table + 8
    assert sum(b.beats for b in bursts.since(t2, write=True)) * 4 == len(data)

    async def failed_write(sectors: int, adma: bytes | None, landed: int) -> tuple[int, int]:
        """A panic write of `sectors` that ends in ADMA Error after `landed` blocks; the driver's
        register dump gives (ADMA Error Status, ADMA System Address) as sdhci_adma_show_error() reads them."""
        host.mmc.claimed = False
        t = now_ps()
        data = rng.randbytes(sectors * BLOCK)
        routine = session.mmcpstore.mmcpstore_panic_write(data, 320, sectors)
        if adma is not None:
            routine = replace_table(routine, table, adma)
        assert await env.runner.run(routine) == 0               # the patch swallows the error
        assert session.mmcpstore.last.data_error == -EIO
        assert [r.cmd for r in env.bfm.records if r.kind == "command" and r.start_ps >= t] == [25, 12]
        assert len([r for r in env.bfm.records if r.kind == "data" and r.start_ps >= t]) == landed
        part = (session.mmcpstore.start_sect + 320) * BLOCK
        assert session.card.read(USER, part, landed * BLOCK) == data[:landed * BLOCK]
        return reads_of(env, rm.SDHCI_ADMA_ERROR, t)[-1], reads_of(env, rm.SDHCI_ADMA_ADDRESS, t)[-1]

    # 3. An invalid descriptor after 4 KiB: ST_FDS, the address of the invalid one.
    adma = desc(VALID | TRAN, 4096, buf) + desc(TRAN, 4096, buf + 4096) + desc(VALID | END, 0, 0)
    assert await failed_write(16, adma, landed=8) == (ST_FDS, table + 8)
    # 4. The table ends (End) after 4 KiB of a 8 KiB write: ST_TFR with Length Mismatch, past it.
    adma = desc(VALID | TRAN | END, 4096, buf)
    assert await failed_write(16, adma, landed=8) == (ST_TFR | LENGTH_MISMATCH, table + 8)
    # 5. SLVERR on the 7th block's data: ST_TFR, past the driver's tran descriptor.
    memory.fail(buf + 6 * BLOCK, 4, "read")
    assert await failed_write(16, None, landed=6) == (ST_TFR, table + 8)
    memory.clear_faults()
    # 6. SLVERR on the first descriptor fetch: ST_FDS, the table's own address.
    memory.fail(table + 4, 4, "read")
    assert await failed_write(16, None, landed=0) == (ST_FDS, table)
    memory.clear_faults()
    # 7. A read whose memory write answers SLVERR (the 3rd block's): ADMA Error, -EIO.
    memory.fail(buf + 2 * BLOCK, BLOCK, "write")
    t7 = now_ps()
    back = request(MMC_READ_MULTIPLE_BLOCK, 4096, 16, session)
    assert await adma2_request(env, session, back) == -EIO
    assert reads_of(env, rm.SDHCI_ADMA_ERROR, t7)[-1] == ST_TFR
    assert host.log.errors[-2].startswith("ADMA error")
    memory.clear_faults()
    # The controller is usable again after the driver's resets: 16 blocks by ADMA2.
    data = rng.randbytes(16 * BLOCK)
    assert await adma2_request(env, session, request(MMC_WRITE_MULTIPLE_BLOCK, 8192, 16, session, data)) == 0
    assert session.card.read(USER, 8192 * BLOCK, len(data)) == data
    bursts.assert_4k()
    env.bfm.assert_clean()
