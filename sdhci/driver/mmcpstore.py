"""Port of drivers/mmc/core/mmcpstore.c and mmc_blk_get_part() from the seed patch (v5 1/2).

Line by line in behaviour, weaknesses included (docs/mmcpstore.md): the poll's
result and the request's errors are ignored, the timeout is truncated to
whole milliseconds, the argument is always a sector number, a single-sector
write drops the preallocated stop command, off + sects is never checked, the
host claim is never released, a partition starting at sector 0 is refused,
and unregistering without a registration dereferences NULL. The NULL
dereferences raise KernelOops instead of crashing Python.

The C module's static ``oops_cxt`` is an ``Mmcpstore`` instance here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sdhci.driver.mmc_core import (
    MMC_CMD_AC, MMC_CMD_ADTC, MMC_DATA_WRITE, MMC_RSP_R1, MMC_RSP_R1B, MMC_STOP_TRANSMISSION,
    MMC_WRITE_BLOCK, MMC_WRITE_MULTIPLE_BLOCK, SECTOR_SHIFT, SECTOR_SIZE, U32_MAX, KernelOops, MmcCard, MmcCommand,
    MmcData, MmcHost, MmcRequest, deref, mmc_claim_host_async, mmc_set_data_timeout, mmc_wait_for_pstore_req,
)
from sdhci.driver.ops import DriverGen
from sdhci.pstore import Partition, PstoreBlkConfig, blkdev_partno
from sdhci.pstore.blk import MMC_BLOCK_MINORS

ENXIO = 6
ENODEV = 19


@dataclass
class PanicWriteTrace:
    """What one panic write did inside the port, for the emulator's findings (the C code keeps none of it)."""
    sect_offset: int
    nsects: int
    opcode: int
    timeout_ms: int | None = None
    start_error: int = 0
    poll_result: int | None = None
    claimed: bool = False
    cmd_error: int = 0
    data_error: int = 0
    stop_error: int = 0


@dataclass
class Mmcpstore:
    """struct mmcpstore_context oops_cxt, plus the pstore/blk registration it makes."""
    dev_name: str = ""
    partno: int = 0
    start_sect: int = 0
    size: int = 0                      # bytes
    conf: PstoreBlkConfig | None = None
    card: MmcCard | None = None
    host: MmcHost | None = None
    mrq: MmcRequest | None = None
    registered: bool = False
    messages: list[str] = field(default_factory=list)   # pr_err/pr_info lines
    last: PanicWriteTrace | None = None

    # --- registration ---------------------------------------------------------
    def mmcpstore_card_set(self, card: MmcCard, host: MmcHost, disk_name: str, conf: PstoreBlkConfig,
                           partitions: list[Partition]) -> None:
        """mmcpstore_card_set(): find the pstore partition on this card and register with pstore/blk."""
        self.conf = conf                                   # pstore_blk_get_config()
        if not conf.blkdev:
            self.messages.append("psblk backend is empty")
            return
        if self.dev_name:                                  # multiple backend devices not allowed
            return
        opened = mmcpstore_open_backend(conf.blkdev, disk_name, partitions)
        if isinstance(opened, int):
            self.messages.append(f"{conf.blkdev} failed to open with {opened}")
            return
        disk, partno = opened
        self.dev_name = f"mmcblk{disk}p{partno}" if partno else f"mmcblk{disk}"   # bdevname()
        self.partno = partno
        if not self.dev_name.startswith(disk_name):        # strncmp(dev_name, disk_name, strlen(disk_name))
            return
        self.start_sect, size = mmc_blk_get_part(partitions, card, self.partno)
        if size is not None:
            self.size = size
        if not self.start_sect:
            self.messages.append(f"Non-existent partition {self.partno} selected")
            return
        if host.ops.req_cleanup_pending is None or host.ops.req_completion_poll is None:
            return
        self.card = card
        self.host = host
        # kzalloc of the request, command, stop command and data descriptor.
        self.mrq = MmcRequest(cmd=MmcCommand(), data=MmcData(), stop=MmcCommand())
        self.registered = True                             # register_pstore_blk(info): major 179, DMESG
        self.messages.append(f"{self.dev_name} registered as psblk backend")

    # --- panic path -------------------------------------------------------------
    def mmcpstore_panic_write(self, buf: bytes, off: int, sects: int) -> DriverGen:
        """mmcpstore_panic_write(): absolute sector = start_sect + off, then the request."""
        ret = yield from self.mmcpstore_panic_write_req(buf, sects, self.start_sect + off)
        if ret:
            return ret
        return 0

    def mmcpstore_panic_write_req(self, buf: bytes, nsects: int, sect_offset: int) -> DriverGen:
        """mmcpstore_panic_write_req(): prepare, set the data timeout, claim, wait, return 0."""
        nsects &= U32_MAX                                  # unsigned int parameters
        sect_offset &= U32_MAX
        # The declarations: mrq = cxt->mrq (a copy), card = cxt->card, host = card->host (the first dereference).
        mrq = self.mrq
        card = deref(self.card, "cxt->card", "card-null", "mmcpstore_panic_write_req")
        host = self.host
        assert host is not None                            # card->host: set together with cxt->card
        opcode = MMC_WRITE_MULTIPLE_BLOCK if nsects > 1 else MMC_WRITE_BLOCK
        self.last = PanicWriteTrace(sect_offset, nsects, opcode)
        mmc_prep_req(deref(mrq, "cxt->mrq", "mrq-null", "mmc_prep_req"), sect_offset, nsects, bytes(buf), opcode,
                     MMC_DATA_WRITE)
        assert mrq is not None and mrq.data is not None and mrq.cmd is not None
        # sg_init_one(&sg, buf, nsects << SECTOR_SHIFT): the length (unsigned int) is never checked against
        # the caller's buffer.
        mrq.data.sg_length = (nsects << SECTOR_SHIFT) & U32_MAX
        mmc_set_data_timeout(mrq.data, card)
        ret = mmc_claim_host_async(host)
        if ret:
            return ret
        self.last.claimed = True
        info = yield from mmc_wait_for_pstore_req(host, mrq)
        self.last.start_error, self.last.timeout_ms, self.last.poll_result = info
        self.last.cmd_error, self.last.data_error = mrq.cmd.error, mrq.data.error
        self.last.stop_error = mrq.stop.error if mrq.stop is not None else 0
        return 0

    def panic_write_callback(self) -> Callable[[bytes, int, int], DriverGen] | None:
        """info->panic_write as pstore/blk holds it: set only after a successful registration."""
        return self.mmcpstore_panic_write if self.registered else None

    # --- module exit --------------------------------------------------------------
    def unregister_mmcpstore(self) -> None:
        """unregister_mmcpstore(): frees through cxt->mrq even if registration never happened."""
        self.registered = False                            # unregister_pstore_blk(MMC_BLOCK_MAJOR)
        mrq = deref(self.mrq, "cxt->mrq", "unregister-null", "unregister_mmcpstore")
        mrq.data = mrq.stop = mrq.cmd = None               # kfree(cxt->mrq->data/stop/cmd)
        self.mrq = None                                    # kfree(cxt->mrq), pointer left dangling in C
        self.card = None


def mmcpstore_open_backend(device: str, disk_name: str, partitions: list[Partition]) -> tuple[int, int] | int:
    """mmcpstore_open_backend(): (disk, partno) of the block device `device` names, or -errno (Linux 5.10).

    blkdev_get_by_path() finds no device node for a partition the disk lacks
    (devtmpfs makes none), so the name goes through name_to_dev_t() and
    blkdev_get_by_dev(). "179:M" is a device number as it stands; a disk or
    partition it names that does not exist fails in __blkdev_get() with
    -ENXIO. "/dev/mmcblkDpN" goes through blk_lookup_devt(): a disk the board
    lacks (it has one card, `disk_name`) gives no number, -ENODEV; below
    MMC_BLOCK_MINORS the number is computed whether or not the partition
    exists (then -ENXIO at the open), at or above it only an existing
    partition has one (else -ENODEV). Partition 0, the whole disk, opens.
    See docs/facts.md, "Opening the pstore partition".
    """
    opened = blkdev_partno(device)
    if opened is None:
        return -ENODEV
    disk, partno = opened
    on_card = f"mmcblk{disk}" == disk_name
    if on_card and (partno == 0 or partno in {p.number for p in partitions}):
        return opened
    if ":" in device:                                   # a device number: __blkdev_get() finds nothing
        return -ENXIO
    if not on_card or partno >= MMC_BLOCK_MINORS:       # blk_lookup_devt() returns 0
        return -ENODEV
    return -ENXIO


def mmc_prep_req(mrq: MmcRequest, sect_offset: int, nsects: int, sg: bytes, opcode: int, flags: int) -> None:
    """mmc_prep_req(): fill the preallocated request (sg: the buffer the scatterlist entry will cover).

    One sector sets mrq->stop = NULL for good: the preallocated stop command is lost.
    """
    cmd = deref(mrq.cmd, "mrq->cmd", "mrq-null", "mmc_prep_req")
    cmd.opcode = opcode
    cmd.arg = sect_offset
    cmd.flags = MMC_RSP_R1 | MMC_CMD_ADTC
    if nsects == 1:
        mrq.stop = None
    else:
        stop = deref(mrq.stop, "mrq->stop", "stop-null", "mmc_prep_req")
        stop.opcode = MMC_STOP_TRANSMISSION
        stop.arg = 0
        stop.flags = MMC_RSP_R1B | MMC_CMD_AC
    data = deref(mrq.data, "mrq->data", "mrq-null", "mmc_prep_req")
    data.blksz = SECTOR_SIZE
    data.blocks = nsects
    data.flags = flags
    data.buf = sg
    data.sg_len = 1


def mmc_blk_get_part(partitions: list[Partition], card: MmcCard, part_num: int) -> tuple[int, int | None]:
    """mmc_blk_get_part(): (start sector, size in bytes) of partition ``part_num``; start 0 if out of range.

    part_tbl->part[0] is the whole disk (start 0); part_tbl->len is one
    more than the highest partition number.
    """
    table = {p.number: p for p in partitions}
    length = max(table, default=0) + 1
    if part_num < 0 or part_num >= length:
        return 0, None
    if part_num == 0:
        return 0, card.capacity_sectors << SECTOR_SHIFT
    part = table.get(part_num)
    if part is None:
        raise KernelOops("part-null", f"NULL pointer dereference of part_tbl->part[{part_num}] in mmc_blk_get_part")
    return part.start_sector, part.sectors << SECTOR_SHIFT

