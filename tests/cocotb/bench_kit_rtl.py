"""The driver against the RTL controller (sdhci_top) with the eMMC BFM, over AXI4-Lite.

panic_write_against_model: card initialisation, the mmcpstore panic write of
one 64 KiB kmsg record (CMD25 + CMD12 by the driver, PIO, 8-bit), then a
CMD24 and a CMD18 read-back; the image is checked, and the same scenario on
the Python model (calibrated as sdhci_top, sdhci/controller/rtl_calibration.py) must
agree: partition bytes, commands and arguments, every bus phase within 2 SD
clocks.

auto_cmd12_and_error_injection: a 64 KiB write with Auto CMD12, then a
command timeout, a data CRC error and busy beyond the data timeout, each with
the driver's reaction checked. It starts from the bring-up shortcut
(KitEnv.bring_up_shortcut: Linux's bring-up on the model, its registers and
the card in tran handed to the RTL), which bring_up_shortcut_hands_over_tran
checks on its own.

Both read BASE_CLK_MHZ from the DUT (the pytest entries build sdhci_top with
25 to halve the clk edges to simulate; `make sim` uses the default 50). The
SD clock is then the base clock: 52 MHz asked, divider N = 0. The Linux
bring-up alone is ~45 ms of simulated time (power-up delays, EXT_CSD at
400 kHz), the costliest part of any RTL bench: only the first test runs it.
"""
from __future__ import annotations

import random
import time
from dataclasses import replace

import cocotb
from cocotb.triggers import Timer

from emmc_card import InjectedStall
from rtl_harness import base_clock
from sdhci.kit.bfm import BfmFaults
from emmc_card.storage import USER
from sdhci.kit.env import start_kit
from sdhci.kit.scenario import BRING_UP_REGISTERS, kit_config, panic_scenario, run_on_rtl
from sdhci.kit.runner import now_ps
from sdhci.kit.scoreboard import compare_sides, model_side, side
from sdhci.driver.mmc_core import EILSEQ, ETIMEDOUT, MMC_CMD_AC, MMC_CMD_ADTC, MMC_DATA_READ, MMC_DATA_WRITE, \
    MMC_RSP_R1, MMC_RSP_R1B, MMC_STOP_TRANSMISSION, MMC_WRITE_BLOCK, MmcCommand, MmcData, MmcRequest, \
    mmc_set_data_timeout
from sdhci.driver.ops import Poll, Write
from sdhci.emulation import PanicSession
from sdhci.regmap import SDHCI_CLOCK_CONTROL, SDHCI_COMMAND, SDHCI_HOST_CONTROL, SDHCI_INT_DATA_TIMEOUT, \
    SDHCI_INT_STATUS, SDHCI_INT_TIMEOUT, SDHCI_POWER_CONTROL

# Linux's eMMC bring-up on a v3.00 host with 8-bit and high speed and a card
# with a cache (drivers/mmc/core/mmc.c): CMD0, CMD1 (query), CMD0, CMD1
# (ready), CMD2, CMD3, CMD9, CMD7, CMD8 (EXT_CSD), CMD6 HS_TIMING + CMD13,
# CMD6 BUS_WIDTH + CMD13, CMD8 (re-read), CMD6 CACHE_CTRL + CMD13.
INIT_COMMANDS = [0, 1, 0, 1, 2, 3, 9, 7, 8, 6, 13, 6, 13, 8, 6, 13]
MMC_READ_MULTIPLE_BLOCK = 18   # include/linux/mmc/mmc.h
MMC_SEND_STATUS = 13


@cocotb.test()
async def panic_write_against_model(dut) -> None:
    base, period = base_clock(dut)
    config = kit_config(base)
    session = PanicSession(config)
    env = await start_kit(dut, session.card, clk_period_ps=period)
    wall0 = time.perf_counter()
    run = await run_on_rtl(env.runner, panic_scenario(session))
    rtl_wall = time.perf_counter() - wall0
    bfm = env.bfm

    # Initialisation: Linux's command sequence, card in tran on an 8-bit bus at the base clock.
    init = [r.cmd for r in bfm.records if r.kind == "command" and r.end_ps <= run.init_end_ps]
    assert init == INIT_COMMANDS, init
    assert session.card.bus_width == 8 and bfm.period_ps == period

    # The panic write: one 64 KiB record (128 sectors) at the pstore partition.
    assert run.returned[0] == 0 and run.record.sects == 128
    rtl = side(session, run, bfm.records, env.runner.log)
    assert rtl.commands[0] == (25, session.mmcpstore.start_sect + run.record.off_sectors)
    assert rtl.record_on_card, "the record's bytes are not on the card"

    # The model, same configuration and seed, same driver calls.
    wall1 = time.perf_counter()
    model, _ = model_side(config)
    model_wall = time.perf_counter() - wall1
    result = compare_sides(model, rtl, period)
    dut._log.info("model versus RTL, the record's panic write:\n%s", result.table())

    record_cycles = (run.record_end_ps - run.record_start_ps) // period
    record_wall = env.runner.wall_between(run.record_start_ps, run.record_end_ps)
    dut._log.info("RTL: %.1f ms simulated in %.1f s wall (whole scenario); the record's write: %d SD clocks "
                  "in %.2f s = %.0f SD clocks/s. Model: the whole scenario in %.3f s = %.0f record SD clocks/s",
                  run.record_end_ps / 1e9, rtl_wall, record_cycles, record_wall,
                  record_cycles / max(record_wall, 1e-9), model_wall, record_cycles / max(model_wall, 1e-9))
    assert result.ok, result.table()

    # One more block with CMD24, as mmc_blk would write it: 530 cells on 8 lines.
    data = random.Random(24).randbytes(512)
    payload = MmcData(blksz=512, blocks=1, flags=MMC_DATA_WRITE, buf=bytearray(data), sg_len=1)
    mmc_set_data_timeout(payload, session.mmc_card)
    cmd = MmcCommand(opcode=MMC_WRITE_BLOCK, arg=1000, flags=MMC_RSP_R1 | MMC_CMD_ADTC, data=payload)
    assert await env.runner.run(session.host.mmc_wait_for_req(MmcRequest(cmd=cmd, data=payload))) == 0
    last = [r for r in bfm.records if r.kind in ("command", "data", "crc_status")][-3:]
    assert [(r.kind, r.cmd) for r in last] == [("command", 24), ("data", 24), ("crc_status", 24)]
    assert last[0].detail["argument"] == 1000 and last[2].detail["status"] == 0b010
    # start bit + 512 data clocks + 16 CRC clocks + end bit = 530 cells
    assert last[1].end_ps - last[1].start_ps == 530 * period
    assert session.card.read(USER, 1000 * 512, 512) == data

    # Read the record's first 16 sectors back: CMD18, PIO, CMD12 to stop (the
    # card stops sending NST = 2 clocks after CMD12's end bit).
    back = MmcData(blksz=512, blocks=16, flags=MMC_DATA_READ, buf=bytearray(16 * 512), sg_len=1)
    mmc_set_data_timeout(back, session.mmc_card)
    cmd = MmcCommand(opcode=MMC_READ_MULTIPLE_BLOCK, arg=rtl.commands[0][1], flags=MMC_RSP_R1 | MMC_CMD_ADTC,
                     data=back)
    stop = MmcCommand(opcode=MMC_STOP_TRANSMISSION, arg=0, flags=MMC_RSP_R1B | MMC_CMD_AC)
    assert await env.runner.run(session.host.mmc_wait_for_req(MmcRequest(cmd=cmd, data=back, stop=stop))) == 0
    assert bytes(back.buf) == rtl.record[:16 * 512]
    assert [r.cmd for r in bfm.records if r.kind == "command"][-2:] == [18, 12]

    # A hole in the register map answers SLVERR: the adapter records it, reads 0, does not raise.
    assert env.adapter.errors == []
    assert await env.adapter.read(0x80, 32) == 0
    assert [(e.kind, e.offset, e.response) for e in env.adapter.errors] == [("read", 0x80, "SLVERR")]
    bfm.assert_clean()


@cocotb.test()
async def bring_up_shortcut_hands_over_tran(dut) -> None:
    base, period = base_clock(dut)
    session = PanicSession(kit_config(base))
    env = await start_kit(dut, None, clk_period_ps=period)
    bfm = await env.bring_up_shortcut(session)
    assert bfm.records == []                       # nothing of the bring-up went over the wire
    # The registers Linux left (SD Host Controller spec v3.00 2.2.11-2.2.15): Host Control 1
    # 8-bit (bit 5) | High Speed (bit 2), Power Control 3.3 V (111b << 1) | on, Clock
    # Control divider 0 (52 MHz asked of a base clock <= 50 MHz) | Internal Clock Enable |
    # Stable | SD Clock Enable; every restored one as the model holds it.
    assert await env.adapter.read(SDHCI_HOST_CONTROL, 8) == 0x24
    assert await env.adapter.read(SDHCI_POWER_CONTROL, 8) == 0x0F
    assert await env.adapter.read(SDHCI_CLOCK_CONTROL, 16) == 0x0007
    t = session.runner.t_ps
    for offset, width in BRING_UP_REGISTERS:
        assert await env.adapter.read(offset, width) == session.controller.read(offset, width, t), hex(offset)
    # The card is in tran on 8 lines; its clock runs on from the model's bring-up.
    assert session.card.state(bfm.card_now_ps()) == 4 and session.card.bus_width == 8
    assert bfm.card_now_ps() > session.runner.t_ps > 40_000_000_000
    # The driver goes on on the RTL: CMD13 answers tran (CURRENT_STATE 12:9 = 4) | READY_FOR_DATA (bit 8).
    status = MmcCommand(opcode=MMC_SEND_STATUS, arg=session.mmc_card.rca << 16, flags=MMC_RSP_R1 | MMC_CMD_AC)
    assert await env.runner.run(session.host.mmc_wait_for_req(MmcRequest(cmd=status))) == 0
    assert status.resp[0] == 0x0000_0900
    assert [(r.kind, r.cmd) for r in bfm.records] == [("command", 13), ("response", 13)]
    bfm.assert_clean()


# Auto CMD12 and error injection: the platform quirk that makes sdhci.c use
# Auto CMD12, and a card with TAAC 50 us so the data timeout is short:
# mmc_set_data_timeout gives 50 us x 10 x 2^R2W_FACTOR(4) = 8 ms for a write
# (enough for 64 KiB, ~5 ms at 25 MHz), req_completion_poll gets 8 ms, and
# sdhci_calc_timeout (TMCLK = base clock) picks the smallest n with
# 2^(13+n) / TMCLK >= 8 ms: at 25 MHz n = 5 (2^18 / 25 MHz = 10.48576 ms;
# n = 4 gives 5.24288 ms), at 50 MHz n = 6 (2^19 / 50 MHz, the same 10.48576 ms).
ERR_TIMEOUT_CONTROL = {25: 5, 50: 6}
ERR_DATA_TIMEOUT_PS = 10_485_760_000
ERR_TAAC_NS = 50_000
ERR_POLL_MS = 8
CLEAN_SECTS = 128                     # the clean 64 KiB write first: 128 blocks on the bus and on the card
ERR_SECTS = 16
ERR_BLOCK = CLEAN_SECTS + 2           # lifetime block: 3rd block of the CRC fault's write, 1st of the stall's
ERR_STALL_PS = 12_000_000_000         # 12 ms: beyond the 10.49 ms data timeout


def error_config(base_mhz: int):
    config = kit_config(base_mhz, auto_cmd12=True)
    config.card = replace(config.card, taac_ns=ERR_TAAC_NS, timing=replace(
        config.card.timing,
        # the card counts accepted blocks: the clean write's 128, then two of
        # the CRC fault's write (its third is refused), so the stall's first
        # block is lifetime block 130
        injected_stalls=[InjectedStall(block=ERR_BLOCK, duration_ps=ERR_STALL_PS)]))
    return config


@cocotb.test()
async def auto_cmd12_and_error_injection(dut) -> None:
    base, period = base_clock(dut)
    session = PanicSession(error_config(base))
    # the BFM counts every block it receives: 128 clean, then 2 good + the corrupted one
    faults = BfmFaults(drop_response={(25, 1)}, corrupt_write_crc={ERR_BLOCK})
    env = await start_kit(dut, None, clk_period_ps=period)
    await env.bring_up_shortcut(session, faults=faults)
    session.register()
    cxt, host, bfm = session.mmcpstore, session.host, env.bfm
    part_byte = cxt.start_sect * 512
    rng = random.Random(5)

    async def panic_write(off: int, sects: int = ERR_SECTS) -> tuple[int, bytes]:
        # A new panic on the booted board: the patch never releases the host
        # claim (docs/mmcpstore.md, claim-never-released), so the bench does, between scenarios.
        host.mmc.claimed = False
        buf = rng.randbytes(sects * 512)
        return await env.runner.run(cxt.mmcpstore_panic_write(buf, off, sects)), buf

    async def stop_transmission() -> None:
        cmd = MmcCommand(opcode=MMC_STOP_TRANSMISSION, arg=0, flags=MMC_RSP_R1B | MMC_CMD_AC, busy_timeout=100)
        assert await env.runner.run(host.mmc_wait_for_req(MmcRequest(cmd=cmd))) == 0

    def records_since(t_ps: int, kind: str) -> list:
        return [r for r in bfm.records if r.kind == kind and r.start_ps >= t_ps]

    # 0. A clean 64 KiB panic write with Auto CMD12: the driver writes CMD25
    #    only; the controller sends CMD12 itself after the last block's busy.
    t0 = now_ps()
    returned, buf = await panic_write(0, CLEAN_SECTS)
    assert returned == 0 and cxt.last.poll_result == 0
    assert [r.cmd for r in records_since(t0, "command")] == [25, 12]
    assert not any(isinstance(r.op, Write) and r.op.offset == SDHCI_COMMAND and r.op.value >> 8 == 12
                   for r in env.runner.log if r.start_ps >= t0), "CMD12 must not be written by the driver"
    # sdhci_top (rtl_model/README.md) sends it once the last block's busy has
    # ended: start bit within a few SD clocks of DAT0 going high
    cmd12 = records_since(t0, "command")[1]
    last_busy = records_since(records_since(t0, "crc_status")[-1].end_ps, "busy")[0]
    assert 0 <= cmd12.start_ps - last_busy.end_ps <= 4 * period
    assert len(records_since(t0, "data")) == CLEAN_SECTS
    assert session.card.read(USER, part_byte, len(buf)) == buf

    # 1. Command timeout: CMD25's response never reaches CMD. The RTL flags a
    #    Command Timeout (no start bit 64 clocks after the end bit), the driver
    #    records -ETIMEDOUT, sends no data, and mmcpstore still returns 0.
    t1 = now_ps()
    returned, _ = await panic_write(256)
    assert returned == 0 and cxt.last.cmd_error == -ETIMEDOUT
    assert records_since(t1, "data") == []
    cmd25 = records_since(t1, "command")[0]
    seen = next(r for r in env.runner.log if r.start_ps >= t1 and isinstance(r.op, Poll)
                and r.op.offset == SDHCI_INT_STATUS and r.value.value & SDHCI_INT_TIMEOUT)
    # the status read that saw it started no earlier than 64 clocks after the end bit
    assert seen.end_ps >= cmd25.end_ps + 64 * period
    assert host.log.timeout_control[-1] == ERR_TIMEOUT_CONTROL[base]
    await stop_transmission()                       # the card waits in rcv since CMD25

    # 2. Data CRC error: the line corrupts block 2's CRC16, the card answers
    #    101, the RTL raises Data CRC Error, the driver records -EILSEQ, resets
    #    and sends CMD12; only blocks 0 and 1 reach the card; returned 0.
    t2 = now_ps()
    returned, buf = await panic_write(160)
    assert returned == 0 and cxt.last.data_error == -EILSEQ
    assert [r.detail["status"] for r in records_since(t2, "crc_status")] == [0b010, 0b010, 0b101]
    assert len(records_since(t2, "data")) == 3
    assert [r.cmd for r in records_since(t2, "command")] == [25, 12]
    assert session.card.read(USER, part_byte + 160 * 512, 1024) == buf[:1024]
    assert session.card.read(USER, part_byte + 162 * 512, 512) == bytes(512)      # still blank
    assert session.card.state(bfm.card_now_ps()) == 4

    # 3. Busy beyond the data timeout: the card stalls 12 ms after the first
    #    block. req_completion_poll gives up after its 8 ms and mmcpstore
    #    returns 0 (silent loss); the RTL's own data timeout fires
    #    10.48576 ms after busy began (checked to +-2 SD clocks on the
    #    register), which the driver no longer sees.
    t3 = now_ps()
    returned, buf = await panic_write(192)
    assert returned == 0 and cxt.last.poll_result == -ETIMEDOUT and cxt.last.timeout_ms == ERR_POLL_MS
    busy = records_since(t3, "crc_status")[0].end_ps
    gave_up = now_ps()
    # the 8 ms count from req_completion_poll's start, just after the command write
    poll_ps = ERR_POLL_MS * 1_000_000_000
    assert t3 + poll_ps <= gave_up < t3 + poll_ps + 100_000_000 and gave_up < busy + ERR_DATA_TIMEOUT_PS
    await Timer(busy + ERR_DATA_TIMEOUT_PS - 2 * period - now_ps(), "ps")
    assert await env.adapter.read(SDHCI_INT_STATUS + 2, 16) & (SDHCI_INT_DATA_TIMEOUT >> 16) == 0
    await Timer(4 * period, "ps")
    assert await env.adapter.read(SDHCI_INT_STATUS + 2, 16) & (SDHCI_INT_DATA_TIMEOUT >> 16)
    assert session.card.read(USER, part_byte + 192 * 512, len(buf)) != buf
    bfm.assert_clean()
