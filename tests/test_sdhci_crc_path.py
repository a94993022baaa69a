"""CRC16s computed only where consumed: a host's CorrectCrcs and a card's lazily computed read CRCs.

A write block sent with CorrectCrcs must get exactly the answer the computed
CRC16 values would have got, on the card's bus and on another; a read
block's CRCs are those of its data on the card's bus.
"""
from __future__ import annotations

import random

from emmc_helpers import CardHost

from emmc_card import EmmcCard, card_preset
from emmc_card.bus import CRC_STATUS_ACCEPTED, CRC_STATUS_CRC_ERROR, CorrectCrcs
from emmc_card.crc import crc16_lines


def _card_in_rcv(width: int, ddr: bool = False) -> CardHost:
    """A card in its receive state after CMD25 at block 100, its bus `width` bits wide."""
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    if ddr:
        host.switch(185, 1)                      # HS_TIMING: high speed, needed for DDR
    host.set_bus_width(width, ddr)
    host.r1(25, 100 * 512)
    return host


def _send(host: CardHost, data: bytes, crcs) -> int:
    host.t += 2000 * host.clk
    return host.card.write_block(data, crcs, host.t, host.clk).token


def test_correct_crcs_on_the_cards_bus_are_accepted() -> None:
    data = random.Random(1).randbytes(512)
    host = _card_in_rcv(4)
    assert _send(host, data, CorrectCrcs(4)) == CRC_STATUS_ACCEPTED
    host.wait_not_busy()
    host.r1(12)
    host.wait_not_busy()
    assert host.card.read(0, 100 * 512, 512) == data


def test_correct_crcs_on_another_bus_get_what_the_values_would_get() -> None:
    data = random.Random(2).randbytes(512)
    # 8-bit CRCs to a 4-bit card: 8 values against 4, a CRC error either way.
    assert _send(_card_in_rcv(4), data, CorrectCrcs(8)) == CRC_STATUS_CRC_ERROR
    assert _send(_card_in_rcv(4), data, crc16_lines(data, 8)) == CRC_STATUS_CRC_ERROR
    # A zero block: every line's CRC16 is 0 whatever the framing, so 8 values from an 8-bit
    # SDR host match a 4-bit DDR card's 8 values: accepted, as the computed values would be.
    zeros = bytes(512)
    assert crc16_lines(zeros, 8) == crc16_lines(zeros, 4, ddr=True) == (0,) * 8
    assert _send(_card_in_rcv(4, ddr=True), zeros, CorrectCrcs(8)) == CRC_STATUS_ACCEPTED
    assert _send(_card_in_rcv(4, ddr=True), data, CorrectCrcs(8)) == CRC_STATUS_CRC_ERROR


def test_a_read_blocks_crcs_are_its_datas_on_the_cards_bus() -> None:
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    host.write(24, 7 * 512, [b"\xff" * 512], stop=False)
    host.r1(17, 7 * 512)
    out = host.read_block()
    # 512 bytes of 0xFF on one line: CRC16 0x7FA1 (the SD Physical Layer specification's example).
    assert (out.width, out.ddr, out.crcs) == (1, False, (0x7FA1,))
