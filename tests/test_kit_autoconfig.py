"""The model side built from what a DUT reports: Version and Capabilities decoded field by field."""
from __future__ import annotations

import pytest

from sdhci import regmap as rm
from sdhci.controller.presets import controller_preset
from sdhci.controller.rtl_calibration import rtl_controller
from sdhci.kit.autoconfig import Identity, capabilities_from_registers, controller_from_identity


def test_sdhci_top_capabilities_decode_to_its_preset() -> None:
    # sdhci_top at 50 MHz reports 0x416C32B2 (tests/test_rtl_lint.py derives it bit by bit):
    # timeout clock 50 MHz, base clock 50 MHz, 512-byte blocks, 8-bit, ADMA2, high speed, SDMA,
    # 3.3 V, embedded slot.
    caps = capabilities_from_registers(rm.SDHCI_SPEC_300, 0x416C32B2, 0)
    assert (caps.base_clock_mhz, caps.timeout_clock, caps.timeout_clock_unit_mhz) == (50, 50, True)
    assert (caps.bus_8bit, caps.high_speed, caps.voltage_3v3, caps.slot_type) == (True, True, True, 1)
    assert caps.sdma and caps.adma2
    assert not (caps.voltage_1v8 or caps.ddr50 or caps.bus_64bit)
    assert caps == rtl_controller(50).capabilities


def test_a_v1_four_bit_pio_host_is_modelled_as_one() -> None:
    # A v1.00 host: base clock 48 MHz (6-bit field), timeout 48 MHz, PIO only, no 8-bit.
    caps0 = 48 | 0x80 | 48 << 8 | 1 << 21 | 1 << 24
    config = controller_from_identity(Identity(rm.SDHCI_SPEC_100, 0, caps0, 0))
    assert config.version == rm.SDHCI_SPEC_100
    assert config.capabilities.base_clock_mhz == 48 and not config.capabilities.bus_8bit
    assert not (config.capabilities.sdma or config.capabilities.adma2)


@pytest.mark.parametrize("name", ["v1-pio", "v3", "v4", "sdhci-top"])
def test_presets_survive_their_registers(name: str) -> None:
    preset = controller_preset(name)
    caps0, caps1 = preset.capabilities.registers(preset.version)
    assert capabilities_from_registers(preset.version, caps0, caps1) == preset.capabilities
