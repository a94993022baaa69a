"""The fixes a reviewer would propose to the seed patch, each built beside its untouched port.

Selected by name (``--patch``, ``run.patch``):

- ``as-posted``: the port of the seed patch itself (sdhci.driver.mmcpstore),
  weaknesses and all.
- ``flush``: after the write, CMD6 SWITCH to FLUSH_CACHE (EXT_CSD byte 32) as
  an R1b command, polled to completion with interrupts off: what
  mmc_flush_cache() asks with MMC_CACHE_FLUSH_TIMEOUT_MS (30 s,
  drivers/mmc/core/mmc_ops.c), and only when the card's cache is on, as
  mmc_flush_cache() checks (CACHE_SIZE > 0 and CACHE_CTRL bit 0).
- ``reliable-write``: CMD23 SET_BLOCK_COUNT with bit 31 (reliable write
  request), then CMD25, for one sector too (mmc_blk_data_prep() uses
  WRITE_MULTIPLE_BLOCK for every reliable write; CMD23 applies to CMD25
  only). A reliable write bypasses the volatile cache and is never torn.
- ``checked``: returns what went wrong instead of 0: the error of
  mmc_start_request() (and then does not poll for a request that never
  started), the poll's -ETIMEDOUT, or the request's first command or data
  error, so pstore sees the failure and no loss is silent.
- ``fixed``: ``checked``, with reliable write when the card offers enhanced
  reliable write (EXT_CSD WR_REL_PARAM bit 2, EN_REL_WR: the condition under
  which Linux's mmc_blk writes reliably at any size and alignment),
  otherwise with the flush.

Everything else is the port's: mmc_prep_req(), the data timeout truncated
to whole milliseconds, the host claim never released, sector addressing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sdhci.driver.mmc_core import (
    EXT_CSD_CMD_SET_NORMAL, EXT_CSD_FLUSH_CACHE, EXT_CSD_WR_REL_PARAM_EN, MMC_CMD_AC, MMC_DATA_WRITE, MMC_RSP_R1,
    MMC_RSP_R1B, MMC_SET_BLOCK_COUNT, MMC_SWITCH, MMC_SWITCH_MODE_WRITE_BYTE, MMC_WRITE_BLOCK,
    MMC_WRITE_MULTIPLE_BLOCK, NSEC_PER_MSEC, SECTOR_SHIFT, U32_MAX, MmcCard, MmcCommand, MmcHost, MmcRequest,
    PstoreReqInfo, deref, mmc_claim_host_async, mmc_set_data_timeout, mmc_start_request, mmc_wait_for_pstore_req,
)
from sdhci.driver.mmcpstore import Mmcpstore, PanicWriteTrace, mmc_prep_req
from sdhci.driver.ops import DriverGen

#: drivers/mmc/core/mmc_ops.c: how long mmc_flush_cache() lets a flush take.
MMC_CACHE_FLUSH_TIMEOUT_MS = 30 * 1000
#: CMD23 argument bit 31: reliable write request (JESD84-B51 SET_BLOCK_COUNT).
RELIABLE_WRITE_REQUEST = 1 << 31

Durability = Literal["none", "flush", "reliable-write", "card"]


@dataclass(frozen=True)
class Fix:
    """What a variant changes: how it makes the record durable, and whether it reports errors.

    durability 'card' picks reliable write when the card offers enhanced
    reliable write, else the flush.
    """
    durability: Durability = "none"
    checked: bool = False


#: The variants by name; 'as-posted' is the port itself.
FIXES: dict[str, Fix] = {
    "flush": Fix("flush"),
    "reliable-write": Fix("reliable-write"),
    "checked": Fix(checked=True),
    "fixed": Fix("card", checked=True),
}
PATCHES = ("as-posted", *FIXES)


@dataclass
class VariantTrace(PanicWriteTrace):
    """What a variant did inside the call, beyond what the port records."""
    reliable: bool = False
    flush_result: int | None = None      # None: no flush was sent


def mmcpstore_for(patch: str) -> Mmcpstore:
    """A fresh oops context for the named patch (ValueError naming the known ones otherwise)."""
    if patch == "as-posted":
        return Mmcpstore()
    if patch not in FIXES:
        raise ValueError(f"unknown patch {patch!r} (known: {', '.join(PATCHES)})")
    return PatchedMmcpstore(fix=FIXES[patch])


def mmc_wait_for_pstore_req_checked(host: MmcHost, mrq: MmcRequest) -> DriverGen:
    """mmc_wait_for_pstore_req() as a reviewer would have it: no poll for a request that never started."""
    assert host.ops.req_cleanup_pending is not None and host.ops.req_completion_poll is not None
    yield from host.ops.req_cleanup_pending()
    start_error = yield from mmc_start_request(host, mrq)
    if start_error or mrq.data is None:
        return PstoreReqInfo(start_error, None, None)
    timeout = mrq.data.timeout_ns // NSEC_PER_MSEC
    poll = yield from host.ops.req_completion_poll(timeout)
    return PstoreReqInfo(0, timeout, poll)


def mmc_flush_cache_polled(host: MmcHost) -> DriverGen:
    """mmc_flush_cache() in panic context: CMD6 FLUSH_CACHE as R1b, polled to Transfer Complete; 0 or -errno.

    Always R1b: the card's busy end raises Transfer Complete, which the poll
    waits for, interrupts off. (Outside a panic __mmc_switch() sends R1 and
    sleeps on DAT0 when the flush timeout exceeds the host's max_busy_timeout;
    here the controller's data timeout counter bounds the busy instead, 2^27
    TMCLK at most, and a longer flush ends in a Data Timeout Error.)
    """
    assert host.ops.req_cleanup_pending is not None and host.ops.req_completion_poll is not None
    arg = (MMC_SWITCH_MODE_WRITE_BYTE << 24) | (EXT_CSD_FLUSH_CACHE << 16) | (1 << 8) | EXT_CSD_CMD_SET_NORMAL
    cmd = MmcCommand(opcode=MMC_SWITCH, arg=arg, flags=MMC_RSP_R1B | MMC_CMD_AC,
                     busy_timeout=MMC_CACHE_FLUSH_TIMEOUT_MS)
    yield from host.ops.req_cleanup_pending()
    err = yield from mmc_start_request(host, MmcRequest(cmd=cmd))
    if err:
        return err
    return (yield from host.ops.req_completion_poll(MMC_CACHE_FLUSH_TIMEOUT_MS))


@dataclass
class PatchedMmcpstore(Mmcpstore):
    """mmcpstore with one of the FIXES; registration and everything around the write are the port's."""
    fix: Fix = field(default_factory=Fix)

    def durability(self, card: MmcCard) -> tuple[bool, bool]:
        """(reliable write, flush) this variant uses on this card."""
        way = self.fix.durability
        if way == "card":
            rel_param = card.ext_csd.rel_param if card.ext_csd is not None else 0
            way = "reliable-write" if rel_param & EXT_CSD_WR_REL_PARAM_EN else "flush"
        return way == "reliable-write", way == "flush" and card.cache_on

    def mmcpstore_panic_write_req(self, buf: bytes, nsects: int, sect_offset: int) -> DriverGen:
        """The port's mmcpstore_panic_write_req() with the fix: CMD23 + CMD25, the flush, the errors returned."""
        nsects &= U32_MAX
        sect_offset &= U32_MAX
        mrq = self.mrq
        card = deref(self.card, "cxt->card", "card-null", "mmcpstore_panic_write_req")
        host = self.host
        assert host is not None
        reliable, flush = self.durability(card)
        opcode = MMC_WRITE_MULTIPLE_BLOCK if nsects > 1 or reliable else MMC_WRITE_BLOCK
        trace = VariantTrace(sect_offset, nsects, opcode, reliable=reliable)
        self.last = trace
        mmc_prep_req(deref(mrq, "cxt->mrq", "mrq-null", "mmc_prep_req"), sect_offset, nsects, bytes(buf), opcode,
                     MMC_DATA_WRITE)
        assert mrq is not None and mrq.data is not None and mrq.cmd is not None
        mrq.sbc = (MmcCommand(opcode=MMC_SET_BLOCK_COUNT, arg=nsects | RELIABLE_WRITE_REQUEST,
                              flags=MMC_RSP_R1 | MMC_CMD_AC) if reliable else None)
        mrq.data.sg_length = (nsects << SECTOR_SHIFT) & U32_MAX
        mmc_set_data_timeout(mrq.data, card)
        ret = mmc_claim_host_async(host)
        if ret:
            return ret
        trace.claimed = True
        wait = mmc_wait_for_pstore_req_checked if self.fix.checked else mmc_wait_for_pstore_req
        info = yield from wait(host, mrq)
        trace.start_error, trace.timeout_ms, trace.poll_result = info
        trace.cmd_error, trace.data_error = mrq.cmd.error, mrq.data.error
        trace.stop_error = mrq.stop.error if mrq.stop is not None else 0
        error = info.start_error or info.poll_result or 0
        if flush and not (self.fix.checked and error):
            trace.flush_result = yield from mmc_flush_cache_polled(host)
            error = error or trace.flush_result
        return error if self.fix.checked else 0
