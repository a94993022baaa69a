"""mmcpstore_card_set(), mmc_blk_get_part() and mmc_prep_req() as the patch writes them."""
from __future__ import annotations

import pytest

from sdhci.config import load_config
from sdhci.driver.mmc_core import (
    MMC_CMD_AC, MMC_CMD_ADTC, MMC_DATA_WRITE, MMC_RSP_R1, MMC_RSP_R1B, KernelOops, MmcCommand, MmcData, MmcRequest,
)
from sdhci.driver.mmcpstore import mmc_prep_req
from sdhci.emulation import PanicSession


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


def test_other_disk_is_ignored_silently() -> None:
    cxt = _registered("pstore.blkdev='/dev/mmcblk1p5'").mmcpstore
    assert not cxt.registered and cxt.messages == []


def test_empty_blkdev_does_nothing() -> None:
    cxt = _registered("pstore.blkdev=''").mmcpstore
    assert not cxt.registered and cxt.messages == ["psblk backend is empty"]


def test_partition_number_beyond_the_table_is_non_existent() -> None:
    cxt = _registered("pstore.blkdev='/dev/mmcblk0p7'").mmcpstore     # table has p1, p5, p6
    assert not cxt.registered and cxt.messages == ["Non-existent partition 7 selected"]


def test_missing_partition_inside_the_table_dereferences_null() -> None:
    session = _registered("pstore.blkdev='/dev/mmcblk0p3'")             # p3 < len, but no entry
    assert not session.mmcpstore.registered
    assert [f.code for f in session.faults] == ["part-null"]


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
