"""rtl_model bench: register semantics of sdhci_top checked against the SD Host
Controller Simplified Specification v3.00 (section numbers in each test).

Each test drives the controller into the state the specification text talks
about and reads back what it says software must see; expected values come
from the specification, not from the RTL.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles

from rtl_harness import r2_token, response_token, start
from sdhci import regmap as rm

R1_DATA = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX | rm.SDHCI_CMD_DATA
R2 = rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC
R1 = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX


async def data_write_in_flight(host, card) -> None:
    """CMD24 issued and answered; the buffer is never filled, so Command Inhibit (DAT) stays 1."""
    await host.clock_on(1)
    await host.enable_interrupts()
    await host.write(rm.SDHCI_BLOCK_SIZE, (1 << 16) | 512)
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(24, 0, R1_DATA, mode=0)
    await rx
    await card.respond(response_token(24, 0x900), ncr=2)
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT


@cocotb.test()
async def transfer_mode_and_block_registers_protected_during_transfer(dut) -> None:
    # 2.2.5 Transfer Mode: "Writes to this register shall be ignored when the
    # Command Inhibit (DAT) is 1". 2.2.2 Block Size / 2.2.3 Block Count: only
    # accessible when no transaction is executing; writes during a transfer
    # are ignored.
    host, card = await start(dut)
    await data_write_in_flight(host, card)
    mode = rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_READ | rm.SDHCI_TRNS_AUTO_CMD12 | rm.SDHCI_TRNS_BLK_CNT_EN
    await host.write(rm.SDHCI_TRANSFER_MODE, mode, 16)
    assert await host.read(rm.SDHCI_TRANSFER_MODE, 16) == 0      # the single-block write's mode
    await host.write(rm.SDHCI_BLOCK_SIZE, (7 << 16) | 64)
    assert await host.read(rm.SDHCI_BLOCK_SIZE) == (1 << 16) | 512
    # Software Reset for DAT ends the transaction (2.2.16): writes take again.
    await host.write(rm.SDHCI_SOFTWARE_RESET, rm.SDHCI_RESET_DATA, 8)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT == 0
    await host.write(rm.SDHCI_TRANSFER_MODE, mode, 16)
    assert await host.read(rm.SDHCI_TRANSFER_MODE, 16) == mode
    await host.write(rm.SDHCI_BLOCK_SIZE, (7 << 16) | 64)
    assert await host.read(rm.SDHCI_BLOCK_SIZE) == (7 << 16) | 64


@cocotb.test()
async def clearing_status_enable_clears_status(dut) -> None:
    # 2.2.17/2.2.19: the Status Enable registers affect reads of the status
    # registers (a bit whose enable is 0 is masked); Error Interrupt (Normal
    # bit 15) is the OR of the Error Interrupt Status bits, so it drops too,
    # and so does irq. Linux relies on this to drop a pending Card Interrupt.
    host, _ = await start(dut)
    await host.clock_on(0)
    await host.enable_interrupts(signal=rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_RESPONSE)
    await host.write(rm.SDHCI_SET_INT_ERROR, rm.SDHCI_INT_DATA_CRC >> 16, 16)
    await host.issue(0, 0, 0)                                 # CMD0: Command Complete, no response
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    assert await host.status() == rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_ERROR | rm.SDHCI_INT_RESPONSE
    await host.write(rm.SDHCI_INT_ENABLE, 0xFFFF_FFFF & ~rm.SDHCI_INT_DATA_CRC)
    assert await host.status() == rm.SDHCI_INT_RESPONSE       # bit 15 gone with the last error bit
    await host.write(rm.SDHCI_INT_ENABLE, 0xFFFF_FFFF & ~rm.SDHCI_INT_RESPONSE & ~rm.SDHCI_INT_DATA_CRC)
    assert await host.status() == 0
    await ClockCycles(dut.clk, 1)
    assert int(dut.irq.value) == 0
    # Enabling again does not bring a cleared bit back.
    await host.write(rm.SDHCI_INT_ENABLE, 0xFFFF_FFFF)
    assert await host.status() == 0


@cocotb.test()
async def command_write_while_cmd_inhibit_is_ignored(dut) -> None:
    # 2.2.6 Command: software must check Command Inhibit (CMD) before writing;
    # the RTL ignores an inhibited write. The command in flight (CMD2, R2)
    # still stores its 136-bit response in Response 119:0 (2.2.7), not as the
    # short response the ignored CMD13 would have had.
    host, card = await start(dut)
    await host.clock_on(1)
    await host.enable_interrupts()
    rx = cocotb.start_soon(card.receive_command())
    await host.issue(2, 0, R2)
    assert await host.read(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    await host.issue(13, 0x1234_0000, R1)                     # inhibited: ignored
    assert await host.read(rm.SDHCI_COMMAND, 16) == rm.SDHCI_MAKE_CMD(2, R2)
    token = await rx
    assert token.data[0] == 0x40 | 2
    cid = 0x1501_0042_4A54_3247_3030_1234_5678_9A00 | (0x55 << 1)
    await card.respond(r2_token(cid), ncr=2)
    await host.wait_status(rm.SDHCI_INT_RESPONSE)
    # Response 119:0 = CID 127:8 (the CRC7 and end bit are not stored).
    response = 0
    for i in range(4):
        response |= await host.read(rm.SDHCI_RESPONSE + 4 * i) << (32 * i)
    assert response == cid >> 8
