"""The SDHCI register map: the one source of truth for offsets, fields, access and resets.

Per the SD Host Controller Simplified Specification v3.00 (with the v4.x
additions marked by `min_version`). The controller model, the driver port and
the RTL (through `render_verilog_header()`) all read it from here.

Two layers:
- `REGISTERS`: data, a list of `Register` with `Field`s, for the model's
  access logic, tests and the Verilog header; `field()`, `bits()` and
  `field_value()` look fields up by their specification names.
- Module constants named as Linux's drivers/mmc/host/sdhci.h names them
  (SDHCI_ARGUMENT, SDHCI_INT_RESPONSE, SDHCI_MAKE_CMD, ...), for the driver
  port and the model, their values derived from `REGISTERS`.

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

    def get(self, register_value: int) -> int:
        """This field's value in a value of its register."""
        return (register_value >> self.lsb) & ((1 << self.width) - 1)


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


# --- Linux drivers/mmc/host/sdhci.h names, derived from REGISTERS ----------
# Each name is Linux's; its value comes from the register map above (an offset,
# a field's mask, or a field value in place), so the model, the driver port and
# the RTL header share one source. tests/test_sdhci_regmap.py checks every one
# against the value sdhci.h gives it. The few that name bits outside this map
# (features the model does not have) are written out and marked.


def field(register: str, name: str) -> Field:
    """A field of a register by their specification names."""
    return REGISTER_BY_NAME[register].field(name)


def bits(register: str, name: str) -> int:
    """The mask of a field in its register."""
    return field(register, name).mask


def field_value(register: str, name: str, value: int) -> int:
    """`value` of a field, shifted into place in its register."""
    f = field(register, name)
    if not 0 <= value < 1 << f.width:
        raise ValueError(f"{value} does not fit {register}.{name} ({f.width} bits)")
    return value << f.lsb


def _offset(register: str) -> int:
    return REGISTER_BY_NAME[register].offset


def _interrupt(register: str, name: str) -> int:
    """An interrupt bit in Linux's 32-bit layout: Normal in bits 15:0, Error in 31:16."""
    return bits(register, name) << (16 if register.startswith("ERROR") else 0)


SDHCI_DMA_ADDRESS = _offset("SDMA_SYSTEM_ADDRESS")
SDHCI_ARGUMENT2 = SDHCI_DMA_ADDRESS
SDHCI_32BIT_BLK_CNT = SDHCI_DMA_ADDRESS

SDHCI_BLOCK_SIZE = _offset("BLOCK_SIZE")
SDHCI_BLOCK_COUNT = _offset("BLOCK_COUNT")
SDHCI_ARGUMENT = _offset("ARGUMENT")

SDHCI_TRANSFER_MODE = _offset("TRANSFER_MODE")
SDHCI_TRNS_DMA = bits("TRANSFER_MODE", "DMA_ENABLE")
SDHCI_TRNS_BLK_CNT_EN = bits("TRANSFER_MODE", "BLOCK_COUNT_ENABLE")
SDHCI_TRNS_AUTO_CMD12 = field_value("TRANSFER_MODE", "AUTO_CMD_ENABLE", 1)
SDHCI_TRNS_AUTO_CMD23 = field_value("TRANSFER_MODE", "AUTO_CMD_ENABLE", 2)
SDHCI_TRNS_AUTO_SEL = bits("TRANSFER_MODE", "AUTO_CMD_ENABLE")
SDHCI_TRNS_READ = bits("TRANSFER_MODE", "DATA_TRANSFER_DIRECTION")
SDHCI_TRNS_MULTI = bits("TRANSFER_MODE", "MULTI_BLOCK_SELECT")
SDHCI_TRNS_RES_TYPE = bits("TRANSFER_MODE", "RESPONSE_TYPE_R1_R5")
SDHCI_TRNS_RES_ERR_CHECK = bits("TRANSFER_MODE", "RESPONSE_ERROR_CHECK_ENABLE")
SDHCI_TRNS_RES_INT_DIS = bits("TRANSFER_MODE", "RESPONSE_INTERRUPT_DISABLE")

SDHCI_COMMAND = _offset("COMMAND")
SDHCI_CMD_RESP_MASK = bits("COMMAND", "RESPONSE_TYPE_SELECT")
SDHCI_CMD_SUB_CMD = bits("COMMAND", "SUB_COMMAND_FLAG")
SDHCI_CMD_CRC = bits("COMMAND", "COMMAND_CRC_CHECK_ENABLE")
SDHCI_CMD_INDEX = bits("COMMAND", "COMMAND_INDEX_CHECK_ENABLE")
SDHCI_CMD_DATA = bits("COMMAND", "DATA_PRESENT_SELECT")
SDHCI_CMD_ABORTCMD = field_value("COMMAND", "COMMAND_TYPE", 3)
SDHCI_CMD_RESP_NONE = field_value("COMMAND", "RESPONSE_TYPE_SELECT", 0)
SDHCI_CMD_RESP_LONG = field_value("COMMAND", "RESPONSE_TYPE_SELECT", 1)
SDHCI_CMD_RESP_SHORT = field_value("COMMAND", "RESPONSE_TYPE_SELECT", 2)
SDHCI_CMD_RESP_SHORT_BUSY = field_value("COMMAND", "RESPONSE_TYPE_SELECT", 3)

SDHCI_RESPONSE = _offset("RESPONSE0")
SDHCI_BUFFER = _offset("BUFFER_DATA_PORT")

SDHCI_PRESENT_STATE = _offset("PRESENT_STATE")
SDHCI_CMD_INHIBIT = bits("PRESENT_STATE", "COMMAND_INHIBIT_CMD")
SDHCI_DATA_INHIBIT = bits("PRESENT_STATE", "COMMAND_INHIBIT_DAT")
SDHCI_DAT_4_TO_7_LVL_MASK = bits("PRESENT_STATE", "DAT_7_4_LINE_SIGNAL_LEVEL")
SDHCI_DOING_WRITE = bits("PRESENT_STATE", "WRITE_TRANSFER_ACTIVE")
SDHCI_DOING_READ = bits("PRESENT_STATE", "READ_TRANSFER_ACTIVE")
SDHCI_SPACE_AVAILABLE = bits("PRESENT_STATE", "BUFFER_WRITE_ENABLE")
SDHCI_DATA_AVAILABLE = bits("PRESENT_STATE", "BUFFER_READ_ENABLE")
SDHCI_CARD_PRESENT = bits("PRESENT_STATE", "CARD_INSERTED")
SDHCI_CARD_PRES_SHIFT = field("PRESENT_STATE", "CARD_INSERTED").lsb
SDHCI_CD_STABLE = bits("PRESENT_STATE", "CARD_STATE_STABLE")
SDHCI_CD_LVL = bits("PRESENT_STATE", "CARD_DETECT_PIN_LEVEL")
SDHCI_CD_LVL_SHIFT = field("PRESENT_STATE", "CARD_DETECT_PIN_LEVEL").lsb
SDHCI_WRITE_PROTECT = bits("PRESENT_STATE", "WRITE_PROTECT_SWITCH_PIN_LEVEL")
SDHCI_DATA_LVL_MASK = bits("PRESENT_STATE", "DAT_3_0_LINE_SIGNAL_LEVEL")
SDHCI_DATA_LVL_SHIFT = field("PRESENT_STATE", "DAT_3_0_LINE_SIGNAL_LEVEL").lsb
SDHCI_DATA_0_LVL_MASK = field_value("PRESENT_STATE", "DAT_3_0_LINE_SIGNAL_LEVEL", 0b0001)
SDHCI_CMD_LVL = bits("PRESENT_STATE", "CMD_LINE_SIGNAL_LEVEL")

SDHCI_HOST_CONTROL = _offset("HOST_CONTROL_1")
SDHCI_CTRL_LED = bits("HOST_CONTROL_1", "LED_CONTROL")
SDHCI_CTRL_4BITBUS = bits("HOST_CONTROL_1", "DATA_TRANSFER_WIDTH")
SDHCI_CTRL_HISPD = bits("HOST_CONTROL_1", "HIGH_SPEED_ENABLE")
SDHCI_CTRL_DMA_MASK = bits("HOST_CONTROL_1", "DMA_SELECT")
SDHCI_CTRL_SDMA = field_value("HOST_CONTROL_1", "DMA_SELECT", 0)
SDHCI_CTRL_ADMA1 = field_value("HOST_CONTROL_1", "DMA_SELECT", 1)
SDHCI_CTRL_ADMA32 = field_value("HOST_CONTROL_1", "DMA_SELECT", 2)
SDHCI_CTRL_ADMA64 = field_value("HOST_CONTROL_1", "DMA_SELECT", 3)
SDHCI_CTRL_8BITBUS = bits("HOST_CONTROL_1", "EXTENDED_DATA_TRANSFER_WIDTH")
SDHCI_CTRL_CDTEST_INS = bits("HOST_CONTROL_1", "CARD_DETECT_TEST_LEVEL")
SDHCI_CTRL_CDTEST_EN = bits("HOST_CONTROL_1", "CARD_DETECT_SIGNAL_SELECTION")

SDHCI_POWER_CONTROL = _offset("POWER_CONTROL")
SDHCI_POWER_ON = bits("POWER_CONTROL", "SD_BUS_POWER")
SDHCI_POWER_180 = field_value("POWER_CONTROL", "SD_BUS_VOLTAGE_SELECT", 0b101)
SDHCI_POWER_300 = field_value("POWER_CONTROL", "SD_BUS_VOLTAGE_SELECT", 0b110)
SDHCI_POWER_330 = field_value("POWER_CONTROL", "SD_BUS_VOLTAGE_SELECT", 0b111)

SDHCI_BLOCK_GAP_CONTROL = _offset("BLOCK_GAP_CONTROL")
SDHCI_WAKE_UP_CONTROL = _offset("WAKEUP_CONTROL")
SDHCI_WAKE_ON_INT = bits("WAKEUP_CONTROL", "WAKEUP_ON_CARD_INTERRUPT")
SDHCI_WAKE_ON_INSERT = bits("WAKEUP_CONTROL", "WAKEUP_ON_CARD_INSERTION")
SDHCI_WAKE_ON_REMOVE = bits("WAKEUP_CONTROL", "WAKEUP_ON_CARD_REMOVAL")

SDHCI_CLOCK_CONTROL = _offset("CLOCK_CONTROL")
SDHCI_DIVIDER_SHIFT = field("CLOCK_CONTROL", "SDCLK_FREQUENCY_SELECT").lsb
SDHCI_DIVIDER_HI_SHIFT = field("CLOCK_CONTROL", "UPPER_SDCLK_FREQUENCY_SELECT").lsb
SDHCI_DIV_MASK_LEN = field("CLOCK_CONTROL", "SDCLK_FREQUENCY_SELECT").width
SDHCI_DIV_MASK = (1 << SDHCI_DIV_MASK_LEN) - 1
# The upper divider bits 9:8 as they sit in the 10-bit divider value (not in the register).
SDHCI_DIV_HI_MASK = ((1 << field("CLOCK_CONTROL", "UPPER_SDCLK_FREQUENCY_SELECT").width) - 1) << SDHCI_DIV_MASK_LEN
SDHCI_PROG_CLOCK_MODE = bits("CLOCK_CONTROL", "CLOCK_GENERATOR_SELECT")
SDHCI_CLOCK_CARD_EN = bits("CLOCK_CONTROL", "SD_CLOCK_ENABLE")
SDHCI_CLOCK_PLL_EN = bits("CLOCK_CONTROL", "PLL_ENABLE")
SDHCI_CLOCK_INT_STABLE = bits("CLOCK_CONTROL", "INTERNAL_CLOCK_STABLE")
SDHCI_CLOCK_INT_EN = bits("CLOCK_CONTROL", "INTERNAL_CLOCK_ENABLE")

SDHCI_TIMEOUT_CONTROL = _offset("TIMEOUT_CONTROL")

SDHCI_SOFTWARE_RESET = _offset("SOFTWARE_RESET")
SDHCI_RESET_ALL = bits("SOFTWARE_RESET", "SOFTWARE_RESET_FOR_ALL")
SDHCI_RESET_CMD = bits("SOFTWARE_RESET", "SOFTWARE_RESET_FOR_CMD_LINE")
SDHCI_RESET_DATA = bits("SOFTWARE_RESET", "SOFTWARE_RESET_FOR_DAT_LINE")

# The interrupt masks are 32-bit: Normal (0x30) in bits 15:0, Error (0x32) in 31:16.
SDHCI_INT_STATUS = _offset("NORMAL_INTERRUPT_STATUS")
SDHCI_INT_ENABLE = _offset("NORMAL_INTERRUPT_STATUS_ENABLE")
SDHCI_SIGNAL_ENABLE = _offset("NORMAL_INTERRUPT_SIGNAL_ENABLE")
SDHCI_INT_RESPONSE = _interrupt("NORMAL_INTERRUPT_STATUS", "COMMAND_COMPLETE")
SDHCI_INT_DATA_END = _interrupt("NORMAL_INTERRUPT_STATUS", "TRANSFER_COMPLETE")
SDHCI_INT_BLK_GAP = _interrupt("NORMAL_INTERRUPT_STATUS", "BLOCK_GAP_EVENT")
SDHCI_INT_DMA_END = _interrupt("NORMAL_INTERRUPT_STATUS", "DMA_INTERRUPT")
SDHCI_INT_SPACE_AVAIL = _interrupt("NORMAL_INTERRUPT_STATUS", "BUFFER_WRITE_READY")
SDHCI_INT_DATA_AVAIL = _interrupt("NORMAL_INTERRUPT_STATUS", "BUFFER_READ_READY")
SDHCI_INT_CARD_INSERT = _interrupt("NORMAL_INTERRUPT_STATUS", "CARD_INSERTION")
SDHCI_INT_CARD_REMOVE = _interrupt("NORMAL_INTERRUPT_STATUS", "CARD_REMOVAL")
SDHCI_INT_CARD_INT = _interrupt("NORMAL_INTERRUPT_STATUS", "CARD_INTERRUPT")
SDHCI_INT_RETUNE = _interrupt("NORMAL_INTERRUPT_STATUS", "RE_TUNING_EVENT")
SDHCI_INT_FX_EVENT = 0x00002000            # FX Event (v4.10): not in this register map
SDHCI_INT_CQE = 0x00004000                 # Command Queuing event (v4.10): not in this register map
SDHCI_INT_ERROR = _interrupt("NORMAL_INTERRUPT_STATUS", "ERROR_INTERRUPT")
SDHCI_INT_TIMEOUT = _interrupt("ERROR_INTERRUPT_STATUS", "COMMAND_TIMEOUT_ERROR")
SDHCI_INT_CRC = _interrupt("ERROR_INTERRUPT_STATUS", "COMMAND_CRC_ERROR")
SDHCI_INT_END_BIT = _interrupt("ERROR_INTERRUPT_STATUS", "COMMAND_END_BIT_ERROR")
SDHCI_INT_INDEX = _interrupt("ERROR_INTERRUPT_STATUS", "COMMAND_INDEX_ERROR")
SDHCI_INT_DATA_TIMEOUT = _interrupt("ERROR_INTERRUPT_STATUS", "DATA_TIMEOUT_ERROR")
SDHCI_INT_DATA_CRC = _interrupt("ERROR_INTERRUPT_STATUS", "DATA_CRC_ERROR")
SDHCI_INT_DATA_END_BIT = _interrupt("ERROR_INTERRUPT_STATUS", "DATA_END_BIT_ERROR")
SDHCI_INT_BUS_POWER = _interrupt("ERROR_INTERRUPT_STATUS", "CURRENT_LIMIT_ERROR")
SDHCI_INT_AUTO_CMD_ERR = _interrupt("ERROR_INTERRUPT_STATUS", "AUTO_CMD_ERROR")
SDHCI_INT_ADMA_ERROR = _interrupt("ERROR_INTERRUPT_STATUS", "ADMA_ERROR")
SDHCI_INT_TUNING_ERROR = _interrupt("ERROR_INTERRUPT_STATUS", "TUNING_ERROR")
SDHCI_INT_RESP_ERR = _interrupt("ERROR_INTERRUPT_STATUS", "RESPONSE_ERROR")
# Linux's summary masks: every Normal bit but Error Interrupt; Error Interrupt and every Error bit.
SDHCI_INT_NORMAL_MASK = SDHCI_INT_ERROR - 1
SDHCI_INT_ERROR_MASK = 0xFFFFFFFF & ~SDHCI_INT_NORMAL_MASK
SDHCI_INT_CMD_MASK = (SDHCI_INT_RESPONSE | SDHCI_INT_TIMEOUT | SDHCI_INT_CRC
                      | SDHCI_INT_END_BIT | SDHCI_INT_INDEX | SDHCI_INT_AUTO_CMD_ERR)
SDHCI_INT_DATA_MASK = (SDHCI_INT_DATA_END | SDHCI_INT_DMA_END | SDHCI_INT_DATA_AVAIL
                       | SDHCI_INT_SPACE_AVAIL | SDHCI_INT_DATA_TIMEOUT | SDHCI_INT_DATA_CRC
                       | SDHCI_INT_DATA_END_BIT | SDHCI_INT_ADMA_ERROR | SDHCI_INT_BLK_GAP
                       | SDHCI_INT_TUNING_ERROR)
SDHCI_INT_ALL_MASK = 0xFFFFFFFF

SDHCI_AUTO_CMD_STATUS = _offset("AUTO_CMD_ERROR_STATUS")
SDHCI_AUTO_CMD_TIMEOUT = bits("AUTO_CMD_ERROR_STATUS", "AUTO_CMD_TIMEOUT_ERROR")
SDHCI_AUTO_CMD_CRC = bits("AUTO_CMD_ERROR_STATUS", "AUTO_CMD_CRC_ERROR")
SDHCI_AUTO_CMD_END_BIT = bits("AUTO_CMD_ERROR_STATUS", "AUTO_CMD_END_BIT_ERROR")
SDHCI_AUTO_CMD_INDEX = bits("AUTO_CMD_ERROR_STATUS", "AUTO_CMD_INDEX_ERROR")
SDHCI_AUTO_CMD_RESP_ERR = bits("AUTO_CMD_ERROR_STATUS", "AUTO_CMD_RESPONSE_ERROR")

SDHCI_HOST_CONTROL2 = _offset("HOST_CONTROL_2")
SDHCI_CTRL_UHS_MASK = bits("HOST_CONTROL_2", "UHS_MODE_SELECT")
SDHCI_CTRL_UHS_SDR12 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 0)
SDHCI_CTRL_UHS_SDR25 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 1)
SDHCI_CTRL_UHS_SDR50 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 2)
SDHCI_CTRL_UHS_SDR104 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 3)
SDHCI_CTRL_UHS_DDR50 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 4)
SDHCI_CTRL_HS400 = field_value("HOST_CONTROL_2", "UHS_MODE_SELECT", 5)
SDHCI_CTRL_VDD_180 = bits("HOST_CONTROL_2", "SIGNALING_1V8_ENABLE")
SDHCI_CTRL_DRV_TYPE_MASK = bits("HOST_CONTROL_2", "DRIVER_STRENGTH_SELECT")
SDHCI_CTRL_EXEC_TUNING = bits("HOST_CONTROL_2", "EXECUTE_TUNING")
SDHCI_CTRL_TUNED_CLK = bits("HOST_CONTROL_2", "SAMPLING_CLOCK_SELECT")
SDHCI_CTRL_ADMA2_LEN_MODE = bits("HOST_CONTROL_2", "ADMA2_LENGTH_MODE")
SDHCI_CMD23_ENABLE = bits("HOST_CONTROL_2", "CMD23_ENABLE")
SDHCI_CTRL_V4_MODE = bits("HOST_CONTROL_2", "HOST_VERSION_4_ENABLE")
SDHCI_CTRL_64BIT_ADDR = bits("HOST_CONTROL_2", "ADDRESSING_64BIT")
SDHCI_CTRL_ASYNC_INT_ENABLE = bits("HOST_CONTROL_2", "ASYNCHRONOUS_INTERRUPT_ENABLE")
SDHCI_CTRL_PRESET_VAL_ENABLE = bits("HOST_CONTROL_2", "PRESET_VALUE_ENABLE")

SDHCI_CAPABILITIES = _offset("CAPABILITIES")
SDHCI_TIMEOUT_CLK_MASK = bits("CAPABILITIES", "TIMEOUT_CLOCK_FREQUENCY")
SDHCI_TIMEOUT_CLK_SHIFT = field("CAPABILITIES", "TIMEOUT_CLOCK_FREQUENCY").lsb
SDHCI_TIMEOUT_CLK_UNIT = bits("CAPABILITIES", "TIMEOUT_CLOCK_UNIT")
SDHCI_CLOCK_BASE_SHIFT = field("CAPABILITIES", "BASE_CLOCK_FREQUENCY").lsb
SDHCI_CLOCK_BASE_MASK = 0x3F << SDHCI_CLOCK_BASE_SHIFT          # v1.00/v2.00: a 6-bit field
SDHCI_CLOCK_V3_BASE_MASK = bits("CAPABILITIES", "BASE_CLOCK_FREQUENCY")
SDHCI_MAX_BLOCK_MASK = bits("CAPABILITIES", "MAX_BLOCK_LENGTH")
SDHCI_MAX_BLOCK_SHIFT = field("CAPABILITIES", "MAX_BLOCK_LENGTH").lsb
SDHCI_CAN_DO_8BIT = bits("CAPABILITIES", "SUPPORT_8BIT_EMBEDDED")
SDHCI_CAN_DO_ADMA2 = bits("CAPABILITIES", "ADMA2_SUPPORT")
SDHCI_CAN_DO_ADMA1 = 0x00100000            # ADMA1 Support (v2.00, removed in v3.00): not in this map
SDHCI_CAN_DO_HISPD = bits("CAPABILITIES", "HIGH_SPEED_SUPPORT")
SDHCI_CAN_DO_SDMA = bits("CAPABILITIES", "SDMA_SUPPORT")
SDHCI_CAN_DO_SUSPEND = bits("CAPABILITIES", "SUSPEND_RESUME_SUPPORT")
SDHCI_CAN_VDD_330 = bits("CAPABILITIES", "VOLTAGE_SUPPORT_3V3")
SDHCI_CAN_VDD_300 = bits("CAPABILITIES", "VOLTAGE_SUPPORT_3V0")
SDHCI_CAN_VDD_180 = bits("CAPABILITIES", "VOLTAGE_SUPPORT_1V8")
SDHCI_CAN_64BIT_V4 = bits("CAPABILITIES", "SYSTEM_BUS_64BIT_SUPPORT_V4")
SDHCI_CAN_64BIT = bits("CAPABILITIES", "SYSTEM_BUS_64BIT_SUPPORT")
SDHCI_CAN_ASYNC_INT = bits("CAPABILITIES", "ASYNCHRONOUS_INTERRUPT_SUPPORT")

SDHCI_CAPABILITIES_1 = _offset("CAPABILITIES_1")
SDHCI_SUPPORT_SDR50 = bits("CAPABILITIES_1", "SDR50_SUPPORT")
SDHCI_SUPPORT_SDR104 = bits("CAPABILITIES_1", "SDR104_SUPPORT")
SDHCI_SUPPORT_DDR50 = bits("CAPABILITIES_1", "DDR50_SUPPORT")
SDHCI_SUPPORT_HS400 = 0x80000000           # HS400 Support (v4.10 bit 63): not in this map

SDHCI_MAX_CURRENT = _offset("MAXIMUM_CURRENT_CAPABILITIES")
SDHCI_SET_ACMD12_ERROR = _offset("FORCE_EVENT_AUTO_CMD_ERROR_STATUS")
SDHCI_SET_INT_ERROR = _offset("FORCE_EVENT_ERROR_INTERRUPT_STATUS")
SDHCI_ADMA_ERROR = _offset("ADMA_ERROR_STATUS")
SDHCI_ADMA_ADDRESS = _offset("ADMA_SYSTEM_ADDRESS")
SDHCI_ADMA_ADDRESS_HI = _offset("ADMA_SYSTEM_ADDRESS_HI")
SDHCI_SLOT_INT_STATUS = _offset("SLOT_INTERRUPT_STATUS")

SDHCI_HOST_VERSION = _offset("HOST_CONTROLLER_VERSION")
SDHCI_VENDOR_VER_MASK = bits("HOST_CONTROLLER_VERSION", "VENDOR_VERSION_NUMBER")
SDHCI_VENDOR_VER_SHIFT = field("HOST_CONTROLLER_VERSION", "VENDOR_VERSION_NUMBER").lsb
SDHCI_SPEC_VER_MASK = bits("HOST_CONTROLLER_VERSION", "SPECIFICATION_VERSION_NUMBER")
SDHCI_SPEC_VER_SHIFT = field("HOST_CONTROLLER_VERSION", "SPECIFICATION_VERSION_NUMBER").lsb

# Not register fields: divider limits, the driver's default SDMA boundary.
SDHCI_MAX_DIV_SPEC_200 = 256
SDHCI_MAX_DIV_SPEC_300 = 2046

SDHCI_DEFAULT_BOUNDARY_SIZE = 512 * 1024
SDHCI_DEFAULT_BOUNDARY_ARG = 7  # ilog2(512 KiB) - 12

# ADMA2 descriptors (in host memory, not registers): attribute bits of the first 16-bit word.
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

# ADMA Error Status: ADMA Error State (bits 1:0) says where the engine stopped.
ADMA_ERROR_STATE_ST_STOP = field_value("ADMA_ERROR_STATUS", "ADMA_ERROR_STATE", 0)
ADMA_ERROR_STATE_ST_FDS = field_value("ADMA_ERROR_STATUS", "ADMA_ERROR_STATE", 1)
ADMA_ERROR_STATE_ST_TFR = field_value("ADMA_ERROR_STATUS", "ADMA_ERROR_STATE", 3)
ADMA_ERROR_LENGTH_MISMATCH = bits("ADMA_ERROR_STATUS", "ADMA_LENGTH_MISMATCH_ERROR")


def SDHCI_MAKE_BLKSZ(dma: int, blksz: int) -> int:
    """Block Size register value: SDMA buffer boundary code and block size."""
    return ((dma & 0x7) << 12) | (blksz & 0xFFF)


def SDHCI_MAKE_CMD(c: int, f: int) -> int:
    """Command register value from a command index and the flag byte."""
    return ((c & 0xFF) << 8) | (f & 0xFF)


def SDHCI_GET_CMD(c: int) -> int:
    """Command index from a Command register value."""
    return (c >> 8) & 0x3F
