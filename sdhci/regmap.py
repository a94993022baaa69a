"""The SDHCI register map: the one source of truth for offsets, fields, access and resets.

Per the SD Host Controller Simplified Specification v3.00 (with the v4.x
additions marked by `min_version`). The controller model, the driver port and
the RTL (through `render_verilog_header()`) all read it from here.

Two layers:
- `REGISTERS`: data, a list of `Register` with `Field`s, for the model's
  access logic, tests and the Verilog header.
- Module constants named and valued exactly as Linux's
  drivers/mmc/host/sdhci.h names them (SDHCI_ARGUMENT, SDHCI_INT_RESPONSE,
  SDHCI_MAKE_CMD, ...), for the driver port.

Versions are the Host Controller Version register's Specification Version
Number: 0 = v1.00, 1 = v2.00, 2 = v3.00, 3 = v4.00, 4 = v4.10, 5 = v4.20.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --- Specification version numbers (Host Controller Version bits 7:0) -------
SDHCI_SPEC_100 = 0
SDHCI_SPEC_200 = 1
SDHCI_SPEC_300 = 2
SDHCI_SPEC_400 = 3
SDHCI_SPEC_410 = 4
SDHCI_SPEC_420 = 5

Access = Literal["RW", "RO", "W1C", "RWAC", "ROC", "HWInit", "WO", "RsvdZ"]
"""Access types of the SD Host Controller specification (section 1.x / 2.1):

RW      read/write.
RO      read-only status the controller drives.
W1C     write 1 to clear (interrupt status).
RWAC    read/write, automatically cleared by the controller (Software Reset).
ROC     read-only, cleared by the controller (Response, ADMA Error).
HWInit  read-only, fixed by the implementation (Capabilities, Version):
        the reset value is configuration, given as 0 here.
WO      write-only: reads return 0 (Force Event registers).
RsvdZ   reserved: reads 0, writes ignored.
"""


@dataclass(frozen=True, slots=True)
class Field:
    """A bit field of a register: `width` bits from `lsb`."""

    name: str
    lsb: int
    width: int
    access: Access
    reset: int = 0
    min_version: int = SDHCI_SPEC_100

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True, slots=True)
class Register:
    """One register: byte offset, width in bits, fields; absent before `min_version`."""

    name: str
    offset: int
    width: int
    fields: tuple[Field, ...]
    min_version: int = SDHCI_SPEC_100

    def reset_value(self, version: int = SDHCI_SPEC_300) -> int:
        """Reset value as the given version presents it (HWInit fields as 0)."""
        if version < self.min_version:
            return 0
        return sum(f.reset << f.lsb for f in self.fields if f.min_version <= version)

    def mask(self, access: tuple[str, ...], version: int = SDHCI_SPEC_300) -> int:
        """OR of the masks of the fields with one of `access` types present in `version`."""
        if version < self.min_version:
            return 0
        return sum(f.mask for f in self.fields if f.access in access and f.min_version <= version)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name}")


def _r(name: str, offset: int, width: int, *fields: Field, min_version: int = SDHCI_SPEC_100) -> Register:
    return Register(name, offset, width, tuple(fields), min_version)


F = Field
V2, V3, V4, V410 = SDHCI_SPEC_200, SDHCI_SPEC_300, SDHCI_SPEC_400, SDHCI_SPEC_410

REGISTERS: list[Register] = [
    _r("SDMA_SYSTEM_ADDRESS", 0x00, 32, F("SDMA_SYSTEM_ADDRESS", 0, 32, "RW")),
    _r("BLOCK_SIZE", 0x04, 16,
       F("TRANSFER_BLOCK_SIZE", 0, 12, "RW"),
       F("SDMA_BUFFER_BOUNDARY", 12, 3, "RW")),
    _r("BLOCK_COUNT", 0x06, 16, F("BLOCK_COUNT", 0, 16, "RW")),
    _r("ARGUMENT", 0x08, 32, F("ARGUMENT", 0, 32, "RW")),
    _r("TRANSFER_MODE", 0x0C, 16,
       F("DMA_ENABLE", 0, 1, "RW"),
       F("BLOCK_COUNT_ENABLE", 1, 1, "RW"),
       F("AUTO_CMD_ENABLE", 2, 2, "RW"),
       F("DATA_TRANSFER_DIRECTION", 4, 1, "RW"),
       F("MULTI_BLOCK_SELECT", 5, 1, "RW"),
       F("RESPONSE_TYPE_R1_R5", 6, 1, "RW", min_version=V4),
       F("RESPONSE_ERROR_CHECK_ENABLE", 7, 1, "RW", min_version=V4),
       F("RESPONSE_INTERRUPT_DISABLE", 8, 1, "RW", min_version=V4)),
    _r("COMMAND", 0x0E, 16,
       F("RESPONSE_TYPE_SELECT", 0, 2, "RW"),
       F("SUB_COMMAND_FLAG", 2, 1, "RW", min_version=V410),
       F("COMMAND_CRC_CHECK_ENABLE", 3, 1, "RW"),
       F("COMMAND_INDEX_CHECK_ENABLE", 4, 1, "RW"),
       F("DATA_PRESENT_SELECT", 5, 1, "RW"),
       F("COMMAND_TYPE", 6, 2, "RW"),
       F("COMMAND_INDEX", 8, 6, "RW")),
    _r("RESPONSE0", 0x10, 32, F("RESPONSE", 0, 32, "ROC")),
    _r("RESPONSE1", 0x14, 32, F("RESPONSE", 0, 32, "ROC")),
    _r("RESPONSE2", 0x18, 32, F("RESPONSE", 0, 32, "ROC")),
    _r("RESPONSE3", 0x1C, 32, F("RESPONSE", 0, 32, "ROC")),
    _r("BUFFER_DATA_PORT", 0x20, 32, F("BUFFER_DATA", 0, 32, "RW")),
    # Pin-level bits reset to what the pins show with a card inserted, write
    # enabled and the lines pulled up; the model reports the live levels.
    _r("PRESENT_STATE", 0x24, 32,
       F("COMMAND_INHIBIT_CMD", 0, 1, "RO"),
       F("COMMAND_INHIBIT_DAT", 1, 1, "RO"),
       F("DAT_LINE_ACTIVE", 2, 1, "RO"),
       F("RE_TUNING_REQUEST", 3, 1, "RO", min_version=V3),
       F("DAT_7_4_LINE_SIGNAL_LEVEL", 4, 4, "RO", 0xF, min_version=V4),
       F("WRITE_TRANSFER_ACTIVE", 8, 1, "RO"),
       F("READ_TRANSFER_ACTIVE", 9, 1, "RO"),
       F("BUFFER_WRITE_ENABLE", 10, 1, "RO"),
       F("BUFFER_READ_ENABLE", 11, 1, "RO"),
       F("CARD_INSERTED", 16, 1, "RO", 1),
       F("CARD_STATE_STABLE", 17, 1, "RO", 1),
       F("CARD_DETECT_PIN_LEVEL", 18, 1, "RO", 1),
       F("WRITE_PROTECT_SWITCH_PIN_LEVEL", 19, 1, "RO", 1),
       F("DAT_3_0_LINE_SIGNAL_LEVEL", 20, 4, "RO", 0xF),
       F("CMD_LINE_SIGNAL_LEVEL", 24, 1, "RO", 1)),
    _r("HOST_CONTROL_1", 0x28, 8,
       F("LED_CONTROL", 0, 1, "RW"),
       F("DATA_TRANSFER_WIDTH", 1, 1, "RW"),
       F("HIGH_SPEED_ENABLE", 2, 1, "RW"),
       F("DMA_SELECT", 3, 2, "RW", min_version=V2),
       F("EXTENDED_DATA_TRANSFER_WIDTH", 5, 1, "RW", min_version=V3),
       F("CARD_DETECT_TEST_LEVEL", 6, 1, "RW", min_version=V2),
       F("CARD_DETECT_SIGNAL_SELECTION", 7, 1, "RW", min_version=V2)),
    _r("POWER_CONTROL", 0x29, 8,
       F("SD_BUS_POWER", 0, 1, "RW"),
       F("SD_BUS_VOLTAGE_SELECT", 1, 3, "RW")),
    _r("BLOCK_GAP_CONTROL", 0x2A, 8,
       F("STOP_AT_BLOCK_GAP_REQUEST", 0, 1, "RW"),
       F("CONTINUE_REQUEST", 1, 1, "RWAC"),
       F("READ_WAIT_CONTROL", 2, 1, "RW"),
       F("INTERRUPT_AT_BLOCK_GAP", 3, 1, "RW")),
    _r("WAKEUP_CONTROL", 0x2B, 8,
       F("WAKEUP_ON_CARD_INTERRUPT", 0, 1, "RW"),
       F("WAKEUP_ON_CARD_INSERTION", 1, 1, "RW"),
       F("WAKEUP_ON_CARD_REMOVAL", 2, 1, "RW")),
    _r("CLOCK_CONTROL", 0x2C, 16,
       F("INTERNAL_CLOCK_ENABLE", 0, 1, "RW"),
       F("INTERNAL_CLOCK_STABLE", 1, 1, "RO"),
       F("SD_CLOCK_ENABLE", 2, 1, "RW"),
       F("PLL_ENABLE", 3, 1, "RW", min_version=V410),
       F("CLOCK_GENERATOR_SELECT", 5, 1, "RW", min_version=V3),
       F("UPPER_SDCLK_FREQUENCY_SELECT", 6, 2, "RW", min_version=V3),
       F("SDCLK_FREQUENCY_SELECT", 8, 8, "RW")),
    _r("TIMEOUT_CONTROL", 0x2E, 8, F("DATA_TIMEOUT_COUNTER_VALUE", 0, 4, "RW")),
    _r("SOFTWARE_RESET", 0x2F, 8,
       F("SOFTWARE_RESET_FOR_ALL", 0, 1, "RWAC"),
       F("SOFTWARE_RESET_FOR_CMD_LINE", 1, 1, "RWAC"),
       F("SOFTWARE_RESET_FOR_DAT_LINE", 2, 1, "RWAC")),
    _r("NORMAL_INTERRUPT_STATUS", 0x30, 16,
       F("COMMAND_COMPLETE", 0, 1, "W1C"),
       F("TRANSFER_COMPLETE", 1, 1, "W1C"),
       F("BLOCK_GAP_EVENT", 2, 1, "W1C"),
       F("DMA_INTERRUPT", 3, 1, "W1C"),
       F("BUFFER_WRITE_READY", 4, 1, "W1C"),
       F("BUFFER_READ_READY", 5, 1, "W1C"),
       F("CARD_INSERTION", 6, 1, "W1C"),
       F("CARD_REMOVAL", 7, 1, "W1C"),
       F("CARD_INTERRUPT", 8, 1, "RO"),
       F("RE_TUNING_EVENT", 12, 1, "RO", min_version=V3),
       F("ERROR_INTERRUPT", 15, 1, "RO")),
    _r("ERROR_INTERRUPT_STATUS", 0x32, 16,
       F("COMMAND_TIMEOUT_ERROR", 0, 1, "W1C"),
       F("COMMAND_CRC_ERROR", 1, 1, "W1C"),
       F("COMMAND_END_BIT_ERROR", 2, 1, "W1C"),
       F("COMMAND_INDEX_ERROR", 3, 1, "W1C"),
       F("DATA_TIMEOUT_ERROR", 4, 1, "W1C"),
       F("DATA_CRC_ERROR", 5, 1, "W1C"),
       F("DATA_END_BIT_ERROR", 6, 1, "W1C"),
       F("CURRENT_LIMIT_ERROR", 7, 1, "W1C"),
       F("AUTO_CMD_ERROR", 8, 1, "W1C"),
       F("ADMA_ERROR", 9, 1, "W1C", min_version=V2),
       F("TUNING_ERROR", 10, 1, "W1C", min_version=V3),
       F("RESPONSE_ERROR", 11, 1, "W1C", min_version=V4)),
    _r("NORMAL_INTERRUPT_STATUS_ENABLE", 0x34, 16,
       F("NORMAL_STATUS_ENABLE", 0, 9, "RW"),
       F("INT_ABC_RETUNING_STATUS_ENABLE", 9, 4, "RW", min_version=V3),
       F("FIXED_TO_0", 15, 1, "RO")),
    _r("ERROR_INTERRUPT_STATUS_ENABLE", 0x36, 16,
       F("ERROR_STATUS_ENABLE", 0, 9, "RW"),
       F("ADMA_ERROR_STATUS_ENABLE", 9, 1, "RW", min_version=V2),
       F("TUNING_ERROR_STATUS_ENABLE", 10, 1, "RW", min_version=V3),
       F("RESPONSE_ERROR_STATUS_ENABLE", 11, 1, "RW", min_version=V4),
       F("VENDOR_SPECIFIC_ERROR_STATUS_ENABLE", 12, 4, "RW")),
    _r("NORMAL_INTERRUPT_SIGNAL_ENABLE", 0x38, 16,
       F("NORMAL_SIGNAL_ENABLE", 0, 9, "RW"),
       F("INT_ABC_RETUNING_SIGNAL_ENABLE", 9, 4, "RW", min_version=V3),
       F("FIXED_TO_0", 15, 1, "RO")),
    _r("ERROR_INTERRUPT_SIGNAL_ENABLE", 0x3A, 16,
       F("ERROR_SIGNAL_ENABLE", 0, 9, "RW"),
       F("ADMA_ERROR_SIGNAL_ENABLE", 9, 1, "RW", min_version=V2),
       F("TUNING_ERROR_SIGNAL_ENABLE", 10, 1, "RW", min_version=V3),
       F("RESPONSE_ERROR_SIGNAL_ENABLE", 11, 1, "RW", min_version=V4),
       F("VENDOR_SPECIFIC_ERROR_SIGNAL_ENABLE", 12, 4, "RW")),
    _r("AUTO_CMD_ERROR_STATUS", 0x3C, 16,
       F("AUTO_CMD12_NOT_EXECUTED", 0, 1, "ROC"),
       F("AUTO_CMD_TIMEOUT_ERROR", 1, 1, "ROC"),
       F("AUTO_CMD_CRC_ERROR", 2, 1, "ROC"),
       F("AUTO_CMD_END_BIT_ERROR", 3, 1, "ROC"),
       F("AUTO_CMD_INDEX_ERROR", 4, 1, "ROC"),
       F("AUTO_CMD_RESPONSE_ERROR", 5, 1, "ROC", min_version=V410),
       F("COMMAND_NOT_ISSUED_BY_AUTO_CMD12_ERROR", 7, 1, "ROC")),
    _r("HOST_CONTROL_2", 0x3E, 16,
       F("UHS_MODE_SELECT", 0, 3, "RW"),
       F("SIGNALING_1V8_ENABLE", 3, 1, "RW"),
       F("DRIVER_STRENGTH_SELECT", 4, 2, "RW"),
       F("EXECUTE_TUNING", 6, 1, "RWAC"),
       F("SAMPLING_CLOCK_SELECT", 7, 1, "RW"),
       F("ADMA2_LENGTH_MODE", 10, 1, "RW", min_version=V410),
       F("CMD23_ENABLE", 11, 1, "RW", min_version=V410),
       F("HOST_VERSION_4_ENABLE", 12, 1, "RW", min_version=V4),
       F("ADDRESSING_64BIT", 13, 1, "RW", min_version=V4),
       F("ASYNCHRONOUS_INTERRUPT_ENABLE", 14, 1, "RW"),
       F("PRESET_VALUE_ENABLE", 15, 1, "RW"),
       min_version=V3),
    _r("CAPABILITIES", 0x40, 32,
       F("TIMEOUT_CLOCK_FREQUENCY", 0, 6, "HWInit"),
       F("TIMEOUT_CLOCK_UNIT", 7, 1, "HWInit"),
       F("BASE_CLOCK_FREQUENCY", 8, 8, "HWInit"),
       F("MAX_BLOCK_LENGTH", 16, 2, "HWInit"),
       F("SUPPORT_8BIT_EMBEDDED", 18, 1, "HWInit", min_version=V3),
       F("ADMA2_SUPPORT", 19, 1, "HWInit", min_version=V2),
       F("HIGH_SPEED_SUPPORT", 21, 1, "HWInit"),
       F("SDMA_SUPPORT", 22, 1, "HWInit"),
       F("SUSPEND_RESUME_SUPPORT", 23, 1, "HWInit"),
       F("VOLTAGE_SUPPORT_3V3", 24, 1, "HWInit"),
       F("VOLTAGE_SUPPORT_3V0", 25, 1, "HWInit"),
       F("VOLTAGE_SUPPORT_1V8", 26, 1, "HWInit"),
       F("SYSTEM_BUS_64BIT_SUPPORT_V4", 27, 1, "HWInit", min_version=V4),
       F("SYSTEM_BUS_64BIT_SUPPORT", 28, 1, "HWInit", min_version=V2),
       F("ASYNCHRONOUS_INTERRUPT_SUPPORT", 29, 1, "HWInit", min_version=V3),
       F("SLOT_TYPE", 30, 2, "HWInit", min_version=V3)),
    _r("CAPABILITIES_1", 0x44, 32,
       F("SDR50_SUPPORT", 0, 1, "HWInit"),
       F("SDR104_SUPPORT", 1, 1, "HWInit"),
       F("DDR50_SUPPORT", 2, 1, "HWInit"),
       F("DRIVER_TYPE_A_SUPPORT", 4, 1, "HWInit"),
       F("DRIVER_TYPE_C_SUPPORT", 5, 1, "HWInit"),
       F("DRIVER_TYPE_D_SUPPORT", 6, 1, "HWInit"),
       F("TIMER_COUNT_FOR_RE_TUNING", 8, 4, "HWInit"),
       F("USE_TUNING_FOR_SDR50", 13, 1, "HWInit"),
       F("RE_TUNING_MODES", 14, 2, "HWInit"),
       F("CLOCK_MULTIPLIER", 16, 8, "HWInit"),
       min_version=V3),
    _r("MAXIMUM_CURRENT_CAPABILITIES", 0x48, 32,
       F("MAXIMUM_CURRENT_3V3", 0, 8, "HWInit"),
       F("MAXIMUM_CURRENT_3V0", 8, 8, "HWInit"),
       F("MAXIMUM_CURRENT_1V8", 16, 8, "HWInit")),
    _r("FORCE_EVENT_AUTO_CMD_ERROR_STATUS", 0x50, 16, F("FORCE_EVENT", 0, 16, "WO"), min_version=V2),
    _r("FORCE_EVENT_ERROR_INTERRUPT_STATUS", 0x52, 16, F("FORCE_EVENT", 0, 16, "WO"), min_version=V2),
    _r("ADMA_ERROR_STATUS", 0x54, 8,
       F("ADMA_ERROR_STATE", 0, 2, "ROC"),
       F("ADMA_LENGTH_MISMATCH_ERROR", 2, 1, "ROC"),
       min_version=V2),
    _r("ADMA_SYSTEM_ADDRESS", 0x58, 32, F("ADMA_SYSTEM_ADDRESS", 0, 32, "RW"), min_version=V2),
    _r("ADMA_SYSTEM_ADDRESS_HI", 0x5C, 32, F("ADMA_SYSTEM_ADDRESS_HI", 0, 32, "RW"), min_version=V2),
    *[_r(f"PRESET_VALUE_{name}", 0x60 + 2 * i, 16,
         F("SDCLK_FREQUENCY_SELECT_VALUE", 0, 10, "HWInit"),
         F("CLOCK_GENERATOR_SELECT_VALUE", 10, 1, "HWInit"),
         F("DRIVER_STRENGTH_SELECT_VALUE", 14, 2, "HWInit"),
         min_version=V3)
      for i, name in enumerate(("INIT", "DEFAULT_SPEED", "HIGH_SPEED", "SDR12",
                                "SDR25", "SDR50", "SDR104", "DDR50"))],
    _r("SLOT_INTERRUPT_STATUS", 0xFC, 16, F("INTERRUPT_SIGNAL_FOR_EACH_SLOT", 0, 8, "RO")),
    _r("HOST_CONTROLLER_VERSION", 0xFE, 16,
       F("SPECIFICATION_VERSION_NUMBER", 0, 8, "HWInit"),
       F("VENDOR_VERSION_NUMBER", 8, 8, "HWInit")),
]

REGISTER_BY_NAME: dict[str, Register] = {r.name: r for r in REGISTERS}


def register_at(offset: int) -> Register | None:
    """The register whose bytes cover `offset`, or None for a reserved address."""
    for reg in REGISTERS:
        if reg.offset <= offset < reg.offset + reg.width // 8:
            return reg
    return None


def render_verilog_header(prefix: str = "SDHCI_", hwinit: dict[str, int] | None = None) -> str:
    """Verilog `localparam`s: offset, width, reset value and per-field masks of every register.

    `hwinit` supplies the values of HWInit registers (e.g. {"CAPABILITIES":
    0x..., "HOST_CONTROLLER_VERSION": 0x0002}), which are configuration, not
    reset state; missing ones render as 0. Include the result inside a module.
    """
    hwinit = hwinit or {}
    lines = ["// Generated by sdhci.regmap.render_verilog_header(); do not edit.",
             "// SD Host Controller Simplified Specification v3.00 register map."]
    for reg in REGISTERS:
        name = f"{prefix}{reg.name}"
        reset = hwinit.get(reg.name, reg.reset_value(SDHCI_SPEC_420))
        lines.append(f"localparam [7:0] {name}_OFFSET = 8'h{reg.offset:02X};")
        lines.append(f"localparam integer {name}_WIDTH = {reg.width};")
        lines.append(f"localparam [{reg.width - 1}:0] {name}_RESET = {reg.width}'h{reset:0{reg.width // 4}X};")
        for f in reg.fields:
            lines.append(f"localparam [{reg.width - 1}:0] {name}_{f.name}_MASK = "
                         f"{reg.width}'h{f.mask:0{reg.width // 4}X};  // {f.access}, bits "
                         f"{f.lsb + f.width - 1}:{f.lsb}")
    return "\n".join(lines) + "\n"


# --- Linux drivers/mmc/host/sdhci.h names and values -------------------------
SDHCI_DMA_ADDRESS = 0x00
SDHCI_ARGUMENT2 = SDHCI_DMA_ADDRESS
SDHCI_32BIT_BLK_CNT = SDHCI_DMA_ADDRESS

SDHCI_BLOCK_SIZE = 0x04
SDHCI_BLOCK_COUNT = 0x06
SDHCI_ARGUMENT = 0x08

SDHCI_TRANSFER_MODE = 0x0C
SDHCI_TRNS_DMA = 0x01
SDHCI_TRNS_BLK_CNT_EN = 0x02
SDHCI_TRNS_AUTO_CMD12 = 0x04
SDHCI_TRNS_AUTO_CMD23 = 0x08
SDHCI_TRNS_AUTO_SEL = 0x0C
SDHCI_TRNS_READ = 0x10
SDHCI_TRNS_MULTI = 0x20
SDHCI_TRNS_RES_TYPE = 0x40
SDHCI_TRNS_RES_ERR_CHECK = 0x80
SDHCI_TRNS_RES_INT_DIS = 0x0100

SDHCI_COMMAND = 0x0E
SDHCI_CMD_RESP_MASK = 0x03
SDHCI_CMD_SUB_CMD = 0x04
SDHCI_CMD_CRC = 0x08
SDHCI_CMD_INDEX = 0x10
SDHCI_CMD_DATA = 0x20
SDHCI_CMD_ABORTCMD = 0xC0
SDHCI_CMD_RESP_NONE = 0x00
SDHCI_CMD_RESP_LONG = 0x01
SDHCI_CMD_RESP_SHORT = 0x02
SDHCI_CMD_RESP_SHORT_BUSY = 0x03

SDHCI_RESPONSE = 0x10
SDHCI_BUFFER = 0x20

SDHCI_PRESENT_STATE = 0x24
SDHCI_CMD_INHIBIT = 0x00000001
SDHCI_DATA_INHIBIT = 0x00000002
SDHCI_DAT_4_TO_7_LVL_MASK = 0x000000F0
SDHCI_DOING_WRITE = 0x00000100
SDHCI_DOING_READ = 0x00000200
SDHCI_SPACE_AVAILABLE = 0x00000400
SDHCI_DATA_AVAILABLE = 0x00000800
SDHCI_CARD_PRESENT = 0x00010000
SDHCI_CARD_PRES_SHIFT = 16
SDHCI_CD_STABLE = 0x00020000
SDHCI_CD_LVL = 0x00040000
SDHCI_CD_LVL_SHIFT = 18
SDHCI_WRITE_PROTECT = 0x00080000
SDHCI_DATA_LVL_MASK = 0x00F00000
SDHCI_DATA_LVL_SHIFT = 20
SDHCI_DATA_0_LVL_MASK = 0x00100000
SDHCI_CMD_LVL = 0x01000000

SDHCI_HOST_CONTROL = 0x28
SDHCI_CTRL_LED = 0x01
SDHCI_CTRL_4BITBUS = 0x02
SDHCI_CTRL_HISPD = 0x04
SDHCI_CTRL_DMA_MASK = 0x18
SDHCI_CTRL_SDMA = 0x00
SDHCI_CTRL_ADMA1 = 0x08
SDHCI_CTRL_ADMA32 = 0x10
SDHCI_CTRL_ADMA64 = 0x18
SDHCI_CTRL_8BITBUS = 0x20
SDHCI_CTRL_CDTEST_INS = 0x40
SDHCI_CTRL_CDTEST_EN = 0x80

SDHCI_POWER_CONTROL = 0x29
SDHCI_POWER_ON = 0x01
SDHCI_POWER_180 = 0x0A
SDHCI_POWER_300 = 0x0C
SDHCI_POWER_330 = 0x0E

SDHCI_BLOCK_GAP_CONTROL = 0x2A
SDHCI_WAKE_UP_CONTROL = 0x2B
SDHCI_WAKE_ON_INT = 0x01
SDHCI_WAKE_ON_INSERT = 0x02
SDHCI_WAKE_ON_REMOVE = 0x04

SDHCI_CLOCK_CONTROL = 0x2C
SDHCI_DIVIDER_SHIFT = 8
SDHCI_DIVIDER_HI_SHIFT = 6
SDHCI_DIV_MASK = 0xFF
SDHCI_DIV_MASK_LEN = 8
SDHCI_DIV_HI_MASK = 0x300
SDHCI_PROG_CLOCK_MODE = 0x0020
SDHCI_CLOCK_CARD_EN = 0x0004
SDHCI_CLOCK_PLL_EN = 0x0008
SDHCI_CLOCK_INT_STABLE = 0x0002
SDHCI_CLOCK_INT_EN = 0x0001

SDHCI_TIMEOUT_CONTROL = 0x2E

SDHCI_SOFTWARE_RESET = 0x2F
SDHCI_RESET_ALL = 0x01
SDHCI_RESET_CMD = 0x02
SDHCI_RESET_DATA = 0x04

# The interrupt masks are 32-bit: Normal (0x30) in bits 15:0, Error (0x32) in 31:16.
SDHCI_INT_STATUS = 0x30
SDHCI_INT_ENABLE = 0x34
SDHCI_SIGNAL_ENABLE = 0x38
SDHCI_INT_RESPONSE = 0x00000001
SDHCI_INT_DATA_END = 0x00000002
SDHCI_INT_BLK_GAP = 0x00000004
SDHCI_INT_DMA_END = 0x00000008
SDHCI_INT_SPACE_AVAIL = 0x00000010
SDHCI_INT_DATA_AVAIL = 0x00000020
SDHCI_INT_CARD_INSERT = 0x00000040
SDHCI_INT_CARD_REMOVE = 0x00000080
SDHCI_INT_CARD_INT = 0x00000100
SDHCI_INT_RETUNE = 0x00001000
SDHCI_INT_FX_EVENT = 0x00002000
SDHCI_INT_CQE = 0x00004000
SDHCI_INT_ERROR = 0x00008000
SDHCI_INT_TIMEOUT = 0x00010000
SDHCI_INT_CRC = 0x00020000
SDHCI_INT_END_BIT = 0x00040000
SDHCI_INT_INDEX = 0x00080000
SDHCI_INT_DATA_TIMEOUT = 0x00100000
SDHCI_INT_DATA_CRC = 0x00200000
SDHCI_INT_DATA_END_BIT = 0x00400000
SDHCI_INT_BUS_POWER = 0x00800000
SDHCI_INT_AUTO_CMD_ERR = 0x01000000
SDHCI_INT_ADMA_ERROR = 0x02000000
SDHCI_INT_TUNING_ERROR = 0x04000000
SDHCI_INT_RESP_ERR = 0x08000000
SDHCI_INT_NORMAL_MASK = 0x00007FFF
SDHCI_INT_ERROR_MASK = 0xFFFF8000
SDHCI_INT_CMD_MASK = (SDHCI_INT_RESPONSE | SDHCI_INT_TIMEOUT | SDHCI_INT_CRC
                      | SDHCI_INT_END_BIT | SDHCI_INT_INDEX | SDHCI_INT_AUTO_CMD_ERR)
SDHCI_INT_DATA_MASK = (SDHCI_INT_DATA_END | SDHCI_INT_DMA_END | SDHCI_INT_DATA_AVAIL
                       | SDHCI_INT_SPACE_AVAIL | SDHCI_INT_DATA_TIMEOUT | SDHCI_INT_DATA_CRC
                       | SDHCI_INT_DATA_END_BIT | SDHCI_INT_ADMA_ERROR | SDHCI_INT_BLK_GAP
                       | SDHCI_INT_TUNING_ERROR)
SDHCI_INT_ALL_MASK = 0xFFFFFFFF

SDHCI_AUTO_CMD_STATUS = 0x3C
SDHCI_AUTO_CMD_TIMEOUT = 0x00000002
SDHCI_AUTO_CMD_CRC = 0x00000004
SDHCI_AUTO_CMD_END_BIT = 0x00000008
SDHCI_AUTO_CMD_INDEX = 0x00000010
SDHCI_AUTO_CMD_RESP_ERR = 0x0020

SDHCI_HOST_CONTROL2 = 0x3E
SDHCI_CTRL_UHS_MASK = 0x0007
SDHCI_CTRL_UHS_SDR12 = 0x0000
SDHCI_CTRL_UHS_SDR25 = 0x0001
SDHCI_CTRL_UHS_SDR50 = 0x0002
SDHCI_CTRL_UHS_SDR104 = 0x0003
SDHCI_CTRL_UHS_DDR50 = 0x0004
SDHCI_CTRL_HS400 = 0x0005
SDHCI_CTRL_VDD_180 = 0x0008
SDHCI_CTRL_DRV_TYPE_MASK = 0x0030
SDHCI_CTRL_EXEC_TUNING = 0x0040
SDHCI_CTRL_TUNED_CLK = 0x0080
SDHCI_CTRL_ADMA2_LEN_MODE = 0x0400
SDHCI_CMD23_ENABLE = 0x0800
SDHCI_CTRL_V4_MODE = 0x1000
SDHCI_CTRL_64BIT_ADDR = 0x2000
SDHCI_CTRL_ASYNC_INT_ENABLE = 0x4000
SDHCI_CTRL_PRESET_VAL_ENABLE = 0x8000

SDHCI_CAPABILITIES = 0x40
SDHCI_TIMEOUT_CLK_MASK = 0x0000003F
SDHCI_TIMEOUT_CLK_SHIFT = 0
SDHCI_TIMEOUT_CLK_UNIT = 0x00000080
SDHCI_CLOCK_BASE_MASK = 0x00003F00
SDHCI_CLOCK_BASE_SHIFT = 8
SDHCI_CLOCK_V3_BASE_MASK = 0x0000FF00
SDHCI_MAX_BLOCK_MASK = 0x00030000
SDHCI_MAX_BLOCK_SHIFT = 16
SDHCI_CAN_DO_8BIT = 0x00040000
SDHCI_CAN_DO_ADMA2 = 0x00080000
SDHCI_CAN_DO_ADMA1 = 0x00100000
SDHCI_CAN_DO_HISPD = 0x00200000
SDHCI_CAN_DO_SDMA = 0x00400000
SDHCI_CAN_DO_SUSPEND = 0x00800000
SDHCI_CAN_VDD_330 = 0x01000000
SDHCI_CAN_VDD_300 = 0x02000000
SDHCI_CAN_VDD_180 = 0x04000000
SDHCI_CAN_64BIT_V4 = 0x08000000
SDHCI_CAN_64BIT = 0x10000000
SDHCI_CAN_ASYNC_INT = 0x20000000

SDHCI_CAPABILITIES_1 = 0x44
SDHCI_SUPPORT_SDR50 = 0x00000001
SDHCI_SUPPORT_SDR104 = 0x00000002
SDHCI_SUPPORT_DDR50 = 0x00000004
SDHCI_SUPPORT_HS400 = 0x80000000

SDHCI_MAX_CURRENT = 0x48
SDHCI_SET_ACMD12_ERROR = 0x50
SDHCI_SET_INT_ERROR = 0x52
SDHCI_ADMA_ERROR = 0x54
SDHCI_ADMA_ADDRESS = 0x58
SDHCI_ADMA_ADDRESS_HI = 0x5C
SDHCI_SLOT_INT_STATUS = 0xFC

SDHCI_HOST_VERSION = 0xFE
SDHCI_VENDOR_VER_MASK = 0xFF00
SDHCI_VENDOR_VER_SHIFT = 8
SDHCI_SPEC_VER_MASK = 0x00FF
SDHCI_SPEC_VER_SHIFT = 0

SDHCI_MAX_DIV_SPEC_200 = 256
SDHCI_MAX_DIV_SPEC_300 = 2046

SDHCI_DEFAULT_BOUNDARY_SIZE = 512 * 1024
SDHCI_DEFAULT_BOUNDARY_ARG = 7  # ilog2(512 KiB) - 12

# ADMA2 descriptors: attribute bits of the first 16-bit word.
SDHCI_ADMA2_32_DESC_SZ = 8
ADMA2_TRAN_VALID = 0x21
ADMA2_NOP_END_VALID = 0x3
ADMA2_END = 0x2
ADMA2_VALID = 0x01
ADMA2_INT = 0x04
ADMA2_ACT_MASK = 0x30
ADMA2_ACT_NOP = 0x00
ADMA2_ACT_RSV = 0x10
ADMA2_ACT_TRAN = 0x20
ADMA2_ACT_LINK = 0x30

# ADMA Error Status, ADMA Error State (bits 1:0): where the engine stopped.
ADMA_ERROR_STATE_ST_STOP = 0
ADMA_ERROR_STATE_ST_FDS = 1
ADMA_ERROR_STATE_ST_TFR = 3
ADMA_ERROR_LENGTH_MISMATCH = 0x04


def SDHCI_MAKE_BLKSZ(dma: int, blksz: int) -> int:
    """Block Size register value: SDMA buffer boundary code and block size."""
    return ((dma & 0x7) << 12) | (blksz & 0xFFF)


def SDHCI_MAKE_CMD(c: int, f: int) -> int:
    """Command register value from a command index and the flag byte."""
    return ((c & 0xFF) << 8) | (f & 0xFF)


def SDHCI_GET_CMD(c: int) -> int:
    """Command index from a Command register value."""
    return (c >> 8) & 0x3F
