"""rtl_model bench: register file of sdhci_top over AXI4-Lite.

Reset values against sdhci.regmap (v3.00 presentation), SLVERR decode,
byte strobes and writable masks, W1C interrupt status with Force Event,
the irq pin, software reset, and the SD clock divider.
"""
from __future__ import annotations

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, Timer

from rtl_harness import CLK_PS, now_ps, start
from rtl_model.gen_regmap import rtl_capabilities
from sdhci import regmap as rm

V3 = rm.SDHCI_SPEC_300
OKAY, SLVERR = 0, 2


def v3_registers() -> list[rm.Register]:
    return [r for r in rm.REGISTERS if r.min_version <= V3]


def expected_reset(reg: rm.Register, base_clk_mhz: int) -> int:
    if reg.name == "CAPABILITIES":
        return rtl_capabilities(base_clk_mhz)
    if reg.name == "HOST_CONTROLLER_VERSION":
        return 0x0002                       # vendor 0, specification v3.00
    return reg.reset_value(V3)


async def check_reset_values(host) -> None:
    base = int(host.dut.BASE_CLK_MHZ.value)
    for reg in v3_registers():
        value = await host.read(reg.offset, reg.width)
        want = expected_reset(reg, base)
        assert value == want, f"{reg.name}: {value:#x} != {want:#x}"


@cocotb.test()
async def reset_values(dut) -> None:
    host, _ = await start(dut)
    await check_reset_values(host)
    caps = await host.read(rm.SDHCI_CAPABILITIES)
    base = int(dut.BASE_CLK_MHZ.value)
    # Independent of the generator: SDMA and ADMA2 on a 32-bit system bus,
    # 8-bit, high speed, base clock and TMCLK both the BASE_CLK_MHZ parameter, in MHz.
    assert caps & rm.SDHCI_CAN_DO_SDMA and caps & rm.SDHCI_CAN_DO_ADMA2 and not caps & rm.SDHCI_CAN_64BIT
    assert caps & rm.SDHCI_CAN_DO_8BIT and caps & rm.SDHCI_CAN_DO_HISPD and caps & rm.SDHCI_CAN_VDD_330
    assert (caps & rm.SDHCI_CLOCK_V3_BASE_MASK) >> rm.SDHCI_CLOCK_BASE_SHIFT == base
    assert caps & rm.SDHCI_TIMEOUT_CLK_MASK == base and caps & rm.SDHCI_TIMEOUT_CLK_UNIT
    assert await host.read(rm.SDHCI_HOST_VERSION, 16) & rm.SDHCI_SPEC_VER_MASK == rm.SDHCI_SPEC_300


@cocotb.test()
async def slverr_where_no_register(dut) -> None:
    host, _ = await start(dut)
    for word in range(0, 0x1000, 4):
        present = any(rm.register_at(word + b) is not None for b in range(4)) and word < 0x100
        _, resp = await host.read_resp(word)
        assert resp == (OKAY if present else SLVERR), f"read {word:#05x}: resp {resp}"
    for word in (0x4C, 0x70, 0xE0, 0xF8, 0x100, 0xFFC):
        assert await host.write(word, 0xFFFF_FFFF) == SLVERR, f"write {word:#05x}"
    assert await host.write(rm.SDHCI_ARGUMENT, 0) == OKAY
    await check_reset_values(host)          # the refused writes changed nothing


@cocotb.test()
async def byte_strobes_and_masks(dut) -> None:
    host, _ = await start(dut)
    await host.write(rm.SDHCI_ARGUMENT, 0x1234_5678)
    await host.write(rm.SDHCI_ARGUMENT + 1, 0xAB, 8)
    assert await host.read(rm.SDHCI_ARGUMENT) == 0x1234_AB78
    assert await host.read(rm.SDHCI_ARGUMENT + 2, 16) == 0x1234
    await host.write(rm.SDHCI_BLOCK_SIZE, 0x0200, 16)
    await host.write(rm.SDHCI_BLOCK_COUNT, 0xBEEF, 16)
    assert await host.read(rm.SDHCI_BLOCK_SIZE) == 0xBEEF_0200
    await host.write(rm.SDHCI_BLOCK_SIZE, 0xFFFF, 16)           # bit 15 is reserved
    assert await host.read(rm.SDHCI_BLOCK_SIZE, 16) == 0x7FFF
    await host.write(rm.SDHCI_HOST_CONTROL, 0x22, 8)
    await host.write(rm.SDHCI_POWER_CONTROL, 0xFF, 8)           # bits 7:4 reserved
    assert await host.read(rm.SDHCI_HOST_CONTROL) == 0x0000_0F22
    # Every RW register reads back exactly its RW field mask after writing ones
    # (Command excluded: its upper byte issues a command).
    for reg in v3_registers():
        rw = reg.mask(("RW",), V3)
        if not rw or reg.name in ("COMMAND", "BUFFER_DATA_PORT", "CLOCK_CONTROL"):
            continue
        await host.write(reg.offset, (1 << reg.width) - 1, reg.width)
        value = await host.read(reg.offset, reg.width)
        assert value == rw, f"{reg.name}: {value:#x} != mask {rw:#x}"
    # Software Reset for All restores every reset value and clears itself.
    await host.write(rm.SDHCI_SOFTWARE_RESET, rm.SDHCI_RESET_ALL, 8)
    assert await host.read(rm.SDHCI_SOFTWARE_RESET, 8) == 0
    await check_reset_values(host)


@cocotb.test()
async def interrupt_status_w1c_and_irq(dut) -> None:
    host, _ = await start(dut)
    await host.write(rm.SDHCI_SET_INT_ERROR, 0x0001, 16)       # status enable 0: not latched
    assert await host.status() == 0
    await host.write(rm.SDHCI_INT_ENABLE, 0xFFFF_FFFF)
    assert await host.read(rm.SDHCI_INT_ENABLE) == 0xF7FF_1FFF  # normal 12:0, error 15:0 but 11 (v4)
    await host.write(rm.SDHCI_SET_INT_ERROR, 0x0021, 16)       # command timeout, data CRC
    status = await host.status()
    assert status == (rm.SDHCI_INT_TIMEOUT | rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_ERROR)
    assert int(dut.irq.value) == 0                             # no signal enabled yet
    await host.write(rm.SDHCI_SIGNAL_ENABLE, rm.SDHCI_INT_DATA_CRC)
    await ClockCycles(dut.clk, 1)
    assert int(dut.irq.value) == 1
    assert await host.read(rm.SDHCI_SLOT_INT_STATUS, 16) == 1
    await host.write(rm.SDHCI_INT_STATUS, rm.SDHCI_INT_DATA_CRC)  # W1C one bit
    assert await host.status() == rm.SDHCI_INT_TIMEOUT | rm.SDHCI_INT_ERROR
    assert int(dut.irq.value) == 0
    await host.write(rm.SDHCI_INT_STATUS + 2, 0x0001, 16)         # 16-bit W1C at 0x32
    assert await host.status() == 0
    await host.write(rm.SDHCI_SET_ACMD12_ERROR, rm.SDHCI_AUTO_CMD_CRC, 16)
    assert await host.read(rm.SDHCI_AUTO_CMD_STATUS, 16) == rm.SDHCI_AUTO_CMD_CRC


async def sdclk_period(dut) -> int:
    await RisingEdge(dut.sdclk)
    t0 = now_ps()
    await RisingEdge(dut.sdclk)
    t1 = now_ps()
    await RisingEdge(dut.sdclk)
    assert now_ps() - t1 == t1 - t0
    return t1 - t0


@cocotb.test()
async def clock_divider(dut) -> None:
    host, card = await start(dut)
    await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)
    assert await host.read(rm.SDHCI_CLOCK_CONTROL, 16) & rm.SDHCI_CLOCK_INT_STABLE
    # N = 0: base clock; N >= 1: base / 2N (SDHCI v3.00 10-bit divided clock mode).
    for divisor, period in ((0, CLK_PS), (1, 2 * CLK_PS), (3, 6 * CLK_PS), (0x100, 512 * CLK_PS)):
        await host.clock_on(divisor)
        assert await sdclk_period(dut) == period, f"N={divisor}"
        await host.write(rm.SDHCI_CLOCK_CONTROL, rm.SDHCI_CLOCK_INT_EN, 16)
    await ClockCycles(dut.clk, 4)
    seen = len(card.rises)
    await Timer(40 * CLK_PS, unit="ps")
    assert len(card.rises) == seen and int(dut.sdclk.value) == 0    # SD clock off: held low
