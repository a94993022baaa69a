"""The register file: the registers held as plain storage, and how an access is decoded.

Which bits a write may change follows the register map's access types and
the controller's version (and, for Host Control 1, its capabilities). The
engines see the registers through the typed views below (bus mode, data
timeout, DMA selection, block counting) rather than through raw values.
"""
from __future__ import annotations

import functools

from sdhci import regmap as rm
from sdhci.controller.clock import data_timeout_ps
from sdhci.controller.config import ControllerConfig

# Registers held as plain storage (RW fields masked by version on write).
PLAIN = ("SDMA_SYSTEM_ADDRESS", "BLOCK_SIZE", "BLOCK_COUNT", "ARGUMENT", "TRANSFER_MODE", "COMMAND",
         "HOST_CONTROL_1", "POWER_CONTROL", "BLOCK_GAP_CONTROL", "WAKEUP_CONTROL", "TIMEOUT_CONTROL",
         "HOST_CONTROL_2", "ADMA_SYSTEM_ADDRESS", "ADMA_SYSTEM_ADDRESS_HI")
# Access types a version shows when read (RsvdZ bits read 0).
SHOWN = ("RW", "RO", "W1C", "RWAC", "ROC", "HWInit", "WO")

BYTE_TO_REGISTER: list[rm.Register | None] = [rm.register_at(b) for b in range(256)]
# (offset, width) of every legal access: 8, 16 or 32 bits, naturally aligned, inside 0x00..0xFF.
LEGAL_ACCESSES = frozenset((offset, width) for width in (8, 16, 32)
                           for offset in range(0, 0x100 - width // 8 + 1, width // 8))

_BLOCK_SIZE = rm.field("BLOCK_SIZE", "TRANSFER_BLOCK_SIZE")
_SDMA_BOUNDARY = rm.field("BLOCK_SIZE", "SDMA_BUFFER_BOUNDARY")
_DMA_SELECT = rm.field("HOST_CONTROL_1", "DMA_SELECT")
_ADMA2_32, _ADMA2_64 = 2, 3                 # DMA Select values
_TIMEOUT_COUNTER = rm.field("TIMEOUT_CONTROL", "DATA_TIMEOUT_COUNTER_VALUE")
SDMA_BOUNDARY_BASE = 4096                   # SDMA Buffer Boundary: 4 KiB << n
_DERIVED_FROM = frozenset({"HOST_CONTROL_1", "HOST_CONTROL_2", "TIMEOUT_CONTROL"})


@functools.cache
def _masks(version: int) -> tuple[dict[str, int], dict[str, int]]:
    """Per register, the bits a read shows and the bits a write may change, in `version` (built once per version)."""
    return ({r.name: r.mask(SHOWN, version) for r in rm.REGISTERS},
            {r.name: r.mask(("RW",), version) for r in rm.REGISTERS})


def decode(offset: int, width: int, value: int) -> list[tuple[rm.Register, int, int]]:
    """A write of `width` bits at `offset` as (register, value in place, byte mask) per register touched.

    In ascending offsets, so Transfer Mode is written before Command in one 32-bit write.
    """
    parts: dict[str, list] = {}
    for i in range(width // 8):
        reg = BYTE_TO_REGISTER[offset + i]
        if reg is None:
            continue
        shift = 8 * (offset + i - reg.offset)
        part = parts.setdefault(reg.name, [reg, 0, 0])
        part[1] |= ((value >> (8 * i)) & 0xFF) << shift
        part[2] |= 0xFF << shift
    return [tuple(part) for part in parts.values()]


class RegisterFile:
    """Plain-storage registers of one controller, and typed views of them for the engines."""

    def __init__(self, config: ControllerConfig) -> None:
        self.version = config.version
        self._caps = config.capabilities
        self._timeout_clock_hz = config.capabilities.timeout_clock_hz
        shown, writable = _masks(config.version)
        self.shown_mask = dict(shown)
        self._write_mask = dict(writable)
        caps = config.capabilities
        self._write_mask["HOST_CONTROL_1"] &= ~((0 if caps.bus_8bit else rm.SDHCI_CTRL_8BITBUS)
                                                | (0 if caps.high_speed else rm.SDHCI_CTRL_HISPD))
        self._values: dict[str, int] = {}
        # Views the engines ask for per block, kept up to date as their registers change.
        self.bus: tuple[int, bool] = (1, False)   # (bus width, DDR) from Host Control 1 and 2
        self.data_timeout_ps = 0                  # TMCLK x 2^(13 + Data Timeout Counter Value)
        self.adma64 = False                       # DMA Select: ADMA2 with 64-bit addresses
        self.reset()

    def fixed_tables(self) -> tuple[dict[str, int], ...]:
        """The masks: fixed at construction, so a snapshot of the controller can leave them shared."""
        return self.shown_mask, self._write_mask

    def reset(self) -> None:
        self._values = dict.fromkeys(PLAIN, 0)
        self._derive()

    def _derive(self) -> None:
        values = self._values
        hc1 = values["HOST_CONTROL_1"]
        width = 8 if hc1 & rm.SDHCI_CTRL_8BITBUS else 4 if hc1 & rm.SDHCI_CTRL_4BITBUS else 1
        uhs = values["HOST_CONTROL_2"] & rm.SDHCI_CTRL_UHS_MASK
        self.bus = (width, uhs in (rm.SDHCI_CTRL_UHS_DDR50, rm.SDHCI_CTRL_HS400) and self._caps.ddr50)
        self.data_timeout_ps = data_timeout_ps(_TIMEOUT_COUNTER.get(values["TIMEOUT_CONTROL"]),
                                               self._timeout_clock_hz)
        self.adma64 = _DMA_SELECT.get(hc1) == _ADMA2_64

    def holds(self, name: str) -> bool:
        """Whether `name` is plain storage here."""
        return name in self._values

    def get(self, name: str) -> int:
        return self._values[name]

    def set(self, name: str, value: int) -> None:
        """Set a register as the controller does (no write mask)."""
        self._values[name] = value
        if name in _DERIVED_FROM:
            self._derive()

    def write_mask(self, name: str) -> int:
        """The bits of `name` a host write may change (RW fields this version has)."""
        return self._write_mask[name]

    def write(self, name: str, value: int, byte_mask: int) -> int:
        """A host write of the bytes in `byte_mask`, RW bits only; returns the old value."""
        mask = self._write_mask[name] & byte_mask
        old = self._values[name]
        new = (old & ~mask) | (value & mask)
        if new != old:          # the views are functions of the values: unchanged values, unchanged views
            self._values[name] = new
            if name in _DERIVED_FROM:
                self._derive()
        return old

    # ---- views for the engines ------------------------------------------
    def block_size(self) -> int:
        return _BLOCK_SIZE.get(self._values["BLOCK_SIZE"])

    def sdma_boundary(self) -> int:
        """SDMA buffer boundary in bytes (Block Size bits 14:12)."""
        return SDMA_BOUNDARY_BASE << _SDMA_BOUNDARY.get(self._values["BLOCK_SIZE"])

    def dma_mode(self) -> str:
        """The DMA Transfer Mode and Host Control 1 select, if the capabilities offer it: pio, sdma or adma."""
        if not self._values["TRANSFER_MODE"] & rm.SDHCI_TRNS_DMA:
            return "pio"
        caps = self._caps
        select = _DMA_SELECT.get(self._values["HOST_CONTROL_1"])
        if select == 0 and caps.sdma:
            return "sdma"
        if (select == _ADMA2_32 and caps.adma2) or (select == _ADMA2_64 and caps.adma2 and caps.bus_64bit):
            return "adma"
        return "pio"

    def adma_address(self) -> int:
        """ADMA System Address (with its upper half for 64-bit descriptors)."""
        hi = self._values["ADMA_SYSTEM_ADDRESS_HI"] if self.adma64 else 0
        return self._values["ADMA_SYSTEM_ADDRESS"] | hi << 32

    def set_adma_address(self, descriptor: int) -> None:
        """The ADMA2 engine's position: it points past each descriptor fetched (spec 2.2.31)."""
        self._values["ADMA_SYSTEM_ADDRESS"] = descriptor & 0xFFFFFFFF
        if self.adma64:
            self._values["ADMA_SYSTEM_ADDRESS_HI"] = descriptor >> 32

    def adma_descriptor_bytes(self) -> int:
        """8 (ADMA2 32-bit), 12 (64-bit) or 16 (64-bit, Host Version 4 Enable)."""
        if not self.adma64:
            return 8
        return 16 if self._values["HOST_CONTROL_2"] & rm.SDHCI_CTRL_V4_MODE else 12

    def block_count_decrement(self) -> None:
        """Block Count counts down per block of a multi-block transfer with Block Count Enable."""
        tm = self._values["TRANSFER_MODE"]
        if tm & rm.SDHCI_TRNS_BLK_CNT_EN and tm & rm.SDHCI_TRNS_MULTI and self._values["BLOCK_COUNT"]:
            self._values["BLOCK_COUNT"] -= 1
