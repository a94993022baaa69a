"""Bus adapters: how the async runner reaches a controller's registers in simulation.

An adapter is any object with two coroutines (see `BusAdapter`):
`read(offset, width) -> int` and `write(offset, width, value)`, with
`offset` a byte offset into the SDHCI register block and `width` 8, 16 or
32 bits, naturally aligned. The runner awaits them, so the simulated time an
access takes is whatever the bus protocol takes. `AxiLiteAdapter` is the one
for sdhci_top; docs/kit.md shows an APB or Wishbone adapter in a few lines.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

from sdhci.driver.ops import check_access   # the driver's ops are checked when built; direct calls here


class BusAdapter(Protocol):
    """Register access to the controller under test."""

    async def read(self, offset: int, width: int) -> int: ...
    async def write(self, offset: int, width: int, value: int) -> None: ...


@dataclass(frozen=True, slots=True)
class BusError:
    """An access the slave answered with an error response (e.g. SLVERR at a hole)."""

    kind: str        # "read" or "write"
    offset: int
    width: int
    response: str


class AxiLiteAdapter:
    """SDHCI registers behind an AXI4-Lite slave, through cocotbext-axi's AxiLiteMaster.

    8- and 16-bit writes go out as one 32-bit beat with the byte strobes of
    the addressed lanes (cocotbext-axi derives WSTRB from address and length);
    reads fetch the aligned word and return the addressed lanes. Error
    responses do not raise: they are collected in `errors`, and the data the
    slave returned is used (a driver sees what the hardware gives).
    """

    def __init__(self, master: AxiLiteMaster, base: int = 0) -> None:
        self.master = master
        self.base = base
        self.errors: list[BusError] = []

    @classmethod
    def from_dut(cls, dut: Any, prefix: str = "s_axil", clock: Any = None, reset: Any = None,
                 reset_active_level: bool = False, base: int = 0) -> AxiLiteAdapter:
        """An AxiLiteMaster on `dut`'s `<prefix>_*` ports (clk and active-low rst_n by default)."""
        # cocotbext-axi logs each access at INFO: that costs more than the access
        logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)
        master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix),
                               clock if clock is not None else dut.clk,
                               reset if reset is not None else dut.rst_n,
                               reset_active_level=reset_active_level)
        return cls(master, base)

    async def read(self, offset: int, width: int) -> int:
        check_access(offset, width)
        resp = await self.master.read(self.base + offset, width // 8)
        if resp.resp != AxiResp.OKAY:
            self.errors.append(BusError("read", offset, width, resp.resp.name))
        return int.from_bytes(resp.data, "little")

    async def write(self, offset: int, width: int, value: int) -> None:
        check_access(offset, width)
        if not 0 <= value < (1 << width):
            raise ValueError(f"value {value:#x} does not fit a {width}-bit register")
        resp = await self.master.write(self.base + offset, value.to_bytes(width // 8, "little"))
        if resp.resp != AxiResp.OKAY:
            self.errors.append(BusError("write", offset, width, resp.resp.name))
