"""pstore/blk + pstore/zone emulation, image reader, panic text and partition table.

What Linux's pstore writes to the `blkdev` partition at panic time and what
it lists after reboot, byte for byte (64-bit little-endian kernel; sources:
fs/pstore/zone.c, fs/pstore/blk.c of the seed patch's era, fs/pstore/platform.c,
kernel/printk/printk.c, block/partitions/msdos.c).

API
---
Zone format (sdhci.pstore.zone)::

    build_kmsg_zone(text: bytes, *, zone_size: int, reason: int, counter: int,
                    tv_sec: int, tv_nsec: int, compressed: bool = False,
                    oopscount: int = 1) -> bytes
        # whole zone: headers, "<Reason>#<oopscount> Part1\\n" + newest log
        # lines of `text` that fit (kmsg_dump_get_buffer), zero fill
    parse_kmsg_zone(zone: bytes, zone_index: int | None = None) -> KmsgRecord | None
        # None: empty zone (datalen 0); ZoneError (ValueError) for a broken one
    KmsgRecord: reason, counter, tv_sec, tv_nsec, compressed, datalen, data,
        text, zone_index, decompress_failed; .reason_name, .filename
        ("dmesg-pstore_blk-N"), .mounted_content() ("<Reason>: Total N times\\n" + text)
    kmsg_dump_reason_str(reason) -> str; KMSG_DUMP_PANIC=1, OOPS=2, EMERG=3, SHUTDOWN=4

Configuration, layout and the panic path (sdhci.pstore.blk)::

    PstoreBlkConfig(blkdev="", kmsg_size=64, pmsg_size=64, console_size=64,
                    ftrace_size=64, max_reason=2, best_effort=False)   # KiB; .validate()
    blkdev_partno("/dev/mmcblk0p5" | "179:5") -> (disk, partno) | None
    zone_layout(partition_bytes, config, *, flags=PSTORE_FLAGS_DMESG, nr_cpus=1) -> list[Zone]
        # Zone(kind, index, offset_bytes, size_bytes); ConfigError if Linux
        # would refuse to register (size not a multiple of 4096, no room)
    PstoreZone(config, partition_bytes, partition: bytes | read(off, n) -> bytes,
               flags=PSTORE_FLAGS_DMESG, nr_cpus=1, recovered=True)
        .kmsg_panic_writes(text, reason, tv_sec, tv_nsec) -> list[PanicWrite]
            # panic_write calls when each returns 0
        .kmsg_panic(text, reason, tv_sec, tv_nsec) -> Generator[PanicWrite, int, int]
            # sans-IO: send() each call's return value (0, -EBUSY, -ENOMSG...)
        .kmsg_write_cnt, .panic_counter, .oops_counter   # state after recovery
    PanicWrite(buf: bytes, off_sectors: int, sects: int)  # relative to the partition

Reading an image (sdhci.pstore.reader)::

    read_records(image: path | bytes | binary file, partition_start_byte: int,
                 partition_bytes: int, config, *, flags=PSTORE_FLAGS_DMESG,
                 nr_cpus=1) -> RecordListing(records: list[KmsgRecord],
                                             errors: list[tuple[int, str]])

Partition table (sdhci.pstore.partitions, MBR with logical partitions)::

    write_partition_table(image: path | binary file, partitions: list[(start_sector, sectors)],
                          *, primaries: int | None = None) -> list[Partition]
    read_partition_table(image: path | bytes | binary file) -> list[Partition]
        # Partition(number, start_sector, sectors, kind); number as in mmcblk0pN

Panic text (sdhci.pstore.panic_text)::

    panic_text(rng: random.Random, size_bytes: int, uptime_s: float) -> bytes
"""
from .blk import (
    PSTORE_FLAGS_CONSOLE,
    PSTORE_FLAGS_DMESG,
    PSTORE_FLAGS_FTRACE,
    PSTORE_FLAGS_PMSG,
    PanicWrite,
    PstoreBlkConfig,
    PstoreZone,
    Zone,
    blkdev_partno,
    zone_layout,
)
from .panic_text import panic_text
from .partitions import Partition, PartitionError, read_partition_table, write_partition_table
from .reader import RecordListing, read_records
from .zone import (
    KMSG_DUMP_EMERG,
    KMSG_DUMP_OOPS,
    KMSG_DUMP_PANIC,
    KMSG_DUMP_SHUTDOWN,
    KmsgRecord,
    ZoneError,
    build_kmsg_zone,
    kmsg_dump_reason_str,
    parse_kmsg_zone,
)

__all__ = [
    "KMSG_DUMP_EMERG", "KMSG_DUMP_OOPS", "KMSG_DUMP_PANIC", "KMSG_DUMP_SHUTDOWN",
    "PSTORE_FLAGS_CONSOLE", "PSTORE_FLAGS_DMESG", "PSTORE_FLAGS_FTRACE", "PSTORE_FLAGS_PMSG",
    "KmsgRecord", "PanicWrite", "Partition", "PartitionError", "PstoreBlkConfig", "PstoreZone",
    "RecordListing", "Zone", "ZoneError", "blkdev_partno", "build_kmsg_zone",
    "kmsg_dump_reason_str", "panic_text", "parse_kmsg_zone", "read_partition_table",
    "read_records", "write_partition_table", "zone_layout",
]
