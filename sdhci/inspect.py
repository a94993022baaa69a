"""`sdhci-emu inspect`: the pstore records in an eMMC image, as a mounted pstore would list them.

Finds the pstore/blk partition (the configuration's `blkdev`, e.g.
/dev/mmcblk0p5) in the image's partition table and reads its kmsg zones with
the pstore/blk sizes of the same configuration a panic-write run uses.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from emmc_card.configtools import ConfigError
from sdhci.pstore import PartitionError, RecordListing, blkdev_partno, read_partition_table, read_records

if TYPE_CHECKING:
    from sdhci.config import EmulatorConfig


def inspect_image(image_path: str, config: EmulatorConfig) -> RecordListing:
    """Records and rejected zones of the configured pstore partition of `image_path`.

    Raises OSError for an unreadable file, ValueError (PartitionError) for an
    image without a partition table or without the partition, or with the
    partition running past the image's end, and ConfigError for pstore sizes
    Linux would refuse.
    """
    blkdev = config.pstore.blkdev
    target = blkdev_partno(blkdev) if blkdev else None
    if target is None:
        raise ConfigError("pstore.blkdev", f"{blkdev!r} names no mmcblk partition")
    image_bytes = os.path.getsize(image_path)
    try:
        partitions = read_partition_table(image_path)
    except PartitionError as err:
        raise PartitionError(f"{image_path}: {err}") from None
    number = target[1]
    found = [p for p in partitions if p.number == number and p.kind != "extended"]
    if not found:
        listed = ", ".join(f"p{p.number}" for p in partitions) or "none"
        raise ValueError(f"{image_path}: no partition {number} for {blkdev} (partitions: {listed})")
    part = found[0]
    if part.start_byte + part.size_bytes > image_bytes:
        raise ValueError(f"{image_path}: partition {number} ends at byte {part.start_byte + part.size_bytes}, "
                         f"beyond the image's {image_bytes} bytes")
    return read_records(image_path, part.start_byte, part.size_bytes, config.pstore_blk)
