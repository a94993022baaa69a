"""The card's and pstore's state when the kernel panics, end to end (run.entry)."""

from sdhci.config import load_config
from sdhci.emulation import run_panic_write
from sdhci.report import render_text

US = 1_000_000                  # ps
RECORD_SECTOR = 135168          # mmcblk0p5 start (the default partition table)
ROOTFS_SECTOR = 139264          # mmcblk0p6, the largest other partition: where earlier writes went
FIXED = ["card.timing.program={kind='fixed', value_us=100.0}"]


def _run(*overrides: str):
    return run_panic_write(load_config(None, list(overrides)))


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_previous_write_still_programming_makes_the_write_command_illegal() -> None:
    r = _run("run.entry.busy='write'", "run.entry.busy_us=5000")
    # CMD25 in prg: no response, the controller's command timeout; the patch returns 0 anyway.
    assert [c.index for c in r.commands] == [25]
    assert (r.verdict, r.returned) == ("lost", 0) and r.silent_loss
    assert "card-not-ready" in _codes(r) and "errors-swallowed" in _codes(r)
    assert "card still programming a previous write for 5.000 ms" in render_text(r)
    checked = _run("run.entry.busy='write'", "run.entry.busy_us=5000", "run.patch='checked'")
    assert checked.verdict == "error" and checked.returned == -110


def test_a_busy_that_ended_before_the_command_changes_nothing() -> None:
    idle = _run(*FIXED)
    short = _run(*FIXED, "run.entry.busy='write'", "run.entry.busy_us=0.5")   # over before CMD25 (0.98 us)
    assert "card-not-ready" not in _codes(short)
    assert [c.index for c in short.commands] == [25, 12] and short.total_ps == idle.total_ps


def test_garbage_collection_delays_an_uncached_write_by_its_remaining_time() -> None:
    r = _run(*FIXED, "run.enable_cache=false", "run.entry.busy='gc'", "run.entry.busy_us=50000")
    assert r.durable
    # Programming starts when the collection ends, 50 ms after entry; 128 blocks x 100 us follow,
    # then CMD12's 20 us stop busy; the poll sees Transfer Complete within microseconds.
    floor = 50_000 * US + 128 * 100 * US + 20 * US
    assert floor <= r.total_ps < floor + 30 * US
    assert "card-not-ready" in _codes(r)


def test_garbage_collection_longer_than_the_poll_timeout_is_a_silent_loss() -> None:
    r = _run("run.enable_cache=false", "run.entry.busy='gc'", "run.entry.busy_us=300000")
    assert r.returned == 0 and r.silent_loss
    # The poll gives up after its 160 ms, while the collection still runs: nothing was programmed.
    assert r.poll_timeout_ms == 160 and 160_000 * US <= r.total_ps < 300_000 * US
    assert "errors-swallowed" in _codes(r) and r.medium.intact_bytes < 1024


def test_dirty_blocks_fill_the_cache_and_are_lost_with_the_record() -> None:
    r = _run("run.entry.dirty_blocks=2000")
    # 2000 dirty + 128 record blocks in a 2048-block cache: the 80 oldest were evicted to the medium,
    # the 2048 left are lost at the cut.
    assert r.power_cut_report is not None and len(r.power_cut_report.lost_cached) == 2048
    assert r.verdict == "lost"


def test_a_flush_writes_the_dirty_blocks_too() -> None:
    r = _run(*FIXED, "run.entry.dirty_blocks=500", "run.patch='flush'", "run.power_cut='return'")
    assert r.durable
    assert r.total_ps > (500 + 128) * 100 * US                 # every cached block programmed before return
    flush_busy = [e.end_ps - e.start_ps for e in r.trace if e.kind == "busy" and e.cmd == 6]
    assert flush_busy == [(500 + 128) * 100 * US + 300 * US]


def test_dirty_blocks_without_a_cache_are_noted() -> None:
    r = _run("run.entry.dirty_blocks=10", "run.enable_cache=false")
    assert any("cache is off" in note for note in r.notes) and r.durable


def test_earlier_records_move_the_record_along_pstore_zone_s_ring() -> None:
    three = _run("run.entry.records=3", "run.power_cut='never'")
    assert three.start_sector == RECORD_SECTOR + 3 * 128 and three.medium.listed == "this"
    # 20 records in 16 zones: the newest (#20) sits in zone 3, so this one overwrites zone 4 (#5).
    twenty = _run("run.entry.records=20")
    assert twenty.start_sector == RECORD_SECTOR + 4 * 128
    assert twenty.verdict == "lost" and twenty.medium.listed == "older"
