"""One description of the design under test: DUT.toml.

Everything the kit needs to build, clock, reset and talk to an SDHCI
controller, and to connect the card to its SD pins::

    toplevel = "my_sdhci"                 # HDL top module
    sources = ["rtl/*.sv"]                # globs, relative to this file
    includes = ["rtl"]                    # include directories
    defines = { SYNTHESIS = 1 }           # `define NAME value
    parameters = { BASE_MHZ = 50 }        # top-level parameters
    simulator = "icarus"                  # or "verilator" (--sim overrides)

    [clock]                               # the controller's clock (also the bus clock)
    name = "clk"
    mhz = 50

    [reset]
    name = "rst_n"
    active_low = true
    cycles = 8

    [bus]                                 # register bus
    kind = "axi4-lite"                    # "apb", or "package.module:Class" (your adapter)
    prefix = "s_axil"                     # signal prefix (cocotbext-axi from_prefix)
    spacing_clocks = 0                    # idle clocks the DUT needs between two accesses
    pause = [1, 3]                        # optional: the master pauses 1 clock in every 4

    [sd]                                  # SD pins
    prefix = ""                           # sdclk, cmd_o, cmd_oe, cmd_i, dat_o, dat_oe, dat_i
    width = 8                             # DAT lines: 1, 4 or 8
    pins = { dat_i = "sd_dat_in" }        # any role renamed

    [dma]                                 # the DMA master on host memory, if the DUT has one
    prefix = "m_axi"                      # its AXI4 signal prefix (cocotbext-axi from_prefix)

Only `toplevel` and `sources` are required. Bad input raises ConfigError
naming the key. The description travels to the simulator as JSON
(`as_dict`/`from_dict`), so the cocotb side rebuilds exactly what was loaded.
"""
from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from emmc_card.configtools import ConfigError, from_dict, to_dict

#: SD pin roles (and sdhci_top's names for them) and the DAT widths the kit drives.
PIN_ROLES = ("sdclk", "cmd_o", "cmd_oe", "cmd_i", "dat_o", "dat_oe", "dat_i")
DAT_WIDTHS = (1, 4, 8)
SIMULATORS = ("icarus", "verilator")
BUILTIN_BUSES = ("axi4-lite", "apb")


@dataclass
class ClockSpec:
    name: str = "clk"
    mhz: float = 50.0

    @property
    def period_ps(self) -> int:
        return round(1_000_000 / self.mhz)


@dataclass
class ResetSpec:
    name: str = "rst_n"
    active_low: bool = True
    cycles: int = 8


@dataclass
class BusSpec:
    kind: str = "axi4-lite"
    prefix: str = "s_axil"
    spacing_clocks: int = 0
    pause: list[int] = field(default_factory=list)   # [paused, free] clocks, repeating, on the master


@dataclass
class SdSpec:
    prefix: str = ""
    width: int = 8
    pins: dict[str, str] = field(default_factory=dict)

    def pin_map(self) -> dict[str, str]:
        """Role -> DUT signal name."""
        base = {role: f"{self.prefix}_{role}" if self.prefix else role for role in PIN_ROLES}
        return {**base, **self.pins}


@dataclass
class DmaSpec:
    prefix: str = ""                      # the AXI4 master's signal prefix; "" = no DMA master


@dataclass
class DutDescription:
    toplevel: str = ""
    sources: list[str] = field(default_factory=list)
    name: str = ""
    includes: list[str] = field(default_factory=list)
    defines: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    simulator: str = "icarus"
    clock: ClockSpec = field(default_factory=ClockSpec)
    reset: ResetSpec = field(default_factory=ResetSpec)
    bus: BusSpec = field(default_factory=BusSpec)
    sd: SdSpec = field(default_factory=SdSpec)
    dma: DmaSpec = field(default_factory=DmaSpec)

    def validate(self) -> None:
        if not self.toplevel:
            raise ConfigError("toplevel", "name the HDL top module")
        if not self.sources:
            raise ConfigError("sources", "list the HDL source files")
        for i, source in enumerate(self.sources):
            if not Path(source).is_file():
                raise ConfigError(f"sources[{i}]", f"no such file: {source}")
        for i, include in enumerate(self.includes):
            if not Path(include).is_dir():
                raise ConfigError(f"includes[{i}]", f"no such directory: {include}")
        if self.simulator not in SIMULATORS:
            raise ConfigError("simulator", f"must be one of {', '.join(SIMULATORS)}, not {self.simulator!r}")
        if not 0 < self.clock.mhz <= 1000:
            raise ConfigError("clock.mhz", f"must lie in (0, 1000] MHz, not {self.clock.mhz}")
        if not 1 <= self.reset.cycles <= 10_000:
            raise ConfigError("reset.cycles", f"must lie in 1..10000, not {self.reset.cycles}")
        if self.bus.kind not in BUILTIN_BUSES and ":" not in self.bus.kind:
            raise ConfigError("bus.kind", f"must be {' or '.join(BUILTIN_BUSES)} or 'module:Class', "
                                          f"not {self.bus.kind!r}")
        if not 0 <= self.bus.spacing_clocks <= 1000:
            raise ConfigError("bus.spacing_clocks", f"must lie in 0..1000, not {self.bus.spacing_clocks}")
        if self.bus.pause and (len(self.bus.pause) != 2 or min(self.bus.pause) < 0 or self.bus.pause[1] < 1):
            raise ConfigError("bus.pause", f"must be [paused, free] clocks with free >= 1, not {self.bus.pause}")
        if self.sd.width not in DAT_WIDTHS:
            raise ConfigError("sd.width", f"must be 1, 4 or 8 DAT lines, not {self.sd.width}")
        unknown = set(self.sd.pins) - set(PIN_ROLES)
        if unknown:
            raise ConfigError("sd.pins", f"unknown role(s) {', '.join(sorted(unknown))} "
                                         f"(roles: {', '.join(PIN_ROLES)})")
        if self.dma.prefix and not self.dma.prefix.isidentifier():
            raise ConfigError("dma.prefix", f"must be a signal name prefix such as 'm_axi', not {self.dma.prefix!r}")

    @property
    def label(self) -> str:
        return self.name or self.toplevel

    def as_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DutDescription:
        desc = from_dict(cls, data)
        desc.validate()
        return desc


def load_dut(path: str | Path) -> DutDescription:
    """Read a DUT.toml; paths and globs in it are taken relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), f"not valid TOML: {err}") from None
    base = path.resolve().parent
    if not isinstance(data.get("sources", []), list) or not isinstance(data.get("includes", []), list):
        raise ConfigError("sources", "sources and includes are lists of paths")
    for key in ("sources", "includes"):
        expanded: list[str] = []
        for i, item in enumerate(data.get(key, [])):
            if not isinstance(item, str):
                raise ConfigError(f"{key}[{i}]", f"expected a path, got {item!r}")
            pattern = str(base / item)
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            if not matches:
                raise ConfigError(f"{key}[{i}]", f"{item!r} matches no file")
            expanded.extend(matches)
        if key in data:
            data[key] = expanded
    desc = from_dict(DutDescription, data)
    desc.validate()
    return desc


def rtl_dir() -> Path:
    """The packaged RTL of the project's own controller (rtl_model/)."""
    return Path(str(resources.files("sdhci.kit") / "rtl"))


def rtl_sources() -> list[Path]:
    """Every Verilog file of the packaged RTL."""
    return sorted(rtl_dir().glob("*.v"))


#: The project's own controller, by name: its top module and register bus.
BUILTIN_DUTS = {
    "sdhci-top": ("sdhci_top", BusSpec("axi4-lite", "s_axil")),
    "sdhci-apb-top": ("sdhci_apb_top", BusSpec("apb", "s_apb")),
}


def builtin_dut(name: str = "sdhci-top", base_mhz: int = 50) -> DutDescription:
    """sdhci_top (AXI4-Lite) or sdhci_apb_top (APB) from the packaged RTL at BASE_CLK_MHZ = base_mhz."""
    if name not in BUILTIN_DUTS:
        raise ConfigError("dut", f"unknown built-in DUT {name!r} (known: {', '.join(BUILTIN_DUTS)})")
    toplevel, bus = BUILTIN_DUTS[name]
    desc = DutDescription(toplevel=toplevel, sources=[str(p) for p in rtl_sources()], name=name,
                          includes=[str(rtl_dir())], parameters={"BASE_CLK_MHZ": base_mhz},
                          clock=ClockSpec("clk", base_mhz), reset=ResetSpec("rst_n", True, 8),
                          bus=replace(bus), dma=DmaSpec("m_axi"))
    desc.validate()
    return desc
