"""Each patch variant on the default card: what it sends, what it costs, whether the record survives."""

import pytest

from sdhci.config import load_config
from sdhci.driver.variants import PATCHES
from sdhci.emulation import run_panic_write
from sdhci.report import report_dict

#: Every block programs in exactly 100 us: the flush's busy can be computed by hand.
FIXED_PROGRAM = "card.timing.program={kind='fixed', value_us=100.0}"
RECORD_SECTOR = 135168          # mmcblk0p5 start (the default partition table)


def _run(patch: str, *overrides: str):
    return run_panic_write(load_config(None, [f"run.patch='{patch}'", *overrides]))


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_as_posted_loses_the_record_in_the_cache_silently() -> None:
    r = _run("as-posted")
    assert (r.verdict, r.returned) == ("lost", 0) and r.silent_loss
    assert [c.index for c in r.commands] == [25, 12]
    assert _codes(r) == ["cache-not-flushed"]
    assert report_dict(r)["patch"] == "as-posted"


def test_flush_makes_it_durable_and_costs_the_programming_of_every_block() -> None:
    plain, flushed = _run("as-posted", FIXED_PROGRAM), _run("flush", FIXED_PROGRAM)
    assert (flushed.verdict, flushed.returned) == ("durable", 0)
    assert [(c.index, c.argument) for c in flushed.commands][-1] == (6, 0x03200101)   # WRITE_BYTE, index 32, value 1, cmd set 1
    assert "cache-not-flushed" not in _codes(flushed)
    # R1b busy of the flush: 128 cached blocks x 100 us, plus the preset's 300 us flush overhead.
    flush_busy = [e for e in flushed.trace if e.kind == "busy" and e.cmd == 6]
    assert [e.end_ps - e.start_ps for e in flush_busy] == [128 * 100_000_000 + 300_000_000]
    assert flushed.total_ps - plain.total_ps > 128 * 100_000_000 + 300_000_000
    assert report_dict(flushed)["patch"] == "flush"


def test_reliable_write_goes_around_the_cache() -> None:
    r = _run("reliable-write", FIXED_PROGRAM)
    assert (r.verdict, r.returned) == ("durable", 0)
    # CMD23 (Auto CMD23 on this v3 host) with bit 31 and the block count, then CMD25; no CMD12.
    assert [(c.index, c.argument) for c in r.commands] == [(23, (1 << 31) | 128), (25, RECORD_SECTOR)]
    assert r.power_cut_report is not None and r.power_cut_report.lost_cached == []
    # Nothing acknowledged before it is programmed: at least 128 x 100 us of programming inside the call.
    assert r.total_ps > 128 * 100_000_000 > _run("as-posted", FIXED_PROGRAM).total_ps


STALL = ["run.stall_ms=500", "run.enable_cache=false"]   # longer than the 160 ms poll timeout


def test_checked_reports_the_timeout_instead_of_a_silent_loss() -> None:
    posted, checked = _run("as-posted", *STALL), _run("checked", *STALL)
    assert posted.returned == 0 and posted.silent_loss and "errors-swallowed" in _codes(posted)
    assert checked.verdict == "error" and checked.returned == -110          # -ETIMEDOUT reaches pstore
    assert not checked.silent_loss and "errors-swallowed" not in _codes(checked)
    # The same request on the bus, the same 160 ms poll: only the return value differs.
    assert [c.index for c in checked.commands] == [c.index for c in posted.commands]
    assert checked.poll_timeout_ms == posted.poll_timeout_ms == 160


def test_checked_still_loses_cached_data_and_says_so() -> None:
    r = _run("checked")
    assert (r.verdict, r.returned) == ("lost", 0) and "cache-not-flushed" in _codes(r)


def test_fixed_uses_reliable_write_when_the_card_offers_it_else_a_flush() -> None:
    rel = _run("fixed")
    assert rel.durable and [c.index for c in rel.commands] == [23, 25]
    flush = _run("fixed", "card.wr_rel_param=0")            # no enhanced reliable write (EN_REL_WR clear)
    assert flush.durable and [c.index for c in flush.commands] == [25, 12, 6]
    assert _run("fixed", *STALL).returned == -110


def test_flush_on_a_card_without_cache_sends_nothing_more() -> None:
    r = _run("flush", "run.enable_cache=false")
    assert r.durable and [c.index for c in r.commands] == [25, 12]


@pytest.mark.parametrize("patch", PATCHES)
def test_every_variant_writes_the_same_bytes(patch: str) -> None:
    r = run_panic_write(load_config(None, [f"run.patch='{patch}'", "run.power_cut='never'"]))
    assert r.verdict == "durable"
    assert r.medium.intact_bytes == 64 * 1024


def test_the_command_line_offers_every_variant() -> None:
    from sdhci import cli
    assert cli.PATCH_NAMES == PATCHES          # kept apart so that --help imports nothing
