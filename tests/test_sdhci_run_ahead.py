"""A polled DMA write runs ahead: its blocks between the first and the last never wait in the scheduler's queue.

The data engine runs a write's own events itself while nothing else can come
between them (Scheduler.ahead_bound). These tests check that it does so, and
that whoever looks in the middle (a register read at any time, the write run
to a limit) sees what the same board shows with every event going through
the queue to its handler (ahead_bound() None: nothing runs ahead).
"""
from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emmc_card import CardConfig, CardTiming, EmmcCard, InjectedStall, TimeDistribution
from sdhci import regmap as rm
from sdhci.controller import controller_preset
from sdhci.controller.data import DataEngine
from sdhci_helpers import R1, build_adma_table, make

BLOCKS = 16
LBA = 4096
TABLE, BUFFER = 0x100000, 0x200000
LOOKED_AT = ((rm.SDHCI_PRESENT_STATE, 32), (rm.SDHCI_BLOCK_COUNT, 16), (rm.SDHCI_ADMA_ADDRESS, 32),
             (rm.SDHCI_DMA_ADDRESS, 32), (rm.SDHCI_INT_STATUS, 32))


def _start_write(dma: str, stalled_block: int | None = None):
    """A card brought up on a 4-bit bus at 25 MHz, and a CMD25 of BLOCKS blocks (Auto CMD12) just issued.

    stalled_block: that block keeps the card busy 3 s, beyond the data timeout (2^27 TMCLK, 2.7 s).
    """
    stalls = [] if stalled_block is None else [InjectedStall(stalled_block, 3 * 10**12)]
    ctl, h = make(cache_kib=1024, program_us=5.0, injected_stalls=stalls)
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


@pytest.mark.parametrize("dma, stalled_block", [("sdma", None), ("adma", None), ("adma", 5)])
def test_a_look_in_the_middle_sees_what_stepping_sees(dma: str, stalled_block: int | None) -> None:
    """Run ahead to a time in the middle of the write, read the registers it changes, go on: as stepping does.

    With a stalled block the write stops there: its data timeout and DAT0's release are still to come.
    """
    ahead, h, _ = _start_write(dma, stalled_block)
    steps, g, _ = _start_write(dma, stalled_block)
    steps.scheduler.ahead_bound = lambda: None                  # every event through the queue, its handler
    for host in (h, g):                                         # Command Complete, acknowledged
        host.ack(host.wait_int(rm.SDHCI_INT_RESPONSE))
    limit = h.t + 300_123_000                                   # about seven 41.7 us blocks later
    assert ahead.run_until_change(rm.SDHCI_INT_STATUS, 32, limit) is None and ahead.scheduler.now == limit
    while (t := steps.next_event_ps()) is not None and t <= limit:
        steps.read(rm.SDHCI_INT_STATUS, 32, t)                  # one event time after the other
    for offset, width in LOOKED_AT:
        assert ahead.read(offset, width, limit) == steps.read(offset, width, limit), hex(offset)
    assert 0 < ahead.read(rm.SDHCI_BLOCK_COUNT, 16, limit) < BLOCKS
    assert ahead.trace == steps.trace
    # From there on, both hold the same events: stepping through them finds the same times.
    times = {}
    for name, ctl in (("ahead", ahead), ("steps", steps)):
        times[name] = []
        while (t := ctl.next_event_ps()) is not None:
            times[name].append(t)
            ctl.read(rm.SDHCI_INT_STATUS, 32, t)
    assert times["ahead"] == times["steps"]
    assert len(times["ahead"]) > BLOCKS if stalled_block is None else times["ahead"][-1] > limit + 2 * 10**12
    assert ahead.trace == steps.trace


def _board(dma: str, width: int, buffer_blocks: int, dma_block_ps: int, cached_us: tuple[float, float],
           seed: int, auto12: bool, run_ahead: bool):
    """A brought-up board (random card busy from `seed`) with a CMD25 of BLOCKS blocks just issued."""
    config = controller_preset("v3")
    config.buffer_blocks = buffer_blocks
    config.latencies = dataclasses.replace(config.latencies, dma_block_ps=dma_block_ps)
    timing = CardTiming(cached_write=TimeDistribution("uniform", min_us=cached_us[0], max_us=cached_us[1]),
                        program=TimeDistribution("uniform", min_us=50.0, max_us=400.0),
                        init_busy_us=0.0, cmd6_busy_us=1.0, write_buffer_blocks=2)
    card = EmmcCard(CardConfig(cache_size_kib=4 if cached_us[1] else 0, timing=timing, seed=seed))
    ctl, h = make(config=config, card=card)
    if not run_ahead:
        ctl.scheduler.ahead_bound = lambda: None
    h.power_up()
    h.init_card(width=width)
    data = random.Random(seed).randbytes(512 * BLOCKS)
    mode = rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_DMA
    mode |= rm.SDHCI_TRNS_AUTO_CMD12 if auto12 else 0
    if dma == "adma":
        build_adma_table(ctl.memory, TABLE, BUFFER, data, 1536)      # blocks across descriptors too
        h.wr(rm.SDHCI_HOST_CONTROL, 8, h.rd(rm.SDHCI_HOST_CONTROL, 8) | rm.SDHCI_CTRL_ADMA32)
        h.wr(rm.SDHCI_ADMA_ADDRESS, 32, TABLE)
    else:
        ctl.memory.write(BUFFER, data)
        h.wr(rm.SDHCI_DMA_ADDRESS, 32, BUFFER)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(0, 512))       # 4 KiB SDMA boundaries
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, BLOCKS)
    h.wr(rm.SDHCI_ARGUMENT, 32, LBA)
    h.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(25, R1 | rm.SDHCI_CMD_DATA) << 16)
    return ctl, h


def _drive(ctl, h, dma: str, looks: list[int]) -> list:
    """Poll the interrupt status up to each look (servicing interrupts), then read the registers a write changes."""
    out: list = []
    for look in looks:
        while True:                                       # the Poll: up to the look, acknowledging what comes
            changed = ctl.run_until_change(rm.SDHCI_INT_STATUS, 32, look) if ctl.next_event_ps() else None
            if changed is None:
                break
            status = ctl.read(rm.SDHCI_INT_STATUS, 32, changed)
            ctl.write(rm.SDHCI_INT_STATUS, 32, status, changed)
            if status & rm.SDHCI_INT_DMA_END and dma == "sdma":      # the next SDMA address
                ctl.write(rm.SDHCI_DMA_ADDRESS, 32, ctl.read(rm.SDHCI_DMA_ADDRESS, 32, changed), changed)
            out.append((changed, status))
        out.append([ctl.read(offset, width, look) for offset, width in LOOKED_AT])
    return out + [ctl.trace]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["sdma", "adma"]), st.sampled_from([1, 4, 8]), st.integers(1, 4),
       st.sampled_from([0, 400_000, 9_000_000, 60_000_000]),
       st.sampled_from([(0.0, 0.0), (0.5, 3.0), (2.0, 8.0), (30.0, 90.0)]),
       st.integers(0, 1000), st.booleans(), st.lists(st.integers(0, 10**6), min_size=1, max_size=6))
def test_running_ahead_changes_nothing_a_driver_can_see(dma, width, buffer_blocks, dma_block_ps, cached_us, seed,
                                                        auto12, picks) -> None:
    """Widths, buffer sizes, DMA slower or faster than busy, card busy, Auto CMD12 or not; looks anywhere.

    The looks fall just before, at and just after the times things happen in the write (every bus
    and DMA event's start and end, from a first run): there an event run ahead one picosecond too
    early or too late shows.
    """
    def board(run_ahead: bool):
        return _board(dma, width, buffer_blocks, dma_block_ps, cached_us, seed, auto12, run_ahead)

    ctl, h = board(False)
    start = h.t
    _drive(ctl, h, dma, [start + 10**13])
    moments = sorted({t for e in ctl.trace for t in (e.start_ps, e.end_ps) if t > start})
    looks = sorted({moments[pick % len(moments)] + pick % 3 - 1 for pick in picks})
    assert _drive(*board(True), dma, looks) == _drive(*board(False), dma, looks)
