"""MMC core pieces the panic path uses: request descriptors, CSD/EXT_CSD decode, timeouts, claiming.

Ports of Linux include/linux/mmc/core.h (struct mmc_command/mmc_data/
mmc_request and the MMC_RSP_* / MMC_CMD_* flags), drivers/mmc/core/mmc.c
(mmc_decode_csd, mmc_decode_ext_csd), drivers/mmc/core/core.c
(mmc_set_data_timeout, mmc_mrq_prep, mmc_start_request) and the seed
patch's additions to core.c (mmc_claim_host_async, mmc_wait_for_pstore_req).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, TypeVar

from sdhci.driver.ops import DriverGen

# --- include/uapi/asm-generic/errno-base.h and errno.h ----------------------
EIO = 5
EBUSY = 16
EINVAL = 22
ETIMEDOUT = 110
EILSEQ = 84
EBADMSG = 74

NSEC_PER_MSEC = 1_000_000
U32_MAX = 0xFFFF_FFFF            # C unsigned int arithmetic wraps here
SECTOR_SIZE = 512
SECTOR_SHIFT = 9
MMC_BLOCK_MAJOR = 179

# --- include/linux/mmc/core.h: response and command type flags --------------
MMC_RSP_PRESENT = 1 << 0
MMC_RSP_136 = 1 << 1
MMC_RSP_CRC = 1 << 2
MMC_RSP_BUSY = 1 << 3
MMC_RSP_OPCODE = 1 << 4
MMC_CMD_AC = 0 << 5
MMC_CMD_ADTC = 1 << 5
MMC_CMD_BC = 2 << 5
MMC_CMD_BCR = 3 << 5
MMC_RSP_NONE = 0
MMC_RSP_R1 = MMC_RSP_PRESENT | MMC_RSP_CRC | MMC_RSP_OPCODE
MMC_RSP_R1B = MMC_RSP_PRESENT | MMC_RSP_CRC | MMC_RSP_OPCODE | MMC_RSP_BUSY
MMC_RSP_R2 = MMC_RSP_PRESENT | MMC_RSP_136 | MMC_RSP_CRC
MMC_RSP_R3 = MMC_RSP_PRESENT
MMC_DATA_WRITE = 1 << 8
MMC_DATA_READ = 1 << 9

# --- include/linux/mmc/host.h: struct mmc_ios values ------------------------
MMC_POWER_OFF, MMC_POWER_UP, MMC_POWER_ON = 0, 1, 2
MMC_TIMING_LEGACY = 0
MMC_TIMING_MMC_HS = 1
MMC_TIMING_MMC_DDR52 = 8

# --- include/linux/mmc/mmc.h: command indices, OCR, EXT_CSD ------------------
MMC_GO_IDLE_STATE = 0
MMC_SEND_OP_COND = 1
MMC_ALL_SEND_CID = 2
MMC_SET_RELATIVE_ADDR = 3
MMC_SWITCH = 6
MMC_SELECT_CARD = 7
MMC_SEND_EXT_CSD = 8
MMC_SEND_CSD = 9
MMC_STOP_TRANSMISSION = 12
MMC_SEND_STATUS = 13
MMC_BUS_TEST_R = 14
MMC_SET_BLOCK_COUNT = 23
MMC_WRITE_BLOCK = 24
MMC_WRITE_MULTIPLE_BLOCK = 25

MMC_CARD_BUSY = 0x8000_0000      # OCR bit 31: power-up done
MMC_OCR_SECTOR_MODE = 1 << 30

EXT_CSD_FLUSH_CACHE = 32
EXT_CSD_CACHE_CTRL = 33
EXT_CSD_WR_REL_PARAM = 166
EXT_CSD_WR_REL_PARAM_EN = 1 << 2                  # enhanced reliable write: any size, any alignment
EXT_CSD_BUS_WIDTH = 183
EXT_CSD_HS_TIMING = 185
EXT_CSD_REV = 192
EXT_CSD_CARD_TYPE = 196
EXT_CSD_SEC_CNT = 212
EXT_CSD_GENERIC_CMD6_TIME = 248
EXT_CSD_CACHE_SIZE = 249
EXT_CSD_CMD_SET_NORMAL = 1 << 0
MMC_SWITCH_MODE_WRITE_BYTE = 0x03
EXT_CSD_BUS_WIDTH_4, EXT_CSD_BUS_WIDTH_8 = 1, 2
EXT_CSD_DDR_BUS_WIDTH_4, EXT_CSD_DDR_BUS_WIDTH_8 = 5, 6
EXT_CSD_TIMING_HS = 1
EXT_CSD_CARD_TYPE_HS_26 = 1 << 0
EXT_CSD_CARD_TYPE_HS_52 = 1 << 1
EXT_CSD_CARD_TYPE_DDR_1_8V = 1 << 2               # DDR52 at 1.8 V or 3 V I/O (bit 3: at 1.2 V, never used here)
DEFAULT_CMD6_TIMEOUT_MS = 500                      # mmc.c: generic_cmd6_time before EXT_CSD rev 6

R1_SWITCH_ERROR = 1 << 7


class KernelOops(Exception):
    """A fault the ported kernel code would take (NULL dereference): reported, never a traceback."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


T = TypeVar("T")


def deref(pointer: T | None, what: str, code: str, where: str) -> T:
    """C's ``*pointer``: a None pointer is a detected NULL dereference, not a Python crash."""
    if pointer is None:
        raise KernelOops(code, f"NULL pointer dereference of {what} in {where}")
    return pointer


@dataclass
class MmcCommand:
    """struct mmc_command: one command, its response words (resp[0] = bits 127..96) and error."""
    opcode: int = 0
    arg: int = 0
    flags: int = 0
    resp: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    error: int = 0
    busy_timeout: int = 0        # ms, for R1b commands without data
    data: MmcData | None = None
    mrq: MmcRequest | None = None


@dataclass
class MmcData:
    """struct mmc_data; the scatterlist is one buffer (sg_init_one), ``buf``."""
    blksz: int = 0
    blocks: int = 0
    flags: int = 0
    timeout_ns: int = 0
    timeout_clks: int = 0
    buf: bytearray | bytes = b""     # what the scatterlist entry points at
    sg_len: int = 0
    sg_length: int | None = None     # sg->length; None: len(buf), as sg_init_one(buf, sizeof buf) gives
    error: int = 0
    bytes_xfered: int = 0
    stop: MmcCommand | None = None
    mrq: MmcRequest | None = None

    def __post_init__(self) -> None:
        if self.sg_length is None:
            self.sg_length = len(self.buf)


@dataclass
class MmcRequest:
    """struct mmc_request."""
    cmd: MmcCommand | None = None
    data: MmcData | None = None
    stop: MmcCommand | None = None
    sbc: MmcCommand | None = None


def unstuff_bits(value: int, start: int, size: int) -> int:
    """UNSTUFF_BITS of drivers/mmc/core/mmc.c on a 128-bit register held as an int."""
    return (value >> start) & ((1 << size) - 1)


def resp_to_int(resp: list[int]) -> int:
    """The four response words (resp[0] most significant) as one 128-bit integer."""
    out = 0
    for word in resp:
        out = (out << 32) | (word & 0xFFFF_FFFF)
    return out


# drivers/mmc/core/mmc.c: tables for TAAC and TRAN_SPEED (units, mantissas x10).
_TACC_EXP = (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000)
_TACC_MANT = (0, 10, 12, 13, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80)
_TRAN_EXP = (10000, 100000, 1000000, 10000000, 0, 0, 0, 0)
_TRAN_MANT = (0, 10, 12, 13, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80)   # Linux: 2.5, 5.0 where JEDEC says 2.6, 5.2


@dataclass(frozen=True)
class MmcCsd:
    """struct mmc_csd, the fields mmc_decode_csd() fills."""
    structure: int
    mmca_vsn: int
    taac_ns: int
    taac_clks: int
    max_dtr: int
    cmdclass: int
    read_blkbits: int
    capacity: int          # in read blocks of (1 << read_blkbits) bytes, as Linux keeps it
    r2w_factor: int
    write_blkbits: int


def mmc_decode_csd(csd: int) -> MmcCsd:
    """Port of mmc_decode_csd() (drivers/mmc/core/mmc.c) for a 128-bit CSD."""
    e = unstuff_bits(csd, 112, 3)
    m = unstuff_bits(csd, 115, 4)
    taac_ns = (_TACC_EXP[e] * _TACC_MANT[m] + 9) // 10
    taac_clks = unstuff_bits(csd, 104, 8) * 100
    m_dtr = unstuff_bits(csd, 99, 4)
    e_dtr = unstuff_bits(csd, 96, 3)
    c_size = unstuff_bits(csd, 62, 12)
    c_mult = unstuff_bits(csd, 47, 3)
    return MmcCsd(
        structure=unstuff_bits(csd, 126, 2),
        mmca_vsn=unstuff_bits(csd, 122, 4),
        taac_ns=taac_ns,
        taac_clks=taac_clks,
        max_dtr=_TRAN_EXP[e_dtr] * _TRAN_MANT[m_dtr],
        cmdclass=unstuff_bits(csd, 84, 12),
        read_blkbits=unstuff_bits(csd, 80, 4),
        capacity=(1 + c_size) << (c_mult + 2),
        r2w_factor=unstuff_bits(csd, 26, 3),
        write_blkbits=unstuff_bits(csd, 22, 4),
    )


@dataclass(frozen=True)
class MmcExtCsd:
    """The EXT_CSD fields mmc_decode_ext_csd() keeps that the panic path depends on."""
    rev: int
    sectors: int
    card_type: int
    hs_max_dtr: int
    generic_cmd6_time_ms: int
    cache_size_kib: int
    rel_param: int = 0       # WR_REL_PARAM, read from revision 5 (eMMC 4.41) on


def mmc_decode_ext_csd(ext_csd: bytes) -> MmcExtCsd:
    """The subset of mmc_decode_ext_csd() (drivers/mmc/core/mmc.c) the emulator needs.

    As in C, SEC_COUNT is only read from revision 2 on, and GENERIC_CMD6_TIME
    and CACHE_SIZE from revision 6 (eMMC 4.5) on; before that the CMD6
    timeout is DEFAULT_CMD6_TIMEOUT_MS and there is no cache. hs_max_dtr is
    what the card type offers; mmc_select_card_type() also needs the host's
    MMC_CAP_MMC_HIGHSPEED, which mmc_init checks. WR_REL_PARAM is read from
    revision 5 on.
    """
    rev = ext_csd[EXT_CSD_REV]
    card_type = ext_csd[EXT_CSD_CARD_TYPE]
    if card_type & EXT_CSD_CARD_TYPE_HS_52:
        hs_max_dtr = 52_000_000
    elif card_type & EXT_CSD_CARD_TYPE_HS_26:
        hs_max_dtr = 26_000_000
    else:
        hs_max_dtr = 0
    new_feature = rev >= 6
    return MmcExtCsd(
        rev=rev,
        sectors=int.from_bytes(ext_csd[EXT_CSD_SEC_CNT:EXT_CSD_SEC_CNT + 4], "little") if rev >= 2 else 0,
        card_type=card_type,
        hs_max_dtr=hs_max_dtr,
        generic_cmd6_time_ms=10 * ext_csd[EXT_CSD_GENERIC_CMD6_TIME] if new_feature else DEFAULT_CMD6_TIMEOUT_MS,
        cache_size_kib=int.from_bytes(ext_csd[EXT_CSD_CACHE_SIZE:EXT_CSD_CACHE_SIZE + 4], "little")
        if new_feature else 0,
        rel_param=ext_csd[EXT_CSD_WR_REL_PARAM] if rev >= 5 else 0,
    )


@dataclass
class MmcCard:
    """struct mmc_card: what initialisation learnt about the card."""
    rca: int
    ocr: int
    cid: int
    csd: MmcCsd
    ext_csd: MmcExtCsd | None = None
    blockaddr: bool = False      # mmc_card_blockaddr(): sector (not byte) addressing
    bus_width: int = 1
    hs: bool = False
    ddr: bool = False
    cache_on: bool = False

    @property
    def capacity_sectors(self) -> int:
        """Card capacity in 512-byte sectors (EXT_CSD SEC_COUNT when sector addressed)."""
        if self.blockaddr and self.ext_csd is not None:
            return self.ext_csd.sectors
        return (self.csd.capacity << self.csd.read_blkbits) // SECTOR_SIZE


@dataclass
class MmcHostOps:
    """struct mmc_host_ops, the members the panic path calls (generator routines)."""
    request: Callable[[MmcRequest], DriverGen]
    req_cleanup_pending: Callable[[], DriverGen] | None = None
    req_completion_poll: Callable[[int], DriverGen] | None = None


@dataclass
class MmcIos:
    """struct mmc_ios, the fields sdhci_set_ios() acts on (bus_width in bits: 1, 4, 8)."""
    clock: int = 0
    vdd: int = 0                 # bit number of the OCR voltage window, fls(ocr_avail) - 1
    power_mode: int = MMC_POWER_OFF
    bus_width: int = 1
    timing: int = MMC_TIMING_LEGACY


@dataclass
class MmcHost:
    """struct mmc_host, what mmcpstore and initialisation touch (limits set by sdhci_setup_host)."""
    ops: MmcHostOps
    claimed: bool = False
    runtime_pm_active: bool = True
    card: MmcCard | None = None
    ios: MmcIos = field(default_factory=MmcIos)
    f_max: int = 0
    max_blk_size: int = 512
    max_blk_count: int = 65535
    max_req_size: int = 524288
    max_busy_timeout: int = 0        # ms; 0 = no limit


def mmc_set_data_timeout(data: MmcData, card: MmcCard) -> None:
    """Port of mmc_set_data_timeout() (drivers/mmc/core/core.c) for an (e)MMC card.

    The SDIO, SD cap, long-read-time and SPI branches do not apply to an
    eMMC in native mode: multiplier 10, shifted by R2W_FACTOR for writes,
    applied to both TAAC (ns) and NSAC (clocks); no upper limit. The fields
    are unsigned int in C, so a slow card's write timeout wraps at 2^32 ns.
    """
    mult = 10
    if data.flags & MMC_DATA_WRITE:
        mult <<= card.csd.r2w_factor
    data.timeout_ns = (card.csd.taac_ns * mult) & U32_MAX
    data.timeout_clks = (card.csd.taac_clks * mult) & U32_MAX


def mmc_claim_host_async(host: MmcHost) -> int:
    """Seed patch, core.c: claim the host in atomic context; never released by mmcpstore."""
    if not host.claimed and host.runtime_pm_active:
        host.claimed = True
        return 0
    return -EBUSY


def mmc_mrq_prep(host: MmcHost, mrq: MmcRequest) -> int:
    """Port of mmc_mrq_prep() (core.c): check the host's limits, link the descriptors, clear errors.

    ``data.stop`` is only set when ``mrq.stop`` exists, so a stale stop from
    an earlier request stays in the reused data descriptor, as in C.
    """
    if mrq.cmd is not None:
        mrq.cmd.error = 0
        mrq.cmd.mrq = mrq
        mrq.cmd.data = mrq.data
    if mrq.sbc is not None:
        mrq.sbc.error = 0
        mrq.sbc.mrq = mrq
    if mrq.data is not None:
        data = mrq.data
        if (data.blksz > host.max_blk_size or data.blocks > host.max_blk_count
                or data.blocks * data.blksz > host.max_req_size):
            return -EINVAL
        if data.sg_length != (data.blocks * data.blksz) & U32_MAX:   # the sum of sg->length
            return -EINVAL
        mrq.data.error = 0
        mrq.data.mrq = mrq
        if mrq.stop is not None:
            mrq.data.stop = mrq.stop
            mrq.stop.error = 0
            mrq.stop.mrq = mrq
    return 0


def mmc_start_request(host: MmcHost, mrq: MmcRequest) -> DriverGen:
    """Port of mmc_start_request() (core.c): prepare, then hand to host->ops->request."""
    err = mmc_mrq_prep(host, mrq)
    if err:
        return err
    yield from host.ops.request(mrq)
    return 0


class PstoreReqInfo(NamedTuple):
    """What mmc_wait_for_pstore_req() drops, kept for the emulator's report (the C function is void)."""
    start_error: int               # mmc_start_request()'s result
    timeout_ms: int | None         # what req_completion_poll() was given; None without data
    poll_result: int | None        # what it returned


def mmc_wait_for_pstore_req(host: MmcHost, mrq: MmcRequest) -> DriverGen:
    """Seed patch, core.c: cleanup, start, then poll for ``timeout_ns / NSEC_PER_MSEC`` ms.

    The start's and the poll's results are both dropped, as in the patch;
    they come back in a PstoreReqInfo only so the emulator can report them.
    """
    ops = host.ops
    yield from deref(ops.req_cleanup_pending, "host->ops->req_cleanup_pending", "unregistered-op",
                     "mmc_wait_for_pstore_req")()
    start_error = yield from mmc_start_request(host, mrq)
    if mrq.data is not None:
        timeout = mrq.data.timeout_ns // NSEC_PER_MSEC
        poll = yield from deref(ops.req_completion_poll, "host->ops->req_completion_poll", "unregistered-op",
                                "mmc_wait_for_pstore_req")(timeout)
        return PstoreReqInfo(start_error, timeout, poll)
    return PstoreReqInfo(start_error, None, None)
