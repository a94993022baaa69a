"""An MBR (msdos) partition table in a card image, with Linux's numbering.

Why MBR and not GPT: the classic embedded eMMC layout is an MBR with an
extended partition whose logical partitions start at number 5, which is how
a board gets the /dev/mmcblk0p5 that pstore/blk's `blkdev` names. It is
one sector plus one EBR per logical partition, with no CRCs, and sector 0
always holds the table, so no partition starts at sector 0 (which mmcpstore
would reject as "non-existent").

Numbering follows block/partitions/msdos.c msdos_partition(): primary slots
1..4 keep their slot number (empty slots leave gaps), the extended partition
is listed with at most 2 sectors, and logical partitions are numbered from 5
in EBR chain order.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .image import ImageSource, open_reader

SECTOR = 512
_ENTRY = struct.Struct("<B3sB3sII")      # boot_ind, CHS start, sys_ind, CHS end, start_sect, nr_sects
_TABLE_OFFSET = 446
_SIGNATURE = b"\x55\xaa"
LINUX_NATIVE = 0x83
DOS_EXTENDED = 0x05
_EXTENDED_TYPES = {0x05, 0x0F, 0x85}    # DOS_EXTENDED, WIN98_EXTENDED, LINUX_EXTENDED
EFI_PMBR = 0xEE
DISK_MAX_PARTS = 256
_CHS_LBA_ONLY = b"\xfe\xff\xff"           # CHS fields marked unusable: addressing is by LBA


class PartitionError(ValueError):
    """The partition list cannot be written, or the image holds no msdos table."""


@dataclass(frozen=True)
class Partition:
    """A partition as Linux lists it: mmcblk0p<number>."""

    number: int
    start_sector: int
    sectors: int
    kind: str = "primary"     # "primary", "extended" or "logical"

    @property
    def start_byte(self) -> int:
        return self.start_sector * SECTOR

    @property
    def size_bytes(self) -> int:
        return self.sectors * SECTOR


def _entry(sys_ind: int, start: int, sectors: int) -> bytes:
    return _ENTRY.pack(0, _CHS_LBA_ONLY, sys_ind, _CHS_LBA_ONLY, start, sectors)


def check_partitions(partitions: list[tuple[int, int]], primaries: int) -> None:
    if not partitions:
        raise PartitionError("no partitions given")
    if not 0 <= primaries <= len(partitions):
        raise PartitionError(f"primaries must lie in 0..{len(partitions)} (the number of partitions given), "
                             f"not {primaries}")
    if primaries > 4 or (primaries < len(partitions) and primaries > 3):
        raise PartitionError(f"{primaries} primary partitions leave no MBR slot for the extended one")
    for i, (start, sectors) in enumerate(partitions):
        if start < 1 or sectors < 1 or start + sectors > 1 << 32:
            raise PartitionError(f"partition {i}: start {start}, {sectors} sectors is outside 1..2^32 sectors")
    logicals = partitions[primaries:]
    for i, (start, _) in enumerate(logicals):
        low = logicals[i - 1][0] + logicals[i - 1][1] if i else 1
        if start - 1 < low:
            raise PartitionError(f"logical partition {i}: start {start} leaves no free sector "
                                 "before it for its EBR (logical partitions must ascend)")
    spans = [(s, s + n) for s, n in partitions[:primaries]]
    if logicals:
        spans.append((logicals[0][0] - 1, logicals[-1][0] + logicals[-1][1]))
    spans.sort()
    for (_s0, e0), (s1, _e1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise PartitionError(f"partitions overlap at sector {s1} (previous ends at {e0})")


def write_partition_table(target: str | os.PathLike | BinaryIO, partitions: list[tuple[int, int]], *,
                          primaries: int | None = None) -> list[Partition]:
    """Write an msdos table for (start_sector, sectors) pairs; return the table as Linux reads it.

    The first `primaries` pairs (default: all if at most 4, else 3) become
    primary partitions 1..; the rest become logical partitions 5.. inside an
    extended partition in the next slot, each with its EBR in the sector just
    before it. The bootstrap code area of sector 0 is kept; the image grows
    if needed.
    """
    partitions = [(int(s), int(n)) for s, n in partitions]
    if primaries is None:
        primaries = len(partitions) if len(partitions) <= 4 else 3
    check_partitions(partitions, primaries)
    sectors: dict[int, bytes] = {}
    table = [_entry(LINUX_NATIVE, s, n) for s, n in partitions[:primaries]]
    logicals = partitions[primaries:]
    if logicals:
        ext_start = logicals[0][0] - 1
        ext_end = logicals[-1][0] + logicals[-1][1]
        table.append(_entry(DOS_EXTENDED, ext_start, ext_end - ext_start))
        for i, (start, count) in enumerate(logicals):
            ebr = start - 1
            links = [_entry(LINUX_NATIVE, start - ebr, count)]
            if i + 1 < len(logicals):
                nxt_start, nxt_count = logicals[i + 1]
                links.append(_entry(DOS_EXTENDED, nxt_start - 1 - ext_start, nxt_start + nxt_count - (nxt_start - 1)))
            sectors[ebr] = bytes(_TABLE_OFFSET) + b"".join(links).ljust(64, b"\0") + _SIGNATURE
    table_bytes = b"".join(table).ljust(64, b"\0") + _SIGNATURE
    if isinstance(target, (str, os.PathLike)):
        mode = "r+b" if os.path.exists(target) else "w+b"
        with open(target, mode) as handle:
            _write_sectors(handle, table_bytes, sectors)
    else:
        _write_sectors(target, table_bytes, sectors)
    return read_partition_table(target)


def _write_sectors(handle: BinaryIO, table: bytes, sectors: dict[int, bytes]) -> None:
    handle.seek(_TABLE_OFFSET)
    handle.write(table)
    for number, data in sorted(sectors.items()):
        handle.seek(number * SECTOR)
        handle.write(data)
    handle.flush()


def read_partition_table(source: ImageSource) -> list[Partition]:
    """Partitions of the msdos table in `source`, numbered as Linux numbers them."""
    read, close = open_reader(source)
    try:
        return _msdos_partition(read)
    finally:
        if close:
            close()


def _entries(sector: bytes) -> list[tuple[int, int, int, int]] | None:
    """(boot_ind, sys_ind, start, nr_sects) of the four entries, or None without 55 AA."""
    if len(sector) < SECTOR or sector[510:512] != _SIGNATURE:
        return None
    out = []
    for i in range(4):
        boot, _c0, sys_ind, _c1, start, count = _ENTRY.unpack_from(sector, _TABLE_OFFSET + 16 * i)
        out.append((boot, sys_ind, start, count))
    return out


def _msdos_partition(read) -> list[Partition]:
    entries = _entries(read(0, SECTOR))
    if entries is None:
        raise PartitionError("no msdos partition table: sector 0 lacks the 55 AA signature")
    if any(boot not in (0, 0x80) for boot, _s, _st, _n in entries):
        raise PartitionError("no msdos partition table: a boot indicator is neither 0x00 nor 0x80")
    if any(sys_ind == EFI_PMBR for _b, sys_ind, _st, _n in entries):
        raise PartitionError("the image holds a GPT (protective MBR); only msdos tables are supported")
    parts: list[Partition] = []
    next_logical = 5
    for slot, (_boot, sys_ind, start, count) in enumerate(entries, start=1):
        if not count:
            continue
        if sys_ind in _EXTENDED_TYPES:
            parts.append(Partition(slot, start, min(count, 2), "extended"))
            next_logical = _parse_extended(read, start, count, parts, next_logical)
        else:
            parts.append(Partition(slot, start, count))
    return sorted(parts, key=lambda p: p.number)


def _parse_extended(read, first: int, first_size: int, parts: list[Partition], number: int) -> int:
    """Walk the EBR chain (msdos.c parse_extended()); returns the next free number."""
    this, this_size = first, first_size
    seen = set()
    while number < DISK_MAX_PARTS and this not in seen:
        seen.add(this)
        entries = _entries(read(this * SECTOR, SECTOR))
        if entries is None:
            break
        for i, (_boot, sys_ind, start, count) in enumerate(entries):
            if not count or sys_ind in _EXTENDED_TYPES:
                continue
            # entries 3 and 4 sometimes hold garbage: keep them only if inside the extended area
            if i >= 2 and (start + count > this_size or this + start + count > first + first_size):
                continue
            parts.append(Partition(number, this + start, count, "logical"))
            number += 1
            if number == DISK_MAX_PARTS:
                return number
        link = next(((start, count) for _b, sys_ind, start, count in entries
                     if count and sys_ind in _EXTENDED_TYPES), None)
        if link is None:
            break
        this, this_size = first + link[0], link[1]
    return number
