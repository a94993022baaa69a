"""The register map: reset values and access behaviour of every register, per preset.

Expected values are written out here from the SD Host Controller Simplified
Specification v3.00 register descriptions, not computed from sdhci.regmap.
"""
from __future__ import annotations

import pytest

from sdhci import regmap as rm
from sdhci.controller import SdhciController, controller_preset
from sdhci.memory import HostMemory
from sdhci_helpers import fixed_card

# Capabilities as the presets configure them, assembled by hand:
# v3: TMCLK 50 MHz (0x32 | unit bit 7) = 0xB2, base 200 MHz = 0xC8 << 8, 512-byte blocks (0),
#     8-bit (18), ADMA2 (19), HS (21), SDMA (22), 3.3 V (24), 1.8 V (26), 64-bit bus (28).
CAPS_V3 = 0xB2 | 0xC8 << 8 | 1 << 18 | 1 << 19 | 1 << 21 | 1 << 22 | 1 << 24 | 1 << 26 | 1 << 28
# v1: TMCLK 48 MHz = 0x30 | 0x80, base 48 MHz = 0x30 << 8, HS (21), 3.3 V (24); no DMA, no 8-bit.
CAPS_V1 = 0xB0 | 0x30 << 8 | 1 << 21 | 1 << 24
# v4.10: v3 plus 64-bit V4 (27).
CAPS_V4 = CAPS_V3 | 1 << 27

# Present State with a card inserted, write enabled, lines idle high:
# 16 inserted, 17 stable, 18 CD pin, 19 WP pin, 23:20 DAT[3:0], 24 CMD -> 0x01FF0000.
PRESENT_IDLE = 0x01FF0000

RESET = {  # preset -> {offset: (width, reset value)}
    "v3": {0x00: (32, 0), 0x04: (16, 0), 0x06: (16, 0), 0x08: (32, 0), 0x0C: (16, 0), 0x0E: (16, 0),
           0x10: (32, 0), 0x14: (32, 0), 0x18: (32, 0), 0x1C: (32, 0), 0x20: (32, 0),
           0x24: (32, PRESENT_IDLE), 0x28: (8, 0), 0x29: (8, 0), 0x2A: (8, 0), 0x2B: (8, 0),
           0x2C: (16, 0), 0x2E: (8, 0), 0x2F: (8, 0), 0x30: (16, 0), 0x32: (16, 0), 0x34: (16, 0),
           0x36: (16, 0), 0x38: (16, 0), 0x3A: (16, 0), 0x3C: (16, 0), 0x3E: (16, 0),
           0x40: (32, CAPS_V3), 0x44: (32, 0x4), 0x48: (32, 0), 0x50: (16, 0), 0x52: (16, 0),
           0x54: (8, 0), 0x58: (32, 0), 0x5C: (32, 0), 0x60: (16, 0), 0x62: (16, 0), 0x64: (16, 0),
           0x66: (16, 0), 0x68: (16, 0), 0x6A: (16, 0), 0x6C: (16, 0), 0x6E: (16, 0),
           0xFC: (16, 0), 0xFE: (16, 0x0002)},
    "v1-pio": {0x24: (32, PRESENT_IDLE), 0x40: (32, CAPS_V1), 0x44: (32, 0), 0xFE: (16, 0x0000),
               0x3E: (16, 0), 0x54: (8, 0), 0x58: (32, 0)},
    # v4 adds DAT[7:4] levels (bits 7:4) to Present State; SDR50/SDR104/DDR50 in Capabilities 0x44.
    "v4": {0x24: (32, PRESENT_IDLE | 0xF0), 0x40: (32, CAPS_V4), 0x44: (32, 0x7), 0xFE: (16, 0x0004)},
}

# Value read back after writing all ones (v3 preset, fresh controller per register).
AFTER_ALL_ONES_V3 = {
    0x00: 0xFFFFFFFF,          # SDMA System Address: RW
    0x04: 0x7FFF,              # Block Size: 11:0 size, 14:12 boundary; 15 reserved
    0x06: 0xFFFF,              # Block Count: RW
    0x08: 0xFFFFFFFF,          # Argument: RW
    0x0C: 0x003F,              # Transfer Mode (v3): bits 5:0
    0x0E: 0x3FFB,              # Command: 13:8 index, 7:3, 1:0 (bit 2 is v4.10, 15:14 reserved)
    0x10: 0, 0x14: 0, 0x18: 0, 0x1C: 0,  # Response: ROC
    0x20: 0,                   # Buffer Data Port: no transfer, the write is dropped, reads 0
    0x24: PRESENT_IDLE,        # Present State: RO
    0x28: 0xFF,                # Host Control 1 (8-bit and HS offered)
    0x29: 0x0F,                # Power Control: 3:1 voltage, 0 power
    0x2A: 0x0D,                # Block Gap Control: Continue Request (bit 1) self-clears
    0x2B: 0x07,                # Wakeup Control
    0x2C: 0xFFE5,              # Clock Control: stable (1) not yet, bit 3 (v4.10) and 4 reserved
    0x2E: 0x0F,                # Timeout Control
    0x2F: 0x00,                # Software Reset: RWAC, reads 0
    0x30: 0x0000, 0x32: 0x0000,  # W1C status: writing ones clears
    0x34: 0x1FFF, 0x38: 0x1FFF,  # Normal status/signal enables: 12:0 (15 fixed 0)
    0x36: 0xF7FF, 0x3A: 0xF7FF,  # Error enables: 10:0, vendor 15:12 (11 is v4)
    0x3C: 0x0000,              # Auto CMD Error Status: ROC
    0x3E: 0xC0BF,              # Host Control 2: 15, 14, 7, 5:4, 3, 2:0 (6 Execute Tuning self-clears)
    0x40: CAPS_V3, 0x44: 0x4, 0x48: 0,  # HWInit
    0x50: 0, 0x52: 0,          # Force Event: write only
    0x54: 0,                   # ADMA Error Status: ROC
    0x58: 0xFFFFFFFF, 0x5C: 0xFFFFFFFF,  # ADMA System Address
    0x60: 0, 0x62: 0, 0x64: 0, 0x66: 0, 0x68: 0, 0x6A: 0, 0x6C: 0, 0x6E: 0,  # Preset Values (HWInit, 0)
    0xFC: 0,                   # Slot Interrupt Status: RO
    0xFE: 0x0002,              # Host Controller Version: HWInit
}


def _ctl(preset: str) -> SdhciController:
    return SdhciController(controller_preset(preset), fixed_card(), HostMemory())


@pytest.mark.parametrize("preset", sorted(RESET))
def test_reset_values(preset: str) -> None:
    ctl = _ctl(preset)
    for offset, (width, value) in RESET[preset].items():
        assert ctl.read(offset, width, 1000) == value, f"{preset} 0x{offset:02X}"


@pytest.mark.parametrize("offset", sorted(AFTER_ALL_ONES_V3))
def test_access_types_v3(offset: int) -> None:
    ctl = _ctl("v3")
    width = rm.register_at(offset).width
    ctl.write(offset, width, (1 << width) - 1, 1000)
    assert ctl.read(offset, width, 2000) == AFTER_ALL_ONES_V3[offset]


def test_tables_cover_every_register() -> None:
    assert {r.offset for r in rm.REGISTERS} == set(AFTER_ALL_ONES_V3) == set(RESET["v3"])


def test_v1_lacks_later_registers_and_fields() -> None:
    """A v1.00 host: Host Control 2, ADMA and Force Event registers read 0; HC1 has bits 2:0 only."""
    ctl = _ctl("v1-pio")
    for offset, width in ((0x3E, 16), (0x58, 32), (0x54, 8), (0x44, 32)):
        ctl.write(offset, width, (1 << width) - 1, 1000)
        assert ctl.read(offset, width, 2000) == 0
    ctl.write(0x28, 8, 0xFF, 3000)
    assert ctl.read(0x28, 8, 4000) == 0x07       # LED, 4-bit, high speed
    ctl.write(0x34, 16, 0xFFFF, 5000)
    assert ctl.read(0x34, 16, 6000) == 0x01FF    # v1 normal status enables: 8:0
    ctl.write(0x36, 16, 0xFFFF, 7000)
    assert ctl.read(0x36, 16, 8000) == 0xF1FF    # 8:0 and vendor 15:12


def test_register_table_is_consistent() -> None:
    """No overlapping registers or fields; fields fit their register."""
    owner: dict[int, str] = {}
    for reg in rm.REGISTERS:
        for b in range(reg.offset, reg.offset + reg.width // 8):
            assert b not in owner, (reg.name, owner.get(b))
            owner[b] = reg.name
        used = 0
        for f in reg.fields:
            assert f.lsb + f.width <= reg.width and not used & f.mask, (reg.name, f.name)
            used |= f.mask


def test_linux_names() -> None:
    """A few sdhci.h values, as Linux defines them."""
    assert rm.SDHCI_MAKE_CMD(25, rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
                             | rm.SDHCI_CMD_DATA) == 0x193A
    assert rm.SDHCI_MAKE_BLKSZ(7, 512) == 0x7200
    assert (rm.SDHCI_INT_STATUS, rm.SDHCI_PRESENT_STATE, rm.SDHCI_HOST_VERSION) == (0x30, 0x24, 0xFE)
    assert rm.SDHCI_INT_DATA_END_BIT == 0x00400000 and rm.SDHCI_INT_ADMA_ERROR == 0x02000000


def test_verilog_header() -> None:
    text = rm.render_verilog_header(hwinit={"CAPABILITIES": CAPS_V3, "HOST_CONTROLLER_VERSION": 2})
    assert "localparam [7:0] SDHCI_PRESENT_STATE_OFFSET = 8'h24;" in text
    assert "localparam [31:0] SDHCI_CAPABILITIES_RESET = 32'h156CC8B2;" in text
    assert "localparam [15:0] SDHCI_HOST_CONTROLLER_VERSION_RESET = 16'h0002;" in text
    assert "localparam [15:0] SDHCI_COMMAND_COMMAND_INDEX_MASK = 16'h3F00;" in text
    assert text.count("_OFFSET =") == len(rm.REGISTERS)


# Every sdhci.h name the register map module defines, with the value Linux's
# drivers/mmc/host/sdhci.h gives it (v6.x), typed in from the header: the
# module derives them from REGISTERS, so this table is the independent check.
LINUX_SDHCI_H = {
    "SDHCI_SPEC_100": 0x0, "SDHCI_SPEC_200": 0x1, "SDHCI_SPEC_300": 0x2, "SDHCI_SPEC_400": 0x3,
    "SDHCI_SPEC_410": 0x4, "SDHCI_SPEC_420": 0x5, "SDHCI_DMA_ADDRESS": 0x0, "SDHCI_ARGUMENT2": 0x0,
    "SDHCI_32BIT_BLK_CNT": 0x0, "SDHCI_BLOCK_SIZE": 0x4, "SDHCI_BLOCK_COUNT": 0x6, "SDHCI_ARGUMENT": 0x8,
    "SDHCI_TRANSFER_MODE": 0xC, "SDHCI_TRNS_DMA": 0x1, "SDHCI_TRNS_BLK_CNT_EN": 0x2,
    "SDHCI_TRNS_AUTO_CMD12": 0x4, "SDHCI_TRNS_AUTO_CMD23": 0x8, "SDHCI_TRNS_AUTO_SEL": 0xC,
    "SDHCI_TRNS_READ": 0x10, "SDHCI_TRNS_MULTI": 0x20, "SDHCI_TRNS_RES_TYPE": 0x40,
    "SDHCI_TRNS_RES_ERR_CHECK": 0x80, "SDHCI_TRNS_RES_INT_DIS": 0x100, "SDHCI_COMMAND": 0xE,
    "SDHCI_CMD_RESP_MASK": 0x3, "SDHCI_CMD_SUB_CMD": 0x4, "SDHCI_CMD_CRC": 0x8, "SDHCI_CMD_INDEX": 0x10,
    "SDHCI_CMD_DATA": 0x20, "SDHCI_CMD_ABORTCMD": 0xC0, "SDHCI_CMD_RESP_NONE": 0x0, "SDHCI_CMD_RESP_LONG": 0x1,
    "SDHCI_CMD_RESP_SHORT": 0x2, "SDHCI_CMD_RESP_SHORT_BUSY": 0x3, "SDHCI_RESPONSE": 0x10,
    "SDHCI_BUFFER": 0x20, "SDHCI_PRESENT_STATE": 0x24, "SDHCI_CMD_INHIBIT": 0x1, "SDHCI_DATA_INHIBIT": 0x2,
    "SDHCI_DAT_4_TO_7_LVL_MASK": 0xF0, "SDHCI_DOING_WRITE": 0x100, "SDHCI_DOING_READ": 0x200,
    "SDHCI_SPACE_AVAILABLE": 0x400, "SDHCI_DATA_AVAILABLE": 0x800, "SDHCI_CARD_PRESENT": 0x10000,
    "SDHCI_CARD_PRES_SHIFT": 0x10, "SDHCI_CD_STABLE": 0x20000, "SDHCI_CD_LVL": 0x40000,
    "SDHCI_CD_LVL_SHIFT": 0x12, "SDHCI_WRITE_PROTECT": 0x80000, "SDHCI_DATA_LVL_MASK": 0xF00000,
    "SDHCI_DATA_LVL_SHIFT": 0x14, "SDHCI_DATA_0_LVL_MASK": 0x100000, "SDHCI_CMD_LVL": 0x1000000,
    "SDHCI_HOST_CONTROL": 0x28, "SDHCI_CTRL_LED": 0x1, "SDHCI_CTRL_4BITBUS": 0x2, "SDHCI_CTRL_HISPD": 0x4,
    "SDHCI_CTRL_DMA_MASK": 0x18, "SDHCI_CTRL_SDMA": 0x0, "SDHCI_CTRL_ADMA1": 0x8, "SDHCI_CTRL_ADMA32": 0x10,
    "SDHCI_CTRL_ADMA64": 0x18, "SDHCI_CTRL_8BITBUS": 0x20, "SDHCI_CTRL_CDTEST_INS": 0x40,
    "SDHCI_CTRL_CDTEST_EN": 0x80, "SDHCI_POWER_CONTROL": 0x29, "SDHCI_POWER_ON": 0x1, "SDHCI_POWER_180": 0xA,
    "SDHCI_POWER_300": 0xC, "SDHCI_POWER_330": 0xE, "SDHCI_BLOCK_GAP_CONTROL": 0x2A,
    "SDHCI_WAKE_UP_CONTROL": 0x2B, "SDHCI_WAKE_ON_INT": 0x1, "SDHCI_WAKE_ON_INSERT": 0x2,
    "SDHCI_WAKE_ON_REMOVE": 0x4, "SDHCI_CLOCK_CONTROL": 0x2C, "SDHCI_DIVIDER_SHIFT": 0x8,
    "SDHCI_DIVIDER_HI_SHIFT": 0x6, "SDHCI_DIV_MASK_LEN": 0x8, "SDHCI_DIV_MASK": 0xFF,
    "SDHCI_DIV_HI_MASK": 0x300, "SDHCI_PROG_CLOCK_MODE": 0x20, "SDHCI_CLOCK_CARD_EN": 0x4,
    "SDHCI_CLOCK_PLL_EN": 0x8, "SDHCI_CLOCK_INT_STABLE": 0x2, "SDHCI_CLOCK_INT_EN": 0x1,
    "SDHCI_TIMEOUT_CONTROL": 0x2E, "SDHCI_SOFTWARE_RESET": 0x2F, "SDHCI_RESET_ALL": 0x1,
    "SDHCI_RESET_CMD": 0x2, "SDHCI_RESET_DATA": 0x4, "SDHCI_INT_STATUS": 0x30, "SDHCI_INT_ENABLE": 0x34,
    "SDHCI_SIGNAL_ENABLE": 0x38, "SDHCI_INT_RESPONSE": 0x1, "SDHCI_INT_DATA_END": 0x2,
    "SDHCI_INT_BLK_GAP": 0x4, "SDHCI_INT_DMA_END": 0x8, "SDHCI_INT_SPACE_AVAIL": 0x10,
    "SDHCI_INT_DATA_AVAIL": 0x20, "SDHCI_INT_CARD_INSERT": 0x40, "SDHCI_INT_CARD_REMOVE": 0x80,
    "SDHCI_INT_CARD_INT": 0x100, "SDHCI_INT_RETUNE": 0x1000, "SDHCI_INT_FX_EVENT": 0x2000,
    "SDHCI_INT_CQE": 0x4000, "SDHCI_INT_ERROR": 0x8000, "SDHCI_INT_TIMEOUT": 0x10000, "SDHCI_INT_CRC": 0x20000,
    "SDHCI_INT_END_BIT": 0x40000, "SDHCI_INT_INDEX": 0x80000, "SDHCI_INT_DATA_TIMEOUT": 0x100000,
    "SDHCI_INT_DATA_CRC": 0x200000, "SDHCI_INT_DATA_END_BIT": 0x400000, "SDHCI_INT_BUS_POWER": 0x800000,
    "SDHCI_INT_AUTO_CMD_ERR": 0x1000000, "SDHCI_INT_ADMA_ERROR": 0x2000000,
    "SDHCI_INT_TUNING_ERROR": 0x4000000, "SDHCI_INT_RESP_ERR": 0x8000000, "SDHCI_INT_NORMAL_MASK": 0x7FFF,
    "SDHCI_INT_ERROR_MASK": 0xFFFF8000, "SDHCI_INT_CMD_MASK": 0x10F0001, "SDHCI_INT_DATA_MASK": 0x670003E,
    "SDHCI_INT_ALL_MASK": 0xFFFFFFFF, "SDHCI_AUTO_CMD_STATUS": 0x3C, "SDHCI_AUTO_CMD_TIMEOUT": 0x2,
    "SDHCI_AUTO_CMD_CRC": 0x4, "SDHCI_AUTO_CMD_END_BIT": 0x8, "SDHCI_AUTO_CMD_INDEX": 0x10,
    "SDHCI_AUTO_CMD_RESP_ERR": 0x20, "SDHCI_HOST_CONTROL2": 0x3E, "SDHCI_CTRL_UHS_MASK": 0x7,
    "SDHCI_CTRL_UHS_SDR12": 0x0, "SDHCI_CTRL_UHS_SDR25": 0x1, "SDHCI_CTRL_UHS_SDR50": 0x2,
    "SDHCI_CTRL_UHS_SDR104": 0x3, "SDHCI_CTRL_UHS_DDR50": 0x4, "SDHCI_CTRL_HS400": 0x5,
    "SDHCI_CTRL_VDD_180": 0x8, "SDHCI_CTRL_DRV_TYPE_MASK": 0x30, "SDHCI_CTRL_EXEC_TUNING": 0x40,
    "SDHCI_CTRL_TUNED_CLK": 0x80, "SDHCI_CTRL_ADMA2_LEN_MODE": 0x400, "SDHCI_CMD23_ENABLE": 0x800,
    "SDHCI_CTRL_V4_MODE": 0x1000, "SDHCI_CTRL_64BIT_ADDR": 0x2000, "SDHCI_CTRL_ASYNC_INT_ENABLE": 0x4000,
    "SDHCI_CTRL_PRESET_VAL_ENABLE": 0x8000, "SDHCI_CAPABILITIES": 0x40, "SDHCI_TIMEOUT_CLK_MASK": 0x3F,
    "SDHCI_TIMEOUT_CLK_SHIFT": 0x0, "SDHCI_TIMEOUT_CLK_UNIT": 0x80, "SDHCI_CLOCK_BASE_SHIFT": 0x8,
    "SDHCI_CLOCK_BASE_MASK": 0x3F00, "SDHCI_CLOCK_V3_BASE_MASK": 0xFF00, "SDHCI_MAX_BLOCK_MASK": 0x30000,
    "SDHCI_MAX_BLOCK_SHIFT": 0x10, "SDHCI_CAN_DO_8BIT": 0x40000, "SDHCI_CAN_DO_ADMA2": 0x80000,
    "SDHCI_CAN_DO_ADMA1": 0x100000, "SDHCI_CAN_DO_HISPD": 0x200000, "SDHCI_CAN_DO_SDMA": 0x400000,
    "SDHCI_CAN_DO_SUSPEND": 0x800000, "SDHCI_CAN_VDD_330": 0x1000000, "SDHCI_CAN_VDD_300": 0x2000000,
    "SDHCI_CAN_VDD_180": 0x4000000, "SDHCI_CAN_64BIT_V4": 0x8000000, "SDHCI_CAN_64BIT": 0x10000000,
    "SDHCI_CAN_ASYNC_INT": 0x20000000, "SDHCI_CAPABILITIES_1": 0x44, "SDHCI_SUPPORT_SDR50": 0x1,
    "SDHCI_SUPPORT_SDR104": 0x2, "SDHCI_SUPPORT_DDR50": 0x4, "SDHCI_SUPPORT_HS400": 0x80000000,
    "SDHCI_MAX_CURRENT": 0x48, "SDHCI_SET_ACMD12_ERROR": 0x50, "SDHCI_SET_INT_ERROR": 0x52,
    "SDHCI_ADMA_ERROR": 0x54, "SDHCI_ADMA_ADDRESS": 0x58, "SDHCI_ADMA_ADDRESS_HI": 0x5C,
    "SDHCI_SLOT_INT_STATUS": 0xFC, "SDHCI_HOST_VERSION": 0xFE, "SDHCI_VENDOR_VER_MASK": 0xFF00,
    "SDHCI_VENDOR_VER_SHIFT": 0x8, "SDHCI_SPEC_VER_MASK": 0xFF, "SDHCI_SPEC_VER_SHIFT": 0x0,
    "SDHCI_MAX_DIV_SPEC_200": 0x100, "SDHCI_MAX_DIV_SPEC_300": 0x7FE, "SDHCI_DEFAULT_BOUNDARY_SIZE": 0x80000,
    "SDHCI_DEFAULT_BOUNDARY_ARG": 0x7, "SDHCI_ADMA2_32_DESC_SZ": 0x8, "ADMA2_TRAN_VALID": 0x21,
    "ADMA2_NOP_END_VALID": 0x3, "ADMA2_END": 0x2, "ADMA2_VALID": 0x1, "ADMA2_INT": 0x4, "ADMA2_ACT_MASK": 0x30,
    "ADMA2_ACT_NOP": 0x0, "ADMA2_ACT_RSV": 0x10, "ADMA2_ACT_TRAN": 0x20, "ADMA2_ACT_LINK": 0x30,
    "ADMA_ERROR_STATE_ST_STOP": 0x0, "ADMA_ERROR_STATE_ST_FDS": 0x1, "ADMA_ERROR_STATE_ST_TFR": 0x3,
    "ADMA_ERROR_LENGTH_MISMATCH": 0x4,
}


def test_every_linux_constant_has_the_sdhci_h_value() -> None:
    defined = {name for name, value in vars(rm).items()
               if name.startswith(("SDHCI_", "ADMA")) and isinstance(value, int)}
    assert defined == set(LINUX_SDHCI_H)
    wrong = {name: hex(getattr(rm, name)) for name, value in LINUX_SDHCI_H.items() if getattr(rm, name) != value}
    assert not wrong


def test_field_helpers() -> None:
    assert rm.bits("PRESENT_STATE", "DAT_LINE_ACTIVE") == 0x4
    assert rm.field_value("POWER_CONTROL", "SD_BUS_VOLTAGE_SELECT", 0b111) == 0x0E
    assert rm.field("CLOCK_CONTROL", "SDCLK_FREQUENCY_SELECT").get(0xFA07) == 0xFA
    with pytest.raises(ValueError):
        rm.field_value("TRANSFER_MODE", "AUTO_CMD_ENABLE", 4)
