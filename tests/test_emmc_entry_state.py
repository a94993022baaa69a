"""The card's state at panic entry (a previous write, a garbage collection, dirty cache) and its snapshots."""

import dataclasses
import random
from collections import OrderedDict, deque

import pytest

from emmc_helpers import CardHost, blocks

from emmc_card import CardConfig, CardTiming, EmmcCard, TimeDistribution
from emmc_card.protocol import CardState, CardStatus

US = 1_000_000   # ps
FIXED = CardTiming(program=TimeDistribution("fixed", value_us=100.0), stop_busy=TimeDistribution("fixed", value_us=10.0),
                   write_buffer_blocks=4)


def _host(cache: bool = False, **config) -> CardHost:
    card = EmmcCard(CardConfig(timing=FIXED, **config))
    host = CardHost(card)
    host.init(width=4)
    if cache:
        host.switch(33, 1)
    return host


def test_previous_write_holds_the_card_in_prg_and_refuses_a_write() -> None:
    host = _host()
    t = host.t
    old = blocks(3, 4)
    host.card.continue_previous_write([((0, (8000 + i) * 512), b) for i, b in enumerate(old)], t, t + 2_000 * US)
    assert host.card.busy(t + 1_999 * US) and not host.card.busy(t + 2_000 * US)
    out = host.command(25, 100)                       # illegal in prg: no response, flagged later
    assert out.response is None
    host.t = t + 2_000 * US
    status = host.status()
    assert status & CardStatus.ILLEGAL_COMMAND
    assert host.state() == CardState.TRAN
    # Its 4 blocks were programmed one after another, 500 us each, the last at 2 ms.
    assert host.card.storage.read(0, 8000 * 512, 4 * 512) == b"".join(old)


def test_power_cut_during_the_previous_write_tears_one_block_and_loses_the_rest() -> None:
    host = _host()
    t = host.t
    keys = [(0, (8000 + i) * 512) for i in range(4)]
    host.card.continue_previous_write(list(zip(keys, blocks(4, 4))), t, t + 2_000 * US)
    host.card.power_cut(t + 750 * US)                 # block 0 done (500 us), block 1 in progress
    report = host.card.power_cut_report
    assert [key for key, _ in report.torn] == [keys[1]]
    assert report.lost_queued == keys[2:]


def test_background_operation_delays_programming_not_the_commands() -> None:
    host = _host()
    t = host.t
    host.card.start_background_operation(t, t + 5_000 * US)
    assert host.state() == CardState.TRAN             # the card answers at once
    data = blocks(5, 6)
    host.write(25, 64, data, stop=True)
    # 4 blocks fit the write buffer; programming starts when the collection ends, 100 us a block;
    # CMD12's busy ends when the last block is programmed, plus the 10 us stop busy.
    assert host.t == t + 5_000 * US + 6 * 100 * US + 10 * US
    host.card.state(host.t)                               # the card catches up with the time: blocks committed
    assert host.card.storage.read(0, 64 * 512, 6 * 512) == b"".join(data)


def test_background_operation_leaves_a_cached_write_fast() -> None:
    host = _host(cache=True)
    t = host.t
    host.card.start_background_operation(t, t + 5_000 * US)
    host.r1(25, 64)
    outs = [host.write_block(b) for b in blocks(6, 3)]
    assert all(o.token == 0b010 for o in outs) and host.t < t + 100 * US      # into the cache, no wait


def test_preloaded_dirty_blocks_are_served_and_lost_at_a_cut() -> None:
    host = _host(cache=True)
    dirty = blocks(7, 3)
    keys = [(0, (9000 + i) * 512) for i in range(3)]
    host.card.preload_cache(list(zip(keys, dirty)))
    assert host.read(18, 9000, 3, stop=True) == b"".join(dirty)
    host.card.power_cut(host.t)
    assert sorted(host.card.power_cut_report.lost_cached) == keys
    assert host.card.storage.read(0, 9000 * 512, 3 * 512) == bytes(3 * 512)


def test_preload_refuses_a_cache_that_is_off_or_too_small() -> None:
    with pytest.raises(ValueError, match="cache is off"):
        _host(cache=False).card.preload_cache([((0, 0), bytes(512))])
    small = _host(cache=True, cache_size_kib=1)      # 2 blocks
    with pytest.raises(ValueError, match="do not fit"):
        small.card.preload_cache([((0, i * 512), bytes(512)) for i in range(3)])


def _state(value, seen=None):
    """Everything an object holds, as plain nested data (configurations included), for comparison."""
    if isinstance(value, random.Random):
        return ("Random", value.getstate())
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)                     # a copy: a live bytearray would change with the model
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple, deque)):
        return [_state(v) for v in value]
    if isinstance(value, (dict, OrderedDict)):
        return [(_state(k), _state(v)) for k, v in value.items()]
    if dataclasses.is_dataclass(value):
        return (type(value).__name__, [(f.name, _state(getattr(value, f.name))) for f in dataclasses.fields(value)])
    if hasattr(value, "__dict__"):
        return (type(value).__name__, sorted((k, _state(v)) for k, v in vars(value).items()))
    return repr(value)


def test_restore_puts_back_every_attribute_and_the_medium() -> None:
    host = _host(cache=True)
    host.write(25, 64, blocks(8, 5), stop=True)
    card = host.card
    before, medium = _state(card), card.storage.read(0, 0, 1 << 20)
    snap = card.snapshot()
    host.write(25, 2048, blocks(9, 40), stop=True)       # evictions, programming, a flush
    host.switch(32, 1)
    card.continue_previous_write([((0, 4096 * 512), bytes(512))], host.t, host.t + 700 * US)
    card.power_cut(host.t + 100 * US)
    assert _state(card) != before
    card.restore(snap)
    assert _state(card) == before
    assert card.storage.read(0, 0, 1 << 20) == medium
    # And once more from the same snapshot: the snapshot itself is untouched.
    host.write(25, 64, blocks(10, 2), stop=True)
    card.restore(snap)
    assert _state(card) == before


def test_restored_card_draws_what_a_reseeded_fresh_card_draws() -> None:
    random_timing = CardTiming(program=TimeDistribution("uniform", min_us=50.0, max_us=150.0),
                               ncr_cycles_min=2, ncr_cycles_max=8)
    a = CardHost(EmmcCard(CardConfig(timing=random_timing, seed=1)))
    b = CardHost(EmmcCard(CardConfig(timing=random_timing, seed=99)))   # other draws from the start
    for host in (a, b):
        host.init(width=4)
    snap = a.card.snapshot()
    a.write(25, 64, blocks(11, 8), stop=True)            # moves a's generator on
    a.card.restore(snap)
    durations = []
    for host in (a, b):
        host.card.reseed(42)
        start = host.t
        host.write(25, 512, blocks(12, 8), stop=True)
        durations.append(host.t - start)
    assert durations[0] == durations[1]
