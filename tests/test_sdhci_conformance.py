"""Behaviour the SD Host Controller Simplified Specification v3.00 prescribes, found by differential testing.

Register-level differential testing against an independent SDHCI model
found three places where this one differed; each test below pins the
specification's behaviour:
- 2.2.11 Power Control: SD Bus Power cannot be set for a voltage the
  Capabilities do not offer, nor with no card; card removal clears it.
- 2.2.31 ADMA System Address: the ADMA2 engine advances it with each
  descriptor it fetches, so after a transfer it points past the last one.
- Time: no event runs twice and time never goes backwards, whatever the
  register sequence (the SD clock re-enabled in one write while a command
  waits was the case that broke it).
"""
from __future__ import annotations

from sdhci import regmap as rm
from sdhci.controller import Fault, SdhciController, controller_preset
from sdhci.memory import HostMemory
from sdhci.trace import events
from sdhci_helpers import ERRORS, R1, RegHost, make

POWER = rm.SDHCI_POWER_CONTROL
# SD Bus Voltage Select (bits 3:1): 111b 3.3 V, 110b 3.0 V, 101b 1.8 V, the rest reserved.
V33, V30, V18, RESERVED = 0b1110, 0b1100, 0b1010, 0b0010


def test_bus_power_only_for_a_voltage_the_capabilities_offer() -> None:
    # The v3 preset offers 3.3 V and 1.8 V (Capabilities bits 24 and 26), not 3.0 V.
    for voltage, powered in ((V33, True), (V18, True), (V30, False), (RESERVED, False), (0, False)):
        ctl, h = make("v3")
        h.wr(POWER, 8, voltage | rm.SDHCI_POWER_ON)
        assert h.rd(POWER, 8) == voltage | (1 if powered else 0), hex(voltage)
    # The v1-pio preset offers 3.3 V only.
    ctl, h = make("v1-pio")
    h.wr(POWER, 8, V18 | rm.SDHCI_POWER_ON)
    assert h.rd(POWER, 8) == V18


def test_an_unsupported_voltage_never_powers_the_card() -> None:
    ctl, h = make("v3")
    h.wr(POWER, 8, V33 | rm.SDHCI_POWER_ON)
    h.wr(POWER, 8, 0)
    assert not ctl.card.powered                          # SD Bus Power off cut the supply
    h.wr(POWER, 8, V30 | rm.SDHCI_POWER_ON)
    assert not ctl.card.powered and h.rd(POWER, 8) == V30


def test_no_bus_power_without_a_card() -> None:
    ctl = SdhciController(controller_preset("v3"), None, HostMemory())
    h = RegHost(ctl)
    h.wr(POWER, 8, V33 | rm.SDHCI_POWER_ON)
    assert h.rd(POWER, 8) == V33
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CARD_PRESENT


def test_card_removal_clears_bus_power() -> None:
    config = controller_preset("v3")
    config.faults = [Fault("remove_card", cmd=13)]
    ctl, h = make(config=config)
    h.power_up()
    h.init_card(width=4)
    assert h.rd(POWER, 8) == V33 | rm.SDHCI_POWER_ON
    h.command(13, 2 << 16, R1)                            # the card goes away with this command
    assert h.rd(rm.SDHCI_INT_STATUS) & rm.SDHCI_INT_CARD_REMOVE
    assert h.rd(POWER, 8) == V33


def _adma2_start(h: RegHost, table: int, descriptors: list[tuple[int, int, int, int]], blocks: int,
                 adma64: bool = False) -> None:
    """Descriptors (at, attribute, length, address) in memory, then a CMD25 of `blocks` blocks by ADMA2."""
    mem = h.ctl.memory
    size = 12 if adma64 else 8
    for at, attr, length, address in descriptors:
        mem.write(at, attr.to_bytes(2, "little") + length.to_bytes(2, "little") + address.to_bytes(size - 4, "little"))
    h.wr(rm.SDHCI_HOST_CONTROL, 8, rm.SDHCI_CTRL_4BITBUS | (rm.SDHCI_CTRL_ADMA64 if adma64 else rm.SDHCI_CTRL_ADMA32))
    h.wr(rm.SDHCI_ADMA_ADDRESS, 32, table & 0xFFFFFFFF)
    h.wr(rm.SDHCI_ADMA_ADDRESS_HI, 32, table >> 32)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, blocks)
    mode = rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    h.command(25, 0, R1 | rm.SDHCI_CMD_DATA, mode)


def _adma2_write(h: RegHost, table: int, descriptors: list[tuple[int, int, int, int]], blocks: int,
                 adma64: bool = False) -> int:
    """_adma2_start, then wait for the end; the status it ends with."""
    _adma2_start(h, table, descriptors, blocks, adma64)
    return h.wait_int(rm.SDHCI_INT_DATA_END)


def _ready_host() -> RegHost:
    ctl, h = make("v3")
    h.power_up()
    h.init_card(width=4)
    return h


def test_adma_system_address_points_past_the_last_descriptor_fetched() -> None:
    h = _ready_host()
    tran = rm.ADMA2_TRAN_VALID
    # Three 1 KiB descriptors at 0x2000, 0x2008, 0x2010 for a 6-block write: the last one fetched is at 0x2010.
    status = _adma2_write(h, 0x2000, [(0x2000, tran, 1024, 0x10000), (0x2008, tran, 1024, 0x10400),
                                      (0x2010, tran | rm.ADMA2_END, 1024, 0x10800)], 6)
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    assert h.rd(rm.SDHCI_ADMA_ADDRESS) == 0x2018


def test_adma_system_address_follows_a_link() -> None:
    h = _ready_host()
    tran = rm.ADMA2_TRAN_VALID
    # 0x3000: tran 512 B; 0x3008: link to 0x5000; 0x5000: tran 512 B with End. Last fetched: 0x5000.
    status = _adma2_write(h, 0x3000, [(0x3000, tran, 512, 0x10000),
                                      (0x3008, rm.ADMA2_VALID | rm.ADMA2_ACT_LINK, 0, 0x5000),
                                      (0x5000, tran | rm.ADMA2_END, 512, 0x10200)], 2)
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    assert h.rd(rm.SDHCI_ADMA_ADDRESS) == 0x5008


def test_adma_system_address_advances_during_the_transfer() -> None:
    h = _ready_host()
    tran = rm.ADMA2_TRAN_VALID
    # One descriptor per 512-byte block: after the first block is fetched (at most 2 blocks are
    # buffered), the address has moved past the table's first descriptor.
    descriptors = [(0x4000 + 8 * i, tran | (rm.ADMA2_END if i == 7 else 0), 512, 0x10000 + 512 * i) for i in range(8)]
    _adma2_start(h, 0x4000, descriptors, 8)
    during = h.rd(rm.SDHCI_ADMA_ADDRESS)
    assert during in (0x4008, 0x4010)
    assert h.wait_int(rm.SDHCI_INT_DATA_END) & rm.SDHCI_INT_DATA_END
    assert h.rd(rm.SDHCI_ADMA_ADDRESS) == 0x4040


def test_adma_system_address_with_64_bit_descriptors() -> None:
    h = _ready_host()
    tran = rm.ADMA2_TRAN_VALID
    # 12-byte descriptors above 4 GiB: two of them at 0x1_0000_1000 and 0x1_0000_100C.
    table = 0x1_0000_1000
    status = _adma2_write(h, table, [(table, tran, 512, 0x10000), (table + 12, tran | rm.ADMA2_END, 512, 0x10200)],
                          2, adma64=True)
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    assert (h.rd(rm.SDHCI_ADMA_ADDRESS), h.rd(rm.SDHCI_ADMA_ADDRESS_HI)) == (0x1018, 0x1)
    assert len(events(h.ctl.trace, "dma")) == 2


def test_clock_restart_in_one_write_runs_the_pending_command_once() -> None:
    # v3 at 400 kHz (200 MHz / 500: 2.5 us a clock). CMD0 is issued, the internal clock is
    # switched off 10 ns later, then internal and SD clock enabled in one write: the SD clock
    # runs again 10 us later (internal_clock_stable_ps), and CMD0 finishes the clocks it had left.
    ctl, h = make("v3")
    h.power_up()
    clk = h.rd(rm.SDHCI_CLOCK_CONTROL, 16)
    h.wr(rm.SDHCI_ARGUMENT, 32, 0)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(0, 0))
    t_issue = h.t
    h.wr(rm.SDHCI_CLOCK_CONTROL, 16, clk & ~(rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN))
    t_stop = h.t
    h.wr(rm.SDHCI_CLOCK_CONTROL, 16, clk | rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN)
    t_restart = h.t + 10_000_000
    period = 2_500_000
    t_read = h.t + 200_000_000
    status = ctl.read(rm.SDHCI_INT_STATUS, 32, t_read)
    assert status & rm.SDHCI_INT_RESPONSE                       # CMD0 (no response) completed
    (cmd0,) = events(ctl.trace, "command")                      # once, not twice
    # The token started at an edge 2 clocks after the issue and had 48 clocks; those it had
    # left at the stop run from the restart.
    assert cmd0.start_ps - t_issue <= 3 * period
    assert cmd0.end_ps == t_restart + (cmd0.start_ps + 48 * period - t_stop)
    assert ctl.next_event_ps() is None                          # nothing left, nothing in the past
