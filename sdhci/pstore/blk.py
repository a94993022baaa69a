"""pstore/blk configuration, zone layout and the panic-time write sequence.

Follows the pstore/blk of the seed patch's era (Linux 5.10 fs/pstore/blk.c,
register_pstore_blk() with a sector-based panic_write) on top of
fs/pstore/zone.c. The mmcpstore patch registers with flags
PSTORE_FLAGS_DMESG only, so by default only kmsg zones are laid out
(blk.c verify_size() zeroes the sizes of front-ends the driver does not
support) and they fill the whole partition, capped at 128 MiB.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from emmc_card.configtools import ConfigError

from .zone import (
    KMSG_DUMP_OOPS,
    KMSG_DUMP_PANIC,
    KMSG_DUMP_SHUTDOWN,
    KMSG_DUMP_UNDEF,
    KMSG_TEXT_OFFSET,
    PSTORE_KMSG_HEADER_MAGIC,
    PSTORE_TYPE_CONSOLE,
    PSTORE_TYPE_DMESG,
    PSTORE_TYPE_FTRACE,
    PSTORE_TYPE_PMSG,
    PSZ_BUFFER_SIZE,
    PSZ_SIG,
    build_kmsg_zone,
    kmsg_zone_meta,
)

SECTOR_SIZE = 512
SECTOR_SHIFT = 9
SZ_128M = 128 << 20
MMC_BLOCK_MAJOR = 179
MMC_BLOCK_MINORS = 8          # CONFIG_MMC_BLOCK_MINORS default: minors per mmcblk disk

PSTORE_FLAGS_DMESG = 1 << 0   # include/linux/pstore.h
PSTORE_FLAGS_CONSOLE = 1 << 1
PSTORE_FLAGS_FTRACE = 1 << 2
PSTORE_FLAGS_PMSG = 1 << 3

EBUSY = 16
ENOMSG = 42
ENOSPC = 28

_TYPE_OF_KIND = {"dmesg": PSTORE_TYPE_DMESG, "pmsg": PSTORE_TYPE_PMSG,
                 "console": PSTORE_TYPE_CONSOLE, "ftrace": PSTORE_TYPE_FTRACE}


@dataclass
class PstoreBlkConfig:
    """pstore/blk module parameters (sizes in KiB, as on the kernel command line).

    Defaults are the Kconfig defaults (PSTORE_BLK_*_SIZE 64, MAX_REASON 2).
    pmsg/console/ftrace zones only exist if the registering driver supports
    them (zone_layout(flags=...)); mmcpstore registers DMESG only.
    """

    blkdev: str = ""
    kmsg_size: int = 64
    pmsg_size: int = 64
    console_size: int = 64
    ftrace_size: int = 64
    max_reason: int = KMSG_DUMP_OOPS
    best_effort: bool = False

    def validate(self) -> None:
        """Reject values Linux would silently round or ignore (one clear line each)."""
        if self.kmsg_size <= 0 or self.kmsg_size % 4:
            raise ConfigError("kmsg_size", f"must be a positive multiple of 4 KiB, got {self.kmsg_size}")
        for name in ("pmsg_size", "console_size", "ftrace_size"):
            value = getattr(self, name)
            if value < 0 or value % 4:
                raise ConfigError(name, f"must be 0 or a multiple of 4 KiB, got {value}")
        if not KMSG_DUMP_UNDEF <= self.max_reason <= KMSG_DUMP_SHUTDOWN:
            raise ConfigError("max_reason", f"must be 0..4 (enum kmsg_dump_reason), got {self.max_reason}")
        if self.blkdev and blkdev_partno(self.blkdev) is None:
            raise ConfigError("blkdev", f"{self.blkdev!r} names no mmcblk device "
                              "(use /dev/mmcblkNpM, /dev/mmcblkN or 179:minor)")


def blkdev_partno(blkdev: str) -> tuple[int, int] | None:
    """(disk index, partition number) for "/dev/mmcblk0p5", "mmcblk0p5" or "179:5"; None otherwise.

    Partition number 0 is the whole disk ("/dev/mmcblk0", "179:0"). The
    major:minor form uses MMC_BLOCK_MINORS minors per disk.
    """
    m = re.fullmatch(r"(?:/dev/)?mmcblk(\d+)(?:p(\d+))?", blkdev)
    if m:
        return int(m.group(1)), int(m.group(2) or 0)
    m = re.fullmatch(r"(\d+):(\d+)", blkdev)
    if m and int(m.group(1)) == MMC_BLOCK_MAJOR:
        disk, part = divmod(int(m.group(2)), MMC_BLOCK_MINORS)
        return disk, part
    return None


@dataclass(frozen=True)
class Zone:
    """One pstore/zone zone in the partition (offsets/sizes in bytes, relative to the partition)."""

    kind: str          # "pmsg", "console", "ftrace" or "dmesg"
    index: int         # index among zones of its kind
    offset_bytes: int
    size_bytes: int

    @property
    def sig(self) -> int:
        """psz_init_zone(): PSZ_SIG xor the pstore type."""
        return PSZ_SIG ^ _TYPE_OF_KIND[self.kind]


def zone_layout(partition_bytes: int, config: PstoreBlkConfig, *,
                flags: int = PSTORE_FLAGS_DMESG, nr_cpus: int = 1) -> list[Zone]:
    """Zones as psz_alloc_zones() places them: pmsg, console, ftrace per CPU, then kmsg.

    `flags` is what the driver registered (mmcpstore: DMESG only). The usable
    size is the partition capped at 128 MiB (register_pstore_zone()); it must
    be a multiple of 4096 and at least 4096, and the kmsg area must hold one
    zone, else Linux refuses to register: ConfigError.
    """
    config.validate()
    if nr_cpus < 1:
        raise ConfigError("nr_cpus", f"must be at least 1, got {nr_cpus}")
    if not flags:
        flags = PSTORE_FLAGS_DMESG | PSTORE_FLAGS_CONSOLE | PSTORE_FLAGS_FTRACE | PSTORE_FLAGS_PMSG
    total = min(partition_bytes, SZ_128M)
    if total < 4096 or total % 4096:
        raise ConfigError("blkdev", f"partition of {partition_bytes} bytes: pstore/zone needs a "
                          "multiple of 4096 bytes, at least 4096")
    kmsg = config.kmsg_size * 1024 if flags & PSTORE_FLAGS_DMESG else 0
    pmsg = config.pmsg_size * 1024 if flags & PSTORE_FLAGS_PMSG else 0
    console = config.console_size * 1024 if flags & PSTORE_FLAGS_CONSOLE else 0
    ftrace = config.ftrace_size * 1024 if flags & PSTORE_FLAGS_FTRACE else 0
    zones: list[Zone] = []
    off = 0
    for kind, size in (("pmsg", pmsg), ("console", console)):
        if size:
            if off + size > total:
                raise ConfigError(f"{kind}_size", f"no room for {kind} ({size} bytes at {off} over {total})")
            zones.append(Zone(kind, 0, off, size))
            off += size
    if ftrace:
        if off + ftrace > total:
            raise ConfigError("ftrace_size", f"no room for ftrace ({ftrace} bytes at {off} over {total})")
        record = ftrace // nr_cpus
        if not record:
            raise ConfigError("ftrace_size", "ftrace_size too small for the CPU count")
        for i in range(ftrace // record):
            zones.append(Zone("ftrace", i, off, record))
            off += record
    if kmsg:
        area = total - pmsg - console - ftrace
        count = area // kmsg
        if not count:
            raise ConfigError("kmsg_size", f"no room for one {kmsg}-byte kmsg zone in {total} bytes")
        for i in range(count):
            zones.append(Zone("dmesg", i, off, kmsg))
            off += kmsg
    return zones


@dataclass(frozen=True)
class PanicWrite:
    """One call of the driver's panic_write(buf, start_sect, sects), sectors relative to the partition."""

    buf: bytes
    off_sectors: int
    sects: int


PartitionSource = bytes | bytearray | memoryview | Callable[[int, int], bytes]


@dataclass
class _ZoneState:
    zone: Zone
    buffer: bytes | None = None      # in-memory copy pstore/zone would flush
    dirty: bool = False


@dataclass
class PstoreZone:
    """pstore/zone's kmsg state for one boot, driving the panic path.

    Built from the partition's content as it is at registration: when
    `recovered` (pstore mounted before the panic, the usual case),
    psz_kmsg_recover_meta() has found the newest record (next slot) and the
    per-reason counters. Without recovery Linux starts at zone 0 with
    counters 0 and never flushes dirty zones.
    """

    config: PstoreBlkConfig
    partition_bytes: int
    partition: PartitionSource
    flags: int = PSTORE_FLAGS_DMESG
    nr_cpus: int = 1
    recovered: bool = True
    kmsg_write_cnt: int = field(default=0, init=False)
    panic_counter: int = field(default=0, init=False)
    oops_counter: int = field(default=0, init=False)
    oopscount: int = field(default=0, init=False)
    _states: list[_ZoneState] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._states = [_ZoneState(z) for z in zone_layout(self.partition_bytes, self.config,
                                                         flags=self.flags, nr_cpus=self.nr_cpus)]
        if self.recovered:
            self.recovered = self._kmsg_recover_meta()

    @property
    def kmsg_zones(self) -> list[Zone]:
        """The kmsg zones in slot order (zone i is dmesg-pstore_blk-i)."""
        return [s.zone for s in self._states if s.zone.kind == "dmesg"]

    def _read(self, offset: int, length: int) -> bytes:
        if callable(self.partition):
            return bytes(self.partition(offset, length))
        return bytes(self.partition[offset:offset + length])

    def _kmsg_recover_meta(self) -> bool:
        """psz_kmsg_recover_meta(): newest zone by tv_sec (>=, so a later zone wins ties), counters.

        Erased zones (datalen 0) with a valid header still count. A short read
        fails recovery (Linux returns -EIO) with what was found so far.
        """
        kmsg = [s for s in self._states if s.zone.kind == "dmesg"]
        newest = 0
        for i, state in enumerate(kmsg):
            meta = kmsg_zone_meta(self._read(state.zone.offset_bytes, KMSG_TEXT_OFFSET))
            if meta is None:
                return False
            sig, datalen, magic, tv_sec, counter, reason = meta
            buffer_size = state.zone.size_bytes - PSZ_BUFFER_SIZE
            if sig != state.zone.sig or datalen < 0 or datalen > buffer_size \
                    or magic != PSTORE_KMSG_HEADER_MAGIC:
                continue
            if tv_sec >= newest:
                newest = tv_sec
                self.kmsg_write_cnt = (i + 1) % len(kmsg)
            if reason == KMSG_DUMP_OOPS:
                self.oops_counter = max(self.oops_counter, counter)
            elif reason == KMSG_DUMP_PANIC:
                self.panic_counter = max(self.panic_counter, counter)
        return True

    def kmsg_panic(self, text: bytes, reason: int, tv_sec: int, tv_nsec: int, *,
                   compressed: bool = False) -> Generator[PanicWrite, int, int]:
        """Sans-IO panic path: yields each panic_write call, receives its return value.

        pstore_dump() -> psz_kmsg_write() -> psz_kmsg_write_record(): the
        record goes to the next slot as one whole-zone write; -ENOMSG from the
        driver moves on to the next zone (counter incremented again, as Linux
        does); another error marks the zone dirty. After a successful record
        write psz_flush_all_dirty_zones() writes every dirty zone whole.
        Returns the psz_kmsg_write_record() result (0 or -errno). Only
        KMSG_DUMP_PANIC uses panic_write; other reasons yield nothing.
        """
        if reason != KMSG_DUMP_PANIC:   # a panic always passes kmsg_dump()'s max_reason (>= 1)
            return 0
        self.oopscount += 1
        kmsg = [s for s in self._states if s.zone.kind == "dmesg"]
        if not kmsg:
            return -ENOSPC
        for i in range(len(kmsg)):
            zonenum = (self.kmsg_write_cnt + i) % len(kmsg)
            state = kmsg[zonenum]
            self.panic_counter = (self.panic_counter + 1) & 0xFFFFFFFF
            buf = build_kmsg_zone(text, zone_size=state.zone.size_bytes, reason=reason,
                                  counter=self.panic_counter, tv_sec=tv_sec, tv_nsec=tv_nsec,
                                  compressed=compressed, oopscount=self.oopscount)
            ret = yield from self._zone_write_all(state, buf)
            if ret != -ENOMSG:
                self.kmsg_write_cnt = (zonenum + 1) % len(kmsg)
                break
        else:
            return -EBUSY
        if ret == 0:
            yield from self._flush_all_dirty_zones()
        return ret

    def kmsg_panic_writes(self, text: bytes, reason: int, tv_sec: int, tv_nsec: int, *,
                          compressed: bool = False) -> list[PanicWrite]:
        """The panic_write calls when every call returns 0 (the mmcpstore patch's usual answer)."""
        writes: list[PanicWrite] = []
        gen = self.kmsg_panic(text, reason, tv_sec, tv_nsec, compressed=compressed)
        try:
            write = next(gen)
            while True:
                writes.append(write)
                write = gen.send(0)
        except StopIteration:
            return writes

    def _zone_write_all(self, state: _ZoneState, buf: bytes) -> Generator[PanicWrite, int, int]:
        """psz_zone_write(FLUSH_ALL) on panic through psblk_blk_panic_write() (bytes >> 9 to sectors)."""
        previous = state.buffer
        state.buffer = buf
        ret = yield PanicWrite(buf, state.zone.offset_bytes >> SECTOR_SHIFT,
                               len(buf) >> SECTOR_SHIFT)
        if ret == 0:
            return 0
        if ret == -ENOMSG:
            state.buffer = previous
            return -ENOMSG
        state.dirty = True
        return -EBUSY

    def _flush_all_dirty_zones(self) -> Generator[PanicWrite, int, None]:
        """psz_flush_all_dirty_zones(): pmsg, console, kmsg (stop at first error), ftrace."""
        for kind in ("pmsg", "console", "dmesg", "ftrace"):
            for state in (s for s in self._states if s.zone.kind == kind):
                ret = yield from self._flush_dirty_zone(state)
                if ret and kind in ("dmesg", "ftrace"):
                    break

    def _flush_dirty_zone(self, state: _ZoneState) -> Generator[PanicWrite, int, int]:
        if not self.recovered:
            return -EBUSY
        if not state.dirty or state.buffer is None:
            return 0
        state.dirty = False
        ret = yield from self._zone_write_all(state, state.buffer)
        if ret:
            state.dirty = True
        return ret
