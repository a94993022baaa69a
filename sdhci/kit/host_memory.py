"""Host memory for a controller's DMA master: cocotbext-axi's AxiRam, with bus errors on demand.

One store, two doors. The controller reaches it through its AXI4 master
(`AxiRam` answers the bursts, and asserts they never cross 4 KiB); the
driver's `MemWrite`/`MemRead` operations (the CPU's stores and loads of DMA
buffers and ADMA2 descriptor tables, instant and free as sdhci.driver.ops
defines them) go straight into the same bytes through `cpu_write` and
`cpu_read`. `fail(address, length)` makes bus accesses to a window answer
SLVERR (AxiRam's answer when its memory raises), to provoke the controller's
DMA error handling; the CPU side never faults.

Every bus access is recorded as a `BusAccess` (AxiRam reads and writes
word by word), so a bench can check where the controller's DMA went.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from cocotbext.axi import AxiBus, AxiRam
from cocotbext.axi.sparse_memory import SparseMemory

from sdhci.kit.runner import now_ps

Access = Literal["read", "write"]


class BusFault(Exception):
    """A bus access hit a fault window (AxiRam turns it into SLVERR)."""


@dataclass(frozen=True, slots=True)
class BusAccess:
    """One access the controller made, as AxiRam performed it."""

    t_ps: int
    kind: Access
    address: int
    length: int
    faulted: bool


@dataclass(frozen=True, slots=True)
class FaultWindow:
    start: int
    end: int                      # exclusive
    kind: Access | None           # None: reads and writes

    def hits(self, kind: Access, address: int, length: int) -> bool:
        return (self.kind is None or self.kind == kind) and address < self.end and self.start < address + length


class _BusView:
    """The store as AxiRam sees it: slices only, fault windows checked, accesses recorded."""

    def __init__(self, store: SparseMemory, memory: HostMemory) -> None:
        self.store = store
        self.memory = memory

    def __len__(self) -> int:
        return len(self.store)

    def _access(self, kind: Access, key: slice, length: int) -> None:
        faulted = any(w.hits(kind, key.start, length) for w in self.memory.faults)
        self.memory.accesses.append(BusAccess(now_ps(), kind, key.start, length, faulted))
        if faulted:
            raise BusFault(f"{kind} of {length} bytes at {key.start:#x}")

    def __getitem__(self, key: slice) -> bytes:
        self._access("read", key, key.stop - key.start)
        return self.store[key]

    def __setitem__(self, key: slice, value: bytes) -> None:
        self._access("write", key, len(value))
        self.store[key] = value


class HostMemory:
    """A sparse 32-bit host address space behind cocotbext-axi's AxiRam."""

    def __init__(self, bus: AxiBus, clock: Any, reset: Any = None, reset_active_level: bool = True,
                 size: int = 1 << 32) -> None:
        self.store = SparseMemory(size)
        self.faults: list[FaultWindow] = []
        self.accesses: list[BusAccess] = []
        self.ram = AxiRam(bus, clock, reset, reset_active_level, mem=_BusView(self.store, self))
        # AxiRam logs every burst at INFO (that costs more than the burst) and
        # every faulted word at WARNING: `accesses` holds both
        for interface in (self.ram.write_if, self.ram.read_if):
            interface.log.setLevel(logging.ERROR)

    @classmethod
    def from_dut(cls, dut: Any, prefix: str = "m_axi", clock: Any = None, reset: Any = None,
                 reset_active_level: bool = False) -> HostMemory:
        """Host memory on `dut`'s `<prefix>_*` AXI4 master (clk and active-low rst_n by default)."""
        return cls(AxiBus.from_prefix(dut, prefix), clock if clock is not None else dut.clk,
                   reset if reset is not None else dut.rst_n, reset_active_level)

    # ---- the CPU's side: MemWrite / MemRead ----
    def cpu_write(self, address: int, data: bytes) -> None:
        self.store.write(address, data)

    def cpu_read(self, address: int, length: int) -> bytes:
        return self.store.read(address, length)

    # ---- the bus side: faults ----
    def fail(self, address: int, length: int, kind: Access | None = None) -> None:
        """From now on, bus `kind` accesses (None: both) touching [address, address + length) get SLVERR."""
        if length <= 0:
            raise ValueError(f"fault window length must be positive, not {length}")
        self.faults.append(FaultWindow(address, address + length, kind))

    def clear_faults(self) -> None:
        self.faults.clear()
