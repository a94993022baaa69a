"""Today's controller against the one before the scheduler/state-machine rework: same everything.

Each case of the matrix in equivalence_helpers (the emulator's default run
over transfer modes, bus widths, cards, seeds and faults; register-level
scenarios over PIO, SDMA and ADMA2 writes and reads, Auto CMD12/CMD23, SDMA
boundaries, ADMA2 links/NOPs/Int, clock gating, an abort and controller
faults) is run and fingerprinted: the bus trace, the driver's operations
with their times and values, the run's figures and the bytes on the card
and in host memory. The expected fingerprints were captured from commit
c570c4a, those of the cases that make the write run-ahead stop from commit
e3c1797 (how: equivalence_helpers' docstring).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from equivalence_helpers import all_cases, fingerprint

GOLDEN = json.loads((Path(__file__).parent / "golden" / "controller_equivalence.json").read_text())
CASES = all_cases()


def test_the_matrix_is_the_captured_one() -> None:
    assert sorted(CASES) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_before_the_rework(name: str) -> None:
    got = fingerprint(CASES[name]())
    differs = sorted(part for part in GOLDEN[name] if got.get(part) != GOLDEN[name][part])
    assert not differs, f"{name}: {', '.join(differs)} differ from the captured run"


class _StepByStep:
    """The controller without run_until_change: a Poll then steps from event to event (next_event_ps).

    Nor does its data engine run a write ahead: every event goes through the queue to its handler.
    """

    def __init__(self, ctl) -> None:
        self.read, self.write, self.next_event_ps = ctl.read, ctl.write, ctl.next_event_ps
        self.read_burst, self.write_burst = ctl.read_burst, ctl.write_burst
        ctl.scheduler.ahead_bound = lambda: None


@pytest.mark.parametrize("transfer", ["pio", "sdma", "adma2"])
@pytest.mark.parametrize("extra", [[], ["run.bus_width=1", "card_preset='emmc51-slow'"],
                                   ["run.stall_ms=400", "run.enable_cache=false"],
                                   ['controller.faults=[{kind="drop_crc_status", block=9}]']])
def test_whole_transfer_steps_equal_event_by_event_steps(transfer: str, extra: list[str]) -> None:
    """Today's code both ways: the runner's Poll running a whole transfer in one call, and stepping."""
    from sdhci.config import load_config
    from sdhci.driver.runner import SyncRunner
    from sdhci.emulation import PanicSession

    def panic(step_by_step: bool) -> PanicSession:
        config = load_config(None, [f"run.transfer={transfer!r}", *extra])
        session = PanicSession(config)
        if step_by_step:
            session.runner = SyncRunner(_StepByStep(session.controller), session.memory, config.platform)
        session.initialise()
        session.register()
        session.panic_write(bytes(range(256)) * 256, 0, 128)
        return session

    whole, steps = panic(False), panic(True)
    assert [(r.op, r.start_ps, r.end_ps, r.value) for r in whole.runner.log] == \
           [(r.op, r.start_ps, r.end_ps, r.value) for r in steps.runner.log]
    assert whole.runner.counts == steps.runner.counts
    assert whole.controller.trace == steps.controller.trace
