"""rtl_model bench: the PIO write path of sdhci_top (CMD24/CMD25) against a scripted card.

Data and CRC16s the card receives are compared with emmc_card.crc (and the
known 0x7FA1 of a 0xFF block on one line); timings against the phase table
of rtl_model/README.md.
"""
from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge

from emmc_card.crc import crc16_lines
from emmc_card.protocol import encode_command as command_token
from rtl_harness import CLK_PS, WIDTH_BITS, now_ps, response_token, start
from sdhci import regmap as rm

R1_DATA = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX | rm.SDHCI_CMD_DATA


async def irq_rise(dut) -> int:
    await RisingEdge(dut.irq)
    return now_ps()


async def fill_buffer(host, data: bytes) -> None:
    """Wait for Buffer Write Ready, clear it, write the block through the Buffer Data Port."""
    await host.wait_status(rm.SDHCI_INT_SPACE_AVAIL)
    await host.write(rm.SDHCI_INT_STATUS, rm.SDHCI_INT_SPACE_AVAIL)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_SPACE_AVAILABLE
    for i in range(0, len(data), 4):
        await host.write(rm.SDHCI_BUFFER, int.from_bytes(data[i:i + 4], "little"))
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_SPACE_AVAILABLE == 0


@cocotb.test()
async def single_block_each_width(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_END)
    rng = random.Random(5)
    for width, divisor in ((1, 1), (4, 2), (8, 0)):
        period = CLK_PS * (2 * divisor if divisor else 1)
        data = b"\xff" * 512 if width == 1 else bytes(rng.randrange(256) for _ in range(512))
        await host.set_bus(width, divisor, 1)

        async def card_side():
            token = await card.receive_command()
            await card.respond(response_token(24, 0x900), ncr=2)
            block = await card.receive_block(512, width)
            token_end = await card.crc_status(0b010, delay=2)
            await card.busy(10)
            return token, block, token_end

        task = cocotb.start_soon(card_side())
        irq = cocotb.start_soon(irq_rise(dut))
        await host.issue(24, 0x100, R1_DATA, mode=0)
        await fill_buffer(host, data)
        token, block, token_end = await task
        assert token.data == command_token(24, 0x100)
        assert block.data == data and block.end_ok
        assert block.crcs == crc16_lines(data, width)
        if width == 1:
            assert block.crcs == (0x7FA1,)                  # docs/facts.md, known answers
        # Token end bit at edge T; busy from the next falling edge for 10
        # cells; first rising edge with DAT0 high: T + 11 periods; Transfer
        # Complete one clk later.
        assert await irq == token_end + 11 * period + CLK_PS, f"width {width}"
        assert await host.status() == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_END
        state = await host.read(rm.SDHCI_PRESENT_STATE)
        assert state & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DOING_WRITE | 0x4) == 0
        await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)


@cocotb.test()
async def multi_block_with_auto_cmd12(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_END)
    period = 2 * CLK_PS
    rng = random.Random(7)
    blocks = [bytes(rng.randrange(256) for _ in range(512)) for _ in range(3)]
    mode = rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_AUTO_CMD12
    await host.set_bus(4, 1, 3)

    async def card_side():
        await card.receive_command()
        await card.respond(response_token(25, 0x900), ncr=2)
        got, gaps = [], []
        for _ in blocks:
            block = await card.receive_block(512, 4)
            got.append(block)
            token_end = await card.crc_status(0b010, delay=3)
            await card.busy(300)                           # longer than refilling the buffer
            gaps.append(token_end + 301 * period)          # first edge with DAT0 high
        stop = await card.receive_command()
        end = await card.respond(response_token(12, 0xE00), ncr=4)
        await card.busy(20)
        return got, gaps, stop, end

    task = cocotb.start_soon(card_side())
    irq = cocotb.start_soon(irq_rise(dut))
    await host.issue(25, 0x2000, R1_DATA, mode=mode)
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    await host.write(rm.SDHCI_INT_STATUS, rm.SDHCI_INT_RESPONSE)
    for data in blocks:
        await fill_buffer(host, data)
    got, gaps, stop, end = await task
    assert [b.data for b in got] == blocks
    assert all(b.crcs == crc16_lines(d, 4) and b.end_ok for b, d in zip(got, blocks))
    # Blocks 2 and 3 were in the buffer when busy ended (DAT0 high at edge
    # B): two more cells pass, the start bit goes out on edge B + 2 and the
    # card samples it at B + 3.
    for block, busy_end in zip(got[1:], gaps[:-1]):
        assert block.first_ps == busy_end + 3 * period
    # Auto CMD12 after the last block's busy: start bit out on edge B + 1,
    # sampled at B + 2.
    assert stop.data == command_token(12, 0)
    assert stop.first_ps == gaps[-1] + 2 * period
    # Transfer Complete after the CMD12 busy: end bit at E, busy 20 cells.
    assert await irq == end + 21 * period + CLK_PS
    # The Auto CMD12 raised no Command Complete (CMD25's was cleared above).
    assert await host.status() == rm.SDHCI_INT_DATA_END
    assert await host.read(rm.SDHCI_RESPONSE + 12) == 0xE00    # Auto CMD12 response at 0x1C
    assert await host.read(rm.SDHCI_BLOCK_COUNT, 16) == 0
    assert await host.read(rm.SDHCI_AUTO_CMD_STATUS, 16) == 0


async def write_with_token(host, card, status: int | None, timeout_n: int = 14,
                           busy_cells: int = 0) -> tuple[int, int]:
    """One CMD24 whose CRC status is `status` (None: no token), then `busy_cells`
    of busy. Returns (Interrupt Status, time of the token end bit's edge)."""
    data = bytes(range(256)) * 2
    await host.write(rm.SDHCI_TIMEOUT_CONTROL, timeout_n, 8)

    async def card_side():
        await card.receive_command()
        await card.respond(response_token(24, 0x900), ncr=2)
        await card.receive_block(512, 1)
        if status is None:
            return card.rises[-1]
        end = await card.crc_status(status)
        if busy_cells:
            cocotb.start_soon(card.busy(busy_cells))
        return end

    task = cocotb.start_soon(card_side())
    await host.issue(24, 0, R1_DATA, mode=0)
    await fill_buffer(host, data)
    end = await task
    value = await host.wait_status(rm.SDHCI_INT_ERROR | rm.SDHCI_INT_DATA_END)
    return value, end


@cocotb.test()
async def crc_status_errors(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    await host.set_bus(1, 1, 1)
    bad = rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_ERROR | rm.SDHCI_INT_RESPONSE
    value, _ = await write_with_token(host, card, 0b101)
    assert value == bad
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    value, _ = await write_with_token(host, card, None)      # no token: status read as 111
    assert value == bad
    assert await host.read(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DOING_WRITE) == 0


@cocotb.test()
async def data_timeout_in_busy(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_TIMEOUT)
    await host.set_bus(1, 1, 1)
    irq = cocotb.start_soon(irq_rise(dut))
    # Busy for 5000 SD cells = 10000 clk, longer than the 2^13 TMCLK timeout.
    value, token_end = await write_with_token(host, card, 0b010, timeout_n=0, busy_cells=5000)
    # TMCLK = clk; Timeout Control 0 -> 2^13 TMCLK counted from the edge that
    # enters the busy wait (the token end bit's edge); status one clk after.
    assert await irq == token_end + (2 ** 13 + 1) * CLK_PS
    assert value == rm.SDHCI_INT_DATA_TIMEOUT | rm.SDHCI_INT_ERROR | rm.SDHCI_INT_RESPONSE
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT == 0


@cocotb.test()
async def software_reset_dat_line(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    await host.set_bus(1, 1, 1)
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(24, 0, R1_DATA, mode=0)
    await rx
    await card.respond(response_token(24, 0x900), ncr=2)
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    # The buffer is never filled: the transfer waits; a DAT reset ends it.
    assert await host.read(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_SPACE_AVAILABLE) == \
        rm.SDHCI_DATA_INHIBIT | rm.SDHCI_SPACE_AVAILABLE
    await host.write(rm.SDHCI_SOFTWARE_RESET, rm.SDHCI_RESET_DATA, 8)
    assert await host.read(rm.SDHCI_SOFTWARE_RESET, 8) == 0
    state = await host.read(rm.SDHCI_PRESENT_STATE)
    assert state & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_SPACE_AVAILABLE | rm.SDHCI_DOING_WRITE | 0x4) == 0
    # Buffer Write Ready is a DAT-line status: cleared; Command Complete stays.
    assert await host.status() == rm.SDHCI_INT_RESPONSE


@cocotb.test()
async def small_blocks(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    for size, width in ((8, 1), (64, 4), (16, 8)):
        data = bytes((7 * i + size) & 0xFF for i in range(size))
        await host.clock_on(1)
        await host.write(rm.SDHCI_HOST_CONTROL, WIDTH_BITS[width], 8)
        await host.write(rm.SDHCI_BLOCK_SIZE, (1 << 16) | size)

        async def card_side():
            await card.receive_command()
            await card.respond(response_token(24, 0x900), ncr=2)
            block = await card.receive_block(size, width)
            await card.crc_status(0b010)
            return block

        task = cocotb.start_soon(card_side())
        await host.issue(24, 0, R1_DATA, mode=0)
        await fill_buffer(host, data)
        block = await task
        assert block.data == data and block.crcs == crc16_lines(data, width) and block.end_ok
        assert await host.wait_status(rm.SDHCI_INT_DATA_END) == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_END
        await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)
