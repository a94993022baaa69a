"""EmulatorConfig: defaults, TOML, --set overrides and the errors that name the key."""
from __future__ import annotations

import pytest

from emmc_card.configtools import ConfigError, to_dict
from sdhci.config import EmulatorConfig, build_config, config_dict, load_config
from sdhci.regmap import SDHCI_SPEC_100, SDHCI_SPEC_300


def test_defaults() -> None:
    config = load_config(None, [])
    assert config.card_preset == "emmc51" and config.card.user_area_bytes == 8 * 1024 ** 3
    assert config.controller.version == SDHCI_SPEC_300
    assert (config.run.sd_clock_hz, config.run.bus_width, config.run.transfer) == (52_000_000, 8, "auto")
    assert config.pstore.blkdev == "/dev/mmcblk0p5" and config.pstore_blk.kmsg_size == 64


def test_toml_file_and_overrides(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('controller_preset = "v1-pio"\n[run]\nbus_width = 4\n[pstore]\nkmsg_size = 32\n'
                    '[card.timing]\nprogram = { kind = "fixed", value_us = 80.0 }\n')
    config = load_config(str(path), ["run.transfer=pio", "card.cache_size_kib=0"])
    assert config.controller.version == SDHCI_SPEC_100
    assert config.run.bus_width == 4 and config.run.transfer == "pio"
    assert config.pstore_blk.kmsg_size == 32 and config.pstore.kmsg_size == 32
    assert config.card.timing.program.value_us == 80.0 and config.card.cache_size_kib == 0
    # Preset fields not overridden survive.
    assert config.card.timing.write_buffer_blocks == 32


def test_round_trip_through_dict() -> None:
    config = load_config(None, ["run.stall_ms=12.5"])
    again = build_config(config_dict(config))
    assert config_dict(again) == config_dict(config)


@pytest.mark.parametrize("override, key", [
    ("run.colour=1", "run.colour"),
    ("run.bus_width=3", "run.bus_width"),
    ("run.transfer='dma'", "run.transfer"),
    ("run.reason='oops'", "run.reason"),
    ("card_preset='emmc99'", "card_preset"),
    ("platform.mmio_read_ps=-1", "platform.mmio_read_ps"),
    ("pstore.kmsg_size=6", "pstore.kmsg_size"),
    ("pstore.blkdev='/dev/sda1'", "pstore.blkdev"),
    ("pstore.partitions=[{start_sector=2048, sectors=99999999}]", "pstore.partitions[0]"),
])
def test_bad_values_name_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert err.value.key == key


def test_transfer_the_controller_lacks() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, ["controller_preset='v1-pio'", "run.transfer='adma2'"])
    assert err.value.key == "run.transfer"


def test_image_of_the_wrong_size(tmp_path) -> None:
    image = tmp_path / "small.img"
    image.write_bytes(bytes(1024))
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"run.image={str(image)!r}"])
    assert err.value.key == "run.image" and "too small" in str(err.value)


def test_bad_override_syntax_and_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError):
        load_config(None, ["run.seed"])
    with pytest.raises(ConfigError):
        load_config(str(tmp_path / "none.toml"), [])


def test_plain_dataclass_default_matches_loaded_default() -> None:
    assert to_dict(EmulatorConfig()) == to_dict(load_config(None, []))
