"""PIO, SDMA and ADMA2 move the same bytes; DMA boundaries, descriptors and their errors."""
from __future__ import annotations

import hashlib

import pytest

from emmc_card import EmmcCard, card_preset
from sdhci import regmap as rm
from sdhci.controller import SdhciController, controller_preset
from sdhci.memory import HostMemory
from sdhci.trace import events
from sdhci_helpers import ERRORS, R1, R1B, RegHost, adma2_desc, make

LBA = 1234
PAYLOAD = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(2048))   # 64 KiB


def _write_image(tmp_path, dma: str, **kw) -> tuple[bytes, SdhciController]:
    path = tmp_path / f"{dma}.img"
    card = EmmcCard(card_preset("emmc51"), image_path=path)
    ctl = SdhciController(controller_preset("v3"), card, HostMemory())
    h = RegHost(ctl)
    h.power_up()
    h.init_card(width=8)
    status = h.write_blocks(LBA, PAYLOAD, dma=dma, **kw)
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS, f"{dma}: 0x{status:08X}"
    card.close()
    with open(path, "rb") as f:
        f.seek(LBA * 512 - 4096)
        return f.read(len(PAYLOAD) + 8192), ctl


def test_pio_sdma_adma2_write_identical_images(tmp_path) -> None:
    pio, _ = _write_image(tmp_path, "pio")
    sdma, ctl_s = _write_image(tmp_path, "sdma", boundary_code=0)           # 4 KiB boundary
    adma, ctl_a = _write_image(tmp_path, "adma", adma_chunk=12288)          # 6 descriptors, a link, a NOP
    assert pio[4096:4096 + len(PAYLOAD)] == PAYLOAD
    assert pio[:4096] == bytes(4096) and pio[-4096:] == bytes(4096)          # neighbours untouched
    assert sdma == pio and adma == pio
    # SDMA stopped at each of the 15 inner 4 KiB boundaries of the 64 KiB buffer (0x200000 aligned)
    assert len(events(ctl_s.trace, "dma")) == 128
    adma_dma = events(ctl_a.trace, "dma")
    assert sum(e.detail["descriptors"] for e in adma_dma) == 6 + 2                # tran x6 + link + nop


def test_sdma_boundary_interrupt_and_address_update() -> None:
    ctl, h = make()
    h.power_up()
    h.init_card(width=4)
    ctl.memory.write(0x10000, bytes(range(256)) * 2 * 16)
    h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x10000)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(0, 512))                 # 4 KiB boundary
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 16)
    mode = rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    h.command(25, 0, R1 | rm.SDHCI_CMD_DATA, mode)
    s = h.wait_int(rm.SDHCI_INT_DMA_END)
    assert s & rm.SDHCI_INT_DMA_END and not s & ERRORS
    # 8 blocks of 512 reach the 4 KiB boundary; the register holds the next address
    assert h.rd(rm.SDHCI_DMA_ADDRESS) == 0x11000
    h.ack(rm.SDHCI_INT_DMA_END)
    t_stop = h.t
    h.t += 10**9                                      # the driver is slow: DMA waits
    assert len(events(ctl.trace, "dma")) == 8
    assert not h.rd(rm.SDHCI_INT_STATUS) & rm.SDHCI_INT_DATA_END
    h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x11000)           # resume
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_END and not s & (ERRORS | rm.SDHCI_INT_DMA_END)  # none at the very end
    assert events(ctl.trace, "dma")[8].start_ps >= t_stop + 10**9
    assert ctl.card.read(0, 0, 8192) == bytes(range(256)) * 32


@pytest.mark.parametrize("desc64", [False, True])
def test_adma2_descriptor_formats_and_length_zero(desc64: bool) -> None:
    """A 65536-byte tran (length field 0) plus the rest, 32- and 64-bit (12-byte) descriptors."""
    ctl, h = make()
    h.power_up()
    h.init_card(width=8)
    mem = ctl.memory
    data = bytes((i * 31) & 0xFF for i in range(65536 + 1024))
    buf_hi = 0x1_2000_0000 if desc64 else 0x300000
    mem.write(buf_hi, data)
    size = 12 if desc64 else 8
    for i, (attr, length, addr) in enumerate([(rm.ADMA2_TRAN_VALID, 0, buf_hi),
                                              (rm.ADMA2_TRAN_VALID | rm.ADMA2_END, 1024, buf_hi + 65536)]):
        mem.write(0x1000 + i * size, attr.to_bytes(2, "little") + length.to_bytes(2, "little")
                  + addr.to_bytes(size - 4, "little"))
    h.wr(rm.SDHCI_HOST_CONTROL, 8, h.rd(rm.SDHCI_HOST_CONTROL, 8)
         | (rm.SDHCI_CTRL_ADMA64 if desc64 else rm.SDHCI_CTRL_ADMA32))
    h.wr(rm.SDHCI_ADMA_ADDRESS, 32, 0x1000)
    h.wr(rm.SDHCI_ADMA_ADDRESS_HI, 32, 0)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, len(data) // 512)
    mode = rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    h.command(25, 64, R1 | rm.SDHCI_CMD_DATA, mode)
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_END and not s & ERRORS, hex(s)
    assert ctl.card.read(0, 64 * 512, len(data)) == data


def _adma_write_two_blocks(h: RegHost, table: int) -> int:
    """CMD25 of 2 x 512 bytes by 32-bit ADMA2 from the descriptor table at `table`; the status it ends with."""
    h.wr(rm.SDHCI_HOST_CONTROL, 8, h.rd(rm.SDHCI_HOST_CONTROL, 8) | rm.SDHCI_CTRL_ADMA32)
    h.wr(rm.SDHCI_ADMA_ADDRESS, 32, table)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 2)
    h.command(25, 0, R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI)
    return h.wait_int(rm.SDHCI_INT_DATA_END)


def test_adma2_invalid_descriptor_error() -> None:
    ctl, h = make()
    h.power_up()
    h.init_card(width=4)
    mem = ctl.memory
    mem.write(0x400000, bytes(512) * 2)
    adma2_desc(mem, 0x2000, rm.ADMA2_TRAN_VALID, 512, 0x400000)
    adma2_desc(mem, 0x2008, rm.ADMA2_ACT_TRAN, 512, 0x400200)                   # Valid = 0
    s = _adma_write_two_blocks(h, 0x2000)
    assert s & rm.SDHCI_INT_ADMA_ERROR and s & rm.SDHCI_INT_ERROR and not s & rm.SDHCI_INT_DATA_END
    assert h.rd(rm.SDHCI_ADMA_ERROR, 8) == rm.ADMA_ERROR_STATE_ST_FDS          # stopped fetching
    assert h.rd(rm.SDHCI_ADMA_ADDRESS) == 0x2008                               # the bad descriptor
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT                # until a DAT reset
    h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_CMD_INHIBIT)


def test_adma2_short_table_length_mismatch() -> None:
    ctl, h = make()
    h.power_up()
    h.init_card(width=4)
    mem = ctl.memory
    adma2_desc(mem, 0x3000, rm.ADMA2_TRAN_VALID | rm.ADMA2_END, 512, 0x500000)  # 1 block for a 2-block transfer
    s = _adma_write_two_blocks(h, 0x3000)
    assert s & rm.SDHCI_INT_ADMA_ERROR
    assert h.rd(rm.SDHCI_ADMA_ERROR, 8) == rm.ADMA_ERROR_STATE_ST_TFR | rm.ADMA_ERROR_LENGTH_MISMATCH


def test_pio_read_back_multi_block() -> None:
    ctl, h = make(nac=10)
    h.power_up()
    h.init_card(width=4)
    data = PAYLOAD[:512 * 6]
    assert h.write_blocks(77, data) & rm.SDHCI_INT_DATA_END
    assert h.read_blocks(77, 6) == data
    assert h.read_blocks(79, 1) == data[1024:1536]
    reads = events(ctl.trace, "data", 18)
    assert len(reads) == 6 and all(e.detail["direction"] == "read" for e in reads)


@pytest.mark.parametrize("dma", ["sdma", "adma"])
def test_dma_read_into_host_memory(dma: str) -> None:
    ctl, h = make(nac=50)
    h.power_up()
    h.init_card(width=8)
    data = PAYLOAD[:512 * 20]
    assert h.write_blocks(500, data, dma="adma") & rm.SDHCI_INT_DATA_END
    mem = ctl.memory
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(0, 512))             # 4 KiB SDMA boundary
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 20)
    if dma == "sdma":
        h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x600000)
    else:
        adma2_desc(mem, 0x7000, rm.ADMA2_TRAN_VALID, 3000, 0x600000)           # not block aligned
        adma2_desc(mem, 0x7008, rm.ADMA2_TRAN_VALID | rm.ADMA2_END | rm.ADMA2_INT, 512 * 20 - 3000, 0x600000 + 3000)
        h.wr(rm.SDHCI_HOST_CONTROL, 8, h.rd(rm.SDHCI_HOST_CONTROL, 8) | rm.SDHCI_CTRL_ADMA32)
        h.wr(rm.SDHCI_ADMA_ADDRESS, 32, 0x7000)
    mode = (rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_READ | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI
            | rm.SDHCI_TRNS_AUTO_CMD12)
    h.command(18, 500, R1 | rm.SDHCI_CMD_DATA, mode)
    boundaries = 0
    while True:
        s = h.wait_int(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_DMA_END)
        assert not s & ERRORS, hex(s)
        if s & rm.SDHCI_INT_DATA_END:
            break
        boundaries += 1
        h.ack(rm.SDHCI_INT_DMA_END)
        if dma == "sdma":
            h.wr(rm.SDHCI_DMA_ADDRESS, 32, h.rd(rm.SDHCI_DMA_ADDRESS))
    # SDMA: 10 KiB from 0x600000 crosses the 4 KiB boundaries at +4 and +8 KiB.
    # ADMA2: one DMA Interrupt, when the descriptor with Int has moved its data (before the
    # Auto CMD12 that precedes Transfer Complete).
    assert boundaries == (2 if dma == "sdma" else 1)
    assert mem.read(0x600000, len(data)) == data
    assert [e.cmd for e in events(ctl.trace, "command")[-1:]] == [12]


def test_abort_open_ended_write() -> None:
    """No Block Count Enable: the driver ends the write with an abort CMD12 (command type 11)."""
    ctl, h = make()
    h.power_up()
    h.init_card(width=4)
    ctl.memory.write(0x800000, PAYLOAD)
    h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x800000)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(7, 512))
    h.command(25, 900, R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_MULTI)
    while len(events(ctl.trace, "busy", 25)) < 3:                 # let three blocks go by
        h.t = ctl.next_event_ps()
        h.rd(rm.SDHCI_PRESENT_STATE)
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT
    s = h.command(12, 0, R1B | rm.SDHCI_CMD_ABORTCMD)
    assert not s & ERRORS
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_END and not s & ERRORS
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_CMD_INHIBIT)
    sent = events(ctl.trace, "data", 25)
    n = sum(1 for e in sent if not e.detail.get("aborted"))
    # the block on DAT when CMD12's end bit reached the card is cut off (no CRC status)
    assert [e.detail.get("aborted", False) for e in sent] == [False] * n + [True] * (len(sent) - n)
    assert n >= 3 and len(events(ctl.trace, "crc_status", 25)) == n
    assert ctl.card.read(0, 900 * 512, n * 512) == PAYLOAD[:n * 512]
    assert ctl.card.state(h.t) == 4                                  # back in tran
