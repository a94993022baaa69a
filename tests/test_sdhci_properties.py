"""Property tests: random register traffic never raises and the status invariants hold."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdhci import regmap as rm
from sdhci_helpers import make

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
    # inhibit bits agree with the engines
    assert bool(present & rm.SDHCI_DATA_INHIBIT) == (x is not None or ctl._r1b_busy)
    assert bool(present & rm.SDHCI_SPACE_AVAILABLE) == bool(x and x.bwe)
    assert bool(present & rm.SDHCI_DATA_AVAILABLE) == bool(x and x.bre)
    # liveness: an inhibit with nothing scheduled must be waiting for the driver
    clock_running = ctl.clock.running(t)
    if ctl.next_event_ps() is None and clock_running:
        assert not present & rm.SDHCI_CMD_INHIBIT
        if present & rm.SDHCI_DATA_INHIBIT and x is not None:
            assert x.error or x.bwe or x.bre or x.dma_paused or x.stopping or x.gate_ps is None \
                or x.waiting_space or x.mode == "pio"


@settings(max_examples=int(os.environ.get("SDHCI_PROPERTY_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
