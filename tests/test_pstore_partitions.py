"""MBR partition table: bytes by hand, Linux numbering, round trip, rejections."""
import io
import struct

import pytest

from sdhci.pstore import Partition, PartitionError, read_partition_table, write_partition_table


def entry(image: bytes, sector: int, slot: int) -> tuple[int, int, int]:
    """(type, LBA start, sectors) of table entry `slot` (0-based) in `sector`."""
    base = sector * 512 + 446 + 16 * slot
    return image[base + 4], *struct.unpack_from("<II", image, base + 8)


def test_four_primaries_round_trip(tmp_path):
    img = tmp_path / "card.img"
    parts = [(2048, 1000), (4096, 2000), (8192, 100), (9000, 50)]
    got = write_partition_table(img, parts)
    assert got == [Partition(i + 1, s, n) for i, (s, n) in enumerate(parts)]
    assert read_partition_table(img) == got
    raw = img.read_bytes()
    assert raw[510:512] == b"\x55\xaa"
    assert entry(raw, 0, 0) == (0x83, 2048, 1000)


def test_logical_partitions_are_numbered_from_five(tmp_path):
    img = tmp_path / "card.img"
    got = write_partition_table(img, [(2048, 2048), (6144, 4096), (10241, 100)], primaries=1)
    assert got == [
        Partition(1, 2048, 2048, "primary"),
        Partition(2, 6143, 2, "extended"),          # Linux lists the extended partition as 2 sectors
        Partition(5, 6144, 4096, "logical"),        # mmcblk0p5
        Partition(6, 10241, 100, "logical"),
    ]
    raw = img.read_bytes()
    # MBR slot 2: extended from the first EBR (6143) to the end of the last logical (10341)
    assert entry(raw, 0, 1) == (0x05, 6143, 10341 - 6143)
    # first EBR at 6143: data entry relative to the EBR, link relative to the extended start
    assert entry(raw, 6143, 0) == (0x83, 1, 4096)
    assert entry(raw, 6143, 1) == (0x05, 10240 - 6143, 101)
    assert entry(raw, 10240, 0) == (0x83, 1, 100)
    assert entry(raw, 10240, 1) == (0, 0, 0)
    assert raw[6143 * 512 + 510:6143 * 512 + 512] == b"\x55\xaa"


def test_default_split_for_more_than_four(tmp_path):
    parts = [(100 + 1000 * i, 500) for i in range(6)]
    got = write_partition_table(tmp_path / "x.img", parts)
    assert [(p.number, p.kind) for p in got] == [
        (1, "primary"), (2, "primary"), (3, "primary"), (4, "extended"),
        (5, "logical"), (6, "logical"), (7, "logical")]
    assert [(p.start_sector, p.sectors) for p in got if p.kind != "extended"] == parts


def test_file_object_and_bootstrap_kept():
    buf = io.BytesIO(b"\xab" * 446 + bytes(66) + bytes(4096))
    write_partition_table(buf, [(8, 16)])
    assert buf.getvalue()[:446] == b"\xab" * 446
    assert read_partition_table(buf.getvalue()) == [Partition(1, 8, 16)]


def test_empty_slot_keeps_its_number():
    mbr = bytearray(512)
    struct.pack_into("<B3sB3sII", mbr, 446 + 16, 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 64)
    mbr[510:512] = b"\x55\xaa"
    assert read_partition_table(bytes(mbr)) == [Partition(2, 2048, 64)]


@pytest.mark.parametrize("parts, primaries, message", [
    ([(0, 10)], None, "outside"),
    ([(10, 0)], None, "outside"),
    ([(10, 100), (50, 100)], None, "overlap"),
    ([(10, 100), (110, 10)], 1, "overlap"),             # the EBR at 109 would sit inside p1
    ([(10, 10), (30, 10), (40, 10)], 1, "EBR"),         # logical right after a logical: no EBR sector
    ([(10, 10), (30, 10), (50, 10), (70, 10), (90, 10)], 4, "no MBR slot"),
    ([], None, "no partitions"),
])
def test_write_rejects(tmp_path, parts, primaries, message):
    with pytest.raises(PartitionError, match=message):
        write_partition_table(tmp_path / "x.img", parts, primaries=primaries)


def test_read_rejects_missing_signature_and_gpt():
    with pytest.raises(PartitionError, match="55 AA"):
        read_partition_table(bytes(512))
    pmbr = bytearray(512)
    struct.pack_into("<B3sB3sII", pmbr, 446, 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 1000)
    pmbr[510:512] = b"\x55\xaa"
    with pytest.raises(PartitionError, match="GPT"):
        read_partition_table(bytes(pmbr))
