"""Card initialisation as Linux (v5.10) brings up an eMMC on an SDHCI host, before any panic.

Follows drivers/mmc/core/core.c (mmc_power_up, mmc_go_idle, the mmc_set_*
helpers that end in set_ios), mmc_ops.c (mmc_send_op_cond, __mmc_switch,
mmc_poll_for_busy) and mmc.c (mmc_attach_mmc, mmc_init_card,
mmc_select_timing, mmc_select_bus_width, mmc_select_hs_ddr, cache enable)
for a slot described as eMMC-only (device tree no-sd/no-sdio: no SD or SDIO
probing), without HS200/HS400, and with MMC_CAP_WAIT_WHILE_BUSY (set by the
glue driver: sdhci's busy-end interrupt), so a CMD6 whose timeout fits
max_busy_timeout is an R1b followed by CMD13; a longer one is an R1, busy
polled on DAT0 (sdhci_card_busy), then CMD13.

Left out, deliberately: switches that do not touch the panic path
(ERASE_GROUP_DEF, POWER_OFF_NOTIFICATION, HPI_MGMT, power class; they only
lengthen initialisation), mmc_wait_for_cmd() retries (a failed command ends
initialisation here), and the hardware reset of mmc_hw_reset_for_init (no
MMC_CAP_HW_RESET). The board's 8-bit and DDR52 declarations are capped by the
controller's 8-bit and DDR50 capabilities, as a consistent device tree would.
"""
from __future__ import annotations

from dataclasses import dataclass

from sdhci import regmap as R
from sdhci.driver.mmc_core import (
    EBADMSG, EINVAL, ETIMEDOUT, EXT_CSD_BUS_WIDTH, EXT_CSD_BUS_WIDTH_4, EXT_CSD_BUS_WIDTH_8, EXT_CSD_CACHE_CTRL,
    EXT_CSD_CARD_TYPE_DDR_1_8V, EXT_CSD_CMD_SET_NORMAL, EXT_CSD_DDR_BUS_WIDTH_4, EXT_CSD_DDR_BUS_WIDTH_8,
    EXT_CSD_HS_TIMING, EXT_CSD_TIMING_HS, MMC_ALL_SEND_CID, MMC_CARD_BUSY, MMC_CMD_AC, MMC_CMD_ADTC, MMC_CMD_BC,
    MMC_CMD_BCR, MMC_DATA_READ, MMC_GO_IDLE_STATE, MMC_OCR_SECTOR_MODE, MMC_POWER_ON, MMC_POWER_UP, MMC_RSP_NONE,
    MMC_RSP_R1, MMC_RSP_R1B, MMC_RSP_R2, MMC_RSP_R3, MMC_SELECT_CARD, MMC_SEND_CSD, MMC_SEND_EXT_CSD,
    MMC_SEND_OP_COND, MMC_SEND_STATUS, MMC_SET_RELATIVE_ADDR, MMC_SWITCH, MMC_SWITCH_MODE_WRITE_BYTE,
    MMC_TIMING_LEGACY, MMC_TIMING_MMC_DDR52, MMC_TIMING_MMC_HS, R1_SWITCH_ERROR, MmcCard, MmcCommand, MmcData, MmcRequest, mmc_decode_csd, mmc_decode_ext_csd,
    mmc_set_data_timeout, resp_to_int,
)
from sdhci.driver.ops import Delay, DriverGen, Now, Read
from sdhci.driver.sdhci_host import SdhciHost

F_INIT_HZ = 400_000          # freqs[0] of mmc_rescan: the identification clock
POWER_DELAY_MS = 10          # host->ios.power_delay_ms
OP_COND_TRIES = 100          # mmc_send_op_cond(): tries, mmc_delay(10) apart
MMC_RCA = 1                  # mmc_init_card(): card->rca = 1
BLOCKADDR_SECTORS = 2 * 1024 * 1024 * 1024 // 512
MIN_CACHE_EN_TIMEOUT_MS = 1600
EXT_CSD_MAX_REV = 8          # mmc_decode_ext_csd(): "unrecognised EXT_CSD revision" above this
# mmc_compare_ext_csds(): the read-only EXT_CSD bytes compared after a bus width change
# (PARTITION_SUPPORT, ERASED_MEM_CONT, REV, STRUCTURE, CARD_TYPE, PWR_CL_*, SEC_CNT, S_A_TIMEOUT,
# HC_WP_GRP_SIZE, ERASE_TIMEOUT_MULT, HC_ERASE_GRP_SIZE, SEC_TRIM/ERASE_MULT, SEC_FEATURE_SUPPORT,
# TRIM_MULT, PWR_CL_200_*, PWR_CL_DDR_*).
COMPARED_EXT_CSD_BYTES = (160, 181, 192, 194, 196, 200, 201, 202, 203, 212, 213, 214, 215, 217, 221, 223, 224,
                          229, 230, 231, 232, 236, 237, 238, 239, 253)


class CardInitError(Exception):
    """Initialisation failed (one readable line naming the command)."""


@dataclass(frozen=True)
class InitSettings:
    """What the board asks of initialisation: bus width, SD clock, cache, DDR52.

    bus_width: device tree bus-width (8: MMC_CAP_8_BIT_DATA, 4: 4-bit only,
    1: SDHCI_QUIRK_FORCE_1_BIT_DATA). sd_clock_hz: max-frequency (f_max,
    capped at the base clock). ddr: the board declares DDR52 at 3.3 V I/O
    (mmc-ddr-3_3v, MMC_CAP_3_3V_DDR); used when the card (DEVICE_TYPE
    DDR52 at 1.8/3 V) and the host (Capabilities DDR50) support it and the
    bus is 4 or 8 bits wide. enable_cache: false leaves the eMMC cache off
    (as a card quirk would).
    """
    bus_width: int = 8
    sd_clock_hz: int = 52_000_000
    enable_cache: bool = True
    ddr: bool = False


def _wait_for_cmd(host: SdhciHost, opcode: int, arg: int, flags: int, busy_timeout: int = 0) -> DriverGen:
    """mmc_wait_for_cmd() without retries: (error, command)."""
    cmd = MmcCommand(opcode=opcode, arg=arg, flags=flags, busy_timeout=busy_timeout)
    err = yield from host.mmc_wait_for_req(MmcRequest(cmd=cmd))
    return err, cmd


def _cmd(host: SdhciHost, opcode: int, arg: int, flags: int) -> DriverGen:
    """A command whose failure ends initialisation (mmc_init_card's goto free_card); returns it."""
    err, cmd = yield from _wait_for_cmd(host, opcode, arg, flags)
    if err:
        raise CardInitError(f"CMD{opcode} (arg 0x{arg:08x}) failed with {err}")
    return cmd


def _set_ios(host: SdhciHost, **changes: int) -> DriverGen:
    """mmc_set_ios() after mmc_set_clock/_bus_width/_timing/_bus_mode/_chip_select: host->ops->set_ios."""
    for name, value in changes.items():
        setattr(host.mmc.ios, name, value)
    yield from host.sdhci_set_ios()


def _get_ext_csd(host: SdhciHost, card: MmcCard) -> DriverGen:
    """mmc_get_ext_csd(): CMD8 with one 512-byte read block."""
    data = MmcData(blksz=512, blocks=1, flags=MMC_DATA_READ, buf=bytearray(512), sg_len=1)
    mmc_set_data_timeout(data, card)
    cmd = MmcCommand(opcode=MMC_SEND_EXT_CSD, arg=0, flags=MMC_RSP_R1 | MMC_CMD_ADTC, data=data)
    err = yield from host.mmc_wait_for_req(MmcRequest(cmd=cmd, data=data))
    if err:
        raise CardInitError(f"CMD8 (SEND_EXT_CSD) failed with {err}")
    return bytes(data.buf)


def mmc_poll_for_busy(timeout_ms: int) -> DriverGen:
    """mmc_poll_for_busy() with host->ops->card_busy (sdhci_card_busy: DAT[0] low in Present State).

    The check of the deadline comes before the read; usleep_range(udelay,
    2 * udelay) sleeps its minimum, udelay doubling from 32 us to 32768 us.
    """
    deadline = (yield Now()) + timeout_ms * 1_000_000_000
    udelay = 32
    while True:
        expired = (yield Now()) > deadline
        busy = not (yield Read(R.SDHCI_PRESENT_STATE, 32)) & R.SDHCI_DATA_0_LVL_MASK
        if not busy:
            return 0
        if expired:
            return -ETIMEDOUT
        yield Delay(udelay * 1000)
        if udelay < 32768:
            udelay *= 2


def __mmc_switch(host: SdhciHost, card: MmcCard, index: int, value: int, timeout_ms: int,
                 timing: int = 0) -> DriverGen:
    """__mmc_switch() with send_status: CMD6 WRITE_BYTE, busy, the new timing, then CMD13 (mmc_switch_status).

    Returns 0, the failing command's error, or -EBADMSG for SWITCH_ERROR
    (then the old timing is restored).
    """
    mmc = host.mmc
    old_timing = mmc.ios.timing
    use_r1b_resp = not (mmc.max_busy_timeout and timeout_ms > mmc.max_busy_timeout)
    arg = (MMC_SWITCH_MODE_WRITE_BYTE << 24) | (index << 16) | (value << 8) | EXT_CSD_CMD_SET_NORMAL
    if use_r1b_resp:
        err, _ = yield from _wait_for_cmd(host, MMC_SWITCH, arg, MMC_RSP_R1B | MMC_CMD_AC, busy_timeout=timeout_ms)
    else:
        err, _ = yield from _wait_for_cmd(host, MMC_SWITCH, arg, MMC_RSP_R1 | MMC_CMD_AC)
    if err:
        return err
    if not use_r1b_resp:            # no MMC_CAP_WAIT_WHILE_BUSY help without R1b: poll DAT0
        err = yield from mmc_poll_for_busy(timeout_ms)
        if err:
            return err
    if timing:
        yield from _set_ios(host, timing=timing)            # mmc_set_timing()
    err, status = yield from _wait_for_cmd(host, MMC_SEND_STATUS, card.rca << 16, MMC_RSP_R1 | MMC_CMD_AC)
    if not err and status.resp[0] & R1_SWITCH_ERROR:
        err = -EBADMSG
    if err and timing:
        yield from _set_ios(host, timing=old_timing)
    return err


def mmc_switch(host: SdhciHost, card: MmcCard, index: int, value: int, timeout_ms: int) -> DriverGen:
    """mmc_switch(): __mmc_switch without a timing change."""
    return (yield from __mmc_switch(host, card, index, value, timeout_ms))


def mmc_init(host: SdhciHost, settings: InitSettings) -> DriverGen:
    """Bring host and card from reset to transfer state; returns the MmcCard (sdhci_add_host .. mmc_init_card)."""
    yield from host.sdhci_setup_host()
    yield from host.sdhci_init(soft=False)
    f_max = min(settings.sd_clock_hz, host.mmc.f_max)
    f_min = host.max_clk // (R.SDHCI_MAX_DIV_SPEC_300 if host.version >= R.SDHCI_SPEC_300
                             else R.SDHCI_MAX_DIV_SPEC_200)
    yield from _mmc_power_up(host, max(min(F_INIT_HZ, f_max), f_min))
    # mmc_rescan_try_freq(): mmc_go_idle(), then mmc_attach_mmc().
    yield from _go_idle(host)
    yield from _set_ios(host)                               # mmc_set_bus_mode(MMC_BUSMODE_OPENDRAIN)
    ocr = yield from _send_op_cond(host, 0)
    ocr = _select_voltage(host, ocr)
    card = yield from _init_card(host, ocr, settings, f_max)
    host.mmc.card = card
    return card


def _mmc_power_up(host: SdhciHost, f_init: int) -> DriverGen:
    """mmc_power_up(): initial state (1 bit, legacy, no clock), 3.3 V signalling, power delay, clock on."""
    ios = host.mmc.ios
    ios.vdd = host.ocr_avail.bit_length() - 1              # fls(ocr) - 1
    yield from _set_ios(host, power_mode=MMC_POWER_UP, bus_width=1, timing=MMC_TIMING_LEGACY)
    yield from host.sdhci_start_signal_voltage_switch_330()  # mmc_set_initial_signal_voltage()
    yield from host.delay_ms(POWER_DELAY_MS)
    yield from _set_ios(host, clock=f_init, power_mode=MMC_POWER_ON)
    yield from host.delay_ms(POWER_DELAY_MS)


def _init_card(host: SdhciHost, ocr: int, settings: InitSettings, f_max: int) -> DriverGen:
    """mmc_init_card(): the card from idle to transfer state, timing, bus width, cache."""
    yield from _set_ios(host)                               # mmc_set_bus_mode(MMC_BUSMODE_OPENDRAIN)
    yield from _go_idle(host)
    rocr = yield from _send_op_cond(host, ocr | MMC_OCR_SECTOR_MODE)
    cid = yield from _cmd(host, MMC_ALL_SEND_CID, 0, MMC_RSP_R2 | MMC_CMD_BCR)
    yield from _cmd(host, MMC_SET_RELATIVE_ADDR, MMC_RCA << 16, MMC_RSP_R1 | MMC_CMD_AC)
    yield from _set_ios(host)                               # mmc_set_bus_mode(MMC_BUSMODE_PUSHPULL)
    csd_cmd = yield from _cmd(host, MMC_SEND_CSD, MMC_RCA << 16, MMC_RSP_R2 | MMC_CMD_AC)
    csd = mmc_decode_csd(resp_to_int(csd_cmd.resp))
    if csd.structure == 0:
        raise CardInitError("unrecognised CSD structure version 0")
    card = MmcCard(rca=MMC_RCA, ocr=rocr, cid=resp_to_int(cid.resp), csd=csd)
    yield from _cmd(host, MMC_SELECT_CARD, MMC_RCA << 16, MMC_RSP_R1 | MMC_CMD_AC)
    raw_ext_csd = b""
    if card.csd.mmca_vsn >= 4:                              # mmc_can_ext_csd()
        raw_ext_csd = yield from _get_ext_csd(host, card)
        card.ext_csd = mmc_decode_ext_csd(raw_ext_csd)
        if card.ext_csd.rev > EXT_CSD_MAX_REV:
            raise CardInitError(f"unrecognised EXT_CSD revision {card.ext_csd.rev}")
        if card.ext_csd.sectors > BLOCKADDR_SECTORS:        # "Cards with density > 2GiB are sector addressed"
            card.blockaddr = True
    if rocr & MMC_OCR_SECTOR_MODE:                          # OCR access mode: sector addressing
        card.blockaddr = True
    ext = card.ext_csd
    # mmc_select_timing(): mmc_select_hs() if the card offers HS and the host has MMC_CAP_MMC_HIGHSPEED.
    if ext is not None and ext.hs_max_dtr and host.can_do_hispd:
        err = yield from __mmc_switch(host, card, EXT_CSD_HS_TIMING, EXT_CSD_TIMING_HS, ext.generic_cmd6_time_ms,
                                      MMC_TIMING_MMC_HS)
        if err and err != -EBADMSG:
            raise CardInitError(f"switch to high-speed failed with {err}")
    card.hs = host.mmc.ios.timing == MMC_TIMING_MMC_HS
    # mmc_set_bus_speed() -> mmc_set_clock(), clamped to f_max.
    yield from _set_ios(host, clock=min(ext.hs_max_dtr if card.hs and ext is not None else card.csd.max_dtr, f_max))
    width = yield from _select_bus_width(host, card, settings, raw_ext_csd)
    if width:
        card.bus_width = width
        if card.hs:
            yield from _select_hs_ddr(host, card, settings)
    # "If cache size is higher than 0, this indicates the existence of cache and it can be turned on."
    if ext is not None and ext.cache_size_kib > 0 and settings.enable_cache:
        err = yield from mmc_switch(host, card, EXT_CSD_CACHE_CTRL, 1,
                                    max(ext.generic_cmd6_time_ms, MIN_CACHE_EN_TIMEOUT_MS))
        if err and err != -EBADMSG:
            raise CardInitError(f"CMD6 CACHE_CTRL failed with {err}")
        card.cache_on = not err
    # No CMD16: since mmc_blk_set_blksize() left block.c, nothing at init or probe sends SET_BLOCKLEN;
    # a byte-addressed eMMC keeps its power-up block length of 512 bytes.
    return card


def _select_bus_width(host: SdhciHost, card: MmcCard, settings: InitSettings, raw_ext_csd: bytes) -> DriverGen:
    """mmc_select_bus_width(): widest first; a width sticks when CMD6 works and EXT_CSD reads back the same.

    Returns the width in bits, 0 when nothing was tried, or the last error
    (mmc_init_card ignores errors here: the bus stays where it was left).
    """
    ext = card.ext_csd
    if ext is None or settings.bus_width == 1:              # no MMC_CAP_4_BIT_DATA / MMC_CAP_8_BIT_DATA
        return 0
    widths = (8, 4) if settings.bus_width == 8 and host.can_do_8bit else (4,)
    err = 0
    for width in widths:
        bits = EXT_CSD_BUS_WIDTH_8 if width == 8 else EXT_CSD_BUS_WIDTH_4
        err = yield from mmc_switch(host, card, EXT_CSD_BUS_WIDTH, bits, ext.generic_cmd6_time_ms)
        if err:
            continue
        yield from _set_ios(host, bus_width=width)          # mmc_set_bus_width()
        # mmc_compare_ext_csds() (no MMC_CAP_BUS_WIDTH_TEST): read EXT_CSD again at the new width.
        again = yield from _get_ext_csd(host, card)
        if all(again[i] == raw_ext_csd[i] for i in COMPARED_EXT_CSD_BYTES):
            return width
        host.log.errors.append(f"switch to bus width {width} failed")
        err = -EINVAL
    return err


def _select_hs_ddr(host: SdhciHost, card: MmcCard, settings: InitSettings) -> DriverGen:
    """mmc_select_hs_ddr(): the DDR bus width code, DDR52 timing before the CMD13; I/O stays at 3.3 V."""
    ext = card.ext_csd
    assert ext is not None
    # mmc_avail_type has DDR_52 only with MMC_CAP_3_3V_DDR and a card offering DDR52 at 1.8/3 V.
    if not (settings.ddr and ext.card_type & EXT_CSD_CARD_TYPE_DDR_1_8V and host.can_do_ddr50):
        return
    bits = EXT_CSD_DDR_BUS_WIDTH_8 if card.bus_width == 8 else EXT_CSD_DDR_BUS_WIDTH_4
    err = yield from __mmc_switch(host, card, EXT_CSD_BUS_WIDTH, bits, ext.generic_cmd6_time_ms, MMC_TIMING_MMC_DDR52)
    if err:
        raise CardInitError(f"switch to bus width {card.bus_width} ddr failed with {err}")
    card.ddr = True


def _go_idle(host: SdhciHost) -> DriverGen:
    """mmc_go_idle(): chip select high (set_ios), 1 ms, CMD0, 1 ms, chip select don't care (set_ios), 1 ms.

    Its callers ignore its result, so a failed CMD0 does not stop initialisation.
    """
    yield from _set_ios(host)
    yield from host.delay_ms(1)
    yield from _wait_for_cmd(host, MMC_GO_IDLE_STATE, 0, MMC_RSP_NONE | MMC_CMD_BC)
    yield from host.delay_ms(1)
    yield from _set_ios(host)
    yield from host.delay_ms(1)


def _send_op_cond(host: SdhciHost, ocr: int) -> DriverGen:
    """mmc_send_op_cond(): CMD1 until OCR bit 31 (power-up done), up to 100 tries 10 ms apart; returns the OCR.

    With ocr 0 (the query of mmc_attach_mmc) each retry's argument is the
    card's last OCR with bit 30 set (eMMC 5.1 6.4.3: keep issuing CMD1).
    """
    arg = ocr
    for _ in range(OP_COND_TRIES):
        op = yield from _cmd(host, MMC_SEND_OP_COND, arg, MMC_RSP_R3 | MMC_CMD_BCR)
        if op.resp[0] & MMC_CARD_BUSY:
            return op.resp[0]
        yield from host.delay_ms(10)
        if not ocr:
            arg = op.resp[0] | MMC_OCR_SECTOR_MODE
    raise CardInitError("CMD1: the card never finished power-up (OCR bit 31 stayed 0)")


def _select_voltage(host: SdhciHost, ocr: int) -> int:
    """mmc_select_voltage() without MMC_CAP2_FULL_PWR_CYCLE: the highest common window pair."""
    ocr &= ~0x7F
    ocr &= host.ocr_avail
    if not ocr:
        raise CardInitError("no support for card's volts (OCR and host voltages do not overlap)")
    bit = ocr.bit_length() - 1
    return ocr & (3 << bit)
