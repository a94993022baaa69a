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
