"""OCR, CID, CSD and EXT_CSD contents built from a CardConfig (JESD84-B51).

CID and CSD are 128-bit registers whose fields are given by bit ranges
(127..0); bitstring reads a field back as one slice.
EXT_CSD is 512 bytes indexed by byte; the named indices below are the ones
the card model and the host use.
"""
from __future__ import annotations

from bitstring import Bits

from emmc_card.config import SECTOR, CardConfig, ConfigError, encode_taac
from emmc_card.protocol import register_with_crc

# OCR bits.
OCR_BUSY = 1 << 31                # 1 = power-up done
OCR_ACCESS_MODE_SHIFT = 29
OCR_ACCESS_BYTE = 0b00
OCR_ACCESS_SECTOR = 0b10
OCR_VDD_27_36 = 0x1FF << 15       # 2.7-3.6 V window
OCR_VDD_170_195 = 1 << 7          # 1.70-1.95 V
OCR_VOLTAGE_MASK = 0x00FFFF80     # bits 23:7: the voltage window of a CMD1 argument

# EXT_CSD byte indices.
EXT_CSD_CMDQ_MODE_EN = 15
EXT_CSD_FLUSH_CACHE = 32
EXT_CSD_CACHE_CTRL = 33
EXT_CSD_PARTITION_SUPPORT = 160
EXT_CSD_HPI_MGMT = 161
EXT_CSD_WR_REL_PARAM = 166
EXT_CSD_WR_REL_SET = 167
EXT_CSD_PARTITION_CONFIG = 179
EXT_CSD_BUS_WIDTH = 183
EXT_CSD_HS_TIMING = 185
EXT_CSD_EXT_CSD_REV = 192
EXT_CSD_CSD_STRUCTURE = 194
EXT_CSD_DEVICE_TYPE = 196
EXT_CSD_PARTITION_SWITCH_TIME = 199
EXT_CSD_SEC_COUNT = 212           # 4 bytes, little endian
EXT_CSD_REL_WR_SEC_C = 222
EXT_CSD_BOOT_SIZE_MULT = 226
EXT_CSD_GENERIC_CMD6_TIME = 248
EXT_CSD_CACHE_SIZE = 249          # 4 bytes, little endian, KiB
EXT_CSD_S_CMD_SET = 504

# BUS_WIDTH values: data bus width and DDR.
BUS_WIDTHS = {0: (1, False), 1: (4, False), 2: (8, False), 5: (4, True), 6: (8, True)}
PARTITION_ACCESS_MASK = 0x07


def ocr(config: CardConfig, powered_up: bool) -> int:
    """OCR as the card reports it: voltage windows, access mode, busy bit."""
    mode = OCR_ACCESS_SECTOR if config.sector_mode else OCR_ACCESS_BYTE
    value = OCR_VDD_27_36 | OCR_VDD_170_195 | (mode << OCR_ACCESS_MODE_SHIFT)
    return value | (OCR_BUSY if powered_up else 0)


def _register(*fields: tuple[int, int, int]) -> bytes:
    """A 16-byte CID/CSD from its (high bit, low bit, value) fields, bit 127 first.

    Integer shifts, not bitstring slices: those cost about 150 us a card,
    which every new session pays. A value too wide for its bits is an error.
    """
    register = 0
    for high, low, value in fields:
        if not 0 <= value < 1 << (high - low + 1):
            raise ValueError(f"{value} does not fit register bits {high}..{low}")
        register |= value << low
    return register.to_bytes(16, "big")


def field_value(register: bytes, high: int, low: int) -> int:
    """Register bits high..low of a 16-byte CID/CSD."""
    return Bits(uint=int.from_bytes(register, "big"), length=8 * len(register))[127 - high:128 - low].uint


def cid(config: CardConfig) -> bytes:
    """The 16-byte CID, its CRC7 included."""
    c = config.cid
    return register_with_crc(_register(
        (127, 120, c.mid),
        (113, 112, c.cbx),
        (111, 104, c.oid),
        (103, 56, int.from_bytes(c.pnm.encode("ascii"), "big")),
        (55, 48, c.prv),
        (47, 16, c.psn),
        (15, 8, c.mdt),
    ))


def csd_capacity_fields(capacity: int) -> tuple[int, int, int]:
    """(C_SIZE, C_SIZE_MULT, READ_BL_LEN) for a user area of `capacity` bytes.

    At or below 2 GB, capacity = (C_SIZE + 1) x 2^(C_SIZE_MULT + 2) x
    2^READ_BL_LEN exactly, with C_SIZE below the 0xFFF that means "see
    SEC_COUNT"; above 2 GB C_SIZE is 0xFFF (with the largest multiplier).
    """
    if capacity > 2 * 1024 ** 3:
        return 0xFFF, 7, 9
    for read_bl_len in (9, 10, 11):
        for mult in range(8):
            unit = 1 << (mult + 2 + read_bl_len)
            if capacity % unit == 0 and capacity // unit <= 0xFFF:
                return capacity // unit - 1, mult, read_bl_len
    raise ConfigError("user_area_bytes",
                      f"{capacity} bytes is not expressible as (C_SIZE+1) x 2^(C_SIZE_MULT+2) x 2^READ_BL_LEN")


def csd(config: CardConfig) -> bytes:
    """The 16-byte CSD, its CRC7 included."""
    c_size, c_size_mult, read_bl_len = csd_capacity_fields(config.user_area_bytes)
    return register_with_crc(_register(
        (127, 126, 3),              # CSD_STRUCTURE: version in EXT_CSD
        (125, 122, 4),              # SPEC_VERS: 4.x and later
        (119, 112, encode_taac(config.taac_ns)),
        (111, 104, config.nsac),
        (103, 96, config.tran_speed),
        (95, 84, 0x8F5),            # CCC: classes 0, 2, 4, 5, 6, 7, 11
        (83, 80, read_bl_len),
        (79, 79, 1),                # READ_BL_PARTIAL
        (73, 62, c_size),
        (61, 59, 7),                # VDD_R_CURR_MIN
        (58, 56, 7),                # VDD_R_CURR_MAX
        (55, 53, 7),                # VDD_W_CURR_MIN
        (52, 50, 7),                # VDD_W_CURR_MAX
        (49, 47, c_size_mult),
        (46, 42, 0x1F),             # ERASE_GRP_SIZE
        (41, 37, 0x1F),             # ERASE_GRP_MULT
        (31, 31, 1),                # WP_GRP_ENABLE
        (28, 26, config.r2w_factor),
        (25, 22, 9),                # WRITE_BL_LEN: 512 bytes
    ))


def ext_csd(config: CardConfig) -> bytearray:
    """The 512-byte EXT_CSD at power-up (volatile mode fields at their reset values)."""
    reg = bytearray(512)
    reg[EXT_CSD_CMDQ_MODE_EN] = 0
    reg[EXT_CSD_CACHE_CTRL] = 0
    reg[EXT_CSD_PARTITION_SUPPORT] = 0x01 if config.boot_size_mult else 0
    reg[EXT_CSD_HPI_MGMT] = 0
    reg[EXT_CSD_WR_REL_PARAM] = config.wr_rel_param
    reg[EXT_CSD_WR_REL_SET] = config.wr_rel_set
    reg[EXT_CSD_PARTITION_CONFIG] = 0
    reg[EXT_CSD_BUS_WIDTH] = 0
    reg[EXT_CSD_HS_TIMING] = 0
    reg[EXT_CSD_EXT_CSD_REV] = config.ext_csd_rev
    reg[EXT_CSD_CSD_STRUCTURE] = 2
    reg[EXT_CSD_DEVICE_TYPE] = config.device_type
    reg[EXT_CSD_PARTITION_SWITCH_TIME] = config.partition_switch_time_10ms
    reg[EXT_CSD_SEC_COUNT:EXT_CSD_SEC_COUNT + 4] = (config.user_area_bytes // SECTOR).to_bytes(4, "little")
    reg[EXT_CSD_REL_WR_SEC_C] = config.rel_wr_sec_c
    reg[EXT_CSD_BOOT_SIZE_MULT] = config.boot_size_mult
    reg[EXT_CSD_GENERIC_CMD6_TIME] = config.generic_cmd6_time_10ms
    reg[EXT_CSD_CACHE_SIZE:EXT_CSD_CACHE_SIZE + 4] = config.cache_size_kib.to_bytes(4, "little")
    reg[EXT_CSD_S_CMD_SET] = 0x01
    for index, value in config.ext_csd_overrides.items():
        reg[index] = value
    return reg
