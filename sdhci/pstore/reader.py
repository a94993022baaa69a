"""List the kmsg records of a pstore/blk partition in an image, as Linux would.

Mirrors what mounting pstore shows after reboot: psz_kmsg_recover_meta()
accepts a zone with the right sig, datalen within the zone and the kmsg
magic; psz_read_next_zone() lists those with datalen != 0 in zone order as
dmesg-pstore_blk-<zone index>. Broken zones become per-zone error lines,
never exceptions. Zones that were never written (header all 0x00 or all
0xFF, a fresh or erased partition) are neither records nor errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .blk import PSTORE_FLAGS_DMESG, PstoreBlkConfig, zone_layout
from .image import ImageSource, open_reader
from .zone import KMSG_TEXT_OFFSET, KmsgRecord, ZoneError, parse_kmsg_zone


@dataclass
class RecordListing:
    """What a read of the partition found: records in zone order, and (zone index, message) errors."""

    records: list[KmsgRecord] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _blank(head: bytes) -> bool:
    """Never written: all 0x00 (fresh image, or past its end) or all 0xFF (erased flash)."""
    return head.count(0) == len(head) or head.count(0xFF) == len(head)


def read_records(image: ImageSource, partition_start_byte: int, partition_bytes: int,
                 config: PstoreBlkConfig, *, flags: int = PSTORE_FLAGS_DMESG,
                 nr_cpus: int = 1) -> RecordListing:
    """Records of the pstore/blk partition at partition_start_byte in `image`.

    A bad configuration or partition size raises ConfigError (Linux would not
    register); an unreadable image path raises OSError. Everything wrong
    inside a zone is reported in `errors`.
    """
    zones = [z for z in zone_layout(partition_bytes, config, flags=flags, nr_cpus=nr_cpus)
             if z.kind == "dmesg"]
    read, close = open_reader(image)
    listing = RecordListing()
    try:
        for zone in zones:
            start = partition_start_byte + zone.offset_bytes
            if _blank(read(start, KMSG_TEXT_OFFSET)):
                continue
            raw = read(start, zone.size_bytes)
            if len(raw) < zone.size_bytes:
                listing.errors.append((zone.index, f"truncated zone: image holds {len(raw)} "
                                                   f"of {zone.size_bytes} bytes"))
                continue
            try:
                record = parse_kmsg_zone(raw, zone.index)
            except ZoneError as err:
                listing.errors.append((zone.index, str(err)))
                continue
            if record is not None:
                listing.records.append(record)
    finally:
        if close:
            close()
    return listing
