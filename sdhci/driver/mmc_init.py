"""Card initialisation as Linux brings up an eMMC on an SDHCI host, before any panic.

Follows drivers/mmc/core/core.c (mmc_power_up, mmc_go_idle) and
drivers/mmc/core/mmc.c (mmc_attach_mmc, mmc_init_card, mmc_select_hs,
mmc_select_bus_width, cache enable) for a slot described as eMMC-only
(device tree no-sd/no-sdio: no SD or SDIO probing), without HS200/HS400
or DDR (the host has no MMC_CAP_*_DDR), and with MMC_CAP_WAIT_WHILE_BUSY
(sdhci's busy-end interrupt), so every CMD6 is an R1b followed by CMD13.
Switches Linux also makes that do not touch the panic path are left out
(ERASE_GROUP_DEF, HPI_MGMT, POWER_OFF_NOTIFICATION): they only lengthen
the initialisation time.
"""
from __future__ import annotations

from dataclasses import dataclass

from sdhci.driver.mmc_core import (
    EXT_CSD_BUS_WIDTH, EXT_CSD_BUS_WIDTH_4, EXT_CSD_BUS_WIDTH_8, EXT_CSD_CACHE_CTRL, EXT_CSD_CARD_TYPE_DDR_52,
    EXT_CSD_CMD_SET_NORMAL, EXT_CSD_DDR_BUS_WIDTH_4, EXT_CSD_DDR_BUS_WIDTH_8,
    EXT_CSD_HS_TIMING, EXT_CSD_TIMING_HS, MMC_ALL_SEND_CID, MMC_CARD_BUSY, MMC_CMD_AC, MMC_CMD_ADTC, MMC_CMD_BC,
    MMC_CMD_BCR, MMC_DATA_READ, MMC_GO_IDLE_STATE, MMC_OCR_SECTOR_MODE, MMC_RSP_NONE, MMC_RSP_R1, MMC_RSP_R1B, MMC_RSP_R2, MMC_RSP_R3,
    MMC_SELECT_CARD, MMC_SEND_CSD, MMC_SEND_EXT_CSD, MMC_SEND_OP_COND, MMC_SEND_STATUS, MMC_SET_BLOCKLEN,
    MMC_SET_RELATIVE_ADDR, MMC_SWITCH, MMC_SWITCH_MODE_WRITE_BYTE, R1_SWITCH_ERROR, SECTOR_SIZE, MmcCard, MmcCommand,
    MmcData, MmcRequest, mmc_decode_csd, mmc_decode_ext_csd, mmc_set_data_timeout, resp_to_int,
)
from sdhci.driver.ops import DriverGen
from sdhci.driver.sdhci_host import SdhciHost

F_INIT_HZ = 400_000          # host->f_init: identification clock
POWER_DELAY_MS = 10          # host->ios.power_delay_ms
OP_COND_TRIES = 100          # mmc_send_op_cond(): tries, mmc_delay(10) apart
MMC_RCA = 1                  # mmc_init_card(): card->rca = 1
BLOCKADDR_SECTORS = 2 * 1024 * 1024 * 1024 // 512


class CardInitError(Exception):
    """Initialisation failed (one readable line naming the command)."""


@dataclass(frozen=True)
class InitSettings:
    """What the board asks of initialisation: bus width, SD clock, cache, DDR52.

    ddr: the board declares DDR52 at 3.3 V I/O (device tree mmc-ddr-3_3v,
    MMC_CAP_3_3V_DDR); used when the card (DEVICE_TYPE DDR_52) and the host
    (Capabilities DDR50) support it and the bus is 4 or 8 bits wide.
    """
    bus_width: int = 8
    sd_clock_hz: int = 52_000_000
    enable_cache: bool = True
    ddr: bool = False


def _cmd(host: SdhciHost, opcode: int, arg: int, flags: int, busy_timeout: int = 0) -> DriverGen:
    """mmc_wait_for_cmd(): one command without data; raises CardInitError on an error."""
    cmd = MmcCommand(opcode=opcode, arg=arg, flags=flags, busy_timeout=busy_timeout)
    err = yield from host.mmc_wait_for_req(MmcRequest(cmd=cmd))
    if err:
        raise CardInitError(f"CMD{opcode} (arg 0x{arg:08x}) failed with {err}")
    return cmd


def _get_ext_csd(host: SdhciHost, card: MmcCard) -> DriverGen:
    """mmc_get_ext_csd(): CMD8 with one 512-byte read block."""
    data = MmcData(blksz=512, blocks=1, flags=MMC_DATA_READ, buf=bytearray(512), sg_len=1)
    mmc_set_data_timeout(data, card)
    cmd = MmcCommand(opcode=MMC_SEND_EXT_CSD, arg=0, flags=MMC_RSP_R1 | MMC_CMD_ADTC, data=data)
    err = yield from host.mmc_wait_for_req(MmcRequest(cmd=cmd, data=data))
    if err:
        raise CardInitError(f"CMD8 (SEND_EXT_CSD) failed with {err}")
    return bytes(data.buf)


def _switch(host: SdhciHost, card: MmcCard, index: int, value: int, timeout_ms: int) -> DriverGen:
    """mmc_switch(): CMD6 WRITE_BYTE as an R1b, then CMD13 to check SWITCH_ERROR."""
    arg = (MMC_SWITCH_MODE_WRITE_BYTE << 24) | (index << 16) | (value << 8) | EXT_CSD_CMD_SET_NORMAL
    yield from _cmd(host, MMC_SWITCH, arg, MMC_RSP_R1B | MMC_CMD_AC, busy_timeout=timeout_ms)
    status = yield from _cmd(host, MMC_SEND_STATUS, card.rca << 16, MMC_RSP_R1 | MMC_CMD_AC)
    if status.resp[0] & R1_SWITCH_ERROR:
        raise CardInitError(f"CMD6 EXT_CSD[{index}] = {value} refused (SWITCH_ERROR, status 0x{status.resp[0]:08x})")


def mmc_init(host: SdhciHost, settings: InitSettings) -> DriverGen:
    """Bring host and card from reset to transfer state; returns the MmcCard (sdhci_add_host .. mmc_init_card)."""
    yield from host.sdhci_setup_host()
    yield from host.sdhci_init(soft=False)
    # mmc_power_up(): power, 1-bit bus, then the identification clock.
    yield from host.sdhci_set_power(True)
    yield from host.sdhci_set_ios(0, 1, False)
    yield from host.delay_ms(POWER_DELAY_MS)
    yield from host.sdhci_set_ios(F_INIT_HZ, 1, False)
    yield from host.delay_ms(POWER_DELAY_MS)
    # mmc_rescan_try_freq() -> mmc_go_idle(), then mmc_attach_mmc().
    yield from _go_idle(host)
    query = yield from _cmd(host, MMC_SEND_OP_COND, 0, MMC_RSP_R3 | MMC_CMD_BCR)
    ocr = _select_voltage(host, query.resp[0])
    # mmc_init_card(): idle again, then CMD1 with the chosen voltage and sector-mode support.
    yield from _go_idle(host)
    for _ in range(OP_COND_TRIES):
        op = yield from _cmd(host, MMC_SEND_OP_COND, ocr | MMC_OCR_SECTOR_MODE, MMC_RSP_R3 | MMC_CMD_BCR)
        if op.resp[0] & MMC_CARD_BUSY:
            break
        yield from host.delay_ms(10)
    else:
        raise CardInitError("CMD1: the card never finished power-up (OCR bit 31 stayed 0)")
    rocr = op.resp[0]
    cid = yield from _cmd(host, MMC_ALL_SEND_CID, 0, MMC_RSP_R2 | MMC_CMD_BCR)
    yield from _cmd(host, MMC_SET_RELATIVE_ADDR, MMC_RCA << 16, MMC_RSP_R1 | MMC_CMD_AC)
    csd_cmd = yield from _cmd(host, MMC_SEND_CSD, MMC_RCA << 16, MMC_RSP_R2 | MMC_CMD_AC)
    card = MmcCard(rca=MMC_RCA, ocr=rocr, cid=resp_to_int(cid.resp), csd=mmc_decode_csd(resp_to_int(csd_cmd.resp)))
    yield from _cmd(host, MMC_SELECT_CARD, MMC_RCA << 16, MMC_RSP_R1 | MMC_CMD_AC)
    if card.csd.mmca_vsn >= 4:
        card.ext_csd = mmc_decode_ext_csd((yield from _get_ext_csd(host, card)))
        card.blockaddr = card.ext_csd.sectors > BLOCKADDR_SECTORS
    ext = card.ext_csd
    cmd6_ms = ext.generic_cmd6_time_ms if ext is not None else 0
    clock = min(settings.sd_clock_hz, card.csd.max_dtr)
    # mmc_select_timing() -> mmc_select_hs(), then mmc_set_bus_speed().
    if ext is not None and ext.hs_max_dtr and host.can_do_hispd:
        yield from _switch(host, card, EXT_CSD_HS_TIMING, EXT_CSD_TIMING_HS, cmd6_ms)
        card.hs = True
        clock = min(settings.sd_clock_hz, ext.hs_max_dtr)
    yield from host.sdhci_set_ios(clock, 1, card.hs)
    # mmc_select_bus_width(): widest the host and the board allow, checked by re-reading EXT_CSD.
    width = settings.bus_width if settings.bus_width != 8 or host.can_do_8bit else 4
    if ext is not None and width in (4, 8):
        yield from _switch(host, card, EXT_CSD_BUS_WIDTH, EXT_CSD_BUS_WIDTH_8 if width == 8 else EXT_CSD_BUS_WIDTH_4,
                           cmd6_ms)
        yield from host.sdhci_set_ios(clock, width, card.hs)
        yield from _get_ext_csd(host, card)
        card.bus_width = width
        # mmc_select_hs_ddr(): the DDR variant of the bus width, then DDR52 timing on the host.
        if settings.ddr and card.hs and ext.card_type & EXT_CSD_CARD_TYPE_DDR_52 and host.can_do_ddr50:
            yield from _switch(host, card, EXT_CSD_BUS_WIDTH,
                               EXT_CSD_DDR_BUS_WIDTH_8 if width == 8 else EXT_CSD_DDR_BUS_WIDTH_4, cmd6_ms)
            yield from host.sdhci_set_ios(clock, width, card.hs, ddr=True)
            card.ddr = True
    # Cache: "If cache size is higher than 0, this indicates the existence of cache and it can be turned on."
    if ext is not None and ext.cache_size_kib > 0 and settings.enable_cache:
        yield from _switch(host, card, EXT_CSD_CACHE_CTRL, 1, max(cmd6_ms, 1600))
        card.cache_on = True
    if not card.blockaddr:
        yield from _cmd(host, MMC_SET_BLOCKLEN, SECTOR_SIZE, MMC_RSP_R1 | MMC_CMD_AC)
    host.mmc.card = card
    return card


def _go_idle(host: SdhciHost) -> DriverGen:
    """mmc_go_idle(): CMD0 with 1 ms settling on each side (chip-select changes are no-ops here)."""
    yield from host.delay_ms(1)
    yield from _cmd(host, MMC_GO_IDLE_STATE, 0, MMC_RSP_NONE | MMC_CMD_BC)
    yield from host.delay_ms(1)
    yield from host.delay_ms(1)


def _select_voltage(host: SdhciHost, ocr: int) -> int:
    """mmc_select_voltage() without MMC_CAP2_FULL_PWR_CYCLE: the highest common window pair."""
    ocr &= ~0x7F
    ocr &= host.ocr_avail
    if not ocr:
        raise CardInitError("no support for card's volts (OCR and host voltages do not overlap)")
    bit = ocr.bit_length() - 1
    return ocr & (3 << bit)
