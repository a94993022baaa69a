"""EmulatorConfig: everything one emulated panic write depends on, loadable from TOML.

Layout of a TOML file (every table optional; unknown keys are errors)::

    card_preset = "emmc51"          # emmc_card.PRESETS
    controller_preset = "v3"        # sdhci.controller presets
    platform_preset = "arm64-soc"   # sdhci.driver.platform.PLATFORM_PRESETS
    [card]        # fields of emmc_card.CardConfig, over the preset
    [controller]  # fields of sdhci.controller.ControllerConfig, over the preset
    [platform]    # fields of PlatformConfig, over the preset
    [pstore]      # pstore/blk parameters + the emulated disk's partitions
    [run]         # transfer, bus width, clock, stall, seed, image, reason

``--set dotted.key=value`` overrides are TOML values (``run.transfer="pio"``,
``run.bus_width=4``); a bare word that is not TOML is taken as a string.

The card's seed is not a key of its own here: ``run.boot_seed`` seeds the
card's timing during bring-up and ``run.seed`` every random choice from the
panic on (the card's timing and the panic text alike).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

from emmc_card import CardConfig, card_preset
from emmc_card.configtools import ConfigError, depth, from_dict, merge, set_dotted, to_dict
from sdhci.controller.config import ControllerConfig
from sdhci.controller.presets import controller_preset
from sdhci.regmap import SDHCI_SPEC_200
from sdhci.driver.platform import PlatformConfig, platform_preset
from sdhci.driver.variants import PATCHES
from sdhci.pstore import PstoreBlkConfig, blkdev_partno
from sdhci.pstore.blk import SZ_128M
from sdhci.pstore.partitions import SECTOR, PartitionError, check_partitions

REASONS = {"panic": 1, "oops": 2, "emergency": 3, "shutdown": 4}
#: Seeds and record times are stored as signed 64-bit integers (tv_sec is a time64_t).
INT64_MAX = (1 << 63) - 1
#: Deepest nesting of tables a configuration may have (the deepest real key has 4 levels).
MAX_DEPTH = 8
#: Picoseconds per unit a duration may be written in.
TIME_UNITS_PS = {"ps": 1, "ns": 10**3, "us": 10**6, "ms": 10**9, "s": 10**12}
#: Longest power-cut delay accepted (an hour; a board watchdog fires within seconds).
MAX_POWER_CUT_DELAY_PS = 3600 * 10**12
#: Longest injected stall accepted (an hour of card busy; Linux gives up after its poll timeout anyway).
MAX_STALL_MS = 3_600_000
#: Longest card busy at panic entry accepted, in us (an hour).
MAX_ENTRY_BUSY_US = 3_600_000_000
#: Most earlier records accepted in pstore's zones at panic entry (the ring wraps long before).
MAX_ENTRY_RECORDS = 100_000


class PowerCut(NamedTuple):
    """When the board loses power: at `anchor` ('entry', 'return') plus `delay_ps`, or never ('never').

    'entry' is the record's panic_write entry; 'return' the return of the
    panic path's last panic_write call (pstore has finished; the kernel goes
    on to reboot or halt).
    """
    anchor: Literal["entry", "return", "never"]
    delay_ps: int = 0

    def __str__(self) -> str:
        if self.anchor == "never" or not self.delay_ps:
            return self.anchor
        return f"{self.anchor}+{format_duration(self.delay_ps)}"


_POWER_CUT = re.compile(r"(entry|return)(?:\s*\+\s*([0-9.]+)\s*(ps|ns|us|ms|s))?")


def format_duration(ps: int) -> str:
    """A duration in the largest unit that writes it exactly ('2500us', '3ms')."""
    for unit in ("s", "ms", "us", "ns"):
        if ps % TIME_UNITS_PS[unit] == 0:
            return f"{ps // TIME_UNITS_PS[unit]}{unit}"
    return f"{ps}ps"


def parse_power_cut(text: str) -> PowerCut:
    """'return', 'never', 'entry', 'entry+2.5ms', 'return+100ms' -> PowerCut; ConfigError otherwise."""
    accepted = "'return', 'never', or 'entry' / 'return' plus a delay such as 'entry+2.5ms' (units ps ns us ms s)"
    if text.strip() == "never":
        return PowerCut("never")
    m = _POWER_CUT.fullmatch(text.strip())
    if m is None:
        raise ConfigError("run.power_cut", f"{text!r} is not a power-cut time; accepted: {accepted}")
    anchor, number, unit = m.groups()
    delay = 0
    if number is not None:
        try:
            exact = Decimal(number) * TIME_UNITS_PS[unit]
        except InvalidOperation:
            raise ConfigError("run.power_cut", f"{text!r}: {number!r} is not a number; accepted: {accepted}") from None
        if exact != exact.to_integral_value():
            raise ConfigError("run.power_cut", f"{text!r} is not a whole number of picoseconds")
        delay = int(exact)
        if delay > MAX_POWER_CUT_DELAY_PS:
            raise ConfigError("run.power_cut", f"{text!r}: the delay must be at most 1 hour")
    return PowerCut(anchor, delay)  # type: ignore[arg-type]


@dataclass
class PartitionSpec:
    """One partition of the emulated disk, in 512-byte sectors."""
    start_sector: int
    sectors: int


def _default_partitions() -> list[PartitionSpec]:
    # mmcblk0p1 64 MiB, then an extended partition with p5 (1 MiB, pstore) and p6 (512 MiB).
    return [PartitionSpec(2048, 131072), PartitionSpec(135168, 2048), PartitionSpec(139264, 1048576)]


@dataclass
class PstoreSettings(PstoreBlkConfig):
    """pstore/blk module parameters plus the msdos partition table written on the emulated disk.

    partitions: (start_sector, sectors) in table order; the first
    ``primaries`` are primary partitions 1.., the rest logical partitions
    5.. (so the defaults give mmcblk0p1, p5 and p6).
    """
    blkdev: str = "/dev/mmcblk0p5"
    partitions: list[PartitionSpec] = field(default_factory=_default_partitions)
    primaries: int = 1

    def validate(self) -> None:
        super().validate()
        if not 0 <= self.primaries <= min(4, len(self.partitions)):
            raise ConfigError("primaries", f"must lie in 0..{min(4, len(self.partitions))} (MBR slots, and no more "
                              f"than the {len(self.partitions)} partitions given), not {self.primaries}")
        try:
            check_partitions([(p.start_sector, p.sectors) for p in self.partitions], self.primaries)
        except PartitionError as err:
            raise ConfigError("partitions", str(err)) from None

    def partition(self, number: int) -> PartitionSpec | None:
        """The partition Linux numbers mmcblk0p<number>: primaries 1.., logicals 5.. (None: no such one)."""
        logicals = self.partitions[self.primaries:]
        if 1 <= number <= self.primaries:
            return self.partitions[number - 1]
        if 5 <= number < 5 + len(logicals):
            return logicals[number - 5]
        return None

    def blk_config(self) -> PstoreBlkConfig:
        """The plain pstore/blk parameters."""
        return PstoreBlkConfig(self.blkdev, self.kmsg_size, self.pmsg_size, self.console_size,
                               self.ftrace_size, self.max_reason, self.best_effort)


@dataclass
class EntryState:
    """The card and the pstore partition as the kernel leaves them when it panics.

    busy: what the card is doing at panic_write's entry, for busy_us more
        microseconds. 'write': a previous write still programming (the card
        in prg, DAT0 low: a data command is illegal until it ends); 'gc': a
        garbage collection keeping the medium busy (the card answers and
        buffers, programs nothing before it ends). 'none': idle. The patch
        sends no HPI and no CMD13 to find out.
    busy_us: the remaining time of that busy at entry (0: none left).
    dirty_blocks: blocks of earlier writes in the card's volatile cache, not
        yet flushed (at most the cache's size; no effect with the cache off).
    records: earlier panic records already in pstore's kmsg zones, oldest
        first; pstore/zone's ring puts this record after the newest.
    """
    busy: Literal["none", "write", "gc"] = "none"
    busy_us: float = 0.0
    dirty_blocks: int = 0
    records: int = 0

    def validate(self) -> None:
        if not 0 <= self.busy_us <= MAX_ENTRY_BUSY_US:
            raise ConfigError("busy_us", f"must lie in 0 .. {MAX_ENTRY_BUSY_US} us (an hour), not {self.busy_us}")
        if self.dirty_blocks < 0:
            raise ConfigError("dirty_blocks", f"must not be negative, not {self.dirty_blocks}")
        if not 0 <= self.records <= MAX_ENTRY_RECORDS:
            raise ConfigError("records", f"must lie in 0 .. {MAX_ENTRY_RECORDS}, not {self.records}")

    @property
    def busy_ps(self) -> int:
        """busy_us in whole picoseconds."""
        return round(self.busy_us * 1_000_000)


@dataclass
class RunSettings:
    """How this run drives the host and what it writes.

    transfer: 'auto' (as sdhci.c chooses: ADMA2, else SDMA, else PIO) or a forced mode.
    bus_width / sd_clock_hz: what the board allows (clock before the divider).
    stall_ms: an injected card stall on the first block of the panic record.
    power_cut: when the power goes (see PowerCut): 'return' (default), 'never',
        'entry+<time>' or 'return+<time>'. The verdict and the kept image both
        come from the medium as that cut leaves it.
    seed: seeds every random choice of the panic (card timing from panic entry on, tear points, panic
        text), 0 .. 2^63-1.
    boot_seed: seeds the card's random timing during bring-up, before the panic. Apart from it, so
        that every seed starts from the same booted board (a sweep boots once per configuration).
    image: raw image file of the card's user area (created if missing; the partition table of
        pstore.partitions is written into it); none = in memory.
    reason: the kmsg_dump reason; only 'panic' goes through panic_write.
    enable_cache: mmc_init_card turns the eMMC cache on when CACHE_SIZE > 0, as Linux does;
        false is a card Linux flags MMC_QUIRK_BROKEN_CACHE (cache left off).
    ddr: the board allows DDR52 at 3.3 V I/O (mmc-ddr-3_3v); used if card and host support it.
    uptime_s / panic_time_s: the panic's log timestamp and record time (tv_sec).
    patch: which mmcpstore runs: 'as-posted' (the seed patch's port) or a fix
        (sdhci.driver.variants: flush, reliable-write, checked, fixed).
    entry: the card's and pstore's state when the kernel panics (EntryState).
    """
    transfer: Literal["auto", "pio", "sdma", "adma2"] = "auto"
    bus_width: int = 8
    sd_clock_hz: int = 52_000_000
    stall_ms: float = 0.0
    power_cut: str = "return"
    seed: int = 1
    boot_seed: int = 0
    image: str | None = None
    reason: str = "panic"
    enable_cache: bool = True
    ddr: bool = False
    uptime_s: float = 3725.5
    panic_time_s: int = 1_764_150_000
    patch: str = "as-posted"
    entry: EntryState = field(default_factory=EntryState)

    def validate(self) -> None:
        if self.bus_width not in (1, 4, 8):
            raise ConfigError("bus_width", f"must be 1, 4 or 8, not {self.bus_width}")
        if not 100_000 <= self.sd_clock_hz <= 200_000_000:
            raise ConfigError("sd_clock_hz", f"must lie in 100 kHz .. 200 MHz, not {self.sd_clock_hz}")
        if not 0 <= self.stall_ms <= MAX_STALL_MS:
            raise ConfigError("stall_ms", f"must lie in 0 .. {MAX_STALL_MS} ms (an hour), not {self.stall_ms}")
        for name in ("seed", "boot_seed"):
            if not 0 <= getattr(self, name) <= INT64_MAX:
                raise ConfigError(name, f"must lie in 0 .. 2^63-1, not {getattr(self, name)}")
        try:
            parse_power_cut(self.power_cut)
        except ConfigError as err:
            raise ConfigError("power_cut", err.message) from None
        if self.reason not in REASONS:
            raise ConfigError("reason", f"must be one of {', '.join(REASONS)}, not {self.reason!r}")
        if self.reason != "panic":
            raise ConfigError("reason", f"{self.reason!r} records are written outside panic context; only "
                              "'panic' reaches mmcpstore_panic_write")
        if not 0 <= self.uptime_s <= 10**9:
            raise ConfigError("uptime_s", f"must lie in 0 .. 1e9 s (printk's timestamp), not {self.uptime_s}")
        if not 0 <= self.panic_time_s <= INT64_MAX:
            raise ConfigError("panic_time_s", f"must lie in 0 .. 2^63-1 (tv_sec, a time64_t), not {self.panic_time_s}")
        if self.patch not in PATCHES:
            raise ConfigError("patch", f"must be one of {', '.join(PATCHES)}, not {self.patch!r}")

    @property
    def power_cut_at(self) -> PowerCut:
        """run.power_cut parsed."""
        return parse_power_cut(self.power_cut)


@dataclass
class EmulatorConfig:
    """The whole emulation: card, controller, platform, pstore and run settings."""
    card_preset: str = "emmc51"
    controller_preset: str = "v3"
    platform_preset: str = "arm64-soc"
    card: CardConfig = field(default_factory=lambda: card_preset("emmc51"))
    controller: ControllerConfig = field(default_factory=lambda: controller_preset("v3"))
    platform: PlatformConfig = field(default_factory=lambda: platform_preset("arm64-soc"))
    pstore: PstoreSettings = field(default_factory=PstoreSettings)
    run: RunSettings = field(default_factory=RunSettings)

    def validate(self) -> None:
        """Cross-section checks: the partitions fit the card, the pstore partition exists, the image fits."""
        capacity = self.card.user_area_bytes // SECTOR
        for i, part in enumerate(self.pstore.partitions):
            if part.start_sector + part.sectors > capacity:
                raise ConfigError(f"pstore.partitions[{i}]", f"ends at sector {part.start_sector + part.sectors}, "
                                  f"beyond the card's {capacity} sectors")
        if self.pstore.blkdev and blkdev_partno(self.pstore.blkdev) is None:
            raise ConfigError("pstore.blkdev", f"{self.pstore.blkdev!r} names no mmcblk device")
        target = blkdev_partno(self.pstore.blkdev) if self.pstore.blkdev else None
        part = self.pstore.partition(target[1]) if target else None
        if part is not None and self.pstore.kmsg_size * 1024 > min(part.sectors * SECTOR, SZ_128M):
            raise ConfigError("pstore.kmsg_size", f"{self.pstore.kmsg_size} KiB does not fit in {self.pstore.blkdev} "
                              f"({part.sectors * SECTOR // 1024} KiB; pstore/zone uses at most 128 MiB of it)")
        if self.run.image is not None and os.path.isdir(self.run.image):
            raise ConfigError("run.image", f"{self.run.image} is a directory; name an image file (created if missing)")
        if self.run.image is not None and os.path.exists(self.run.image):
            size = os.path.getsize(self.run.image)
            if size != self.card.user_area_bytes:
                raise ConfigError("run.image", f"{self.run.image} has {size} bytes; the card's user area has "
                                  f"{self.card.user_area_bytes} (too {'small' if size < self.card.user_area_bytes else 'large'})")
        dirty, room = self.run.entry.dirty_blocks, self.card.cache_size_kib * 1024 // SECTOR
        if dirty > room:
            raise ConfigError("run.entry.dirty_blocks", f"{dirty} blocks do not fit in the card's cache of "
                              f"{room} blocks ({self.card.cache_size_kib} KiB)")
        if self.run.transfer in ("sdma", "adma2"):
            caps = self.controller.capabilities
            has = caps.sdma if self.run.transfer == "sdma" else caps.adma2 and self.controller.version >= SDHCI_SPEC_200
            if not has:
                raise ConfigError("run.transfer", f"{self.run.transfer!r} but the controller does not have it")

    @property
    def pstore_blk(self) -> PstoreBlkConfig:
        """The pstore/blk module parameters."""
        return self.pstore.blk_config()


def parse_value(text: str) -> Any:
    """A --set value: TOML scalar/array/inline table, else the bare text as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def read_toml(path: str) -> dict[str, Any]:
    """A TOML file as a plain dict; ConfigError naming the file otherwise."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as err:
        raise ConfigError("", f"cannot read {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("", f"{path}: {err}") from None
    except RecursionError:
        raise ConfigError("", f"{path}: tables or arrays nest too deeply (at most {MAX_DEPTH} levels)") from None


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """Set each ``dotted.key=value`` override in the raw document."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(item, "an override must look like dotted.key=value")
        set_dotted(raw, key.strip(), parse_value(value.strip()))


def load_config(path: str | None, overrides: list[str]) -> EmulatorConfig:
    """Build the configuration from an optional TOML file and ``key=value`` overrides.

    Presets fill each section first; the file's and the overrides' values
    replace fields of them. Raises ConfigError naming the dotted key.
    """
    raw = read_toml(path) if path is not None else {}
    apply_overrides(raw, overrides)
    return build_config(raw)


def build_config(raw: dict[str, Any]) -> EmulatorConfig:
    """EmulatorConfig from a plain dict (the TOML document), presets first."""
    if depth(raw) > MAX_DEPTH:
        raise ConfigError("", f"tables or arrays nest more than {MAX_DEPTH} levels deep; no key of the "
                          "configuration is that deep")
    card = raw.get("card")
    if isinstance(card, dict) and "seed" in card:
        raise ConfigError("card.seed", "the emulator seeds the card from run.boot_seed (bring-up) and run.seed (--seed, the "
                          "panic); set those instead")
    sections: dict[str, tuple[str, str, Any]] = {
        "card": ("card_preset", "emmc51", card_preset),
        "controller": ("controller_preset", "v3", controller_preset),
        "platform": ("platform_preset", "arm64-soc", platform_preset),
    }
    data = dict(raw)
    for section, (key, default, loader) in sections.items():
        name = data.get(key, default)
        if not isinstance(name, str):
            raise ConfigError(key, f"expected a preset name, got {name!r}")
        try:
            base = to_dict(loader(name))
        except ConfigError as err:
            raise ConfigError(key, err.message) from None
        override = data.get(section, {})
        if not isinstance(override, dict):
            raise ConfigError(section, f"expected a table, got {override!r}")
        data[section] = merge(base, override)
    data["card"].pop("seed", None)
    return from_dict(EmulatorConfig, data)


def config_dict(config: EmulatorConfig) -> dict[str, Any]:
    """The configuration as `sdhci-emu config` prints it: loadable again, card.seed left to run.boot_seed and run.seed."""
    data = to_dict(config)
    data["card"].pop("seed", None)
    return data
