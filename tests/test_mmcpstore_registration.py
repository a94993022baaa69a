"""mmcpstore_card_set(), mmc_blk_get_part() and mmc_prep_req() as the patch writes them."""
from __future__ import annotations

import pytest

from sdhci.config import load_config
from sdhci.driver.mmc_core import (
    MMC_CMD_AC, MMC_CMD_ADTC, MMC_DATA_WRITE, MMC_RSP_R1, MMC_RSP_R1B, KernelOops, MmcCommand, MmcData, MmcRequest,
)
from sdhci.driver.mmcpstore import mmc_blk_get_part, mmc_prep_req
from sdhci.emulation import PanicSession, run_panic_write


def _registered(*overrides: str) -> PanicSession:
    session = PanicSession(load_config(None, list(overrides)))
    session.initialise()
    session.register()
    return session


@pytest.mark.parametrize("blkdev", ["/dev/mmcblk0p5", "mmcblk0p5", "179:5"])
def test_registers_on_p5_by_any_name(blkdev: str) -> None:
    cxt = _registered(f"pstore.blkdev={blkdev!r}").mmcpstore
    assert cxt.registered and cxt.dev_name == "mmcblk0p5" and cxt.partno == 5
    assert (cxt.start_sect, cxt.size) == (135168, 2048 * 512)       # the default table's p5
    assert cxt.messages[-1] == "mmcblk0p5 registered as psblk backend"


def test_a_disk_the_board_does_not_have_fails_to_open() -> None:
    # name_to_dev_t() finds no mmcblk1: mmcpstore_open_backend() returns -ENODEV.
    cxt = _registered("pstore.blkdev='/dev/mmcblk1p5'").mmcpstore
    assert not cxt.registered and cxt.messages == ["/dev/mmcblk1p5 failed to open with -19"]


def test_empty_blkdev_does_nothing() -> None:
    cxt = _registered("pstore.blkdev=''").mmcpstore
    assert not cxt.registered and cxt.messages == ["psblk backend is empty"]


@pytest.mark.parametrize("blkdev, errno", [
    # the table has p1, p2 (extended), p5, p6; 8 minors per disk (CONFIG_MMC_BLOCK_MINORS)
    ("/dev/mmcblk0p3", -6),     # below the minor count: a device number exists, __blkdev_get() -ENXIO
    ("/dev/mmcblk0p7", -6),
    ("/dev/mmcblk0p9", -19),    # at or above it: blk_lookup_devt() finds no partition, -ENODEV
    ("179:3", -6),              # a device number as it stands: -ENXIO at the open
    ("179:13", -6),             # disk 1 partition 5 by number: no such disk, -ENXIO
])
def test_a_partition_the_disk_does_not_have_fails_at_the_open(blkdev: str, errno: int) -> None:
    # The patch prints "failed to open with <errno>" and never reaches mmc_blk_get_part().
    session = _registered(f"pstore.blkdev={blkdev!r}")
    cxt = session.mmcpstore
    assert not cxt.registered and cxt.messages == [f"{blkdev} failed to open with {errno}"]
    assert session.faults == [] and cxt.start_sect == 0


@pytest.mark.parametrize("blkdev", ["/dev/mmcblk0", "179:0"])
def test_the_whole_disk_is_refused_as_non_existent_partition_0(blkdev: str) -> None:
    # The open succeeds (partno 0); mmc_blk_get_part() returns part[0]'s start, 0, which the patch
    # takes for a missing partition.
    cxt = _registered(f"pstore.blkdev={blkdev!r}").mmcpstore
    assert not cxt.registered and cxt.dev_name == "mmcblk0" and cxt.partno == 0
    assert cxt.messages == ["Non-existent partition 0 selected"]


def test_start_sector_zero_finding_names_the_whole_disk() -> None:
    result = run_panic_write(load_config(None, ["pstore.blkdev='/dev/mmcblk0'"]))
    assert result.verdict == "error" and result.returned == -19
    assert [f.code for f in result.findings] == ["start-sector-zero", "not-registered"]
    assert "whole disk" in result.findings[0].message


@pytest.mark.parametrize("blkdev, errno", [("/dev/mmcblk0p9", -19), ("/dev/mmcblk0p3", -6)])
def test_an_absent_partition_gives_no_start_sector_or_fault_finding(blkdev: str, errno: int) -> None:
    result = run_panic_write(load_config(None, [f"pstore.blkdev={blkdev!r}"]))
    assert [f.code for f in result.findings] == ["not-registered"]
    assert f"failed to open with {errno}" in result.findings[0].message


def test_mmc_blk_get_part_dereferences_a_missing_table_entry() -> None:
    # The port of the patch's function itself: part_tbl->part[3] is NULL in a table of p1, p5, p6.
    session = _registered()
    with pytest.raises(KernelOops, match=r"part_tbl->part\[3\]") as oops:
        mmc_blk_get_part(session.partitions, session.mmc_card, 3)
    assert oops.value.code == "part-null"


def test_second_registration_is_refused() -> None:
    session = _registered()
    first = session.mmcpstore.mrq
    session.register()
    assert session.mmcpstore.mrq is first


def test_prep_req_single_and_multi() -> None:
    mrq = MmcRequest(cmd=MmcCommand(), data=MmcData(), stop=MmcCommand())
    mmc_prep_req(mrq, 1000, 8, bytes(4096), 25, MMC_DATA_WRITE)
    assert (mrq.cmd.opcode, mrq.cmd.arg, mrq.cmd.flags) == (25, 1000, MMC_RSP_R1 | MMC_CMD_ADTC)
    assert (mrq.stop.opcode, mrq.stop.arg, mrq.stop.flags) == (12, 0, MMC_RSP_R1B | MMC_CMD_AC)
    assert (mrq.data.blksz, mrq.data.blocks, mrq.data.flags, mrq.data.sg_len) == (512, 8, MMC_DATA_WRITE, 1)
    mmc_prep_req(mrq, 1000, 1, bytes(512), 24, MMC_DATA_WRITE)
    assert mrq.stop is None
    with pytest.raises(KernelOops) as oops:
        mmc_prep_req(mrq, 1000, 2, bytes(1024), 25, MMC_DATA_WRITE)
    assert oops.value.code == "stop-null"


def test_claim_refused_when_runtime_pm_suspended() -> None:
    session = _registered("platform.runtime_pm_active=false")
    assert session.panic_write(bytes(512), 0, 1) == -16
