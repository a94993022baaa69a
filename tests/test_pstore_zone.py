"""kmsg zone bytes against the fs/pstore/zone.c layout (docs/pstore.md, the kmsg zone table)."""
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdhci.pstore import (
    KMSG_DUMP_OOPS,
    KMSG_DUMP_PANIC,
    ZoneError,
    build_kmsg_zone,
    kmsg_dump_reason_str,
    parse_kmsg_zone,
)

LINE = b"<0>[    1.000000] x\n"          # 20 bytes
HEADER = b"Panic#1 Part1\n"               # 14 bytes


def zone_with(datalen: int, *, size: int = 4096, magic: int = 0x4DFC3AE5, sig: int = 0x43474244) -> bytes:
    """A zone with hand-set sig/datalen/magic around otherwise valid content."""
    zone = bytearray(build_kmsg_zone(LINE, zone_size=size, reason=1, counter=1, tv_sec=1, tv_nsec=0))
    struct.pack_into("<Ii", zone, 0, sig, datalen)
    struct.pack_into("<I", zone, 12, magic)
    return bytes(zone)


def test_known_layout_bytes():
    zone = build_kmsg_zone(LINE, zone_size=4096, reason=KMSG_DUMP_PANIC, counter=3,
                           tv_sec=0x11223344, tv_nsec=5)
    assert len(zone) == 4096
    assert zone[0:4] == b"DBGC"                                  # sig 0x43474244 little-endian
    assert zone[4:8] == (40 + 14 + 20).to_bytes(4, "little")     # datalen: kmsg header + body = 74
    assert zone[8:12] == bytes(4)                                # start
    assert zone[12:16] == bytes.fromhex("e53afc4d")              # magic 0x4DFC3AE5
    assert zone[16:20] == bytes(4)                               # padding before timespec64
    assert zone[20:28] == bytes.fromhex("4433221100000000")      # tv_sec s64
    assert zone[28:36] == (5).to_bytes(8, "little")              # tv_nsec
    assert zone[36:40] == bytes(4)                               # compressed = 0, padding
    assert zone[40:44] == (3).to_bytes(4, "little")              # counter
    assert zone[44:48] == (1).to_bytes(4, "little")              # reason: panic
    assert zone[48:52] == bytes(4)                               # struct tail padding (sizeof 40)
    assert zone[52:52 + 34] == HEADER + LINE                     # text starts at 52
    assert zone[86:] == bytes(4096 - 86)                         # zero fill


def test_round_trip_and_mounted_file():
    zone = build_kmsg_zone(LINE * 3, zone_size=8192, reason=KMSG_DUMP_PANIC, counter=7,
                           tv_sec=1_700_000_000, tv_nsec=123)
    rec = parse_kmsg_zone(zone, zone_index=5)
    assert (rec.reason, rec.counter, rec.tv_sec, rec.tv_nsec, rec.compressed) == (1, 7, 1_700_000_000, 123, False)
    assert rec.text == HEADER + LINE * 3
    assert rec.datalen == 40 + 14 + 60
    assert rec.filename == "dmesg-pstore_blk-5"
    assert rec.mounted_content() == b"Panic: Total 7 times\n" + HEADER + LINE * 3


def test_oops_header_line_and_oopscount():
    zone = build_kmsg_zone(LINE, zone_size=4096, reason=KMSG_DUMP_OOPS, counter=2, tv_sec=0,
                           tv_nsec=0, oopscount=4)
    rec = parse_kmsg_zone(zone)
    assert rec.text.startswith(b"Oops#4 Part1\n")
    assert rec.mounted_content().startswith(b"Oops: Total 2 times\n")


def test_reason_names():
    assert [kmsg_dump_reason_str(r) for r in range(6)] == [
        "Unknown", "Panic", "Oops", "Emergency", "Shutdown", "Unknown"]


def test_truncation_keeps_newest_whole_lines():
    # zone 4096: bufsize 4096-52 = 4044; room for lines = 4044-14 = 4030, and
    # kmsg_dump_get_buffer keeps at most 4030-1 = 4029 bytes: 40 lines of 100.
    lines = [b"<6>[    0.%06d] " % i + b"a" * 81 + b"\n" for i in range(50)]
    assert all(len(line) == 100 for line in lines)
    rec = parse_kmsg_zone(build_kmsg_zone(b"".join(lines), zone_size=4096, reason=1, counter=1,
                                          tv_sec=0, tv_nsec=0))
    assert rec.text == HEADER + b"".join(lines[10:])
    assert rec.datalen == 40 + 14 + 4000


@pytest.mark.parametrize("first_len, kept", [(29, True), (30, False)])
def test_truncation_limit_is_size_minus_one(first_len, kept):
    # 40 x 100 + first_len: 4029 fits (size-1), 4030 does not.
    first = b"b" * (first_len - 1) + b"\n"
    tail = b"".join(b"c" * 99 + b"\n" for _ in range(40))
    rec = parse_kmsg_zone(build_kmsg_zone(first + tail, zone_size=4096, reason=1, counter=1,
                                          tv_sec=0, tv_nsec=0))
    assert rec.text == HEADER + (first if kept else b"") + tail


@pytest.mark.parametrize("room, kept", [(12, b"a\r\nbb\rccc\n"), (11, b"a\r\nbb\rccc\n"), (10, b"bb\rccc\n"),
                                        (8, b"bb\rccc\n"), (7, b"ccc\n"), (5, b"ccc\n"), (4, b""), (0, b"")])
def test_newest_lines_split_where_splitlines_does(room, kept):
    # Lines "a\r\n" (3 bytes), "bb\r" (3), "ccc" (3 + the newline it gets): at most room - 1 bytes are kept.
    from sdhci.pstore.zone import _newest_lines
    assert _newest_lines(b"a\r\nbb\rccc", room) == kept


def test_compressed_round_trip():
    log = LINE * 500
    zone = build_kmsg_zone(log, zone_size=4096, reason=1, counter=1, tv_sec=0, tv_nsec=0, compressed=True)
    assert zone[36] == 1
    rec = parse_kmsg_zone(zone)
    assert rec.compressed and not rec.decompress_failed
    assert zlib.decompress(rec.data, -15) == rec.text
    # 6.1 zbufsize_deflate(4044) = 4044*100//45 = 8986 bytes staged: all 10000 bytes do not fit
    assert rec.text.startswith(HEADER) and rec.text.endswith(LINE)
    assert len(rec.text) - 14 == 20 * ((8986 - 14 - 1) // 20)
    assert rec.mounted_content() == rec.text   # no "Total" line for compressed records


def test_compressed_flag_on_plain_text_is_enc_z():
    zone = bytearray(build_kmsg_zone(LINE, zone_size=4096, reason=1, counter=1, tv_sec=0, tv_nsec=0))
    zone[36] = 1
    rec = parse_kmsg_zone(bytes(zone), zone_index=2)
    assert rec.decompress_failed and rec.filename == "dmesg-pstore_blk-2.enc.z"
    assert rec.text == HEADER + LINE


def test_rejects_bad_signature():
    with pytest.raises(ZoneError, match="bad signature"):
        parse_kmsg_zone(zone_with(74, sig=0x43474245))


def test_rejects_bad_magic():
    with pytest.raises(ZoneError, match="bad magic"):
        parse_kmsg_zone(zone_with(74, magic=0x4DFC3AE4))


def test_datalen_zero_is_empty():
    assert parse_kmsg_zone(zone_with(0)) is None


@pytest.mark.parametrize("datalen", range(1, 40))
def test_rejects_datalen_shorter_than_kmsg_header(datalen):
    with pytest.raises(ZoneError, match="datalen"):
        parse_kmsg_zone(zone_with(datalen))


@pytest.mark.parametrize("datalen, ok", [(4096 - 12, True), (4096 - 11, False), (-1, False), (40, True)])
def test_datalen_upper_bound(datalen, ok):
    if ok:
        assert parse_kmsg_zone(zone_with(datalen)).datalen == datalen
    else:
        with pytest.raises(ZoneError, match="datalen"):
            parse_kmsg_zone(zone_with(datalen))


def test_rejects_truncated_zone():
    with pytest.raises(ZoneError, match="truncated"):
        parse_kmsg_zone(zone_with(74)[:51])


def test_too_small_zone_is_a_clear_error():
    with pytest.raises(ZoneError, match="no room"):
        build_kmsg_zone(LINE, zone_size=52, reason=1, counter=1, tv_sec=0, tv_nsec=0)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=60),
       kib=st.sampled_from([4, 8]))
def test_datalen_always_valid(lines, kib):
    size = kib * 1024
    zone = build_kmsg_zone(b"".join(lines), zone_size=size, reason=1, counter=1, tv_sec=0, tv_nsec=0)
    datalen = struct.unpack_from("<i", zone, 4)[0]
    assert 40 <= datalen <= size - 13        # the size-1 rule keeps one byte spare
    rec = parse_kmsg_zone(zone)
    body = rec.text[len(HEADER):]
    log = b"".join(lines)
    assert log.endswith(body)                 # the newest part...
    rest = log[:len(log) - len(body)]
    assert rest == b"" or rest.endswith(b"\n")   # ...cut at a line boundary
