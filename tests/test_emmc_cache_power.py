"""Volatile cache, flush, eviction and what survives a power cut."""

import pytest

from emmc_helpers import CLK_PS, CardHost, blocks, file_bytes

from emmc_card import CardConfig, CardTiming, EmmcCard
from emmc_card.bus import data_block_cycles
from emmc_card.crc import crc16_lines
from emmc_card.protocol import CardState

US = 1_000_000   # ps
RELIABLE = 1 << 31


@pytest.fixture
def cached_host(tmp_path):
    """Factory: an initialised 4-bit card on tmp_path/card.img with CACHE_CTRL on."""
    cards = []

    def make(**config) -> CardHost:
        card = EmmcCard(CardConfig(**config), image_path=tmp_path / "card.img")
        cards.append(card)
        host = CardHost(card)
        host.init(width=4)
        host.switch(33, 1)
        return host
    yield make
    for card in cards:
        card.close()


def test_acknowledged_unflushed_data_is_lost_at_power_cut(tmp_path, cached_host):
    host = cached_host()
    data = blocks(1, 8)
    outs = host.write(25, 2048, data, stop=True)
    assert all(o.token == 0b010 for o in outs)           # every block acknowledged
    assert host.state() == CardState.TRAN                 # CMD12 busy over
    assert host.read(18, 2048, 8, stop=True) == b"".join(data)   # the card serves them
    host.card.power_cut(host.t)
    assert file_bytes(tmp_path / "card.img", 2048 * 512, 8 * 512) == bytes(8 * 512)
    report = host.card.power_cut_report
    assert sorted(report.lost_cached) == [(0, (2048 + i) * 512) for i in range(8)]
    assert report.torn == [] and report.lost_queued == []
    # A new card on the same image (reboot) sees the old contents.
    host.card.close()
    again = EmmcCard(CardConfig(), image_path=tmp_path / "card.img")
    assert again.read(0, 2048 * 512, 512) == bytes(512)
    again.close()


def test_flush_cache_makes_data_durable(tmp_path, cached_host):
    host = cached_host()
    data = blocks(2, 4)
    host.write(25, 64, data, stop=True)
    out = host.command(6, (3 << 24) | (32 << 16) | (1 << 8))   # FLUSH_CACHE
    # Busy: 4 blocks x 100 us programming + 100 us flush overhead after the response.
    response_end = host.last_command_end + (out.delay_cycles + 48) * CLK_PS
    assert out.busy_until_ps == response_end + 500 * US
    assert host.state() == CardState.PRG
    host.wait_not_busy(out)
    assert host.state() == CardState.TRAN
    host.card.power_cut(host.t)
    assert file_bytes(tmp_path / "card.img", 64 * 512, 4 * 512) == b"".join(data)
    assert host.card.power_cut_report.lost_cached == []


def test_cache_ctrl_off_writes_the_cache_back(tmp_path, cached_host):
    host = cached_host()
    [data] = blocks(3, 1)
    host.write(24, 5, [data], stop=False)
    host.switch(33, 0)
    host.status()
    host.card.power_cut(host.t)
    assert file_bytes(tmp_path / "card.img", 5 * 512, 512) == data


def test_reliable_write_bypasses_the_cache(tmp_path, cached_host):
    host = cached_host()
    data = blocks(4, 4)
    host.r1(23, RELIABLE | 4)
    host.write(25, 300, data, stop=False)
    assert host.state() == CardState.TRAN
    host.card.power_cut(host.t)
    assert file_bytes(tmp_path / "card.img", 300 * 512, 4 * 512) == b"".join(data)
    assert host.card.power_cut_report.lost_cached == []


def test_forced_programming_bypasses_the_cache(tmp_path, cached_host):
    # JESD84-B51 CMD23 argument bit 24, forced programming: the data of the
    # following CMD25 goes to the non-volatile storage, not the volatile cache.
    host = cached_host()
    data = blocks(9, 2)
    host.r1(23, (1 << 24) | 2)
    host.write(25, 400, data, stop=False)
    assert host.state() == CardState.TRAN                  # busy until programmed
    host.card.power_cut(host.t)
    assert file_bytes(tmp_path / "card.img", 400 * 512, 2 * 512) == b"".join(data)
    assert host.card.power_cut_report.lost_cached == []


def test_eviction_when_the_cache_is_full(tmp_path, cached_host):
    host = cached_host(cache_size_kib=1)      # 2 blocks of cache
    data = blocks(5, 5)
    host.write(25, 0, data, stop=True)
    host.status()
    host.card.power_cut(host.t)
    # The 3 oldest blocks were evicted (LRU) and programmed; the 2 newest were lost.
    img = tmp_path / "card.img"
    assert file_bytes(img, 0, 3 * 512) == b"".join(data[:3])
    assert file_bytes(img, 3 * 512, 2 * 512) == bytes(1024)
    assert sorted(host.card.power_cut_report.lost_cached) == [(0, 1536), (0, 2048)]


def _cut_during_programming(tmp_path, seed: int, reliable: bool) -> tuple[bytes, object]:
    card = EmmcCard(CardConfig(seed=seed), image_path=tmp_path / f"t{seed}{reliable}.img")
    host = CardHost(card)
    host.init(width=4)
    old, new = bytes([0xAA]) * 512, bytes([0x55]) * 512
    host.write(24, 9, [old], stop=False)                  # cache off: programmed
    if reliable:
        host.r1(23, RELIABLE | 1)
        host.r1(25, 9)
    else:
        host.r1(24, 9)
    host.t += (2 + data_block_cycles(512, 4)) * CLK_PS
    out = card.write_block(new, crc16_lines(new, 4), host.t, CLK_PS)
    card.power_cut(out.busy_until_ps - 50 * US)          # 50 us before the 100 us program ends
    card.close()
    return file_bytes(tmp_path / f"t{seed}{reliable}.img", 9 * 512, 512), card.power_cut_report


def test_power_cut_tears_the_block_being_programmed(tmp_path):
    on_disk, report = _cut_during_programming(tmp_path, 7, reliable=False)
    [(key, prefix)] = report.torn
    assert key == (0, 9 * 512)
    assert on_disk == bytes([0x55]) * prefix + bytes([0xAA]) * (512 - prefix)
    # Same seed, same tear point; another seed, (here) another tear point.
    assert _cut_during_programming(tmp_path, 7, reliable=False)[1].torn == report.torn
    assert _cut_during_programming(tmp_path, 8, reliable=False)[1].torn != report.torn


def test_reliable_write_is_never_torn(tmp_path):
    for seed in range(5):
        on_disk, report = _cut_during_programming(tmp_path, seed, reliable=True)
        assert on_disk == bytes([0xAA]) * 512
        assert report.torn == [] and report.interrupted_reliable == [(0, 9 * 512)]


def test_queued_blocks_are_lost_behind_the_one_in_progress():
    timing = CardTiming(write_buffer_blocks=5)             # 4 blocks never fill it
    card = EmmcCard(CardConfig(timing=timing, seed=3))
    host = CardHost(card)
    host.init(width=4)
    data = blocks(6, 4)
    host.r1(25, 40)
    outs = [host.write_block(b) for b in data]
    assert [o.busy_until_ps is None for o in outs] == [True] * 4   # buffer has room
    card.power_cut(host.t)
    report = card.power_cut_report
    # A block every 2 (NWR) + 1042 (data) + 7 (token) = 1051 clocks = 21.02 us, each
    # programmed in 100 us: at the cut (4 x 21.02 us) block 0 is still programming
    # and 1..3 wait in the buffer.
    assert [k for k, _ in report.torn] == [(0, 40 * 512)]
    assert report.lost_queued == [(0, 41 * 512), (0, 42 * 512), (0, 43 * 512)]
    assert card.storage.read(0, 41 * 512, 3 * 512) == bytes(1536)


def test_power_on_after_cut_reads_what_survived():
    card = EmmcCard(CardConfig())
    host = CardHost(card)
    host.init(width=4)
    [data] = blocks(9, 1)
    host.write(24, 77, [data], stop=False)
    card.power_cut(host.t)
    card.power_on(host.t)
    assert card.state(host.t) == CardState.IDLE and card.bus_width == 1
    host.width = 1
    host.init()
    assert host.read(17, 77, 1, stop=False) == data
    assert card.ext_csd[33] == 0                           # cache off again after power-up


def test_overwrite_in_cache_keeps_the_newest():
    host = CardHost(EmmcCard(CardConfig(cache_size_kib=1)))
    host.init(width=4)
    host.switch(33, 1)
    a, b, c = blocks(10, 3)
    host.write(24, 1, [a], stop=False)
    host.write(24, 2, [b], stop=False)
    host.write(24, 3, [c], stop=False)                     # evicts block 1 (LRU)
    host.write(24, 1, [b], stop=False)                     # newer data for block 1, cached
    assert host.read(17, 1, 1, stop=False) == b
    host.r1(23, RELIABLE | 1)
    host.write(25, 1, [c], stop=False)                     # reliable: medium copy newest
    assert host.read(17, 1, 1, stop=False) == c
    host.switch(32, 1)
    assert host.card.storage.read(0, 512, 512) == c
