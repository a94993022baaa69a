"""rtl_model bench: the PIO read path of sdhci_top (CMD17/CMD18) against a scripted card.

The card sends blocks with CRC16s from emmc_card.crc; the bench checks the
bytes read back through the Buffer Data Port, the error bits for corrupted
blocks, the clock stop while the buffer is full, Auto CMD12 and timings.
"""
from __future__ import annotations

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from emmc_card.crc import crc16_lines
from emmc_card.protocol import encode_command as command_token
from rtl_harness import CLK_PS, now_ps, response_token, start
from sdhci import regmap as rm

R1_READ = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX | rm.SDHCI_CMD_DATA


async def irq_rise(dut) -> int:
    await RisingEdge(dut.irq)
    return now_ps()


async def drain(host, nbytes: int = 512) -> bytes:
    out = b""
    for _ in range(nbytes // 4):
        out += (await host.read(rm.SDHCI_BUFFER)).to_bytes(4, "little")
    return out


@cocotb.test()
async def single_block_each_width(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_AVAIL)
    rng = random.Random(11)
    for width, divisor, nac in ((1, 1, 60), (4, 1, 10), (8, 0, 2)):
        data = bytes(rng.randrange(256) for _ in range(512))
        await host.set_bus(width, divisor, 1)

        async def card_side():
            token = await card.receive_command()
            cocotb.start_soon(card.respond(response_token(17, 0x900), ncr=2))
            return token, await card.send_block(data, width, nac)

        task = cocotb.start_soon(card_side())
        irq = cocotb.start_soon(irq_rise(dut))
        await host.issue(17, 0x40, R1_READ, mode=rm.SDHCI_TRNS_READ)
        token, end = await task
        assert token.data == command_token(17, 0x40)
        # End bit sampled at edge D: Buffer Read Ready one clk later.
        assert await irq == end + CLK_PS, f"width {width}"
        state = await host.read(rm.SDHCI_PRESENT_STATE)
        assert state & rm.SDHCI_DATA_AVAILABLE and state & rm.SDHCI_DOING_READ
        assert await host.status() == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_AVAIL
        assert await drain(host) == data
        # Transfer Complete once the last block has left the buffer.
        assert await host.wait_status(rm.SDHCI_INT_DATA_END) & rm.SDHCI_INT_DATA_END
        state = await host.read(rm.SDHCI_PRESENT_STATE)
        assert state & (rm.SDHCI_DATA_AVAILABLE | rm.SDHCI_DOING_READ | rm.SDHCI_DATA_INHIBIT) == 0
        await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)


@cocotb.test()
async def multi_block_clock_stop_and_auto_cmd12(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_AVAIL)
    rng = random.Random(13)
    blocks = [bytes(rng.randrange(256) for _ in range(512)) for _ in range(3)]
    mode = rm.SDHCI_TRNS_READ | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_AUTO_CMD12
    await host.set_bus(4, 1, 3)

    async def card_side():
        await card.receive_command()
        cocotb.start_soon(card.respond(response_token(18, 0x900), ncr=2))
        for data in blocks:
            await card.send_block(data, 4, nac=2)
        stop = await card.receive_command()
        await card.respond(response_token(12, 0xB00), ncr=2)
        return stop

    task = cocotb.start_soon(card_side())
    await host.issue(18, 0, R1_READ, mode=mode)
    for i, data in enumerate(blocks):
        await host.wait_status(rm.SDHCI_INT_DATA_AVAIL)
        if i < len(blocks) - 1:
            # Buffer full, more blocks to come: sdclk stays low until it is read.
            seen = len(card.rises)
            await ClockCycles(dut.clk, 100)
            assert len(card.rises) == seen and int(dut.sdclk.value) == 0
        await host.write(rm.SDHCI_INT_STATUS, rm.SDHCI_INT_DATA_AVAIL)
        assert await drain(host) == data
    stop = await task
    assert stop.data == command_token(12, 0)
    status = await host.wait_status(rm.SDHCI_INT_DATA_END)
    assert status == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_END
    assert await host.read(rm.SDHCI_RESPONSE + 12) == 0xB00
    assert await host.read(rm.SDHCI_BLOCK_COUNT, 16) == 0


async def read_one(host, card, width: int, **send) -> int:
    data = bytes(range(256)) * 2

    async def card_side():
        await card.receive_command()
        cocotb.start_soon(card.respond(response_token(17, 0x900), ncr=2))
        await card.send_block(data, width, nac=4, **send)

    cocotb.start_soon(card_side())
    await host.issue(17, 0, R1_READ, mode=rm.SDHCI_TRNS_READ)
    value = await host.wait_status(rm.SDHCI_INT_ERROR | rm.SDHCI_INT_DATA_AVAIL)
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    return value & ~rm.SDHCI_INT_RESPONSE


@cocotb.test()
async def corrupted_blocks(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    await host.set_bus(4, 1, 1)
    good = crc16_lines(bytes(range(256)) * 2, 4)
    assert await read_one(host, card, 4) == rm.SDHCI_INT_DATA_AVAIL
    await drain(host)
    await host.wait_status(rm.SDHCI_INT_DATA_END)
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    bad = (good[0], good[1], good[2] ^ 0x0100, good[3])        # one bit on DAT2
    assert await read_one(host, card, 4, crcs=bad) == rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_ERROR
    await ClockCycles(dut.clk, 50)
    assert await read_one(host, card, 4, end=0) == rm.SDHCI_INT_DATA_END_BIT | rm.SDHCI_INT_ERROR
    assert await host.read(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DATA_AVAILABLE) == 0


@cocotb.test()
async def read_data_timeout(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_TIMEOUT)
    await host.set_bus(1, 1, 1)
    await host.write(rm.SDHCI_TIMEOUT_CONTROL, 0, 8)              # 2^13 TMCLK
    irq = cocotb.start_soon(irq_rise(dut))
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(17, 0, R1_READ, mode=rm.SDHCI_TRNS_READ)
    token = await rx
    await card.respond(response_token(17, 0x900), ncr=2)          # but no data
    # The counter starts on the command end bit's edge E: 2^13 clk later it
    # expires, the status follows one clk after that.
    assert await irq == token.last_ps + (2 ** 13 + 1) * CLK_PS
    assert await host.status() == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_TIMEOUT | rm.SDHCI_INT_ERROR


@cocotb.test()
async def auto_cmd12_timeout(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    await host.set_bus(8, 1, 1)
    mode = rm.SDHCI_TRNS_READ | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_AUTO_CMD12
    data = bytes(range(256)) * 2

    async def card_side():
        await card.receive_command()
        cocotb.start_soon(card.respond(response_token(18, 0x900), ncr=2))
        await card.send_block(data, 8, nac=2)
        return await card.receive_command()                 # CMD12, left unanswered

    task = cocotb.start_soon(card_side())
    await host.issue(18, 0, R1_READ, mode=mode)
    await host.wait_status(rm.SDHCI_INT_DATA_AVAIL)
    assert await drain(host) == data
    assert (await task).data == command_token(12, 0)
    status = await host.wait_status(rm.SDHCI_INT_ERROR)
    assert status == (rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_AVAIL | rm.SDHCI_INT_AUTO_CMD_ERR
                      | rm.SDHCI_INT_ERROR)                   # no Transfer Complete
    assert await host.read(rm.SDHCI_AUTO_CMD_STATUS, 16) == rm.SDHCI_AUTO_CMD_TIMEOUT
    assert await host.read(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_CMD_INHIBIT | rm.SDHCI_DATA_INHIBIT) == 0


@cocotb.test()
async def small_blocks(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    for size, width in ((8, 1), (64, 4), (16, 8)):
        data = bytes((5 * i + size) & 0xFF for i in range(size))
        await host.set_bus(width, 1, 1)
        await host.write(rm.SDHCI_BLOCK_SIZE, (1 << 16) | size)

        async def card_side():
            await card.receive_command()
            cocotb.start_soon(card.respond(response_token(17, 0x900), ncr=2))
            await card.send_block(data, width, nac=3)

        cocotb.start_soon(card_side())
        await host.issue(17, 0, R1_READ, mode=rm.SDHCI_TRNS_READ)
        await host.wait_status(rm.SDHCI_INT_DATA_AVAIL)
        assert await drain(host, size) == data
        assert await host.wait_status(rm.SDHCI_INT_DATA_END) == \
            rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_AVAIL | rm.SDHCI_INT_DATA_END
        await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)
