"""The pstore/zone kmsg zone: build the bytes Linux writes, parse them back.

On-disk format of one kmsg ("dmesg") zone as fs/pstore/zone.c lays it out on a
64-bit little-endian kernel (struct psz_buffer followed by struct
psz_kmsg_header, see docs/pstore.md):

    off size field
     0   4   sig        PSZ_SIG ^ PSTORE_TYPE_DMESG = 0x43474244 ("DBGC")
     4   4   datalen    bytes after the 12-byte psz_buffer header (kmsg header + text)
     8   4   start      0 for kmsg
    12   4   magic      PSTORE_KMSG_HEADER_MAGIC 0x4DFC3AE5
    16   4   (padding)
    20   8   tv_sec     s64
    28   8   tv_nsec    long
    36   1   compressed bool
    37   3   (padding)
    40   4   counter    u32
    44   4   reason     enum kmsg_dump_reason
    48   4   (padding, sizeof(struct psz_kmsg_header) is 40)
    52   ... text       record body, then zeros to the end of the zone

The record body is what fs/pstore/platform.c pstore_dump() hands to pstore/zone:
a header line "<Reason>#<oopscount> Part1\\n" followed by the newest whole log
lines that fit (kernel/printk/printk.c kmsg_dump_get_buffer()).
"""
from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

PSZ_SIG = 0x43474244                    # fs/pstore/zone.c: "DBGC"
PSTORE_KMSG_HEADER_MAGIC = 0x4DFC3AE5   # fs/pstore/zone.c
PSTORE_TYPE_DMESG = 0                   # include/linux/pstore.h enum pstore_type_id
PSTORE_TYPE_CONSOLE = 2
PSTORE_TYPE_FTRACE = 3
PSTORE_TYPE_PMSG = 7

KMSG_DUMP_UNDEF = 0                     # include/linux/kmsg_dump.h enum kmsg_dump_reason
KMSG_DUMP_PANIC = 1
KMSG_DUMP_OOPS = 2
KMSG_DUMP_EMERG = 3
KMSG_DUMP_SHUTDOWN = 4

PSZ_BUFFER_SIZE = 12                    # sizeof(struct psz_buffer): sig, datalen, start
PSZ_KMSG_HEADER_SIZE = 40               # sizeof(struct psz_kmsg_header) on 64-bit
KMSG_TEXT_OFFSET = PSZ_BUFFER_SIZE + PSZ_KMSG_HEADER_SIZE   # 52

_BUFFER = struct.Struct("<IiI")         # sig, datalen (atomic_t), start (atomic_t)
_KMSG_HEADER = struct.Struct("<I4xqq?3xII4x")  # magic, tv_sec, tv_nsec, compressed, counter, reason
assert _BUFFER.size == PSZ_BUFFER_SIZE and _KMSG_HEADER.size == PSZ_KMSG_HEADER_SIZE

# crypto/deflate.c: raw deflate, window bits -DEFLATE_DEF_WINBITS (11).
_DEFLATE_WBITS = -11


class ZoneError(ValueError):
    """A kmsg zone Linux would not list (one-line reason in the message)."""


def kmsg_dump_reason_str(reason: int) -> str:
    """Reason name as kernel/printk/printk.c kmsg_dump_reason_str() spells it."""
    return {
        KMSG_DUMP_PANIC: "Panic",
        KMSG_DUMP_OOPS: "Oops",
        KMSG_DUMP_EMERG: "Emergency",
        KMSG_DUMP_SHUTDOWN: "Shutdown",
    }.get(reason, "Unknown")


def _zbufsize_deflate(size: int) -> int:
    """Uncompressed staging size for deflate (fs/pstore/platform.c, 6.1 zbufsize_deflate())."""
    if 1000 <= size <= 2000:
        cmpr = 56
    elif 2001 <= size <= 3000:
        cmpr = 54
    elif 3001 <= size <= 3999:
        cmpr = 52
    elif 4000 <= size <= 10000:
        cmpr = 45
    else:
        cmpr = 60
    return size * 100 // cmpr


#: Where a line ends, as bytes.splitlines() sees it.
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _newest_lines(log: bytes, size: int) -> bytes:
    """The youngest whole lines of `log` whose total is at most size - 1 bytes.

    kmsg_dump_get_buffer() passes size - 1 to find_first_fitting_seq() and drops
    whole records from the old end until the rest fits. Every record printed
    ends in a newline, so a last line without one gets it. The cut is found
    by searching for the first line start far enough in, not by splitting the
    whole log into lines (a 64 KiB record has about 900).
    """
    if size <= 0:
        return b""
    if log and not log.endswith(b"\n"):
        log += b"\n"
    excess = len(log) - (size - 1)
    if excess <= 0:
        return log
    return log[_LINE_END.search(log, excess - 1).end():]


def pstore_dump_body(log: bytes, *, bufsize: int, reason: int, oopscount: int = 1,
                     compressed: bool = False) -> tuple[bytes, bool]:
    """Record body and its compressed flag as pstore_dump() builds part 1.

    `bufsize` is psinfo->bufsize (zone size - 52). Without compression: header
    line plus the newest lines fitting in bufsize. With compression (6.1
    platform.c): the lines are gathered into the larger big_oops_buf, deflated
    into bufsize; if that does not fit, copy_kmsg_to_buffer() keeps the header
    and the last bytes uncompressed.
    """
    header = f"{kmsg_dump_reason_str(reason)}#{oopscount} Part1\n".encode()
    if not compressed:
        return header + _newest_lines(log, bufsize - len(header)), False
    big = header + _newest_lines(log, _zbufsize_deflate(bufsize) - len(header))
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, _DEFLATE_WBITS)
    zipped = packer.compress(big) + packer.flush()
    if len(zipped) <= bufsize:
        return zipped, True
    if len(big) <= bufsize:
        return big, False
    return header + big[len(big) - (bufsize - len(header)):], False


def build_kmsg_zone(text: bytes, *, zone_size: int, reason: int, counter: int,
                    tv_sec: int, tv_nsec: int, compressed: bool = False,
                    oopscount: int = 1) -> bytes:
    """The whole kmsg zone Linux writes for a dump of kernel log `text`.

    `text` is the kernel log (lines "<p>[    t] msg\\n"); the zone body is the
    pstore_dump() header line plus the newest lines that fit (see
    pstore_dump_body()). `counter` is the per-reason count stored in the
    kmsg header; `oopscount` the "#N" of the header line. The result is
    zone_size bytes: header, body, zero fill (psz_kmsg_write_record() writes a
    kzalloc'd buffer with FLUSH_ALL). datalen is always >= 40.
    """
    bufsize = zone_size - KMSG_TEXT_OFFSET
    if bufsize <= 0:
        raise ZoneError(f"zone size {zone_size} leaves no room for kmsg text (needs > {KMSG_TEXT_OFFSET})")
    body, packed = pstore_dump_body(text, bufsize=bufsize, reason=reason,
                                    oopscount=oopscount, compressed=compressed)
    zone = bytearray(zone_size)
    _BUFFER.pack_into(zone, 0, PSZ_SIG ^ PSTORE_TYPE_DMESG, PSZ_KMSG_HEADER_SIZE + len(body), 0)
    _KMSG_HEADER.pack_into(zone, PSZ_BUFFER_SIZE, PSTORE_KMSG_HEADER_MAGIC, tv_sec, tv_nsec,
                           packed, counter & 0xFFFFFFFF, reason & 0xFFFFFFFF)
    zone[KMSG_TEXT_OFFSET:KMSG_TEXT_OFFSET + len(body)] = body
    return bytes(zone)


@dataclass(frozen=True)
class KmsgRecord:
    """One listed kmsg record, as Linux's pstore shows it after mount.

    `data` is the stored body; `text` the body after inflating a compressed
    one (equal to `data` otherwise, or when inflating fails: Linux then lists
    the raw bytes as "<name>.enc.z").
    """

    reason: int
    counter: int
    tv_sec: int
    tv_nsec: int
    compressed: bool
    datalen: int
    data: bytes
    text: bytes
    zone_index: int | None = None
    decompress_failed: bool = False

    @property
    def reason_name(self) -> str:
        return kmsg_dump_reason_str(self.reason)

    @property
    def filename(self) -> str:
        """Name under /sys/fs/pstore: dmesg-pstore_blk-<zone index> (fs/pstore/inode.c)."""
        name = f"dmesg-pstore_blk-{self.zone_index if self.zone_index is not None else 0}"
        return name + ".enc.z" if self.decompress_failed else name

    def mounted_content(self) -> bytes:
        """File content: psz_kmsg_read() prefixes "<Reason>: Total <count> times\\n" to uncompressed records."""
        if self.compressed:
            return self.text
        count = self.counter - (1 << 32) if self.counter >= 1 << 31 else self.counter  # printed with %d
        return f"{self.reason_name}: Total {count} times\n".encode() + self.text


def parse_kmsg_zone(zone: bytes, zone_index: int | None = None) -> KmsgRecord | None:
    """Decode one whole kmsg zone; None when empty (datalen 0).

    Applies the checks of psz_kmsg_recover_meta() and psz_kmsg_read() (sig,
    datalen not above zone_size - 12, magic) and additionally rejects datalen
    1..39, which Linux 6.1 does not check and then misreads.
    """
    zone = bytes(zone)
    if len(zone) < KMSG_TEXT_OFFSET:
        raise ZoneError(f"truncated zone: {len(zone)} bytes, the headers need {KMSG_TEXT_OFFSET}")
    sig, datalen, _start = _BUFFER.unpack_from(zone, 0)
    if sig != PSZ_SIG ^ PSTORE_TYPE_DMESG:
        raise ZoneError(f"bad signature 0x{sig:08x} (expected 0x{PSZ_SIG ^ PSTORE_TYPE_DMESG:08x})")
    buffer_size = len(zone) - PSZ_BUFFER_SIZE
    if datalen < 0 or datalen > buffer_size:
        raise ZoneError(f"datalen {datalen} out of range (0..{buffer_size})")
    magic, tv_sec, tv_nsec, compressed, counter, reason = _KMSG_HEADER.unpack_from(zone, PSZ_BUFFER_SIZE)
    if magic != PSTORE_KMSG_HEADER_MAGIC:
        raise ZoneError(f"bad magic 0x{magic:08x} (expected 0x{PSTORE_KMSG_HEADER_MAGIC:08x})")
    if datalen == 0:
        return None
    if datalen < PSZ_KMSG_HEADER_SIZE:
        raise ZoneError(f"datalen {datalen} out of range (1..{PSZ_KMSG_HEADER_SIZE - 1} is shorter than the kmsg header)")
    data = zone[KMSG_TEXT_OFFSET:PSZ_BUFFER_SIZE + datalen]
    text, failed = data, False
    if compressed:
        try:
            text = zlib.decompress(data, -15)
        except zlib.error:
            text, failed = data, True
    return KmsgRecord(reason=reason, counter=counter, tv_sec=tv_sec, tv_nsec=tv_nsec,
                      compressed=compressed, datalen=datalen, data=data, text=text,
                      zone_index=zone_index, decompress_failed=failed)


def kmsg_zone_meta(header: bytes) -> tuple[int, int, int, int, int, int] | None:
    """(sig, datalen, magic, tv_sec, counter, reason) from the first 52 bytes, or None if short.

    What psz_kmsg_recover_meta() reads of each zone to find the newest record.
    """
    if len(header) < KMSG_TEXT_OFFSET:
        return None
    sig, datalen, _start = _BUFFER.unpack_from(header, 0)
    magic, tv_sec, _nsec, _comp, counter, reason = _KMSG_HEADER.unpack_from(header, PSZ_BUFFER_SIZE)
    return sig, datalen, magic, tv_sec, counter, reason
