"""Controller configuration: version, capabilities, buffer, latencies, fault injection.

The same model presents as different hosts (a v1.00 PIO-only 4-bit host, a
v3.00 host with SDMA/ADMA2/8-bit, a v4.10 host) purely from this
configuration. Every latency names its unit in its field name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from emmc_card.configtools import ConfigError
from sdhci import regmap as rm

FaultKind = Literal["response_crc", "drop_response", "data_crc", "drop_crc_status",
                    "stretch_busy", "remove_card"]

# Faults that hit a command (chosen by index and occurrence) or a data block.
COMMAND_FAULTS = ("response_crc", "drop_response", "remove_card", "stretch_busy")
BLOCK_FAULTS = ("data_crc", "drop_crc_status", "stretch_busy", "remove_card")


@dataclass
class Capabilities:
    """What the Capabilities register (0x40/0x44) advertises; the model obeys it too."""

    base_clock_mhz: int = 200          # Base Clock Frequency For SD Clock
    timeout_clock: int = 50            # Timeout Clock Frequency (value of bits 5:0)
    timeout_clock_unit_mhz: bool = True  # bit 7: 1 = MHz, 0 = kHz
    max_block_length: int = 512        # 512, 1024 or 2048
    bus_8bit: bool = True
    adma2: bool = True
    sdma: bool = True
    high_speed: bool = True
    suspend_resume: bool = False
    voltage_3v3: bool = True
    voltage_3v0: bool = False
    voltage_1v8: bool = True
    bus_64bit: bool = False            # 64-bit System Bus Support (ADMA2 64-bit descriptors)
    sdr50: bool = False
    sdr104: bool = False
    ddr50: bool = True
    slot_type: int = 0                 # Slot Type (v3.00+): 0 removable, 1 embedded, 2 shared bus

    def validate(self) -> None:
        if not 1 <= self.base_clock_mhz <= 255:
            raise ConfigError("base_clock_mhz", "must lie in 1..255 MHz")
        if not 1 <= self.timeout_clock <= 63:
            raise ConfigError("timeout_clock", "must lie in 1..63 (6-bit field)")
        if self.max_block_length not in (512, 1024, 2048):
            raise ConfigError("max_block_length", "must be 512, 1024 or 2048")
        if self.slot_type not in (0, 1, 2):
            raise ConfigError("slot_type", "must be 0 (removable), 1 (embedded) or 2 (shared bus)")

    def registers(self, version: int) -> tuple[int, int]:
        """(Capabilities 0x40, Capabilities 0x44) as `version` presents them."""
        caps = rm.REGISTER_BY_NAME["CAPABILITIES"]
        values = {
            "TIMEOUT_CLOCK_FREQUENCY": self.timeout_clock,
            "TIMEOUT_CLOCK_UNIT": int(self.timeout_clock_unit_mhz),
            # v1/v2 have a 6-bit base clock field (bits 13:8).
            "BASE_CLOCK_FREQUENCY": self.base_clock_mhz & (0xFF if version >= rm.SDHCI_SPEC_300 else 0x3F),
            "MAX_BLOCK_LENGTH": {512: 0, 1024: 1, 2048: 2}[self.max_block_length],
            "SUPPORT_8BIT_EMBEDDED": int(self.bus_8bit),
            "ADMA2_SUPPORT": int(self.adma2),
            "HIGH_SPEED_SUPPORT": int(self.high_speed),
            "SDMA_SUPPORT": int(self.sdma),
            "SUSPEND_RESUME_SUPPORT": int(self.suspend_resume),
            "VOLTAGE_SUPPORT_3V3": int(self.voltage_3v3),
            "VOLTAGE_SUPPORT_3V0": int(self.voltage_3v0),
            "VOLTAGE_SUPPORT_1V8": int(self.voltage_1v8),
            "SYSTEM_BUS_64BIT_SUPPORT": int(self.bus_64bit),
            "SYSTEM_BUS_64BIT_SUPPORT_V4": int(self.bus_64bit),
            "SLOT_TYPE": self.slot_type,
        }
        caps0 = 0
        for f in caps.fields:
            if f.name in values and f.min_version <= version:
                caps0 |= (values[f.name] << f.lsb) & f.mask
        caps1 = 0
        if version >= rm.SDHCI_SPEC_300:
            caps1 = (int(self.sdr50) * rm.SDHCI_SUPPORT_SDR50 | int(self.sdr104) * rm.SDHCI_SUPPORT_SDR104
                     | int(self.ddr50) * rm.SDHCI_SUPPORT_DDR50)
        return caps0, caps1

    @property
    def timeout_clock_hz(self) -> int:
        return self.timeout_clock * (1_000_000 if self.timeout_clock_unit_mhz else 1_000)


@dataclass
class Latencies:
    """The controller's own pipeline latencies (not bus framing; that is in emmc_card.bus).

    Calibrated against RTL (docs/controller.md, controller/rtl_calibration.py). Cycles are SD clock cycles.
    """

    internal_clock_stable_ps: int = 10_000_000   # Internal Clock Enable -> Internal Clock Stable
    command_issue_cycles: int = 2                # Command register upper-byte write -> start bit
    response_status_ps: int = 0                  # response end bit -> Command Complete visible
    buffer_ready_ps: int = 20_000                # buffer space/data -> Buffer Write/Read Ready
    write_gap_cycles: int = 2                    # NWR: response end / busy end -> write start bit
    pio_block_start_ps: int = 0                  # PIO: last Buffer Data Port write of a block -> it may go on DAT
    busy_status_ps: int = 0                      # busy release -> Transfer Complete visible
    crc_status_timeout_cycles: int = 8           # no CRC status start bit within this -> Data CRC Error
    dma_descriptor_fetch_ps: int = 100_000       # ADMA2: one descriptor read from host memory
    dma_block_ps: int = 400_000                  # one block between host memory and the buffer
    sdma_resume_ps: int = 50_000                 # SDMA address write -> DMA running again

    def validate(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ConfigError(name, "must not be negative")
        if self.crc_status_timeout_cycles < 1:
            raise ConfigError("crc_status_timeout_cycles", "must be >= 1")


@dataclass
class Fault:
    """One injected fault.

    kind: response_crc (flip a response CRC bit), drop_response (the card's
    response never arrives), data_crc (corrupt a data block's CRC16),
    drop_crc_status (no CRC status token), stretch_busy (busy lasts
    `stretch_ps` longer), remove_card (card gone from then on).
    Command faults pick `cmd` (index) and `occurrence` (1 = first time that
    index is issued, counting auto commands); block faults pick `block`
    (0-based, counted over the controller's lifetime of data blocks).
    """

    kind: FaultKind
    cmd: int | None = None
    occurrence: int = 1
    block: int | None = None
    stretch_ps: int = 0

    def validate(self) -> None:
        if (self.cmd is None) == (self.block is None):
            raise ConfigError("cmd", "give exactly one of cmd (with occurrence) or block")
        if self.cmd is not None and (self.kind not in COMMAND_FAULTS or not 0 <= self.cmd <= 63):
            raise ConfigError("cmd", f"{self.kind} at a command needs an index 0..63 and a command fault kind")
        if self.block is not None and (self.kind not in BLOCK_FAULTS or self.block < 0):
            raise ConfigError("block", f"{self.kind} at a block needs block >= 0 and a block fault kind")
        if self.occurrence < 1:
            raise ConfigError("occurrence", "must be >= 1")
        if self.stretch_ps < 0:
            raise ConfigError("stretch_ps", "must not be negative")


@dataclass
class ControllerConfig:
    """A whole controller: spec version, capabilities, PIO buffer, latencies, faults."""

    version: int = rm.SDHCI_SPEC_300       # Host Controller Version, Specification Version Number
    vendor_version: int = 0
    capabilities: Capabilities = field(default_factory=Capabilities)
    buffer_blocks: int = 2                 # PIO/DMA data buffer, in blocks
    latencies: Latencies = field(default_factory=Latencies)
    faults: list[Fault] = field(default_factory=list)
    # SD Bus Power (Power Control bit 0) is the card's supply: switching it off
    # (also by Software Reset For All) cuts the card's power (cache lost).
    bus_power_controls_card: bool = True

    def validate(self) -> None:
        if not rm.SDHCI_SPEC_100 <= self.version <= rm.SDHCI_SPEC_420:
            raise ConfigError("version", "must lie in 0 (v1.00) .. 5 (v4.20)")
        if not 0 <= self.vendor_version <= 0xFF:
            raise ConfigError("vendor_version", "must fit in 8 bits")
        if self.buffer_blocks < 1:
            raise ConfigError("buffer_blocks", "must be >= 1")
        if self.version < rm.SDHCI_SPEC_300 and self.capabilities.base_clock_mhz > 63:
            raise ConfigError("capabilities.base_clock_mhz", "v1/v2 hosts have a 6-bit field: at most 63 MHz")
        if self.version < rm.SDHCI_SPEC_200 and self.capabilities.adma2:
            raise ConfigError("capabilities.adma2", "ADMA2 needs a v2.00 or later host")
        if self.version < rm.SDHCI_SPEC_300 and (self.capabilities.bus_8bit or self.capabilities.ddr50):
            raise ConfigError("capabilities", "8-bit bus and DDR50 need a v3.00 or later host")
        for name in ("capabilities", "latencies"):
            try:
                getattr(self, name).validate()
            except ConfigError as err:
                raise err.under(name) from None
        for i, fault in enumerate(self.faults):
            try:
                fault.validate()
            except ConfigError as err:
                raise err.under(f"faults[{i}]") from None
