"""A polled DMA write runs ahead: its blocks between the first and the last never wait in the scheduler's queue.

The data engine runs a write's own events itself while nothing else can come
between them (Scheduler.ahead_bound). These tests check that it does so, and
that whoever looks in the middle (a register read at any time, the write run
to a limit) sees what stepping from event to event shows.
"""
from __future__ import annotations

import random

import pytest

from sdhci import regmap as rm
from sdhci.controller.data import DataEngine
from sdhci_helpers import R1, build_adma_table, make

BLOCKS = 16
LBA = 4096
TABLE, BUFFER = 0x100000, 0x200000
LOOKED_AT = ((rm.SDHCI_PRESENT_STATE, 32), (rm.SDHCI_BLOCK_COUNT, 16), (rm.SDHCI_ADMA_ADDRESS, 32),
             (rm.SDHCI_DMA_ADDRESS, 32), (rm.SDHCI_INT_STATUS, 32))


def _start_write(dma: str):
    """A card brought up on a 4-bit bus at 25 MHz, and a CMD25 of BLOCKS blocks (Auto CMD12) just issued."""
    ctl, h = make(cache_kib=1024, program_us=5.0)
    h.power_up()
    h.init_card(width=4)
    data = random.Random(1).randbytes(512 * BLOCKS)
    mode = rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12 | rm.SDHCI_TRNS_DMA
    if dma == "adma":
        build_adma_table(ctl.memory, TABLE, BUFFER, data, 4096)
        h.wr(rm.SDHCI_HOST_CONTROL, 8, h.rd(rm.SDHCI_HOST_CONTROL, 8) | rm.SDHCI_CTRL_ADMA32)
        h.wr(rm.SDHCI_ADMA_ADDRESS, 32, TABLE)
    else:
        ctl.memory.write(BUFFER, data)
        h.wr(rm.SDHCI_DMA_ADDRESS, 32, BUFFER)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(7, 512))
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, BLOCKS)
    h.wr(rm.SDHCI_ARGUMENT, 32, LBA)
    h.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(25, R1 | rm.SDHCI_CMD_DATA) << 16)
    return ctl, h, data


def _block_ends_run(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the block ends the scheduler runs from its queue (those run ahead do not go through it)."""
    ran: list[int] = []
    original = DataEngine._on_write_block_end

    def counted(self, t, *args):
        ran.append(t)
        original(self, t, *args)
    monkeypatch.setattr(DataEngine, "_on_write_block_end", counted)
    return ran


@pytest.mark.parametrize("dma", ["sdma", "adma"])
def test_a_polled_write_queues_only_its_first_and_last_block_end(dma: str, monkeypatch) -> None:
    ran = _block_ends_run(monkeypatch)
    ctl, h, data = _start_write(dma)
    done = None
    while done is None:        # the runner's Poll of the interrupt status, without its read timing
        done = ctl.run_until_change(rm.SDHCI_INT_STATUS, 32, h.t + 10**12)
        if not ctl.read(rm.SDHCI_INT_STATUS, 32, done) & rm.SDHCI_INT_DATA_END:
            ctl.write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF, done)
            done = None
    # The response opens the line (block 0 is queued); Auto CMD12 takes over at the last block.
    ends = [e.end_ps for e in ctl.trace if e.kind == "data"]
    assert len(ends) == BLOCKS and ran == [ends[0], ends[-1]]
    assert ctl.card.read(0, LBA * 512, len(data)) == data


@pytest.mark.parametrize("dma", ["sdma", "adma"])
def test_a_look_in_the_middle_sees_what_stepping_sees(dma: str) -> None:
    """Run ahead to a time in the middle of the write, read the registers it changes, go on: as stepping does."""
    ahead, h, _ = _start_write(dma)
    steps, g, _ = _start_write(dma)
    for host in (h, g):                                         # Command Complete, acknowledged
        host.ack(host.wait_int(rm.SDHCI_INT_RESPONSE))
    limit = h.t + 300_123_000                                   # about seven 41.7 us blocks later
    assert ahead.run_until_change(rm.SDHCI_INT_STATUS, 32, limit) is None and ahead.scheduler.now == limit
    while (t := steps.next_event_ps()) is not None and t <= limit:
        steps.read(rm.SDHCI_INT_STATUS, 32, t)                  # one event at a time
    for offset, width in LOOKED_AT:
        assert ahead.read(offset, width, limit) == steps.read(offset, width, limit), hex(offset)
    assert 0 < ahead.read(rm.SDHCI_BLOCK_COUNT, 16, limit) < BLOCKS
    assert ahead.trace == steps.trace and ahead.next_event_ps() == steps.next_event_ps()
    h.t = g.t = limit
    while not ahead.read(rm.SDHCI_INT_STATUS, 32, ahead.scheduler.now) & rm.SDHCI_INT_DATA_END:
        ahead.run_until_change(rm.SDHCI_INT_STATUS, 32, ahead.scheduler.now + 10**12)
    g.wait_int(rm.SDHCI_INT_DATA_END)
    assert ahead.trace == steps.trace
