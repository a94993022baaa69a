"""The controller's timeline: Scheduler order, cancellation, clock freeze, halting; run_until_change."""
from __future__ import annotations

from collections.abc import Callable

from sdhci import regmap as rm
from sdhci.controller.scheduler import Scheduler
from sdhci.trace import events
from sdhci_helpers import R1, make


def _recorder() -> tuple[list[tuple[int, str]], Callable[[int, str], None]]:
    ran: list[tuple[int, str]] = []
    return ran, lambda t, name: ran.append((t, name))


def test_events_run_in_time_then_scheduling_order() -> None:
    s = Scheduler()
    s.start_clock(0)
    ran, rec = _recorder()
    s.schedule(300, "cmd", True, rec, ("c",))
    s.schedule(100, "dat", True, rec, ("a",))
    s.schedule(300, "dat", False, rec, ("d",))
    s.schedule(100, "cmd", False, rec, ("b",))
    assert s.next_event_ps() == 100
    s.advance(250)
    assert ran == [(100, "a"), (100, "b")] and s.now == 250
    s.schedule(200, "cmd", True, rec, ("late",))          # in the past: runs now, at 250
    s.advance(1000)
    assert ran[2:] == [(250, "late"), (300, "c"), (300, "d")]
    assert s.next_event_ps() is None and s.now == 1000
    s.advance(500)                                          # an access before now is treated as now
    assert s.now == 1000


def test_cancel_drops_one_engines_events() -> None:
    s = Scheduler()
    s.start_clock(0)
    ran, rec = _recorder()
    s.schedule(100, "dat", True, rec, ("dat",))
    s.schedule(200, "cmd", True, rec, ("cmd",))
    s.cancel(("dat",))
    assert s.next_event_ps() == 200
    s.advance(300)
    assert ran == [(200, "cmd")]


def test_bus_events_freeze_while_the_clock_stops_and_resume_shifted() -> None:
    s = Scheduler()
    s.start_clock(0)
    ran, rec = _recorder()
    s.schedule(1000, "dat", True, rec, ("bus",))           # scheduled at 0, due at 1000
    s.schedule(1500, "clk", False, rec, ("host",))
    s.advance(400)
    s.stop_clock(400)                                       # 600 ps of the bus event left
    assert s.next_event_ps() == 1500                        # the bus event waits for the clock
    s.advance(2000)
    assert ran == [(1500, "host")]
    s.start_clock(2000)
    assert s.next_event_ps() == 2600                        # the 600 ps it had left, from the restart
    s.advance(3000)
    assert ran[1:] == [(2600, "bus")]


def test_a_restart_inside_an_event_moves_events_in_place() -> None:
    # The clock restarts from an event (internal clock stable) during an advance that would
    # otherwise reach the old times of the frozen event: it runs once, at its new time.
    s = Scheduler()
    s.start_clock(0)
    ran, rec = _recorder()
    s.schedule(1000, "cmd", True, rec, ("bus",))
    s.advance(100)
    s.stop_clock(100)
    s.schedule(5000, "clk", False, lambda t: (rec(t, "stable"), s.start_clock(t)))
    s.advance(10_000)
    assert ran == [(5000, "stable"), (5900, "bus")]
    assert s.next_event_ps() is None and s.now == 10_000


def test_run_until_halt_stops_after_the_event_that_halts() -> None:
    s = Scheduler()
    s.start_clock(0)
    ran, rec = _recorder()
    s.schedule(100, "dat", True, rec, ("a",))
    s.schedule(200, "dat", True, lambda t: (rec(t, "b"), s.halt()))
    s.schedule(200, "dat", True, rec, ("c",))
    assert s.run_until_halt(1000) == 200
    assert ran == [(100, "a"), (200, "b")] and s.now == 200
    assert s.run_until_halt(150) is None                    # nothing due by then: stands at 200
    assert s.run_until_halt(1000) is None and s.now == 1000
    assert ran[2:] == [(200, "c")]
    s.halt()                                                # outside run_until_halt: no effect
    s.schedule(1100, "dat", True, rec, ("d",))
    s.schedule(1200, "dat", True, rec, ("e",))
    s.advance(2000)
    assert ran[3:] == [(1100, "d"), (1200, "e")]


def test_run_until_change_lands_on_command_complete() -> None:
    # CMD13 at 25 MHz (40 ns a clock): Command Complete at its response end; Command Inhibit
    # (CMD) drops at the same event. Both ways of asking stop there, and the model stands there.
    for offset, width in ((rm.SDHCI_INT_STATUS, 32), (rm.SDHCI_PRESENT_STATE, 32)):
        ctl, h = make()
        h.power_up()
        h.init_card(width=4)
        h.wr(rm.SDHCI_ARGUMENT, 32, 2 << 16)
        h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
        t = ctl.run_until_change(offset, width, h.t + 10**9)
        response = events(ctl.trace, "response", 13)[-1]
        assert t == response.end_ps == ctl.scheduler.now
        assert ctl.read(rm.SDHCI_INT_STATUS, 32, t) & rm.SDHCI_INT_RESPONSE


def test_run_until_change_stops_at_the_limit() -> None:
    ctl, h = make()
    h.power_up()
    h.init_card(width=4)
    h.wr(rm.SDHCI_ARGUMENT, 32, 2 << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    limit = h.t + 1_000_000                                # 1 us: the command is still on CMD
    assert ctl.run_until_change(rm.SDHCI_INT_STATUS, 32, limit) is None
    assert ctl.scheduler.now == limit
    assert not ctl.read(rm.SDHCI_INT_STATUS, 32, limit) & rm.SDHCI_INT_RESPONSE
