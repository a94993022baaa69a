"""Card configuration: registers and the card-side timing model.

Plain dataclasses (loadable from TOML through emmc_card.configtools). Register
values are given in physical units where the spec defines one (TAAC in ns,
CACHE_SIZE in KiB, ...) and encoded by emmc_card.registers. Every time knob
names its unit in its field name; docs/card.md explains each one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from emmc_card.bus import CRC_STATUS_DELAY, NAC_MIN, NCR_MAX, NCR_MIN, NID
from emmc_card.configtools import ConfigError

SECTOR = 512
BOOT_SIZE_UNIT = 128 * 1024          # BOOT_SIZE_MULT unit
BYTE_MODE_LIMIT = 2 * 1024 ** 3      # sector addressing above 2 GB
US = 1_000_000                       # picoseconds per microsecond
MAX_DURATION_US = 3_600_000_000      # an hour: the longest duration any timing knob accepts

# TAAC: time unit (bits 2:0) in ns and time value (bits 6:3) x10.
TAAC_UNITS_NS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
TAAC_VALUES_X10 = (0, 10, 12, 13, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80)


def us_to_ps(us: float) -> int:
    """Microseconds (config unit) to integer picoseconds (model unit)."""
    return round(us * US)


@dataclass
class TimeDistribution:
    """A random duration, drawn from the card's seeded generator.

    kind: "fixed" (value_us), "uniform" (min_us..max_us), "lognormal"
    (median value_us, shape sigma, clipped to max_us when max_us > 0) or
    "replay" (replay_us cycled in order, e.g. busy times measured on a
    real card).
    """

    kind: Literal["fixed", "uniform", "lognormal", "replay"] = "fixed"
    value_us: float = 0.0
    min_us: float = 0.0
    max_us: float = 0.0
    sigma: float = 0.5
    replay_us: list[float] = field(default_factory=list)

    def validate(self) -> None:
        for name in ("value_us", "min_us", "max_us"):
            if not 0 <= getattr(self, name) <= MAX_DURATION_US:
                raise ConfigError(name, f"must lie in 0 .. {MAX_DURATION_US} us (an hour), not {getattr(self, name)}")
        if self.sigma < 0:
            raise ConfigError("sigma", f"must not be negative, not {self.sigma}")
        if self.kind == "uniform" and self.min_us > self.max_us:
            raise ConfigError("min_us", f"min_us {self.min_us} > max_us {self.max_us}")
        if self.kind == "lognormal":
            if self.value_us <= 0:
                raise ConfigError("value_us", "a log-normal median must be > 0")
        if self.kind == "replay":
            if not self.replay_us:
                raise ConfigError("replay_us", "a replayed distribution needs at least one value")
            if not 0 <= min(self.replay_us) <= max(self.replay_us) <= MAX_DURATION_US:
                raise ConfigError("replay_us", f"durations must lie in 0 .. {MAX_DURATION_US} us (an hour)")


@dataclass(frozen=True)
class InjectedStall:
    """Extra busy time on one written block (0-based, over the card's lifetime)."""

    block: int
    duration_ps: int

    def validate(self) -> None:
        if self.block < 0:
            raise ConfigError("block", "must be >= 0")
        if not 0 <= self.duration_ps <= MAX_DURATION_US * US:
            raise ConfigError("duration_ps", f"must lie in 0 .. {MAX_DURATION_US * US} ps (an hour)")


def _fixed(us: float) -> TimeDistribution:
    return TimeDistribution(kind="fixed", value_us=us)


@dataclass
class CardTiming:
    """Card-side timing knobs; see docs/card.md for the physical meaning of each."""

    ncr_cycles_min: int = NCR_MIN
    ncr_cycles_max: int = NCR_MIN
    nid_cycles: int = NID
    nac_cycles_min: int = 2
    nac_cycles_max: int = 2
    crc_status_delay_cycles: int = CRC_STATUS_DELAY
    # Busy after a block goes to the medium (cache off, reliable write, eviction).
    program: TimeDistribution = field(default_factory=lambda: _fixed(100.0))
    # Busy after a block is taken into the volatile cache.
    cached_write: TimeDistribution = field(default_factory=lambda: _fixed(5.0))
    # Extra busy after CMD12 ends a write, once all programming is done.
    stop_busy: TimeDistribution = field(default_factory=lambda: _fixed(10.0))
    # Blocks the card can hold before programming (DAT0 busy when full).
    write_buffer_blocks: int = 1
    gc_stall_probability: float = 0.0
    gc_stall: TimeDistribution = field(default_factory=lambda: _fixed(0.0))
    init_busy_us: float = 1000.0
    cmd6_busy_us: float | None = None
    partition_switch_busy_us: float | None = None
    flush_overhead_us: float = 100.0
    injected_stalls: list[InjectedStall] = field(default_factory=list)

    def validate(self) -> None:
        for name, lo, hi in (("ncr_cycles", NCR_MIN, NCR_MAX), ("nac_cycles", NAC_MIN, None)):
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low < lo:
                raise ConfigError(f"{name}_min", f"must lie in {lo}..{hi or 'inf'} cycles")
            if hi is not None and high > hi:
                raise ConfigError(f"{name}_max", f"must lie in {lo}..{hi} cycles")
            if low > high:
                raise ConfigError(f"{name}_min", f"{low} > {name}_max {high}")
        if self.nid_cycles < 1:
            raise ConfigError("nid_cycles", f"must be >= 1 (the spec value is {NID})")
        if self.crc_status_delay_cycles < 1:
            raise ConfigError("crc_status_delay_cycles", f"must be >= 1 (the spec value is {CRC_STATUS_DELAY})")
        if self.write_buffer_blocks < 1:
            raise ConfigError("write_buffer_blocks", "must be >= 1")
        if not 0.0 <= self.gc_stall_probability <= 1.0:
            raise ConfigError("gc_stall_probability", "must lie in 0..1")
        for name in ("init_busy_us", "cmd6_busy_us", "partition_switch_busy_us", "flush_overhead_us"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_DURATION_US:
                raise ConfigError(name, f"must lie in 0 .. {MAX_DURATION_US} us (an hour), not {value}")
        parts = [(name, getattr(self, name)) for name in ("program", "cached_write", "stop_busy", "gc_stall")]
        parts += [(f"injected_stalls[{i}]", stall) for i, stall in enumerate(self.injected_stalls)]
        for name, part in parts:
            try:
                part.validate()
            except ConfigError as err:
                raise err.under(name) from None


@dataclass
class CidFields:
    """CID register contents (JESD84-B51 CID fields)."""

    mid: int = 0x15          # manufacturer ID
    cbx: int = 1             # device type: 01 BGA
    oid: int = 0x00          # OEM/application ID
    pnm: str = "EMUMMC"      # product name, 6 ASCII characters
    prv: int = 0x10          # product revision (BCD n.m)
    psn: int = 0x12345678    # serial number
    mdt: int = 0x7A          # manufacturing date: month (7:4), year offset (3:0)

    def validate(self) -> None:
        for name, bits in (("mid", 8), ("cbx", 2), ("oid", 8), ("prv", 8), ("psn", 32), ("mdt", 8)):
            if not 0 <= getattr(self, name) < (1 << bits):
                raise ConfigError(name, f"must fit in {bits} bits")
        if len(self.pnm) != 6 or not self.pnm.isascii():
            raise ConfigError("pnm", "must be 6 ASCII characters")


@dataclass
class CardConfig:
    """What the card is: capacity, registers, cache, seed and timing."""

    user_area_bytes: int = 8 * 1024 ** 3
    boot_size_mult: int = 4            # x 128 KiB per boot partition
    cache_size_kib: int = 1024         # EXT_CSD CACHE_SIZE; 0 = no cache
    taac_ns: int = 1_000_000           # CSD TAAC (must be encodable)
    nsac: int = 0                      # CSD NSAC, x 100 clocks
    r2w_factor: int = 4                # CSD R2W_FACTOR: write time = read time x 2^n
    tran_speed: int = 0x32             # CSD TRAN_SPEED byte (0x32 = 26 MHz)
    ext_csd_rev: int = 8               # 8 = eMMC 5.1
    device_type: int = 0x57            # EXT_CSD DEVICE_TYPE
    generic_cmd6_time_10ms: int = 10   # EXT_CSD GENERIC_CMD6_TIME, x 10 ms
    partition_switch_time_10ms: int = 3  # EXT_CSD PARTITION_SWITCH_TIME, x 10 ms
    rel_wr_sec_c: int = 1              # EXT_CSD REL_WR_SEC_C
    wr_rel_param: int = 0x05           # EXT_CSD WR_REL_PARAM (HS_CTRL_REL, EN_REL_WR)
    wr_rel_set: int = 0x1F             # EXT_CSD WR_REL_SET
    ext_csd_overrides: dict[int, int] = field(default_factory=dict)
    cid: CidFields = field(default_factory=CidFields)
    seed: int = 1
    timing: CardTiming = field(default_factory=CardTiming)

    @property
    def sector_mode(self) -> bool:
        """Sector addressing (OCR access mode 10) above 2 GB, byte mode at or below."""
        return self.user_area_bytes > BYTE_MODE_LIMIT

    @property
    def boot_partition_bytes(self) -> int:
        return self.boot_size_mult * BOOT_SIZE_UNIT

    def validate(self) -> None:
        if self.user_area_bytes <= 0 or self.user_area_bytes % SECTOR:
            raise ConfigError("user_area_bytes", "must be a positive multiple of 512")
        if self.user_area_bytes > 0xFFFFFFFF * SECTOR:
            raise ConfigError("user_area_bytes", "SEC_COUNT is 32 bits: at most 2 TiB - 512")
        for name, bits in (("boot_size_mult", 8), ("nsac", 8), ("tran_speed", 8), ("ext_csd_rev", 8),
                           ("device_type", 8), ("generic_cmd6_time_10ms", 8),
                           ("partition_switch_time_10ms", 8), ("rel_wr_sec_c", 8),
                           ("wr_rel_param", 8), ("wr_rel_set", 8), ("cache_size_kib", 32)):
            if not 0 <= getattr(self, name) < (1 << bits):
                raise ConfigError(name, f"must fit in {bits} bits")
        if self.seed < 0:
            raise ConfigError("seed", f"must not be negative (Python's generator would take {self.seed} as "
                              f"{-self.seed}), not {self.seed}")
        if not 0 <= self.r2w_factor <= 7:
            raise ConfigError("r2w_factor", "must lie in 0..7")
        if self.generic_cmd6_time_10ms == 0:
            raise ConfigError("generic_cmd6_time_10ms", "must be >= 1 (10 ms)")
        if self.partition_switch_time_10ms == 0:
            raise ConfigError("partition_switch_time_10ms", "must be >= 1 (10 ms)")
        encode_taac(self.taac_ns)
        for index, value in self.ext_csd_overrides.items():
            if not 0 <= index < 512 or not 0 <= value <= 0xFF:
                raise ConfigError(f"ext_csd_overrides.{index}", "index 0..511, byte value 0..255")
        for name in ("cid", "timing"):
            try:
                getattr(self, name).validate()
            except ConfigError as err:
                raise err.under(name) from None
        t = self.timing
        if t.cmd6_busy_us is not None and t.cmd6_busy_us > self.generic_cmd6_time_10ms * 10_000:
            raise ConfigError("timing.cmd6_busy_us", "exceeds GENERIC_CMD6_TIME")
        if (t.partition_switch_busy_us is not None
                and t.partition_switch_busy_us > self.partition_switch_time_10ms * 10_000):
            raise ConfigError("timing.partition_switch_busy_us", "exceeds PARTITION_SWITCH_TIME")


def encode_taac(taac_ns: int) -> int:
    """TAAC byte for an access time in ns; ConfigError when not representable."""
    for unit, unit_ns in enumerate(TAAC_UNITS_NS):
        for code, value_x10 in enumerate(TAAC_VALUES_X10):
            if code and value_x10 * unit_ns == taac_ns * 10:
                return (code << 3) | unit
    raise ConfigError("taac_ns", f"{taac_ns} ns is not a TAAC value (1.0..8.0 x 1 ns..10 ms)")


def decode_taac(taac: int) -> int:
    """Access time in ns of a TAAC byte (ns values below 1 ns round down)."""
    return TAAC_VALUES_X10[(taac >> 3) & 0xF] * TAAC_UNITS_NS[taac & 7] // 10
