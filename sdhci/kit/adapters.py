"""Bus adapters: how the async runner reaches a controller's registers in simulation.

An adapter is any object with two coroutines (see `BusAdapter`):
`read(offset, width) -> int` and `write(offset, width, value)`, with
`offset` a byte offset into the SDHCI register block and `width` 8, 16 or
32 bits, naturally aligned (the driver's operations are checked when they
are built, sdhci.driver.ops). The runner awaits them, so the simulated time
an access takes is whatever the bus protocol takes.

Built in, on cocotbext-axi masters: `AxiLiteAdapter` (AXI4-Lite) and
`ApbAdapter` (APB4: PSTRB from address and length, PSLVERR optional). A custom adapter named
in DUT.toml as `bus.kind = "package.module:Class"` is built with
`Class.from_dut(dut, prefix=..., clock=..., reset=..., reset_active_level=...)`.
`Spaced` wraps any adapter to leave idle clocks between accesses; `bus.pause`
makes a built-in master stall its request channels in a repeating pattern
(back-pressure from the bus side, as an interconnect would).
"""
from __future__ import annotations

import importlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from cocotb.triggers import ClockCycles
from cocotbext.axi import ApbBus, ApbMaster, AxiLiteBus, AxiLiteMaster, AxiResp

from sdhci.driver.ops import check_access
from sdhci.kit.dut import BusSpec


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


def _quiet(dut: Any, prefix: str) -> None:
    # cocotbext-axi logs each access at INFO: that costs more than the access
    logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)


class _MasterAdapter:
    """Registers through a cocotbext-axi master: reads return the addressed lanes of the word,
    writes set the byte strobes from address and length. Error responses do not raise: they are
    collected in `errors`, and the data the slave returned is used (a driver sees what the
    hardware gives)."""

    bus_class: Any = None
    master_class: Any = None
    default_prefix = ""

    def __init__(self, master: Any, base: int = 0) -> None:
        self.master = master
        self.base = base
        self.errors: list[BusError] = []

    @classmethod
    def from_dut(cls, dut: Any, prefix: str | None = None, clock: Any = None, reset: Any = None,
                 reset_active_level: bool = False, base: int = 0) -> Any:
        """A master on `dut`'s `<prefix>_*` ports (clk and active-low rst_n by default)."""
        prefix = prefix or cls.default_prefix
        _quiet(dut, prefix)
        master = cls.master_class(cls.bus_class.from_prefix(dut, prefix),
                                  clock if clock is not None else dut.clk,
                                  reset if reset is not None else dut.rst_n,
                                  reset_active_level=reset_active_level)
        return cls(master, base)

    def pause(self, paused: int, free: int) -> None:
        """Stall the master's request channels `paused` clocks in every `paused + free`."""
        pattern = [True] * paused + [False] * free
        for channel in self._request_channels():
            channel.set_pause_generator(itertools.cycle(pattern))

    def _request_channels(self) -> list[Any]:
        raise NotImplementedError

    async def read(self, offset: int, width: int) -> int:
        check_access(offset, width)
        resp = await self.master.read(self.base + offset, width // 8)
        if resp.resp != AxiResp.OKAY:
            self.errors.append(BusError("read", offset, width, resp.resp.name))
        return int.from_bytes(resp.data, "little")

    async def write(self, offset: int, width: int, value: int) -> None:
        check_access(offset, width)
        resp = await self.master.write(self.base + offset, value.to_bytes(width // 8, "little"))
        if resp.resp != AxiResp.OKAY:
            self.errors.append(BusError("write", offset, width, resp.resp.name))


class AxiLiteAdapter(_MasterAdapter):
    """SDHCI registers behind an AXI4-Lite slave (cocotbext-axi's AxiLiteMaster): 8- and 16-bit
    writes go out as one 32-bit beat with the addressed lanes' WSTRB."""

    bus_class, master_class, default_prefix = AxiLiteBus, AxiLiteMaster, "s_axil"

    def _request_channels(self) -> list[Any]:
        m = self.master
        return [m.write_if.aw_channel, m.write_if.w_channel, m.read_if.ar_channel]


class ApbAdapter(_MasterAdapter):
    """SDHCI registers behind an APB4 slave (cocotbext-axi's ApbMaster): PSTRB from address and
    length; PSLVERR is recorded as SLVERR."""

    bus_class, master_class, default_prefix = ApbBus, ApbMaster, "s_apb"

    def _request_channels(self) -> list[Any]:
        return [self.master]


class Spaced:
    """Any adapter with `clocks` idle clock cycles after every access (a DUT that needs spacing)."""

    def __init__(self, adapter: BusAdapter, clock: Any, clocks: int) -> None:
        self.adapter, self.clock, self.clocks = adapter, clock, clocks
        self.errors = getattr(adapter, "errors", [])

    async def read(self, offset: int, width: int) -> int:
        value = await self.adapter.read(offset, width)
        await ClockCycles(self.clock, self.clocks)
        return value

    async def write(self, offset: int, width: int, value: int) -> None:
        await self.adapter.write(offset, width, value)
        await ClockCycles(self.clock, self.clocks)


BUILTIN_ADAPTERS = {"axi4-lite": AxiLiteAdapter, "apb": ApbAdapter}


def adapter_class(kind: str) -> Any:
    """The adapter class for a DUT.toml `bus.kind`: a built-in name or 'package.module:Class'."""
    if kind in BUILTIN_ADAPTERS:
        return BUILTIN_ADAPTERS[kind]
    module_name, _, class_name = kind.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"bus.kind {kind!r}: cannot load the adapter class ({err})") from None


def make_adapter(spec: BusSpec, dut: Any, clock: Any, reset: Any, reset_active_level: bool) -> BusAdapter:
    """The DUT's register bus as DUT.toml describes it (create it while reset is asserted)."""
    adapter = adapter_class(spec.kind).from_dut(dut, prefix=spec.prefix, clock=clock, reset=reset,
                                               reset_active_level=reset_active_level)
    if spec.pause:
        if not isinstance(adapter, _MasterAdapter):
            raise ValueError(f"bus.pause: only the built-in adapters pause, not {spec.kind}")
        adapter.pause(*spec.pause)
    return Spaced(adapter, clock, spec.spacing_clocks) if spec.spacing_clocks else adapter
