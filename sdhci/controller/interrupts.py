"""Interrupt status, status enables, signal enables and the interrupt line.

Status bits latch only when their Status Enable bit is set (SD Host
Controller spec 2.2.18-2.2.21); they clear on a write of 1. Error Interrupt
(Normal bit 15) is not stored: it is the OR of the Error Interrupt Status
bits. Masks use Linux's 32-bit layout: Normal in 15:0, Error in 31:16.
"""
from __future__ import annotations

from collections.abc import Callable

from sdhci import regmap as rm


class Interrupts:
    """The six interrupt registers at 0x30..0x3B."""

    def __init__(self, version: int, on_change: Callable[[], None] = lambda: None) -> None:
        self.version = version
        self._on_change = on_change      # told when the controller sets a status bit
        self.status = 0          # 32-bit: Normal 15:0 (without bit 15), Error 31:16
        self.enable = 0          # Status Enable, same layout
        self.signal = 0          # Signal Enable, same layout
        regs = rm.REGISTER_BY_NAME
        self._w1c = (regs["NORMAL_INTERRUPT_STATUS"].mask(("W1C",), version)
                     | regs["ERROR_INTERRUPT_STATUS"].mask(("W1C",), version) << 16)
        self._enable_mask = (regs["NORMAL_INTERRUPT_STATUS_ENABLE"].mask(("RW",), version)
                             | regs["ERROR_INTERRUPT_STATUS_ENABLE"].mask(("RW",), version) << 16)

    def reset(self) -> None:
        self.status = self.enable = self.signal = 0

    def raise_(self, bits: int) -> None:
        """The controller sets status `bits` (32-bit layout); disabled ones are dropped."""
        status = self.status | (bits & self.enable & self._w1c)
        if status != self.status:
            self.status = status
            self._on_change()

    def clear(self, bits: int) -> None:
        """Write-1-to-clear of `bits` (32-bit layout)."""
        self.status &= ~(bits & self._w1c)

    def status_value(self) -> int:
        """Both status registers as Linux reads SDHCI_INT_STATUS (with bit 15 derived)."""
        error = rm.SDHCI_INT_ERROR if self.status & rm.SDHCI_INT_ERROR_MASK else 0
        return self.status | error

    def write_enable(self, value: int, byte_mask: int) -> None:
        self.enable = (self.enable & ~byte_mask) | (value & byte_mask & self._enable_mask)
        self.status &= self.enable   # clearing a Status Enable clears the status bit

    def write_signal(self, value: int, byte_mask: int) -> None:
        self.signal = (self.signal & ~byte_mask) | (value & byte_mask & self._enable_mask)

    def line(self) -> bool:
        """The interrupt line: any status bit with its Signal Enable set."""
        return bool(self.status & self.signal)
