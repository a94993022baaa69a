"""pstore/blk configuration, zone layout arithmetic and the panic_write sequence."""
import struct

import pytest

from emmc_card.configtools import ConfigError, from_dict
from sdhci.pstore import (
    PanicWrite,
    PstoreBlkConfig,
    PstoreZone,
    Zone,
    blkdev_partno,
    build_kmsg_zone,
    zone_layout,
)
from sdhci.pstore.blk import EBUSY, ENOMSG

MIB = 1 << 20
KIB64 = 65536
LOG = b"<0>[   12.000000] Kernel panic - not syncing: test\n"


def test_default_layout_one_mib():
    # mmcpstore registers DMESG only: 1 MiB / 64 KiB = 16 kmsg zones from offset 0
    zones = zone_layout(MIB, PstoreBlkConfig())
    assert zones == [Zone("dmesg", i, i * KIB64, KIB64) for i in range(16)]


def test_layout_capped_at_128_mib():
    zones = zone_layout(256 * MIB, PstoreBlkConfig())
    assert len(zones) == 128 * MIB // KIB64 == 2048
    assert zones[-1].offset_bytes == 2047 * KIB64


def test_layout_leaves_remainder_unused():
    # 100 KiB = 25 x 4096: one 64 KiB zone, 36 KiB unused
    assert zone_layout(102400, PstoreBlkConfig()) == [Zone("dmesg", 0, 0, KIB64)]


def test_layout_all_frontends():
    # pmsg 64K @0, console 64K @64K, ftrace 64K / 4 CPUs = 4 x 16K @128K,
    # kmsg from 192K: (1 MiB - 192K) / 64K = 851968 / 65536 = 13 zones
    zones = zone_layout(MIB, PstoreBlkConfig(), flags=0, nr_cpus=4)
    assert zones[0] == Zone("pmsg", 0, 0, KIB64)
    assert zones[1] == Zone("console", 0, KIB64, KIB64)
    assert zones[2:6] == [Zone("ftrace", i, 2 * KIB64 + i * 16384, 16384) for i in range(4)]
    kmsg = zones[6:]
    assert len(kmsg) == 13 and kmsg[0].offset_bytes == 196608 and kmsg[-1].offset_bytes == 196608 + 12 * KIB64
    assert zones[0].sig == 0x43474244 ^ 7 and kmsg[0].sig == 0x43474244


@pytest.mark.parametrize("size", [MIB + 512, 2048, 0])
def test_layout_rejects_sizes_linux_refuses(size):
    with pytest.raises(ConfigError, match="4096"):
        zone_layout(size, PstoreBlkConfig())


def test_layout_rejects_partition_smaller_than_a_zone():
    with pytest.raises(ConfigError, match="kmsg_size"):
        zone_layout(32768, PstoreBlkConfig())


@pytest.mark.parametrize("data, key", [
    ({"kmsg_size": 6}, "kmsg_size"), ({"kmsg_size": 0}, "kmsg_size"), ({"pmsg_size": -4}, "pmsg_size"),
    ({"max_reason": 7}, "max_reason"), ({"blkdev": "/dev/sda1"}, "blkdev"),
])
def test_config_validation(data, key):
    with pytest.raises(ConfigError) as err:
        from_dict(PstoreBlkConfig, data)
    assert err.value.key == key


def test_config_from_dict():
    cfg = from_dict(PstoreBlkConfig, {"blkdev": "/dev/mmcblk0p5", "kmsg_size": 32, "max_reason": 1})
    assert (cfg.kmsg_size, cfg.max_reason, cfg.best_effort) == (32, 1, False)


@pytest.mark.parametrize("name, expected", [
    ("/dev/mmcblk0p5", (0, 5)), ("mmcblk1p2", (1, 2)), ("179:5", (0, 5)),
    ("179:13", (1, 5)), ("179:8", (1, 0)), ("8:1", None), ("/dev/mmcblk0", (0, 0)), ("mmcblk0p", None),
])
def test_blkdev_partno(name, expected):
    assert blkdev_partno(name) == expected


def test_first_panic_on_blank_partition():
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB))
    assert pz.kmsg_zones == zone_layout(MIB, PstoreBlkConfig())
    writes = pz.kmsg_panic_writes(LOG, 1, 1000, 7)
    expected = build_kmsg_zone(LOG, zone_size=KIB64, reason=1, counter=1, tv_sec=1000, tv_nsec=7)
    assert writes == [PanicWrite(expected, 0, 128)]     # 64 KiB = 128 sectors, one call
    second = pz.kmsg_panic_writes(LOG, 1, 1001, 0)
    assert [(w.off_sectors, w.sects) for w in second] == [(128, 128)]
    assert struct.unpack_from("<I", second[0].buf, 40)[0] == 2
    assert second[0].buf[52:65] == b"Panic#2 Part1"


def place(image: bytearray, index: int, *, reason: int = 1, counter: int = 1, tv_sec: int = 0) -> None:
    image[index * KIB64:(index + 1) * KIB64] = build_kmsg_zone(
        LOG, zone_size=KIB64, reason=reason, counter=counter, tv_sec=tv_sec, tv_nsec=0)


def test_slot_after_newest_record_and_counter():
    image = bytearray(MIB)
    place(image, 0, counter=4, tv_sec=100)
    place(image, 1, counter=9, tv_sec=300)
    place(image, 2, counter=6, tv_sec=200)
    place(image, 3, reason=2, counter=50, tv_sec=50)        # oops count does not touch panics
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(image))
    assert (pz.kmsg_write_cnt, pz.panic_counter, pz.oops_counter) == (2, 9, 50)
    (write,) = pz.kmsg_panic_writes(LOG, 1, 400, 0)
    assert write.off_sectors == 2 * 128                      # zone 2 = 128 KiB = 256 sectors
    assert struct.unpack_from("<II", write.buf, 40) == (10, 1)


def test_tie_goes_to_later_zone_and_wraps():
    image = bytearray(MIB)
    place(image, 5, tv_sec=300)
    place(image, 15, tv_sec=300)                             # last zone, same time: wins (>=)
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(image))
    assert pz.kmsg_write_cnt == 0
    assert pz.kmsg_panic_writes(LOG, 1, 1, 0)[0].off_sectors == 0


def test_erased_zone_counts_and_broken_zone_does_not():
    image = bytearray(MIB)
    place(image, 3, tv_sec=100)
    place(image, 7, counter=20, tv_sec=500)
    image[7 * KIB64 + 4:7 * KIB64 + 8] = bytes(4)            # erased: datalen 0, header kept
    place(image, 9, tv_sec=900)
    image[9 * KIB64 + 12] ^= 1                               # bad magic: ignored
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(image))
    assert (pz.kmsg_write_cnt, pz.panic_counter) == (8, 20)


def test_partition_as_read_callback():
    image = bytearray(MIB)
    place(image, 4, tv_sec=10)
    calls = []

    def read(off, n):
        calls.append((off, n))
        return bytes(image[off:off + n])
    pz = PstoreZone(PstoreBlkConfig(), MIB, read)
    assert pz.kmsg_write_cnt == 5
    assert calls == [(i * KIB64, 52) for i in range(16)]     # psz_kmsg_recover_meta reads headers only


def test_without_recovery_starts_at_zone_zero():
    image = bytearray(MIB)
    place(image, 0, counter=3, tv_sec=100)
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(image), recovered=False)
    (write,) = pz.kmsg_panic_writes(LOG, 1, 200, 0)
    assert write.off_sectors == 0 and struct.unpack_from("<I", write.buf, 40)[0] == 1


def test_enomsg_tries_next_zone_with_new_counter():
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB))
    gen = pz.kmsg_panic(LOG, 1, 5, 0)
    first = next(gen)
    second = gen.send(-ENOMSG)
    assert (first.off_sectors, second.off_sectors) == (0, 128)
    assert struct.unpack_from("<I", second.buf, 40)[0] == 2   # ++panic_counter per attempt
    with pytest.raises(StopIteration) as done:
        gen.send(0)
    assert done.value.value == 0 and pz.kmsg_write_cnt == 2


def test_failed_write_is_flushed_after_next_good_record():
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB))
    gen = pz.kmsg_panic(LOG, 1, 5, 0)
    lost = next(gen)
    with pytest.raises(StopIteration) as done:
        gen.send(-EBUSY)                                      # e.g. mmc_claim_host_async failed
    assert done.value.value == -EBUSY
    writes = pz.kmsg_panic_writes(LOG, 1, 6, 0)
    assert [w.off_sectors for w in writes] == [128, 0]        # record, then the dirty zone 0
    assert writes[1].buf == lost.buf


def test_non_panic_reason_uses_no_panic_write():
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB))
    assert pz.kmsg_panic_writes(LOG, 2, 5, 0) == []
    assert pz.panic_counter == 0


def test_without_recovery_dirty_zone_is_never_flushed():
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB), recovered=False)
    gen = pz.kmsg_panic(LOG, 1, 5, 0)
    next(gen)
    with pytest.raises(StopIteration):
        gen.send(-EBUSY)
    # psz_flush_dirty_zone() answers -EBUSY before recovery: only the record is written
    assert [w.off_sectors for w in pz.kmsg_panic_writes(LOG, 1, 6, 0)] == [128]


def test_kmsg_slots_follow_other_frontends():
    # all front-ends, 4 CPUs: kmsg zone 0 at 192 KiB = 384 sectors (see test_layout_all_frontends)
    pz = PstoreZone(PstoreBlkConfig(), MIB, bytes(MIB), flags=0, nr_cpus=4)
    (write,) = pz.kmsg_panic_writes(LOG, 1, 5, 0)
    assert (write.off_sectors, write.sects) == (384, 128)
