"""Listing records from a card image: partition table + panic writes applied + broken zones."""
import struct

import pytest

from emmc_card.configtools import ConfigError
from sdhci.pstore import (
    PstoreBlkConfig,
    PstoreZone,
    build_kmsg_zone,
    read_partition_table,
    read_records,
    write_partition_table,
)

KIB64 = 65536
LOG = b"<0>[   42.000000] Kernel panic - not syncing: Fatal exception\n"


@pytest.fixture
def card(tmp_path):
    """8 MiB image: p1 primary, p5 logical of 2 MiB (32 kmsg zones) at sector 6144."""
    img = tmp_path / "card.img"
    img.write_bytes(bytes(8 << 20))
    write_partition_table(img, [(2048, 2048), (6144, 4096)], primaries=1)
    p5 = next(p for p in read_partition_table(img) if p.number == 5)
    return img, p5


def apply(img, part, writes):
    """Do what the driver's panic_write does: sectors relative to the partition."""
    with open(img, "r+b") as f:
        for w in writes:
            f.seek((part.start_sector + w.off_sectors) * 512)
            f.write(w.buf[:w.sects * 512])


def test_panic_records_listed_after_reboot(card):
    img, p5 = card
    cfg = PstoreBlkConfig(blkdev="/dev/mmcblk0p5")
    pz = PstoreZone(cfg, p5.size_bytes, img.read_bytes()[p5.start_byte:p5.start_byte + p5.size_bytes])
    apply(img, p5, pz.kmsg_panic_writes(LOG, 1, 1_700_000_000, 5))
    apply(img, p5, pz.kmsg_panic_writes(LOG, 1, 1_700_000_100, 6))
    listing = read_records(img, p5.start_byte, p5.size_bytes, cfg)
    assert listing.errors == []
    assert [(r.zone_index, r.counter, r.tv_sec, r.filename) for r in listing.records] == [
        (0, 1, 1_700_000_000, "dmesg-pstore_blk-0"), (1, 2, 1_700_000_100, "dmesg-pstore_blk-1")]
    assert listing.records[1].mounted_content() == b"Panic: Total 2 times\nPanic#2 Part1\n" + LOG

    # next boot: recovery finds zone 1 newest, so the third panic goes to zone 2 with count 3
    data = img.read_bytes()[p5.start_byte:p5.start_byte + p5.size_bytes]
    (w,) = PstoreZone(cfg, p5.size_bytes, data).kmsg_panic_writes(LOG, 1, 1_700_000_200, 0)
    assert w.off_sectors == 2 * 128 and struct.unpack_from("<I", w.buf, 40)[0] == 3


def test_broken_zones_are_errors_not_exceptions(card):
    img, p5 = card
    cfg = PstoreBlkConfig()
    raw = bytearray(img.read_bytes())
    good = build_kmsg_zone(LOG, zone_size=KIB64, reason=1, counter=1, tv_sec=1, tv_nsec=0)
    for i in range(5):
        raw[p5.start_byte + i * KIB64:p5.start_byte + (i + 1) * KIB64] = good

    def z(i: int) -> int:
        return p5.start_byte + i * KIB64
    raw[z(1) + 12] ^= 0xFF                                           # bad magic
    struct.pack_into("<i", raw, z(2) + 4, 20)                       # datalen 20 (< 40)
    struct.pack_into("<i", raw, z(3) + 4, 0)                        # erased: not listed, no error
    raw[z(4)] = 0x45                                                 # bad sig
    raw[z(7):z(7) + 52] = b"\xff" * 52                               # erased flash: ignored
    listing = read_records(bytes(raw), p5.start_byte, p5.size_bytes, cfg)
    assert [r.zone_index for r in listing.records] == [0]
    assert [i for i, _ in listing.errors] == [1, 2, 4]
    assert "bad magic" in listing.errors[0][1]
    assert "datalen 20" in listing.errors[1][1]
    assert "bad signature" in listing.errors[2][1]


def test_truncated_image_reports_zone(card):
    img, p5 = card
    raw = bytearray(img.read_bytes())
    raw[p5.start_byte:p5.start_byte + KIB64] = build_kmsg_zone(
        LOG, zone_size=KIB64, reason=1, counter=1, tv_sec=1, tv_nsec=0)
    cut = bytes(raw[:p5.start_byte + 1000])
    listing = read_records(cut, p5.start_byte, p5.size_bytes, PstoreBlkConfig())
    assert listing.records == []
    assert listing.errors == [(0, "truncated zone: image holds 1000 of 65536 bytes")]


def test_file_object_source(card):
    img, p5 = card
    with open(img, "rb") as f:
        assert read_records(f, p5.start_byte, p5.size_bytes, PstoreBlkConfig()).records == []


def test_bad_partition_size_is_config_error(card):
    img, p5 = card
    with pytest.raises(ConfigError):
        read_records(img, p5.start_byte, 1000, PstoreBlkConfig())
