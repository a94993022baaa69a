"""Controller configuration: presets, TOML-style dicts, and clear errors for bad values."""
from __future__ import annotations

import pytest

from emmc_card.configtools import ConfigError, from_dict, to_dict
from sdhci.controller import PRESETS, ControllerConfig, controller_preset


def test_presets_round_trip() -> None:
    for name in PRESETS:
        cfg = controller_preset(name)
        cfg.validate()
        assert from_dict(ControllerConfig, to_dict(cfg)) == cfg
    # fresh deep copies: changing a nested field of one leaves the preset as it was
    changed = controller_preset("v3")
    changed.capabilities.sdma = False
    changed.latencies.dma_block_ps += 1
    assert controller_preset("v3").capabilities.sdma and controller_preset("v3") == PRESETS["v3"] != changed
    with pytest.raises(ConfigError, match="unknown preset 'v9'"):
        controller_preset("v9")


@pytest.mark.parametrize("data,key", [
    ({"version": 9}, "version"),
    ({"faults": [{"kind": "data_crc"}]}, "faults[0].cmd"),
    ({"faults": [{"kind": "data_crc", "cmd": 25}]}, "faults[0].cmd"),        # a block fault at a command
    ({"faults": [{"kind": "drop_response", "cmd": 13, "occurrence": 0}]}, "faults[0].occurrence"),
    ({"latencies": {"dma_block_ps": -1}}, "latencies.dma_block_ps"),
    ({"capabilities": {"max_block_length": 700}}, "capabilities.max_block_length"),
    ({"version": 0, "capabilities": {"base_clock_mhz": 200}}, "capabilities.base_clock_mhz"),
    ({"version": 1, "capabilities": {"base_clock_mhz": 50, "bus_8bit": True}}, "capabilities"),
    ({"buffer_blocks": 0}, "buffer_blocks"),
])
def test_bad_values_name_their_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(ControllerConfig, data)
    assert err.value.key == key
