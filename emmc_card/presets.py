"""Named card configurations for realistic devices (docs/card.md explains each)."""
from __future__ import annotations

import copy

from emmc_card.config import CardConfig, CardTiming, CidFields, TimeDistribution
from emmc_card.configtools import ConfigError

GIB = 1024 ** 3

PRESETS: dict[str, CardConfig] = {
    # Fast eMMC 5.1, 8 GiB, sector mode, 1 MiB volatile cache; programming
    # around 150 us per 512-byte block when it reaches the NAND, rare GC stalls.
    "emmc51": CardConfig(
        user_area_bytes=8 * GIB,
        boot_size_mult=32,                 # 2 x 4 MiB boot partitions
        cache_size_kib=1024,
        taac_ns=1_000_000, nsac=0, r2w_factor=4,
        ext_csd_rev=8, device_type=0x57,
        generic_cmd6_time_10ms=10, partition_switch_time_10ms=3,
        cid=CidFields(mid=0x15, pnm="EMU51F"),
        timing=CardTiming(
            ncr_cycles_min=2, ncr_cycles_max=4,
            nac_cycles_min=1000, nac_cycles_max=3000,
            program=TimeDistribution("lognormal", value_us=150.0, sigma=0.4, max_us=2000.0),
            cached_write=TimeDistribution("uniform", min_us=2.0, max_us=8.0),
            stop_busy=TimeDistribution("fixed", value_us=20.0),
            write_buffer_blocks=32,
            gc_stall_probability=0.001,
            gc_stall=TimeDistribution("uniform", min_us=2_000.0, max_us=10_000.0),
            init_busy_us=10_000.0, cmd6_busy_us=500.0, partition_switch_busy_us=2_000.0,
            flush_overhead_us=300.0,
        ),
    ),
    # Slow, worn eMMC 5.1: small cache, slow programming and frequent long
    # garbage-collection stalls that can outlast the host's data timeout.
    "emmc51-slow": CardConfig(
        user_area_bytes=8 * GIB,
        boot_size_mult=16,
        cache_size_kib=256,
        taac_ns=1_000_000, nsac=0, r2w_factor=4,
        ext_csd_rev=8, device_type=0x57,
        generic_cmd6_time_10ms=25, partition_switch_time_10ms=10,
        cid=CidFields(mid=0x90, pnm="EMU51S"),
        timing=CardTiming(
            ncr_cycles_min=2, ncr_cycles_max=64,
            nac_cycles_min=2000, nac_cycles_max=20000,
            program=TimeDistribution("lognormal", value_us=600.0, sigma=0.8, max_us=20_000.0),
            cached_write=TimeDistribution("uniform", min_us=10.0, max_us=40.0),
            stop_busy=TimeDistribution("fixed", value_us=200.0),
            write_buffer_blocks=4,
            gc_stall_probability=0.02,
            gc_stall=TimeDistribution("lognormal", value_us=80_000.0, sigma=0.6, max_us=600_000.0),
            init_busy_us=50_000.0, cmd6_busy_us=5_000.0, partition_switch_busy_us=20_000.0,
            flush_overhead_us=2_000.0,
        ),
    ),
    # 2 GiB eMMC 4.41-era device: byte addressing (OCR access mode 00), capacity
    # in CSD C_SIZE, no cache, 52 MHz SDR/DDR only.
    "emmc-2gb-byte": CardConfig(
        user_area_bytes=2 * GIB,
        boot_size_mult=8,
        cache_size_kib=0,
        taac_ns=1_500_000, nsac=1, r2w_factor=5,
        ext_csd_rev=5, device_type=0x07,
        generic_cmd6_time_10ms=0x1E, partition_switch_time_10ms=5,
        cid=CidFields(mid=0x11, pnm="EMU2GB"),
        timing=CardTiming(
            ncr_cycles_min=2, ncr_cycles_max=8,
            nac_cycles_min=2000, nac_cycles_max=6000,
            program=TimeDistribution("lognormal", value_us=300.0, sigma=0.3, max_us=5_000.0),
            stop_busy=TimeDistribution("fixed", value_us=50.0),
            write_buffer_blocks=1,
            init_busy_us=20_000.0, cmd6_busy_us=1_000.0, partition_switch_busy_us=5_000.0,
        ),
    ),
}


def card_preset(name: str) -> CardConfig:
    """A fresh copy of the named preset (callers may modify it)."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown card preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    return copy.deepcopy(PRESETS[name])
