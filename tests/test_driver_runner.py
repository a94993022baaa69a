"""SyncRunner: platform costs, the op log, and Poll jumping equal to the literal loop of ops.Poll."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sdhci.config import load_config
from sdhci.driver.ops import Delay, Now, Poll, PollResult, Read, Write
from sdhci.driver.platform import PlatformConfig, platform_preset
from sdhci.driver.runner import SyncRunner
from sdhci.emulation import PanicSession
from sdhci.memory import HostMemory

PLATFORM = PlatformConfig(mmio_read_ps=150_000, mmio_write_ps=40_000, poll_overhead_ps=50_000)


class StepRegister:
    """A register that reads 0 before ``flip_ps`` and 1 from then on (one scheduled event)."""

    def __init__(self, flip_ps: int) -> None:
        self.flip_ps = flip_ps
        self.last_ps = 0
        self.reads = 0

    def read(self, offset: int, width: int, t_ps: int) -> int:
        self.last_ps = t_ps
        self.reads += 1
        return int(t_ps >= self.flip_ps)

    def write(self, offset: int, width: int, value: int, t_ps: int) -> None:
        self.last_ps = t_ps

    def next_event_ps(self) -> int | None:
        return self.flip_ps if self.last_ps < self.flip_ps else None


class LoopRunner(SyncRunner):
    """Executes Poll as the literal loop of sdhci.driver.ops: one real read per iteration."""

    def _poll(self, op: Poll) -> PollResult:
        p = self.platform
        start, n = self.t_ps, 0
        while True:
            value = self.controller.read(op.offset, op.width, self.t_ps)
            n += 1
            self.t_ps += p.mmio_read_ps + p.poll_overhead_ps
            if op.matches(value):
                return self._poll_done(value, n, False)
            if self.t_ps - start >= op.timeout_ns * 1000:
                return self._poll_done(value, n, True)
            self.t_ps += op.interval_ns * 1000


def _poll_once(runner: SyncRunner, timeout_ns: int) -> PollResult:
    def routine():
        return (yield Poll(0x30, 32, 1, 1, interval_ns=1000, timeout_ns=timeout_ns))
    return runner.run(routine())


def test_poll_jump_counts_iterations_by_hand() -> None:
    # Period = 150 ns read + 50 ns overhead + 1000 ns interval = 1200 ns. The register flips at
    # 10 us: reads at 0, 1.2, ..., the first at or after 10 us is read 9 (10.8 us) -> 10 iterations,
    # ending 200 ns later at 11.0 us.
    reg = StepRegister(10_000_000)
    runner = SyncRunner(reg, HostMemory(), PLATFORM)
    assert _poll_once(runner, 1_000_000) == PollResult(1, 10, False)
    assert runner.t_ps == 11_000_000
    assert reg.reads == 2                      # the first read and the one after the jump
    assert runner.counts.poll_iterations == 10 and runner.counts.read == 10


def test_poll_timeout_by_hand() -> None:
    # Timed out after read k when k*1200 + 200 >= 5000 ns: k = 4 -> 5 iterations, ending at 5.0 us.
    runner = SyncRunner(StepRegister(10_000_000), HostMemory(), PLATFORM)
    assert _poll_once(runner, 5_000) == PollResult(0, 5, True)
    assert runner.t_ps == 5_000_000


def test_poll_with_zero_timeout_reads_once() -> None:
    runner = SyncRunner(StepRegister(10_000_000), HostMemory(), PLATFORM)
    assert _poll_once(runner, 0) == PollResult(0, 1, True)
    assert runner.t_ps == 200_000


def test_five_second_stall_is_cheap() -> None:
    # A 5 s wait under a 1 us loop: 5e9 ns / 1200 ns = 4166666.67 -> read 4166667 is the first
    # at or after 5 s, so 4166668 iterations; the model is read twice.
    reg = StepRegister(5_000_000_000_000)
    runner = SyncRunner(reg, HostMemory(), PLATFORM)
    assert _poll_once(runner, 10_000_000_000) == PollResult(1, 4_166_668, False)
    assert reg.reads == 2


def test_read_write_delay_costs_and_log() -> None:
    reg = StepRegister(0)
    runner = SyncRunner(reg, HostMemory(), PLATFORM)

    def routine():
        yield Write(0x2C, 16, 1)
        value = yield Read(0x2C, 16)
        yield Delay(10)
        return value, (yield Now())

    assert runner.run(routine()) == (1, 40_000 + 150_000 + 10_000)
    assert [(type(r.op).__name__, r.start_ps, r.end_ps) for r in runner.log] == [
        ("Write", 0, 40_000), ("Read", 40_000, 190_000), ("Delay", 190_000, 200_000), ("Now", 200_000, 200_000)]


def _stalled_panic(runner_cls: type[SyncRunner], transfer: str):
    config = load_config(None, [f"run.transfer={transfer!r}", "run.stall_ms=3", "run.enable_cache=false"])
    session = PanicSession(config)
    session.runner = runner_cls(session.controller, session.memory, config.platform)
    session.initialise()
    session.register()
    returned = session.panic_write(bytes(range(256)) * 64, 0, 128)
    return returned, session


def test_poll_jump_equals_the_loop_on_a_real_panic_write() -> None:
    for transfer in ("pio", "adma2"):
        got, fast = _stalled_panic(SyncRunner, transfer)
        want, slow = _stalled_panic(LoopRunner, transfer)
        assert got == want == 0
        assert fast.runner.t_ps == slow.runner.t_ps
        assert [(r.op, r.start_ps, r.end_ps, r.value) for r in fast.runner.log] == \
               [(r.op, r.start_ps, r.end_ps, r.value) for r in slow.runner.log]
        assert fast.controller.trace == slow.controller.trace
        # The 3 ms stall under a 1.2 us loop period needs thousands of iterations.
        assert fast.runner.counts.poll_iterations > 2_500


def test_platform_presets_differ_in_mmio_cost() -> None:
    assert platform_preset("x86-pci").mmio_read_ps > platform_preset("arm64-soc").mmio_read_ps


class CountingRegister:
    """Reads the number of change times at or before t; the next change is the next event."""

    def __init__(self, changes: list[int]) -> None:
        self.changes = sorted(changes)
        self.last_ps = 0

    def read(self, offset: int, width: int, t_ps: int) -> int:
        self.last_ps = t_ps
        return sum(1 for c in self.changes if c <= t_ps)

    def write(self, offset: int, width: int, value: int, t_ps: int) -> None:
        self.last_ps = t_ps

    def next_event_ps(self) -> int | None:
        return next((c for c in self.changes if c > self.last_ps), None)


@settings(max_examples=60, deadline=None)
@given(changes=st.lists(st.integers(0, 400_000_000), max_size=5),
       interval_ns=st.integers(0, 5_000), timeout_ns=st.integers(0, 300_000),
       target=st.integers(1, 4), negate=st.booleans(),
       read_ps=st.integers(50_000, 300_000), overhead_ps=st.integers(0, 100_000))
def test_poll_jump_matches_loop_property(changes, interval_ns, timeout_ns, target, negate, read_ps, overhead_ps):
    platform = PlatformConfig(mmio_read_ps=read_ps, poll_overhead_ps=overhead_ps)
    op = Poll(0x30, 32, 0x7, target, interval_ns=interval_ns, timeout_ns=timeout_ns, negate=negate)
    results = []
    for cls in (SyncRunner, LoopRunner):
        runner = cls(CountingRegister(changes), HostMemory(), platform, t_ps=1_000)
        results.append((runner.execute(op), runner.t_ps))
    assert results[0] == results[1]
