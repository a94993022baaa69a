"""A run started from a booted board's snapshot is the run a fresh bring-up gives."""
from __future__ import annotations

import pytest

from emmc_card.storage import USER
from sdhci.config import load_config
from sdhci.emulation import BootCache, PanicSession, run_panic_write
from sdhci.report import report_dict
from tests.test_emmc_entry_state import _state

CASES = [
    [],
    ["run.seed=7", "run.patch='flush'"],
    ["run.seed=3", "run.entry.busy='gc'", "run.entry.busy_us=4000", "run.enable_cache=false"],
    ["run.seed=4", "run.entry.busy='write'", "run.entry.busy_us=900", "run.patch='checked'"],
    ["run.seed=5", "run.entry.dirty_blocks=1500", "run.entry.records=17", "run.power_cut='entry+1500us'"],
    ["run.seed=6", "run.stall_ms=200", "run.patch='fixed'"],
]


def _fingerprint(result) -> tuple:
    ops = [(type(r.op).__name__, r.start_ps, r.end_ps, repr(r.value)) for r in result.op_log]
    trace = [(e.kind, e.start_ps, e.end_ps, e.cmd, sorted(e.detail.items())) for e in result.trace]
    report = report_dict(result)
    return trace, ops, report, sorted(result.responses.items())


def test_runs_from_one_cache_equal_fresh_runs() -> None:
    boots = BootCache()
    for overrides in CASES:
        config = load_config(None, overrides)
        fresh = run_panic_write(config)
        kept = run_panic_write(config, boots)
        assert _fingerprint(kept) == _fingerprint(fresh), overrides
    again = run_panic_write(load_config(None, []), boots)           # after all the others, from the same board
    assert _fingerprint(again) == _fingerprint(run_panic_write(load_config(None, [])))


def test_restored_board_holds_the_medium_a_fresh_run_leaves() -> None:
    config = load_config(None, ["run.entry.records=3", "run.power_cut='never'"])
    boots = BootCache()
    run_panic_write(load_config(None, ["run.entry.dirty_blocks=200"]), boots)   # leaves its marks on the board
    kept, fresh = run_panic_write(config, boots), run_panic_write(config)
    assert kept.medium == fresh.medium and kept.verdict == fresh.verdict == "durable"


#: What each model is wired to and does not own (its snapshot leaves them shared).
PEERS = {"host": {"platform"}, "runner": {"controller", "memory", "platform"}, "memory": set()}


def _own(model, peers: set[str]) -> tuple:
    return _state({k: v for k, v in vars(model).items() if k not in peers})


@pytest.mark.parametrize("model", sorted(PEERS))
def test_host_side_models_restore_every_attribute(model: str) -> None:
    session = PanicSession(load_config(None, []))
    session.initialise()
    target = getattr(session, model)
    snap, before = target.snapshot(), _own(target, PEERS[model])
    session.register()
    session.enter_panic(session.runner.t_ps)
    session.panic_write(bytes(range(256)) * 16, 0, 8)
    assert _own(target, PEERS[model]) != before
    target.restore(snap)
    assert _own(target, PEERS[model]) == before


def test_card_snapshot_in_a_session_keeps_the_partition_table() -> None:
    session = PanicSession(load_config(None, []))
    session.initialise()
    snap = session.card.snapshot()
    table = session.card.storage.read(USER, 0, 512)
    session.card.storage.write(USER, 0, bytes(512))
    session.card.restore(snap)
    assert session.card.storage.read(USER, 0, 512) == table and table[510:] == b"\x55\xaa"
