"""Named controller configurations: generic hosts and the kit's sdhci_top.

Kept apart from config.py because the sdhci_top preset is built by
rtl_calibration, which itself builds on config.py's dataclasses.
"""
from __future__ import annotations

import copy
from pathlib import Path

from emmc_card.configtools import ConfigError, from_dict, preset_table
from sdhci import regmap as rm
from sdhci.controller.config import Capabilities, ControllerConfig
from sdhci.controller.rtl_calibration import rtl_controller

PRESETS: dict[str, ControllerConfig] = {
    # A v1.00 host: PIO only, 4-bit, 8-bit power-of-two divider, 48 MHz base.
    "v1-pio": ControllerConfig(
        version=rm.SDHCI_SPEC_100,
        capabilities=Capabilities(base_clock_mhz=48, timeout_clock=48, bus_8bit=False, adma2=False,
                                  sdma=False, voltage_1v8=False, ddr50=False),
        buffer_blocks=1),
    # A v3.00 host: SDMA, ADMA2 (32/64-bit descriptors), 8-bit, DDR50, 200 MHz base.
    "v3": ControllerConfig(version=rm.SDHCI_SPEC_300,
                           capabilities=Capabilities(bus_64bit=True)),
    # A v4.10 host: as v3 plus the v4 registers/fields.
    "v4": ControllerConfig(version=rm.SDHCI_SPEC_410,
                           capabilities=Capabilities(bus_64bit=True, sdr50=True, sdr104=True)),
    # rtl_model/sdhci_top at its default BASE_CLK_MHZ = 50, latencies calibrated against it.
    "sdhci-top": rtl_controller(),
}


def controller_preset(name: str) -> ControllerConfig:
    """A fresh copy of a named preset, or the [controller] table of a preset file (NAME.toml,
    as `sdhci-emu rtl calibrate` writes it); ConfigError names the known ones."""
    if name.endswith(".toml"):
        return _preset_file(Path(name))
    if name not in PRESETS:
        raise ConfigError("controller", f"unknown preset {name!r} (known: {', '.join(PRESETS)}, or a FILE.toml)")
    return copy.deepcopy(PRESETS[name])


def _preset_file(path: Path) -> ControllerConfig:
    config = from_dict(ControllerConfig, preset_table(path, "controller"), "controller")
    config.validate()
    return config
