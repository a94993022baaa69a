"""rtl_model bench: the command engine of sdhci_top against a scripted card.

Token bytes are checked against known CRC7 values (docs/facts.md, known
answers), timings in clk (base clock) cycles and SD clock cycles against the
phase table of rtl_model/README.md, derived by hand in the comments.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from emmc_card.crc import crc7
from rtl_harness import CLK_PS, now_ps, r2_token, response_token, start
from sdhci import regmap as rm

R1_FLAGS = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R1B_FLAGS = rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
CMD_ERRORS = rm.SDHCI_INT_TIMEOUT | rm.SDHCI_INT_CRC | rm.SDHCI_INT_END_BIT | rm.SDHCI_INT_INDEX


async def irq_rise(dut) -> int:
    await RisingEdge(dut.irq)
    return now_ps()


async def command_write_edge(dut) -> int:
    """Time of the clk edge at which the AXI write to the Command register's upper byte is taken."""
    while True:
        await RisingEdge(dut.clk)
        if (int(dut.s_axil_awvalid.value) and int(dut.s_axil_awready.value)
                and int(dut.s_axil_awaddr.value) >> 2 == rm.SDHCI_TRANSFER_MODE >> 2
                and int(dut.s_axil_wstrb.value) & 0b1000):
            return now_ps()


@cocotb.test()
async def r1_known_token_and_complete_timing(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)                                  # sdclk = 50 MHz / 2
    await host.enable_interrupts(signal=rm.SDHCI_INT_RESPONSE)

    async def answer():
        token = await card.receive_command()
        end = await card.respond(response_token(17, 0x0000_0900), ncr=2)
        return token, end

    task = cocotb.start_soon(answer())
    irq = cocotb.start_soon(irq_rise(dut))
    await host.issue(17, 0, R1_FLAGS)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    token, end_ps = await task
    assert token.data == bytes.fromhex("510000000055")          # CRC7 0x2A (docs/facts.md, known answers)
    assert response_token(17, 0x900) == bytes.fromhex("110000090067")
    # Command Complete (and irq) one clk after the edge that samples the end bit.
    assert await irq == end_ps + CLK_PS
    assert await host.status() == rm.SDHCI_INT_RESPONSE
    assert await host.read(rm.SDHCI_RESPONSE) == 0x0000_0900
    assert await host.read(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_CMD_INHIBIT | rm.SDHCI_DATA_INHIBIT) == 0


@cocotb.test()
async def first_command_bit_timing(dut) -> None:
    host, card = await start(dut)
    await host.enable_interrupts()
    for divisor in (0, 1, 2, 5):
        await host.clock_on(divisor)
        period = CLK_PS * (2 * divisor if divisor else 1)
        write = cocotb.start_soon(command_write_edge(dut))
        rx = cocotb.start_soon(card.receive_command())
        await host.issue(0, 0, 0)
        p = await write
        token = await rx
        assert token.data == bytes.fromhex("400000000095")      # CMD0, CRC7 0x4A
        # Write taken at clk edge P; the engine sees the start at P+1 and puts
        # the start bit out on the first sdclk rising edge T >= P + 1 clk; the
        # card samples it on the next rising edge, T + one SD period.
        t = min(r for r in card.rises if r >= p + CLK_PS)
        assert token.first_ps == t + period, f"N={divisor}"
        assert token.last_ps == token.first_ps + 47 * period
        await host.wait_status(rm.SDHCI_INT_RESPONSE)
        await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
        await ClockCycles(dut.clk, 8 * period // CLK_PS)     # let NCC (8 cells) pass
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)


@cocotb.test()
async def no_response_complete_timing(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(2)
    await host.enable_interrupts(signal=rm.SDHCI_INT_RESPONSE)
    rx = cocotb.start_soon(card.receive_command())
    irq = cocotb.start_soon(irq_rise(dut))
    await host.issue(0, 0, rm.SDHCI_CMD_RESP_NONE)
    token = await rx
    # The end bit is sampled at E = token.last_ps; the engine releases CMD
    # and finishes on that edge, the status register follows one clk later.
    assert await irq == token.last_ps + CLK_PS
    assert await host.status() == rm.SDHCI_INT_RESPONSE


@cocotb.test()
async def command_timeout_after_64_clocks(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)
    period = 2 * CLK_PS
    await host.enable_interrupts(signal=rm.SDHCI_INT_TIMEOUT)
    rx = cocotb.start_soon(card.receive_command())
    irq = cocotb.start_soon(irq_rise(dut))
    await host.issue(13, 0x0001_0000, R1_FLAGS)
    token = await rx
    # Start bit accepted up to edge E+65 (64 idle cells, NCR max); with CMD
    # still high there, the timeout is latched one clk after edge E+65.
    assert await irq == token.last_ps + 65 * period + CLK_PS
    assert await host.status() == rm.SDHCI_INT_TIMEOUT | rm.SDHCI_INT_ERROR   # no Command Complete
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    # NCR = 64 idle cells is still a response.
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(13, 0x0001_0000, R1_FLAGS)
    await rx
    await card.respond(response_token(13, 0x0000_0900), ncr=64)
    assert await host.wait_status(rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_TIMEOUT) == rm.SDHCI_INT_RESPONSE


async def one_command(host, card, index: int, flags: int, reply: bytes, ncr: int = 2) -> int:
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(index, 0, flags)
    await rx
    await card.respond(reply, ncr)
    value = await host.wait_status(rm.SDHCI_INT_RESPONSE | CMD_ERRORS)
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    return value


@cocotb.test()
async def response_checks(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)
    await host.enable_interrupts()
    done = rm.SDHCI_INT_RESPONSE
    err = rm.SDHCI_INT_ERROR
    good = response_token(13, 0x900)
    assert await one_command(host, card, 13, R1_FLAGS, good) == done
    bad_crc = response_token(13, 0x900, crc=crc7(good[:5]) ^ 1)
    assert await one_command(host, card, 13, R1_FLAGS, bad_crc) == done | rm.SDHCI_INT_CRC | err
    # Without the CRC check enable the same token passes.
    assert await one_command(host, card, 13, rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_INDEX, bad_crc) == done
    assert await one_command(host, card, 13, R1_FLAGS, response_token(12, 0x900)) == \
        done | rm.SDHCI_INT_INDEX | err
    assert await one_command(host, card, 13, R1_FLAGS, response_token(13, 0x900, end=0)) == \
        done | rm.SDHCI_INT_END_BIT | err
    # R3 (CMD1): index and CRC fields all ones, checks off; OCR in Response 31:0.
    r3 = bytes([0x3F]) + (0xC0FF_8080).to_bytes(4, "big") + b"\xff"
    assert await one_command(host, card, 1, rm.SDHCI_CMD_RESP_SHORT, r3) == done
    assert await host.read(rm.SDHCI_RESPONSE) == 0xC0FF_8080


@cocotb.test()
async def r2_response_registers(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)
    await host.enable_interrupts()
    body = bytes(range(0x11, 0x20))                         # CID bits 127..8
    cid = int.from_bytes(body + bytes([crc7(body) << 1]), "big")
    flags = rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC
    assert await one_command(host, card, 2, flags, r2_token(cid)) == rm.SDHCI_INT_RESPONSE
    # Response bits 119:0 hold CID bits 127:8 (the CRC byte dropped).
    response = 0
    for i in range(4):
        response |= await host.read(rm.SDHCI_RESPONSE + 4 * i) << (32 * i)
    assert response == cid >> 8
    bad = cid ^ (1 << 1)                                   # flip a CRC bit
    assert await one_command(host, card, 2, flags, r2_token(bad)) == \
        rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_CRC | rm.SDHCI_INT_ERROR


@cocotb.test()
async def r1b_busy_then_transfer_complete(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)
    period = 2 * CLK_PS
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_END)
    rx = cocotb.start_soon(card.receive_command())
    irq = cocotb.start_soon(irq_rise(dut))
    await host.issue(6, 0x03B7_0100, R1B_FLAGS)
    await rx
    end_ps = await card.respond(response_token(6, 0x800), ncr=2)
    # DAT0 low from the cell after the response end bit for 30 cells.
    busy = cocotb.start_soon(card.busy(30))
    assert await host.status() & rm.SDHCI_INT_RESPONSE
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT
    await busy
    # Busy drives DAT0 low from the falling edge after the end bit (end_ps
    # + period/2) for 30 falling edges; the first rising edge with DAT0 high
    # is end_ps + 31 periods; Transfer Complete one clk after it.
    assert await irq == end_ps + 31 * period + CLK_PS
    assert await host.status() == rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_DATA_END
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT == 0


@cocotb.test()
async def software_reset_cmd_line(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(1)
    await host.enable_interrupts(signal=0xFFFF_FFFF)
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(13, 0, R1_FLAGS)
    await rx                                               # the card never answers
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    await host.write(rm.SDHCI_SOFTWARE_RESET, rm.SDHCI_RESET_CMD, 8)
    assert await host.read(rm.SDHCI_SOFTWARE_RESET, 8) == 0    # self-clearing
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT == 0
    # Well past the 64-clock response window: the aborted command raises nothing.
    await ClockCycles(dut.clk, 400)
    assert await host.status() == 0 and int(dut.irq.value) == 0
    assert await one_command(host, card, 13, R1_FLAGS, response_token(13, 0x900)) == rm.SDHCI_INT_RESPONSE


@cocotb.test()
async def nrc_spacing_between_commands(dut) -> None:
    host, card = await start(dut)
    await host.clock_on(5)                                  # 10 clk per SD cycle
    period = 10 * CLK_PS
    await host.enable_interrupts()
    # CMD13 answered; the next command is written as soon as Command Complete
    # shows, well inside 8 SD cycles: its start bit waits for NRC.
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(13, 0, R1_FLAGS)
    await rx
    end = await card.respond(response_token(13, 0x900), ncr=2)
    rx = cocotb.start_soon(card.receive_command())
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    await host.issue(0, 0, rm.SDHCI_CMD_RESP_NONE)
    token = await rx
    # Response end bit at edge R: 8 idle cells R+1..R+8, start bit at R+9.
    assert token.first_ps == end + 9 * period
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    await host.write(rm.SDHCI_INT_STATUS, 0xFFFF_FFFF)
    # NCC after a command without response: its end bit E, next start at E+9.
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(0, 0, rm.SDHCI_CMD_RESP_NONE)
    assert (await rx).first_ps == token.last_ps + 9 * period
