"""The model side of a comparison, built from what the DUT reports through its bus.

A controller under test says what it is in its Host Controller Version
(0xFE: specification version in bits 7:0, vendor version in 15:8) and
Capabilities registers (0x40, and 0x44 from v3.00 on). `read_identity` reads
them with the driver's own operations; `controller_from_identity` turns them
into the model's ControllerConfig, field by field as sdhci.regmap lays
Capabilities out, so a v1.00 4-bit PIO host is compared with a v1.00 4-bit
PIO model, not with sdhci_top. The register access cost the model charges is
measured on the DUT's bus (`measure_access`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sdhci import regmap as rm
from sdhci.controller.config import Capabilities, ControllerConfig, Latencies
from sdhci.driver.ops import DriverGen, Now, Read, Write
from sdhci.driver.platform import PlatformConfig

_MAX_BLOCK = {0: 512, 1: 1024, 2: 2048}


@dataclass(frozen=True)
class Identity:
    """What the DUT reports about itself."""

    version: int          # Specification Version Number (0 = v1.00, 2 = v3.00, ...)
    vendor_version: int
    caps0: int            # Capabilities 0x40
    caps1: int            # Capabilities 0x44 (0 before v3.00)

    def as_dict(self) -> dict[str, Any]:
        return {"spec_version": self.version, "vendor_version": self.vendor_version,
                "capabilities": f"0x{self.caps0:08X}", "capabilities_1": f"0x{self.caps1:08X}"}


def read_identity() -> DriverGen:
    """Driver routine: Host Controller Version and Capabilities."""
    version = yield Read(rm.SDHCI_HOST_VERSION, 16)
    caps0 = yield Read(rm.SDHCI_CAPABILITIES, 32)
    spec = version & rm.SDHCI_SPEC_VER_MASK
    caps1 = (yield Read(rm.SDHCI_CAPABILITIES_1, 32)) if spec >= rm.SDHCI_SPEC_300 else 0
    return Identity(spec, version >> 8, caps0, caps1)


def measure_access() -> DriverGen:
    """Driver routine: how long one register read and one write take on the DUT's bus, ps."""
    t0 = yield Now()
    yield Read(rm.SDHCI_HOST_VERSION, 16)
    t1 = yield Now()
    yield Write(rm.SDHCI_INT_STATUS, 32, 0)         # W1C with nothing set: no effect
    t2 = yield Now()
    return t1 - t0, t2 - t1


def capabilities_from_registers(version: int, caps0: int, caps1: int) -> Capabilities:
    """Capabilities as the model holds them, decoded from the register values."""
    fields = rm.REGISTER_BY_NAME["CAPABILITIES"]

    def get(name: str) -> int:
        f = fields.field(name)
        return (caps0 & f.mask) >> f.lsb if f.min_version <= version else 0

    base = get("BASE_CLOCK_FREQUENCY") & (0xFF if version >= rm.SDHCI_SPEC_300 else 0x3F)
    return Capabilities(
        base_clock_mhz=base, timeout_clock=get("TIMEOUT_CLOCK_FREQUENCY"),
        timeout_clock_unit_mhz=bool(get("TIMEOUT_CLOCK_UNIT")),
        max_block_length=_MAX_BLOCK.get(get("MAX_BLOCK_LENGTH"), 512),
        bus_8bit=bool(get("SUPPORT_8BIT_EMBEDDED")), adma2=bool(get("ADMA2_SUPPORT")),
        sdma=bool(get("SDMA_SUPPORT")), high_speed=bool(get("HIGH_SPEED_SUPPORT")),
        suspend_resume=bool(get("SUSPEND_RESUME_SUPPORT")), voltage_3v3=bool(get("VOLTAGE_SUPPORT_3V3")),
        voltage_3v0=bool(get("VOLTAGE_SUPPORT_3V0")), voltage_1v8=bool(get("VOLTAGE_SUPPORT_1V8")),
        bus_64bit=bool(get("SYSTEM_BUS_64BIT_SUPPORT") or get("SYSTEM_BUS_64BIT_SUPPORT_V4")),
        sdr50=bool(caps1 & rm.SDHCI_SUPPORT_SDR50), sdr104=bool(caps1 & rm.SDHCI_SUPPORT_SDR104),
        ddr50=bool(caps1 & rm.SDHCI_SUPPORT_DDR50), slot_type=min(get("SLOT_TYPE"), 2))


def controller_from_identity(identity: Identity, latencies: Latencies | None = None,
                             buffer_blocks: int = 1) -> ControllerConfig:
    """The model presented as the DUT: its version and capabilities, the given latencies and buffer."""
    config = ControllerConfig(version=identity.version, vendor_version=identity.vendor_version,
                              capabilities=capabilities_from_registers(identity.version, identity.caps0,
                                                                       identity.caps1),
                              buffer_blocks=buffer_blocks, latencies=latencies or Latencies())
    config.validate()
    return config


def measured_platform(read_ps: int, write_ps: int, auto_cmd12: bool = False) -> PlatformConfig:
    """Register costs as measured on the DUT's bus; the CPU adds nothing (the bench's runner)."""
    return replace(PlatformConfig(), name="measured", mmio_read_ps=read_ps, mmio_write_ps=write_ps,
                   burst_word_read_ps=read_ps, burst_word_write_ps=write_ps, poll_overhead_ps=0,
                   quirk_multiblock_read_acmd12=auto_cmd12)
