"""Property tests: random register traffic never raises, the status invariants hold, time runs forward."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sdhci import regmap as rm
from sdhci.controller.transfer import Dma, Phase, Port, Stop
from sdhci_helpers import R1B, make

OFFSETS = sorted({r.offset for r in rm.REGISTERS} | {0x0F, 0x2D, 0x31, 0x33, 0x03, 0x5A})
COMMANDS = [rm.SDHCI_MAKE_CMD(i, f) for i in (0, 1, 2, 3, 6, 7, 8, 12, 13, 16, 17, 18, 23, 24, 25, 63)
            for f in (0x00, 0x02, 0x1A, 0x1B, 0x09, 0x3A, 0xDB)]

op = st.one_of(
    st.tuples(st.just("w"), st.sampled_from(OFFSETS), st.sampled_from([8, 16, 32]),
              st.integers(0, 0xFFFFFFFF), st.integers(0, 5_000_000)),
    st.tuples(st.just("w"), st.just(0x0E), st.just(16), st.sampled_from(COMMANDS), st.integers(0, 5_000_000)),
    st.tuples(st.just("w"), st.integers(0, 0x1FF), st.sampled_from([8, 16, 24, 32, 64]),
              st.integers(-5, 2**40), st.integers(0, 1000)),
    st.tuples(st.just("r"), st.sampled_from(OFFSETS + [0x20]), st.sampled_from([8, 16, 32]),
              st.just(0), st.integers(0, 50_000_000)),
    st.tuples(st.just("jump"), st.just(0), st.just(0), st.just(0), st.just(0)),
)

W1C_NORMAL = 0x00FF
W1C_ERROR = 0x03FF << 16


def _check_invariants(ctl, t: int) -> None:
    present = ctl.read(rm.SDHCI_PRESENT_STATE, 32, t)
    x = ctl.data.xfer
    port_open = x is not None and x.port is Port.OPEN
    # inhibit bits agree with the engines
    assert bool(present & rm.SDHCI_DATA_INHIBIT) == (x is not None or ctl.commands.r1b_busy)
    assert bool(present & rm.SDHCI_SPACE_AVAILABLE) == (port_open and not x.read)
    assert bool(present & rm.SDHCI_DATA_AVAILABLE) == (port_open and x.read)
    # liveness: an inhibit with nothing scheduled must be waiting for the driver
    clock_running = ctl.clock.running(t)
    if ctl.next_event_ps() is None and clock_running:
        assert not present & rm.SDHCI_CMD_INHIBIT
        if present & rm.SDHCI_DATA_INHIBIT and x is not None:
            assert x.failed or port_open or x.dma is Dma.PAUSED or x.stop is not Stop.NONE \
                or x.gate_ps is None or x.phase is Phase.READ_HELD or x.mode == "pio"


EXAMPLES = int(os.environ.get("SDHCI_PROPERTY_EXAMPLES", "400"))     # raise it for a long soak


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["v1-pio", "v3", "v4"]), st.booleans(), st.lists(op, max_size=40))
def test_random_register_traffic(preset: str, initialised: bool, ops) -> None:
    ctl, h = make(preset)
    if initialised:
        h.power_up()
        h.init_card(width=4)
    t = h.t
    last_status = ctl.read(rm.SDHCI_INT_STATUS, 32, t)
    for kind, offset, width, value, dt in ops:
        t += dt
        if kind == "jump":
            nxt = ctl.next_event_ps()
            t = max(t, nxt) if nxt is not None else t
            continue
        if kind == "r":
            ctl.read(offset, width, t)
        else:
            ctl.write(offset, width, value, t)
        status = ctl.read(rm.SDHCI_INT_STATUS, 32, t)
        touched = kind == "w" and (offset <= 0x37 and offset + width // 8 > 0x30 or 0x2F in
                                   range(offset, offset + width // 8))
        if not touched:
            # a W1C status bit never clears without a write to it (or a reset / enable change)
            lost = last_status & ~status & (W1C_NORMAL | W1C_ERROR)
            assert not lost, f"0x{lost:X} cleared by a write to 0x{offset:X}"
        if status & W1C_ERROR:
            assert status & rm.SDHCI_INT_ERROR
        _check_invariants(ctl, t)
        last_status = status


transfer = st.tuples(
    st.sampled_from([0, 8, 100, 512, 1024, 4096]),            # Block Size
    st.integers(0, 6),                                        # Block Count
    st.integers(0, 0x3F),                                     # Transfer Mode bits 5:0
    st.sampled_from([17, 18, 24, 25, 8, 13]),                 # command index
    st.sampled_from([0x00, 0x02, 0x20, 0x12, 0x18, 0x22]),    # Host Control 1: width, DMA select
    st.sampled_from([0, 4]),                                  # UHS mode: SDR / DDR50
    st.integers(0, 2**20),                                    # argument (block address)
)


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(transfer, min_size=1, max_size=4))
def test_random_transfers_end_or_wait_for_the_driver(transfers) -> None:
    """Any data command, however odd, ends (Transfer Complete or an error) while a driver services it."""
    ctl, h = make("v3")
    h.power_up()
    h.init_card(width=4)
    for size, count, mode, index, hc1, uhs, arg in transfers:
        h.wr(rm.SDHCI_HOST_CONTROL, 8, hc1)
        h.wr(rm.SDHCI_HOST_CONTROL2, 16, uhs)
        h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x10000)
        h.wr(rm.SDHCI_ADMA_ADDRESS, 32, 0x0)                   # zeroed memory: an invalid descriptor
        h.wr(rm.SDHCI_BLOCK_SIZE, 16, size)
        h.wr(rm.SDHCI_BLOCK_COUNT, 16, count)
        h.wr(rm.SDHCI_ARGUMENT, 32, arg)
        h.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(index, 0x3A) << 16)
        aborted = idle = False
        for i in range(6000):
            present = h.rd(rm.SDHCI_PRESENT_STATE)
            status = h.rd(rm.SDHCI_INT_STATUS)
            _check_invariants(ctl, h.t)
            if status & rm.SDHCI_INT_DATA_END or status & rm.SDHCI_INT_ERROR_MASK:
                break
            if i >= 2000 and not aborted and not present & rm.SDHCI_CMD_INHIBIT:
                # an open-ended transfer runs until the driver sends an abort CMD12
                aborted = True
                h.wr(rm.SDHCI_ARGUMENT, 32, 0)
                h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(12, R1B | rm.SDHCI_CMD_ABORTCMD))
            elif present & rm.SDHCI_SPACE_AVAILABLE:
                h.wr(rm.SDHCI_BUFFER, 32, 0xA5A5A5A5)
            elif present & rm.SDHCI_DATA_AVAILABLE:
                h.rd(rm.SDHCI_BUFFER)
            elif status & rm.SDHCI_INT_DMA_END:
                h.ack(rm.SDHCI_INT_DMA_END)
                h.wr(rm.SDHCI_DMA_ADDRESS, 32, h.rd(rm.SDHCI_DMA_ADDRESS))
            else:
                nxt = ctl.next_event_ps()
                if nxt is None:
                    if not idle:        # the two reads straddled an event: look once more
                        idle = True
                        continue
                    # nothing scheduled and nothing for the driver to do: the engines must be idle
                    assert not present & (rm.SDHCI_CMD_INHIBIT | rm.SDHCI_DATA_INHIBIT), hex(present)
                    break
                h.t = max(h.t, nxt)
        else:
            raise AssertionError("transfer never ended")
        h.ack()
        h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)
        h.command(12, 0, rm.SDHCI_CMD_RESP_SHORT_BUSY)          # card back to tran if it was in a transfer
        h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)


# Clock Control values: divider N = 250 (400 kHz), 2 (50 MHz) or 0, with the enables in every combination.
CLOCKS = [(n & 0xFF) << 8 | ((n >> 8) & 3) << 6 | enables for n in (250, 2, 0)
          for enables in (0, rm.SDHCI_CLOCK_INT_EN, rm.SDHCI_CLOCK_CARD_EN,
                          rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN)]
timeline_op = st.one_of(
    op,
    st.tuples(st.just("w"), st.just(rm.SDHCI_CLOCK_CONTROL), st.just(16), st.sampled_from(CLOCKS),
              st.integers(0, 20_000_000)),
    st.tuples(st.just("w"), st.just(rm.SDHCI_SOFTWARE_RESET), st.just(8), st.integers(0, 7), st.integers(0, 1000)),
)
# Trace events recorded when they happen, at their end: their ends are the times events ran.
_RUN_AT_END = ("command", "response", "data", "timeout", "dma")
# SDHCI v3, SD clock on at 400 kHz: CMD0, Internal Clock Enable off, internal and SD clock on in one write.
_CLOCK_RESTART = [("w", 0x0E, 16, rm.SDHCI_MAKE_CMD(0, 0), 10_000),
                  ("w", rm.SDHCI_CLOCK_CONTROL, 16, 250 << 8 | rm.SDHCI_CLOCK_CARD_EN, 10_000),
                  ("w", rm.SDHCI_CLOCK_CONTROL, 16, 250 << 8 | rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN, 10_000),
                  ("r", rm.SDHCI_INT_STATUS, 32, 0, 200_000_000),
                  ("r", rm.SDHCI_INT_STATUS, 32, 0, 10_000)]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["v1-pio", "v3", "v4"]), st.booleans(), st.lists(timeline_op, max_size=40))
@example("v3", False, _CLOCK_RESTART)
def test_time_never_goes_backwards_and_no_event_runs_twice(preset: str, initialised: bool, ops) -> None:
    """Whatever the register sequence: after an access at t, nothing is due before t (an event the
    access scheduled may be due at t), and every event the trace shows ran once, in time order, no
    later than the access that ran it."""
    ctl, h = make(preset)
    h.power_up()
    if initialised:
        h.init_card(width=4)
    now = h.t
    seen = len(ctl.trace)
    last_end = max((e.end_ps for e in ctl.trace if e.kind in _RUN_AT_END), default=0)
    for kind, offset, width, value, dt in ops:
        if kind == "jump":
            nxt = ctl.next_event_ps()
            dt = max(0, nxt - now) if nxt is not None else 0
        now += dt
        if kind == "w":
            ctl.write(offset, width, value, now)
        else:
            ctl.read(offset, width, now)
        nxt = ctl.next_event_ps()
        assert nxt is None or nxt >= now, f"next event at {nxt} ps, before the access at {now} ps"
        for event in ctl.trace[seen:]:
            if event.kind in _RUN_AT_END:
                assert last_end <= event.end_ps <= now, f"{event} ran out of order (after {last_end} ps)"
                last_end = event.end_ps
        seen = len(ctl.trace)
    ran = [(e.kind, e.start_ps, e.end_ps, e.cmd, tuple(sorted(e.detail.items())))
           for e in ctl.trace if e.kind in ("command", "response", "data")]
    assert len(ran) == len(set(ran)), "an event ran twice"
