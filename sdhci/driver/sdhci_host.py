"""Polled port of Linux drivers/mmc/host/sdhci.c, plus the two mmcpstore host operations.

The reference is v5.10/v5.11 (what the seed patch was written against). Each
method keeps the name of the sdhci.c function it ports and its order of
register accesses. The emulator runs the host without interrupts: what
sdhci_irq() would do on an interrupt is done when a Poll of Normal/Error
Interrupt Status sees the bits, and SIGNAL_ENABLE stays 0 throughout (the
writes sdhci.c makes to it are kept, with value 0).

The emulated platform is a plain sdhci glue driver with these properties:
quirks SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12 (platform knob), and
SDHCI_QUIRK2_PRESET_VALUE_BROKEN (the firmware never programs the Preset
Value registers, so sdhci_set_ios() never enables them), optionally
SDHCI_QUIRK2_BROKEN_64_BIT_DMA (platform knob, on by default: 32-bit ADMA2
descriptors and SDMA stay available on a 64-bit capable controller); the
requested transfer mode acts as SDHCI_QUIRK_BROKEN_DMA/_ADMA do; no vmmc or
vqmmc regulator, no card detect (an eMMC is non-removable), no LED.

Out of scope (features the emulated host does not have): other quirks, v4
mode, tuning, HS200/HS400 and signal voltage switching away from 3.3 V
(DDR52 runs at 3.3 V I/O), driver strength other than type B, the SDHCI
interrupt and the request timers (sdhci_timeout_timer() is modelled in
mmc_wait_for_req), and sdhci_send_command_retry() of v5.11: the inhibit
wait is v5.10's loop of mdelay(1), which reads Present State as often.
pr_err() lines go to HostLog.errors; where sdhci.c follows one with
sdhci_dumpregs(), its register reads are made too (they cost bus time).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Literal

from emmc_card.statecopy import FrozenState, copy_state, restore_state
from sdhci import regmap as R
from sdhci.driver.mmc_core import (
    EILSEQ, EIO, ETIMEDOUT, MMC_BUS_TEST_R, MMC_DATA_READ, MMC_POWER_OFF, MMC_RSP_136, MMC_RSP_BUSY,
    MMC_RSP_CRC, MMC_RSP_OPCODE, MMC_RSP_PRESENT, MMC_TIMING_MMC_DDR52, MMC_TIMING_MMC_HS, U32_MAX, MmcCommand,
    MmcData, MmcHost, MmcHostOps, MmcRequest, mmc_mrq_prep,
)
from sdhci.driver.ops import Delay, DriverGen, MemRead, MemWrite, Now, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.driver.platform import PlatformConfig

Transfer = Literal["auto", "pio", "sdma", "adma2"]

# sdhci.h host->flags
SDHCI_USE_SDMA = 1 << 0
SDHCI_USE_ADMA = 1 << 1
SDHCI_REQ_USE_DMA = 1 << 2
SDHCI_AUTO_CMD12 = 1 << 6
SDHCI_AUTO_CMD23 = 1 << 7
SDHCI_USE_64_BIT_DMA = 1 << 12

MMC_VDD_165_195, MMC_VDD_20_21 = 1 << 7, 1 << 8
MMC_VDD_29_30, MMC_VDD_30_31 = 1 << 17, 1 << 18
MMC_VDD_32_33, MMC_VDD_33_34, MMC_VDD_34_35, MMC_VDD_35_36 = 1 << 20, 1 << 21, 1 << 22, 1 << 23

SDHCI_MAX_ADMA = 65536          # host->max_adma: one ADMA2 descriptor moves up to 64 KiB (length 0 = 65536)
SDHCI_ADMA2_64_DESC_SZ = 12     # SDHCI_ADMA2_64_DESC_SZ(host) without v4 mode: le16 cmd, le16 len, le64 addr
SDHCI_BOUNCE_SIZE = 65536       # sdhci_allocate_bounce_buffer(): SZ_64K
MMC_REQUEST_TIMEOUT_MS = 10_000  # sdhci_send_command(): software timer of a request, 10 s


class HostSetupError(Exception):
    """sdhci_setup_host() refused the controller (one readable line)."""


def sdhci_calc_timeout(timeout_clk_khz: int, clock_hz: int, cmd: MmcCommand | None) -> tuple[int, bool]:
    """Port of sdhci_calc_timeout() + sdhci_target_timeout(): Timeout Control count, too_big.

    Target in us (unsigned int) = DIV_ROUND_UP(timeout_ns, 1000) +
    DIV_ROUND_UP(timeout_clks * 1e6, host->clock), or busy_timeout * 1000 for
    an R1b without data; the counter starts at 2^13 TMCLK periods (in whole
    us, truncated) and doubles until it covers the target; reaching 0xF
    gives host->max_timeout_count 0xE and too_big. Neither
    SDHCI_QUIRK_BROKEN_TIMEOUT_VAL nor SDHCI_QUIRK2_DISABLE_HW_TIMEOUT is set.
    """
    if cmd is None:
        return 0xE, True
    data = cmd.data
    if data is None and not cmd.busy_timeout:
        return 0xE, True
    if data is None:
        target = (cmd.busy_timeout * 1000) & U32_MAX
    else:
        target = -(-data.timeout_ns // 1000)
        if clock_hz and data.timeout_clks:
            val, rem = divmod(1_000_000 * data.timeout_clks, clock_hz)
            target = (target + val + (1 if rem else 0)) & U32_MAX
    count = 0
    current = (1 << 13) * 1000 // timeout_clk_khz
    while current < target:
        count += 1
        current = (current << 1) & U32_MAX
        if count > 0xE:
            return 0xE, True
    return count, False


def sdhci_calc_clk(version: int, max_clk: int, clock: int) -> tuple[int, int]:
    """Port of sdhci_calc_clk() without programmable clock or presets: (Clock Control bits, actual Hz).

    v3.00+: even divisors 2..2046 (10-bit N = div/2), or the base clock when
    it is not above the request. Earlier: powers of two up to 256. The v3
    search (`for (div = 2; div < SDHCI_MAX_DIV_SPEC_300; div += 2) if
    ((host->max_clk / div) <= clock) break;`) stops at the first even div
    above max_clk / (clock + 1): computed here rather than counted up to
    (a 400 kHz clock from 200 MHz is 250 steps).
    """
    if version >= R.SDHCI_SPEC_300:
        if max_clk <= clock:
            div = 1
        else:
            first = max_clk // (clock + 1) + 1           # the least div with max_clk // div <= clock
            div = min(max(2, first + (first & 1)), R.SDHCI_MAX_DIV_SPEC_300)
    else:
        div = 1
        while div < R.SDHCI_MAX_DIV_SPEC_200:
            if max_clk // div <= clock:
                break
            div *= 2
    real_div = div
    div >>= 1
    actual = max_clk // real_div
    clk = (div & R.SDHCI_DIV_MASK) << R.SDHCI_DIVIDER_SHIFT
    clk |= ((div & R.SDHCI_DIV_HI_MASK) >> R.SDHCI_DIV_MASK_LEN) << R.SDHCI_DIVIDER_HI_SHIFT
    return clk, actual


def sdhci_adma_table(buffer_addr: int, length: int, desc_sz: int = R.SDHCI_ADMA2_32_DESC_SZ) -> bytes:
    """Port of sdhci_adma_table_pre() for one 4-byte aligned segment: TRAN descriptors, then NOP/END.

    A segment longer than host->max_adma (64 KiB) is cut into 32 KiB
    descriptors until at most 64 KiB is left, which goes into one descriptor
    (length field 0 = 65536). desc_sz 8 is struct sdhci_adma2_32_desc
    {le16 cmd, le16 len, le32 addr}; 12 the 64-bit one with le32 addr_hi.
    """
    table = bytearray()
    addr, left = buffer_addr, length
    while left > SDHCI_MAX_ADMA:
        table += _adma_write_desc(desc_sz, R.ADMA2_TRAN_VALID, 32 * 1024, addr)
        addr += 32 * 1024
        left -= 32 * 1024
    if left:
        table += _adma_write_desc(desc_sz, R.ADMA2_TRAN_VALID, left, addr)
    table += _adma_write_desc(desc_sz, R.ADMA2_NOP_END_VALID, 0, 0)
    return bytes(table)


def _adma_write_desc(desc_sz: int, cmd: int, length: int, addr: int) -> bytes:
    """sdhci_adma_write_desc(): cpu_to_le16(cmd), cpu_to_le16(len), the address (low word, high word if 64-bit)."""
    return (cmd.to_bytes(2, "little") + (length & 0xFFFF).to_bytes(2, "little")
            + addr.to_bytes(8 if desc_sz != R.SDHCI_ADMA2_32_DESC_SZ else 4, "little"))


def sdhci_get_vdd_value(vdd: int) -> int:
    """Port of sdhci_get_vdd_value(): Power Control voltage bits for OCR bit number ``vdd``."""
    bit = 1 << vdd
    if bit in (MMC_VDD_165_195, MMC_VDD_20_21):
        return R.SDHCI_POWER_180
    if bit in (MMC_VDD_29_30, MMC_VDD_30_31):
        return R.SDHCI_POWER_300
    if bit in (MMC_VDD_32_33, MMC_VDD_33_34, MMC_VDD_34_35, MMC_VDD_35_36):
        return R.SDHCI_POWER_330
    return 0


def sdhci_dma_flags(version: int, caps: int, request: Transfer = "auto", broken_64bit_dma: bool = False) -> int:
    """The DMA flags sdhci_setup_host() chooses from Version (spec number) and Capabilities.

    SDHCI_USE_SDMA and SDHCI_USE_ADMA where advertised (ADMA2 from v2.00 on),
    SDHCI_USE_64_BIT_DMA for a 64-bit host unless the platform's DMA mask is
    32-bit, and no SDMA with 64-bit DMA (no v4 mode). A requested mode works
    as SDHCI_QUIRK_BROKEN_DMA / SDHCI_QUIRK_BROKEN_ADMA would on the other.
    """
    flags = 0
    if caps & R.SDHCI_CAN_DO_SDMA and request not in ("pio", "adma2"):
        flags |= SDHCI_USE_SDMA
    if version >= R.SDHCI_SPEC_200 and caps & R.SDHCI_CAN_DO_ADMA2 and request not in ("pio", "sdma"):
        flags |= SDHCI_USE_ADMA
    if caps & R.SDHCI_CAN_64BIT:                                # sdhci_can_64bit_dma() without v4 mode
        flags |= SDHCI_USE_64_BIT_DMA
    if flags & (SDHCI_USE_SDMA | SDHCI_USE_ADMA) and broken_64bit_dma:
        flags &= ~SDHCI_USE_64_BIT_DMA                          # sdhci_set_dma_mask(): 32-bit mask
    if flags & SDHCI_USE_64_BIT_DMA:                            # SDMA does not support 64-bit DMA if v4 mode not set
        flags &= ~SDHCI_USE_SDMA
    return flags


def transfer_name(flags: int) -> str:
    """'adma2', 'sdma' or 'pio': how data moves with these host flags."""
    if flags & SDHCI_USE_ADMA:
        return "adma2"
    if flags & SDHCI_USE_SDMA:
        return "sdma"
    return "pio"


#: sdhci_dumpregs(): the registers it reads, in the order of its pr_err() lines (width in bits).
SDHCI_DUMPREGS = (
    (R.SDHCI_DMA_ADDRESS, 32), (R.SDHCI_HOST_VERSION, 16), (R.SDHCI_BLOCK_SIZE, 16), (R.SDHCI_BLOCK_COUNT, 16),
    (R.SDHCI_ARGUMENT, 32), (R.SDHCI_TRANSFER_MODE, 16), (R.SDHCI_PRESENT_STATE, 32), (R.SDHCI_HOST_CONTROL, 8),
    (R.SDHCI_POWER_CONTROL, 8), (R.SDHCI_BLOCK_GAP_CONTROL, 8), (R.SDHCI_WAKE_UP_CONTROL, 8),
    (R.SDHCI_CLOCK_CONTROL, 16), (R.SDHCI_TIMEOUT_CONTROL, 8), (R.SDHCI_INT_STATUS, 32), (R.SDHCI_INT_ENABLE, 32),
    (R.SDHCI_SIGNAL_ENABLE, 32), (R.SDHCI_AUTO_CMD_STATUS, 16), (R.SDHCI_SLOT_INT_STATUS, 16),
    (R.SDHCI_CAPABILITIES, 32), (R.SDHCI_CAPABILITIES_1, 32), (R.SDHCI_COMMAND, 16), (R.SDHCI_MAX_CURRENT, 32),
    (R.SDHCI_RESPONSE, 32), (R.SDHCI_RESPONSE + 4, 32), (R.SDHCI_RESPONSE + 8, 32), (R.SDHCI_RESPONSE + 12, 32),
    (R.SDHCI_HOST_CONTROL2, 16),
)


@dataclass
class HostLog:
    """What the host driver did that a report needs and registers do not show."""
    timeout_control: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SdhciHost:
    """struct sdhci_host and the sdhci.c routines, as generators of register operations."""

    def __init__(self, platform: PlatformConfig, transfer: Transfer = "auto") -> None:
        self.platform = platform
        self.transfer_request = transfer
        self.version = R.SDHCI_SPEC_100
        self.caps = 0
        self.caps1 = 0
        self.flags = 0
        self.quirks_acmd12 = platform.quirk_multiblock_read_acmd12
        self.max_clk = 0
        self.timeout_clk = 0        # kHz, as host->timeout_clk
        self.clock = 0              # host->clock: the SD clock last requested by set_ios
        self.actual_clock = 0       # mmc->actual_clock
        self.timing = 0             # host->timing
        self.ier = 0
        self.pwr = 0
        self.sdma_boundary = R.SDHCI_DEFAULT_BOUNDARY_ARG
        self.cmd: MmcCommand | None = None
        self.data_cmd: MmcCommand | None = None
        self.data: MmcData | None = None
        self.data_early = False
        self.pending_reset = False
        self.mrq: MmcRequest | None = None
        self.mrq_done = False
        self.blocks = 0
        self.pio_offset = 0
        self.pio_buf = b""          # sg_miter over a write's buffer (zero-padded past its end)
        self.log = HostLog()
        self.mmc = MmcHost(
            ops=MmcHostOps(request=self.sdhci_request, req_cleanup_pending=self.req_cleanup_pending,
                           req_completion_poll=self.req_completion_poll),
            runtime_pm_active=platform.runtime_pm_active,
        )

    # --- snapshots -------------------------------------------------------------
    def snapshot(self) -> FrozenState:
        """struct sdhci_host and struct mmc_host as they are now (the platform description stays shared)."""
        return copy_state(self, (self.platform,))

    def restore(self, snapshot: FrozenState) -> None:
        """Back to what snapshot() saw; the host operations stay bound to this host."""
        restore_state(self, snapshot)

    # --- what the host ended up using -------------------------------------
    @property
    def transfer(self) -> str:
        """'adma2', 'sdma' or 'pio': how data moves with the flags sdhci_setup_host chose."""
        return transfer_name(self.flags)

    @property
    def bus_width(self) -> int:
        """The data bus width (bits) last set through set_ios."""
        return self.mmc.ios.bus_width

    @property
    def ddr(self) -> bool:
        """Whether DDR52 timing is set on the host."""
        return self.timing == MMC_TIMING_MMC_DDR52

    @property
    def can_do_8bit(self) -> bool:
        """8-bit Support for Embedded Device (Capabilities bit 18)."""
        return bool(self.caps & R.SDHCI_CAN_DO_8BIT)

    @property
    def can_do_hispd(self) -> bool:
        """High Speed Support: sdhci sets MMC_CAP_MMC_HIGHSPEED from it."""
        return bool(self.caps & R.SDHCI_CAN_DO_HISPD)

    @property
    def can_do_ddr50(self) -> bool:
        """DDR50 in Capabilities 0x44 (v3.00+): the host can clock data on both edges."""
        return bool(self.caps1 & R.SDHCI_SUPPORT_DDR50)

    # --- setup and reset --------------------------------------------------
    def sdhci_setup_host(self) -> DriverGen:
        """Port of sdhci_setup_host(), __sdhci_read_caps() included: reset, capabilities, DMA, clocks, limits."""
        # __sdhci_read_caps(): sdhci_do_reset(host, SDHCI_RESET_ALL) before reading anything.
        yield from self.sdhci_reset(R.SDHCI_RESET_ALL)
        version = yield Read(R.SDHCI_HOST_VERSION, 16)
        self.version = (version & R.SDHCI_SPEC_VER_MASK) >> R.SDHCI_SPEC_VER_SHIFT
        self.caps = yield Read(R.SDHCI_CAPABILITIES, 32)
        if self.version >= R.SDHCI_SPEC_300:
            self.caps1 = yield Read(R.SDHCI_CAPABILITIES_1, 32)
        flags = sdhci_dma_flags(self.version, self.caps, self.transfer_request,
                                self.platform.quirk_broken_64bit_dma)
        if self.transfer_request == "sdma" and not flags & SDHCI_USE_SDMA:
            raise HostSetupError("transfer 'sdma' requested but the host cannot use SDMA (no capability, "
                                 "or 64-bit DMA without v4 mode)")
        if self.transfer_request == "adma2" and not flags & SDHCI_USE_ADMA:
            raise HostSetupError("transfer 'adma2' requested but the controller has no ADMA2 (or is v1.00)")
        base_mask = R.SDHCI_CLOCK_V3_BASE_MASK if self.version >= R.SDHCI_SPEC_300 else R.SDHCI_CLOCK_BASE_MASK
        self.max_clk = ((self.caps & base_mask) >> R.SDHCI_CLOCK_BASE_SHIFT) * 1_000_000
        if self.max_clk == 0:
            raise HostSetupError("Hardware doesn't specify base clock frequency (Capabilities bits 15:8 are 0)")
        self.mmc.f_max = self.max_clk                           # no programmable clock (Clock Multiplier 0)
        self.timeout_clk = (self.caps & R.SDHCI_TIMEOUT_CLK_MASK) >> R.SDHCI_TIMEOUT_CLK_SHIFT
        if self.caps & R.SDHCI_TIMEOUT_CLK_UNIT:
            self.timeout_clk *= 1000
        if self.timeout_clk == 0:
            raise HostSetupError("Hardware doesn't specify timeout clock frequency (Capabilities bits 5:0 are 0)")
        self.mmc.max_busy_timeout = (1 << 27) // self.timeout_clk
        if self.quirks_acmd12:
            flags |= SDHCI_AUTO_CMD12
        if self.version >= R.SDHCI_SPEC_300 and (flags & SDHCI_USE_ADMA or not flags & SDHCI_USE_SDMA):
            flags |= SDHCI_AUTO_CMD23
        self.flags = flags
        # max_current_caps only feeds mmc->max_current_* (power class); the read is what counts here.
        yield Read(R.SDHCI_MAX_CURRENT, 32)
        if self.ocr_avail == 0:
            raise HostSetupError("Hardware doesn't report any support voltages (Capabilities bits 26:24 are 0)")
        self.mmc.max_req_size = 524288
        if flags & SDHCI_USE_SDMA and not flags & SDHCI_USE_ADMA:
            # max_segs == 1: sdhci_allocate_bounce_buffer() limits a request to its 64 KiB
            # (the emulated bounce buffer is platform.dma_buffer_addr).
            self.mmc.max_req_size = SDHCI_BOUNCE_SIZE
        blk = (self.caps & R.SDHCI_MAX_BLOCK_MASK) >> R.SDHCI_MAX_BLOCK_SHIFT
        self.mmc.max_blk_size = 512 << (blk if blk < 3 else 0)
        self.mmc.max_blk_count = 65535

    def sdhci_reset(self, mask: int) -> DriverGen:
        """Port of sdhci_reset(): set the reset bits, wait up to 100 ms (udelay 10) for them to clear."""
        yield Write(R.SDHCI_SOFTWARE_RESET, 8, mask)
        if mask & R.SDHCI_RESET_ALL:
            self.clock = 0
        result = yield Poll(R.SDHCI_SOFTWARE_RESET, 8, mask, 0, interval_ns=10_000, timeout_ns=100_000_000)
        if result.timed_out:
            yield from self.sdhci_dumpregs(f"Reset 0x{mask:x} never completed")

    def sdhci_init(self, soft: bool = False) -> DriverGen:
        """Port of sdhci_init(): reset, then sdhci_set_default_irqs()."""
        yield from self.sdhci_reset(R.SDHCI_RESET_CMD | R.SDHCI_RESET_DATA if soft else R.SDHCI_RESET_ALL)
        self.ier = (R.SDHCI_INT_BUS_POWER | R.SDHCI_INT_DATA_END_BIT | R.SDHCI_INT_DATA_CRC
                    | R.SDHCI_INT_DATA_TIMEOUT | R.SDHCI_INT_INDEX | R.SDHCI_INT_END_BIT
                    | R.SDHCI_INT_CRC | R.SDHCI_INT_TIMEOUT | R.SDHCI_INT_DATA_END | R.SDHCI_INT_RESPONSE)
        yield Write(R.SDHCI_INT_ENABLE, 32, self.ier)
        yield Write(R.SDHCI_SIGNAL_ENABLE, 32, 0)

    def sdhci_dumpregs(self, reason: str) -> DriverGen:
        """Port of sdhci_dumpregs() after the pr_err() naming ``reason``: every register read once, for the log."""
        self.log.errors.append(reason)
        for offset, width in SDHCI_DUMPREGS:
            yield Read(offset, width)
        if self.flags & SDHCI_USE_ADMA:
            yield Read(R.SDHCI_ADMA_ERROR, 32)
            if self.flags & SDHCI_USE_64_BIT_DMA:
                yield Read(R.SDHCI_ADMA_ADDRESS_HI, 32)
            yield Read(R.SDHCI_ADMA_ADDRESS, 32)

    # --- power, clock, bus: sdhci_set_ios and its pieces -------------------
    @property
    def ocr_avail(self) -> int:
        """mmc->ocr_avail from the voltage capabilities (sdhci_setup_host)."""
        ocr = 0
        if self.caps & R.SDHCI_CAN_VDD_330:
            ocr |= MMC_VDD_32_33 | MMC_VDD_33_34
        if self.caps & R.SDHCI_CAN_VDD_300:
            ocr |= MMC_VDD_29_30 | MMC_VDD_30_31
        if self.caps & R.SDHCI_CAN_VDD_180:
            ocr |= MMC_VDD_165_195
        return ocr

    def sdhci_set_power(self, mode: int, vdd: int) -> DriverGen:
        """Port of sdhci_set_power_noreg(): Power Control from the OCR bit number, cleared before a new value."""
        pwr = sdhci_get_vdd_value(vdd) if mode != MMC_POWER_OFF else 0
        if pwr == self.pwr:
            return
        self.pwr = pwr
        yield Write(R.SDHCI_POWER_CONTROL, 8, 0)
        if pwr:
            yield Write(R.SDHCI_POWER_CONTROL, 8, pwr | R.SDHCI_POWER_ON)

    def sdhci_set_clock(self, clock: int) -> DriverGen:
        """Port of sdhci_set_clock() (v5.10): stop the clock, then divide and enable unless 0."""
        self.actual_clock = 0
        yield Write(R.SDHCI_CLOCK_CONTROL, 16, 0)
        if clock == 0:
            return
        clk, self.actual_clock = sdhci_calc_clk(self.version, self.max_clk, clock)
        yield from self.sdhci_enable_clk(clk)

    def sdhci_enable_clk(self, clk: int) -> DriverGen:
        """Port of sdhci_enable_clk(): Internal Clock Enable, wait up to 150 ms (udelay 10), then SD Clock Enable.

        The last write is the value read back (Internal Clock Stable included) | SD Clock Enable.
        """
        clk |= R.SDHCI_CLOCK_INT_EN
        yield Write(R.SDHCI_CLOCK_CONTROL, 16, clk)
        result = yield Poll(R.SDHCI_CLOCK_CONTROL, 16, R.SDHCI_CLOCK_INT_STABLE, R.SDHCI_CLOCK_INT_STABLE,
                            interval_ns=10_000, timeout_ns=150_000_000)
        if result.timed_out:
            yield from self.sdhci_dumpregs("Internal clock never stabilised")
            return
        yield Write(R.SDHCI_CLOCK_CONTROL, 16, result.value | R.SDHCI_CLOCK_CARD_EN)

    def sdhci_set_bus_width(self, width: int) -> DriverGen:
        """Port of sdhci_set_bus_width(): 8-bit, 4-bit or 1-bit in Host Control 1.

        The board's MMC_CAP_8_BIT_DATA is taken as the controller's 8-bit
        capability (mmc_init never asks for 8 bits without it).
        """
        ctrl = yield Read(R.SDHCI_HOST_CONTROL, 8)
        if width == 8:
            ctrl &= ~R.SDHCI_CTRL_4BITBUS
            ctrl |= R.SDHCI_CTRL_8BITBUS
        else:
            if self.can_do_8bit:
                ctrl &= ~R.SDHCI_CTRL_8BITBUS
            if width == 4:
                ctrl |= R.SDHCI_CTRL_4BITBUS
            else:
                ctrl &= ~R.SDHCI_CTRL_4BITBUS
        yield Write(R.SDHCI_HOST_CONTROL, 8, ctrl)

    def sdhci_set_uhs_signaling(self, timing: int) -> DriverGen:
        """Port of sdhci_set_uhs_signaling(): UHS Mode Select, DDR50 for MMC DDR52, else SDR12 (0)."""
        ctrl2 = yield Read(R.SDHCI_HOST_CONTROL2, 16)
        ctrl2 &= ~R.SDHCI_CTRL_UHS_MASK
        if timing == MMC_TIMING_MMC_DDR52:
            ctrl2 |= R.SDHCI_CTRL_UHS_DDR50
        yield Write(R.SDHCI_HOST_CONTROL2, 16, ctrl2)

    def sdhci_set_ios(self) -> DriverGen:
        """Port of sdhci_set_ios() (v5.10) for self.mmc.ios, as mmc_set_ios() calls it.

        Clock if changed, power, bus width, High Speed Enable; on a v3.00+
        host also driver type B in Host Control 2, SD clock off, UHS Mode
        Select, and the clock set again (every call restarts it). Preset
        values stay disabled (SDHCI_QUIRK2_PRESET_VALUE_BROKEN).
        """
        ios = self.mmc.ios
        if not ios.clock or ios.clock != self.clock:
            yield from self.sdhci_set_clock(ios.clock)
            self.clock = ios.clock
        yield from self.sdhci_set_power(ios.power_mode, ios.vdd)
        yield from self.sdhci_set_bus_width(ios.bus_width)
        ctrl = yield Read(R.SDHCI_HOST_CONTROL, 8)
        if ios.timing in (MMC_TIMING_MMC_HS, MMC_TIMING_MMC_DDR52):
            ctrl |= R.SDHCI_CTRL_HISPD
        else:
            ctrl &= ~R.SDHCI_CTRL_HISPD
        yield Write(R.SDHCI_HOST_CONTROL, 8, ctrl)
        if self.version < R.SDHCI_SPEC_300:
            return
        ctrl2 = yield Read(R.SDHCI_HOST_CONTROL2, 16)
        yield Write(R.SDHCI_HOST_CONTROL2, 16, ctrl2 & ~R.SDHCI_CTRL_DRV_TYPE_MASK)   # | SDHCI_CTRL_DRV_TYPE_B (0)
        clk = yield Read(R.SDHCI_CLOCK_CONTROL, 16)
        yield Write(R.SDHCI_CLOCK_CONTROL, 16, clk & ~R.SDHCI_CLOCK_CARD_EN)
        yield from self.sdhci_set_uhs_signaling(ios.timing)
        self.timing = ios.timing
        yield from self.sdhci_set_clock(self.clock)

    def sdhci_start_signal_voltage_switch_330(self) -> DriverGen:
        """Port of sdhci_start_signal_voltage_switch() for MMC_SIGNAL_VOLTAGE_330 (mmc_power_up's initial one).

        v3.00+: clear 1.8V Signaling Enable, wait 5 ms (usleep_range(5000, 5500)), read it back.
        """
        if self.version < R.SDHCI_SPEC_300:
            return
        ctrl2 = yield Read(R.SDHCI_HOST_CONTROL2, 16)
        yield Write(R.SDHCI_HOST_CONTROL2, 16, ctrl2 & ~R.SDHCI_CTRL_VDD_180)
        yield Delay(5_000_000)
        ctrl2 = yield Read(R.SDHCI_HOST_CONTROL2, 16)
        if ctrl2 & R.SDHCI_CTRL_VDD_180:
            self.log.errors.append("3.3V regulator output did not become stable")

    # --- sending a command --------------------------------------------------
    @staticmethod
    def sdhci_data_line_cmd(cmd: MmcCommand) -> bool:
        return cmd.data is not None or bool(cmd.flags & MMC_RSP_BUSY)

    def sdhci_auto_cmd12(self, mrq: MmcRequest) -> bool:
        return mrq.sbc is None and bool(self.flags & SDHCI_AUTO_CMD12)

    def sdhci_auto_cmd23(self, mrq: MmcRequest) -> bool:
        return mrq.sbc is not None and bool(self.flags & SDHCI_AUTO_CMD23)

    def sdhci_send_command(self, cmd: MmcCommand) -> DriverGen:
        """Port of sdhci_send_command() (the v5.10 shape: inhibit wait of 10 x mdelay(1)).

        Returns False when the inhibit bits never cleared (cmd.error = -EIO, request finished).
        """
        cmd.error = 0
        mask = R.SDHCI_CMD_INHIBIT
        if self.sdhci_data_line_cmd(cmd):
            mask |= R.SDHCI_DATA_INHIBIT
        mrq = cmd.mrq
        if mrq is not None and mrq.data is not None and cmd is mrq.data.stop:
            mask &= ~R.SDHCI_DATA_INHIBIT
        # while (readl(PRESENT_STATE) & mask) { if (!timeout) fail; timeout--; mdelay(1); }: 11 reads over 10 ms.
        result = yield Poll(R.SDHCI_PRESENT_STATE, 32, mask, 0, interval_ns=1_000_000, timeout_ns=10_000_000)
        if result.timed_out:
            yield from self.sdhci_dumpregs(f"Controller never released inhibit bit(s) for CMD{cmd.opcode}")
            cmd.error = -EIO
            self.sdhci_finish_mrq(mrq)
            return False
        self.cmd = cmd
        if self.sdhci_data_line_cmd(cmd):
            self.data_cmd = cmd
            yield from self.sdhci_set_timeout(cmd)
        if cmd.data is not None:
            yield from self.sdhci_prepare_data(cmd)
        yield Write(R.SDHCI_ARGUMENT, 32, cmd.arg)
        yield from self.sdhci_set_transfer_mode(cmd)
        if not cmd.flags & MMC_RSP_PRESENT:
            flags = R.SDHCI_CMD_RESP_NONE
        elif cmd.flags & MMC_RSP_136:
            flags = R.SDHCI_CMD_RESP_LONG
        elif cmd.flags & MMC_RSP_BUSY:
            flags = R.SDHCI_CMD_RESP_SHORT_BUSY
        else:
            flags = R.SDHCI_CMD_RESP_SHORT
        if cmd.flags & MMC_RSP_CRC:
            flags |= R.SDHCI_CMD_CRC
        if cmd.flags & MMC_RSP_OPCODE:
            flags |= R.SDHCI_CMD_INDEX
        if cmd.data is not None:
            flags |= R.SDHCI_CMD_DATA
        yield Write(R.SDHCI_COMMAND, 16, R.SDHCI_MAKE_CMD(cmd.opcode, flags))
        return True

    def sdhci_set_timeout(self, cmd: MmcCommand) -> DriverGen:
        """Port of __sdhci_set_timeout(): program Timeout Control from sdhci_calc_timeout()."""
        count, _too_big = sdhci_calc_timeout(self.timeout_clk, self.clock, cmd)
        self.log.timeout_control.append(count)
        yield Write(R.SDHCI_TIMEOUT_CONTROL, 8, count)

    def sdhci_prepare_data(self, cmd: MmcCommand) -> DriverGen:
        """Port of sdhci_prepare_data(): sdhci_initialize_data, sdhci_prepare_dma, sdhci_set_block_info.

        DMA: the buffer is at platform.dma_buffer_addr (for SDMA it stands for
        the bounce buffer the write is copied into); ADMA2 gets its table at
        platform.adma_table_addr. A write's scatterlist may reach past the
        caller's buffer (mmcpstore's sg_init_one): those bytes read as zeros.
        """
        data = cmd.data
        assert data is not None
        self.data = data
        self.data_early = False
        data.bytes_xfered = 0
        length = data.blksz * data.blocks
        if self.flags & (SDHCI_USE_SDMA | SDHCI_USE_ADMA):
            self.flags |= SDHCI_REQ_USE_DMA
        yield from self.sdhci_config_dma()
        if not data.flags & MMC_DATA_READ:
            self.pio_buf = bytes(data.buf[:length]).ljust(length, b"\0")
        if self.flags & SDHCI_REQ_USE_DMA:
            buffer_addr = self.platform.dma_buffer_addr
            if not data.flags & MMC_DATA_READ:
                yield MemWrite(buffer_addr, self.pio_buf)
            if self.flags & SDHCI_USE_ADMA:
                desc_sz = SDHCI_ADMA2_64_DESC_SZ if self.flags & SDHCI_USE_64_BIT_DMA else R.SDHCI_ADMA2_32_DESC_SZ
                yield MemWrite(self.platform.adma_table_addr, sdhci_adma_table(buffer_addr, length, desc_sz))
                # sdhci_set_adma_addr()
                yield Write(R.SDHCI_ADMA_ADDRESS, 32, self.platform.adma_table_addr & U32_MAX)
                if self.flags & SDHCI_USE_64_BIT_DMA:
                    yield Write(R.SDHCI_ADMA_ADDRESS_HI, 32, self.platform.adma_table_addr >> 32)
            else:
                yield Write(R.SDHCI_DMA_ADDRESS, 32, buffer_addr)
        else:
            self.blocks = data.blocks
            self.pio_offset = 0
        yield from self.sdhci_set_transfer_irqs()
        yield Write(R.SDHCI_BLOCK_SIZE, 16, R.SDHCI_MAKE_BLKSZ(self.sdma_boundary, data.blksz))
        yield Write(R.SDHCI_BLOCK_COUNT, 16, data.blocks)

    def sdhci_config_dma(self) -> DriverGen:
        """Port of sdhci_config_dma(): DMA Select in Host Control 1 (v2.00 and later only).

        SDMA is select 0; ADMA2 is ADMA32, or ADMA64 with 64-bit DMA (no v4 mode).
        """
        if self.version < R.SDHCI_SPEC_200:
            return
        ctrl = yield Read(R.SDHCI_HOST_CONTROL, 8)
        ctrl &= ~R.SDHCI_CTRL_DMA_MASK
        if self.flags & SDHCI_REQ_USE_DMA and self.flags & SDHCI_USE_ADMA:
            ctrl |= R.SDHCI_CTRL_ADMA64 if self.flags & SDHCI_USE_64_BIT_DMA else R.SDHCI_CTRL_ADMA32
        yield Write(R.SDHCI_HOST_CONTROL, 8, ctrl)

    def sdhci_set_transfer_irqs(self) -> DriverGen:
        """Port of sdhci_set_transfer_irqs(): PIO or DMA status bits, Auto CMD error."""
        pio_irqs = R.SDHCI_INT_DATA_AVAIL | R.SDHCI_INT_SPACE_AVAIL
        dma_irqs = R.SDHCI_INT_DMA_END | R.SDHCI_INT_ADMA_ERROR
        if self.flags & SDHCI_REQ_USE_DMA:
            self.ier = (self.ier & ~pio_irqs) | dma_irqs
        else:
            self.ier = (self.ier & ~dma_irqs) | pio_irqs
        if self.flags & (SDHCI_AUTO_CMD23 | SDHCI_AUTO_CMD12):
            self.ier |= R.SDHCI_INT_AUTO_CMD_ERR
        else:
            self.ier &= ~R.SDHCI_INT_AUTO_CMD_ERR
        yield Write(R.SDHCI_INT_ENABLE, 32, self.ier)
        yield Write(R.SDHCI_SIGNAL_ENABLE, 32, 0)

    def sdhci_set_transfer_mode(self, cmd: MmcCommand) -> DriverGen:
        """Port of sdhci_set_transfer_mode() with sdhci_auto_cmd_select() (v3 register layout)."""
        data = cmd.data
        if data is None:
            mode = yield Read(R.SDHCI_TRANSFER_MODE, 16)
            yield Write(R.SDHCI_TRANSFER_MODE, 16, mode & ~(R.SDHCI_TRNS_AUTO_CMD12 | R.SDHCI_TRNS_AUTO_CMD23))
            return
        mode = R.SDHCI_TRNS_BLK_CNT_EN
        mrq = cmd.mrq
        if cmd.opcode in (18, 25) or data.blocks > 1:      # mmc_op_multi()
            mode = R.SDHCI_TRNS_BLK_CNT_EN | R.SDHCI_TRNS_MULTI
            if mrq is not None:
                if self.sdhci_auto_cmd12(mrq):
                    mode |= R.SDHCI_TRNS_AUTO_CMD12
                elif self.sdhci_auto_cmd23(mrq):
                    mode |= R.SDHCI_TRNS_AUTO_CMD23
                if self.sdhci_auto_cmd23(mrq) and mrq.sbc is not None:
                    yield Write(R.SDHCI_ARGUMENT2, 32, mrq.sbc.arg)
        if data.flags & MMC_DATA_READ:
            mode |= R.SDHCI_TRNS_READ
        if self.flags & SDHCI_REQ_USE_DMA:
            mode |= R.SDHCI_TRNS_DMA
        yield Write(R.SDHCI_TRANSFER_MODE, 16, mode)

    def sdhci_request(self, mrq: MmcRequest) -> DriverGen:
        """Port of sdhci_request() for a non-removable card: send CMD23 first only if not automatic."""
        self.mrq = mrq
        self.mrq_done = False
        cmd = mrq.sbc if (mrq.sbc is not None and not self.flags & SDHCI_AUTO_CMD23) else mrq.cmd
        assert cmd is not None
        yield from self.sdhci_send_command(cmd)

    # --- completion, as sdhci_irq() would run it ---------------------------
    def sdhci_irq(self, intmask: int) -> DriverGen:
        """One pass of sdhci_irq(): acknowledge, then the command and data handlers."""
        ack = intmask & (R.SDHCI_INT_CMD_MASK | R.SDHCI_INT_DATA_MASK | R.SDHCI_INT_BUS_POWER)
        yield Write(R.SDHCI_INT_STATUS, 32, ack)
        if intmask & R.SDHCI_INT_CMD_MASK:
            extra = yield from self.sdhci_cmd_irq(intmask & R.SDHCI_INT_CMD_MASK)
            intmask |= extra
        if intmask & R.SDHCI_INT_DATA_MASK:
            yield from self.sdhci_data_irq(intmask & R.SDHCI_INT_DATA_MASK)

    def sdhci_cmd_irq(self, intmask: int) -> DriverGen:
        """Port of sdhci_cmd_irq(); returns the data-error bits it adds to the pending mask."""
        if intmask & R.SDHCI_INT_AUTO_CMD_ERR and self.data_cmd is not None and self.data_cmd.mrq is not None:
            status = yield Read(R.SDHCI_AUTO_CMD_STATUS, 16)
            bit = R.SDHCI_INT_DATA_TIMEOUT if status & R.SDHCI_AUTO_CMD_TIMEOUT else R.SDHCI_INT_DATA_CRC
            if self.data_cmd.mrq.sbc is None and self.flags & SDHCI_AUTO_CMD12:
                self.log.errors.append(f"Auto CMD12 error, Auto CMD Error Status 0x{status:x}")
                return bit
        cmd = self.cmd
        if cmd is None:
            if not self.pending_reset:
                yield from self.sdhci_dumpregs(f"Got command interrupt 0x{intmask:08x} even though no command "
                                               "operation was in progress")
            return 0
        if intmask & (R.SDHCI_INT_TIMEOUT | R.SDHCI_INT_CRC | R.SDHCI_INT_END_BIT | R.SDHCI_INT_INDEX):
            cmd.error = -ETIMEDOUT if intmask & R.SDHCI_INT_TIMEOUT else -EILSEQ
            self.log.errors.append(f"CMD{cmd.opcode} error {cmd.error} (status 0x{intmask:08x})")
            if cmd.data is not None and (intmask & (R.SDHCI_INT_CRC | R.SDHCI_INT_TIMEOUT)) == R.SDHCI_INT_CRC:
                self.cmd = None
                return R.SDHCI_INT_DATA_CRC
            self.sdhci_finish_mrq(cmd.mrq)
            return 0
        if intmask & R.SDHCI_INT_AUTO_CMD_ERR:                # auto-CMD23 error
            status = yield Read(R.SDHCI_AUTO_CMD_STATUS, 16)
            if cmd.mrq is not None and self.sdhci_auto_cmd23(cmd.mrq):
                assert cmd.mrq.sbc is not None
                cmd.mrq.sbc.error = -ETIMEDOUT if status & R.SDHCI_AUTO_CMD_TIMEOUT else -EILSEQ
                self.sdhci_finish_mrq(cmd.mrq)
                return 0
        if intmask & R.SDHCI_INT_RESPONSE:
            yield from self.sdhci_finish_command()
        return 0

    def sdhci_finish_command(self) -> DriverGen:
        """Port of sdhci_finish_command(): read the response; an R1b without data waits for busy end."""
        cmd = self.cmd
        assert cmd is not None
        self.cmd = None
        if cmd.flags & MMC_RSP_PRESENT:
            if cmd.flags & MMC_RSP_136:
                words = []
                for i in range(4):
                    word = yield Read(R.SDHCI_RESPONSE + (3 - i) * 4, 32)
                    words.append(word)
                # sdhci_read_rsp_136(): the CRC byte is stripped, shift everything up by 8.
                cmd.resp = [((words[i] << 8) | (words[i + 1] >> 24 if i < 3 else 0)) & U32_MAX for i in range(4)]
            else:
                cmd.resp[0] = yield Read(R.SDHCI_RESPONSE, 32)
        if cmd.flags & MMC_RSP_BUSY and cmd.data is None and cmd is self.data_cmd:
            return
        mrq = cmd.mrq
        if mrq is not None and cmd is mrq.sbc:
            assert mrq.cmd is not None
            yield from self.sdhci_send_command(mrq.cmd)
            return
        if self.data is not None and self.data_early:
            yield from self.sdhci_finish_data()
        if cmd.data is None:
            self.sdhci_finish_mrq(mrq)

    def sdhci_data_irq(self, intmask: int) -> DriverGen:
        """Port of sdhci_data_irq(): busy end, errors, PIO, SDMA boundary, transfer complete."""
        if intmask & R.SDHCI_INT_DATA_AVAIL:
            # v5.10: "CMD19 generates _only_ Buffer Read Ready interrupt": the Command register is read on
            # every Buffer Read Ready to look for a tuning command (never one here).
            yield Read(R.SDHCI_COMMAND, 16)
        data = self.data
        if data is None:
            data_cmd = self.data_cmd
            if data_cmd is not None and data_cmd.flags & MMC_RSP_BUSY:
                if intmask & R.SDHCI_INT_DATA_TIMEOUT:
                    self.data_cmd = None
                    data_cmd.error = -ETIMEDOUT
                    self.log.errors.append(f"CMD{data_cmd.opcode} busy timeout")
                    self.sdhci_finish_mrq(data_cmd.mrq)
                    return
                if intmask & R.SDHCI_INT_DATA_END:
                    self.data_cmd = None
                    if self.cmd is data_cmd:
                        return
                    self.sdhci_finish_mrq(data_cmd.mrq)
                    return
            if not self.pending_reset:
                yield from self.sdhci_dumpregs(f"Got data interrupt 0x{intmask:08x} even though no data operation "
                                               "was in progress")
            return
        if intmask & R.SDHCI_INT_DATA_TIMEOUT:
            data.error = -ETIMEDOUT
        elif intmask & R.SDHCI_INT_DATA_END_BIT:
            data.error = -EILSEQ
        elif intmask & R.SDHCI_INT_DATA_CRC and R.SDHCI_GET_CMD((yield Read(R.SDHCI_COMMAND, 16))) != MMC_BUS_TEST_R:
            data.error = -EILSEQ
        elif intmask & R.SDHCI_INT_ADMA_ERROR:
            yield from self.sdhci_dumpregs(f"ADMA error: 0x{intmask:08x}")   # sdhci_adma_show_error()
            data.error = -EIO
        if data.error:
            self.log.errors.append(f"data error {data.error} (status 0x{intmask:08x})")
            yield from self.sdhci_finish_data()
            return
        if intmask & (R.SDHCI_INT_DATA_AVAIL | R.SDHCI_INT_SPACE_AVAIL):
            yield from self.sdhci_transfer_pio()
        if intmask & R.SDHCI_INT_DMA_END:
            start = self.platform.dma_buffer_addr
            now = start + data.bytes_xfered
            now = (now & ~(R.SDHCI_DEFAULT_BOUNDARY_SIZE - 1)) + R.SDHCI_DEFAULT_BOUNDARY_SIZE
            data.bytes_xfered = now - start
            yield Write(R.SDHCI_DMA_ADDRESS, 32, now)
        if intmask & R.SDHCI_INT_DATA_END:
            if self.cmd is not None and self.cmd is self.data_cmd:
                self.data_early = True
            else:
                yield from self.sdhci_finish_data()

    def sdhci_transfer_pio(self) -> DriverGen:
        """Port of sdhci_transfer_pio(): whole blocks while Buffer Read/Write Enable is set in Present State.

        The words are the little-endian packing of sdhci_read_block_pio() /
        sdhci_write_block_pio(), done in one burst per block.
        """
        data = self.data
        assert data is not None
        if self.blocks == 0:
            return
        read = bool(data.flags & MMC_DATA_READ)
        mask = R.SDHCI_DATA_AVAILABLE if read else R.SDHCI_SPACE_AVAILABLE
        while True:
            present = yield Read(R.SDHCI_PRESENT_STATE, 32)
            if not present & mask:
                break
            words = data.blksz // 4
            if read:
                got = yield ReadBurst(R.SDHCI_BUFFER, words)
                assert isinstance(data.buf, bytearray)
                data.buf[self.pio_offset:self.pio_offset + data.blksz] = struct.pack(f"<{len(got)}I", *got)
            else:
                block = self.pio_buf[self.pio_offset:self.pio_offset + data.blksz]
                # sdhci_write_block_pio(): byte i of each 4 goes to bits 8i..8i+7 of the word
                # (little-endian; a last partial word is zero-filled).
                block += bytes(-len(block) % 4)
                yield WriteBurst(R.SDHCI_BUFFER, struct.unpack(f"<{len(block) // 4}I", block))
            self.pio_offset += data.blksz
            self.blocks -= 1
            if self.blocks == 0:
                break

    def sdhci_finish_data(self) -> DriverGen:
        """Port of __sdhci_finish_data(): reset on error, then CMD12 by hand or finish the request.

        The stop is sent when data.stop is set and Auto CMD12 is not in use,
        or after any data error, exactly as sdhci.c decides.
        """
        data, data_cmd = self.data, self.data_cmd
        assert data is not None
        self.data = None
        self.data_cmd = None
        if data.error:
            if self.cmd is None or self.cmd is data_cmd:
                yield from self.sdhci_reset(R.SDHCI_RESET_CMD)
            yield from self.sdhci_reset(R.SDHCI_RESET_DATA)
            data.bytes_xfered = 0
        elif self.flags & SDHCI_REQ_USE_DMA and data.flags & MMC_DATA_READ:
            data.buf[:] = (yield MemRead(self.platform.dma_buffer_addr, data.blksz * data.blocks))
            data.bytes_xfered = data.blksz * data.blocks
        else:
            data.bytes_xfered = data.blksz * data.blocks
        mrq = data.mrq
        if data.stop is not None and mrq is not None and ((mrq.sbc is None and not self.sdhci_auto_cmd12(mrq))
                                                          or data.error):
            self.cmd = None
            yield from self.sdhci_send_command(data.stop)
        else:
            self.sdhci_finish_mrq(mrq)

    def sdhci_finish_mrq(self, mrq: MmcRequest | None) -> None:
        """Port of __sdhci_finish_mrq(): forget the request's commands, mark it done."""
        if self.cmd is not None and self.cmd.mrq is mrq:
            self.cmd = None
        if self.data_cmd is not None and self.data_cmd.mrq is mrq:
            self.data_cmd = None
        if self.data is not None and self.data.mrq is mrq:
            self.data = None
        if mrq is not None and self.sdhci_needs_reset(mrq):
            self.pending_reset = True
        self.mrq_done = True

    @staticmethod
    def sdhci_needs_reset(mrq: MmcRequest) -> bool:
        return bool((mrq.cmd is not None and mrq.cmd.error) or (mrq.sbc is not None and mrq.sbc.error)
                    or (mrq.data is not None and mrq.data.stop is not None and mrq.data.stop.error))

    def sdhci_request_done(self) -> DriverGen:
        """Port of sdhci_request_done(): reset CMD and DAT after an error, end the request."""
        if self.pending_reset:
            yield from self.sdhci_reset(R.SDHCI_RESET_CMD)
            yield from self.sdhci_reset(R.SDHCI_RESET_DATA)
            self.pending_reset = False
        self.mrq = None

    @staticmethod
    def _request_error(mrq: MmcRequest) -> int:
        """The first of sbc, cmd, data, stop errors: what the callers of mmc_wait_for_req() check."""
        stop = mrq.data.stop if mrq.data is not None and mrq.stop is not None else None
        for part in (mrq.sbc, mrq.cmd, mrq.data, stop):
            if part is not None and part.error:
                return part.error
        return 0

    def _complete(self, deadline_ps: int) -> DriverGen:
        """Service status bits until the request is done or ``deadline_ps``; -ETIMEDOUT on expiry."""
        while not self.mrq_done:
            now = yield Now()
            result = yield Poll(R.SDHCI_INT_STATUS, 32, self.ier, 0, interval_ns=self.platform.poll_interval_ns,
                                timeout_ns=max(0, deadline_ps - now) // 1000, negate=True)
            if result.timed_out:
                return -ETIMEDOUT
            yield from self.sdhci_irq(result.value & self.ier)
        mrq = self.mrq
        yield from self.sdhci_request_done()
        return self._request_error(mrq) if mrq is not None else 0

    # --- the two mmcpstore host operations ----------------------------------
    def req_cleanup_pending(self) -> DriverGen:
        """mmc_host_ops.req_cleanup_pending for SDHCI: stop whatever was running, clear status, mask signals.

        Software-resets the CMD line if Command Inhibit (CMD) is set and the
        DAT line if Command Inhibit (DAT) is set, then clears every status bit.
        """
        present = yield Read(R.SDHCI_PRESENT_STATE, 32)
        if present & R.SDHCI_CMD_INHIBIT:
            yield from self.sdhci_reset(R.SDHCI_RESET_CMD)
        if present & R.SDHCI_DATA_INHIBIT:
            yield from self.sdhci_reset(R.SDHCI_RESET_DATA)
        yield Write(R.SDHCI_SIGNAL_ENABLE, 32, 0)
        yield Write(R.SDHCI_INT_STATUS, 32, R.SDHCI_INT_ALL_MASK)
        self.cmd = self.data_cmd = None
        self.data = None
        self.mrq = None
        self.mrq_done = False
        self.pending_reset = False

    def req_completion_poll(self, timeout_ms: int) -> DriverGen:
        """mmc_host_ops.req_completion_poll for SDHCI: poll status, service it, give up after ``timeout_ms``.

        Returns 0, the request's first error, or -ETIMEDOUT. With
        ``timeout_ms == 0`` the status is read once and the request is
        abandoned in flight.
        """
        start = yield Now()
        return (yield from self._complete(start + timeout_ms * 1_000_000_000))

    # --- blocking request for initialisation (mmc_wait_for_req) -------------
    def mmc_wait_for_req(self, mrq: MmcRequest) -> DriverGen:
        """Start ``mrq`` and wait for it as the interrupt-driven kernel would, up to sdhci's software timer.

        The timer is 10 s, or DIV_ROUND_UP(busy_timeout, 1000) + 1 s for a
        command without data whose busy_timeout exceeds 9 s (sdhci_send_command).
        On expiry the request ends with -ETIMEDOUT as sdhci_timeout_timer() /
        sdhci_timeout_data_timer() end it. Returns the request's first error.
        """
        err = mmc_mrq_prep(self.mmc, mrq)
        if err:
            return err
        assert mrq.cmd is not None
        timeout_ms = MMC_REQUEST_TIMEOUT_MS
        if mrq.cmd.data is None and mrq.cmd.busy_timeout > 9000:
            timeout_ms = (-(-mrq.cmd.busy_timeout // 1000) + 1) * 1000
        yield from self.sdhci_request(mrq)
        start = yield Now()
        err = yield from self._complete(start + timeout_ms * 1_000_000_000)
        if err != -ETIMEDOUT or self.mrq_done:
            return err
        yield from self.sdhci_dumpregs("Timeout waiting for hardware interrupt")
        if self.data is not None:
            self.data.error = -ETIMEDOUT
            yield from self.sdhci_finish_data()          # __sdhci_finish_data(host, true): resets, maybe CMD12
        elif self.data_cmd is not None:
            self.data_cmd.error = -ETIMEDOUT
            self.sdhci_finish_mrq(self.data_cmd.mrq)
        elif self.cmd is not None:
            self.cmd.error = -ETIMEDOUT
            self.sdhci_finish_mrq(self.cmd.mrq)
        start = yield Now()
        yield from self._complete(start + MMC_REQUEST_TIMEOUT_MS * 1_000_000_000)   # a CMD12 may still run
        return -ETIMEDOUT

    def delay_ms(self, ms: int) -> DriverGen:
        """mmc_delay(): a sleep in process context (a CPU spin here)."""
        yield Delay(ms * 1_000_000)
