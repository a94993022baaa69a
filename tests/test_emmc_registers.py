"""OCR, CID, CSD and EXT_CSD contents; configuration and presets."""
import pytest

import emmc_card
from emmc_card import CardConfig, CardTiming, TimeDistribution, card_preset
from emmc_card import registers as reg
from emmc_card.config import decode_taac, encode_taac
from emmc_card.configtools import ConfigError, from_dict, to_dict


def test_ocr_sector_mode_card():
    config = card_preset("emmc51")
    assert reg.ocr(config, powered_up=True) == 0xC0FF8080
    assert reg.ocr(config, powered_up=False) == 0x40FF8080


def test_ocr_byte_mode_card():
    config = card_preset("emmc-2gb-byte")
    assert reg.ocr(config, powered_up=True) == 0x80FF8080   # access mode 00


def test_csd_fields_of_the_8gib_card():
    config = card_preset("emmc51")
    csd = reg.csd(config)
    assert reg.field_value(csd, 127, 126) == 3            # CSD_STRUCTURE
    assert reg.field_value(csd, 125, 122) == 4            # SPEC_VERS
    assert reg.field_value(csd, 119, 112) == 0x0E         # TAAC: 1.0 (code 1) x 1 ms (unit 6)
    assert decode_taac(0x0E) == 1_000_000
    assert reg.field_value(csd, 111, 104) == 0            # NSAC
    assert reg.field_value(csd, 103, 96) == 0x32          # TRAN_SPEED 26 MHz
    assert reg.field_value(csd, 83, 80) == 9              # READ_BL_LEN 512
    assert reg.field_value(csd, 73, 62) == 0xFFF          # C_SIZE: above 2 GB
    assert reg.field_value(csd, 28, 26) == 4              # R2W_FACTOR
    assert reg.field_value(csd, 25, 22) == 9              # WRITE_BL_LEN 512
    assert csd[15] == (emmc_card.crc7(csd[:15]) << 1) | 1


def test_csd_capacity_of_the_2gb_byte_card():
    csd = reg.csd(card_preset("emmc-2gb-byte"))
    c_size = reg.field_value(csd, 73, 62)
    mult = reg.field_value(csd, 49, 47)
    read_bl_len = reg.field_value(csd, 83, 80)
    # 2 GiB = 2^31 = (2047 + 1) x 2^(7 + 2) x 2^11.
    assert (c_size, mult, read_bl_len) == (2047, 7, 11)
    assert (c_size + 1) << (mult + 2 + read_bl_len) == 2 * 1024 ** 3
    assert reg.field_value(csd, 119, 112) == (4 << 3) | 6   # TAAC 1.5 ms
    assert reg.field_value(csd, 111, 104) == 1              # NSAC
    assert reg.field_value(csd, 28, 26) == 5


def test_csd_capacity_small_card_prefers_512_byte_blocks():
    # 64 MiB = 2^26 = (C_SIZE + 1) x 2^(MULT + 2) x 2^9: the smallest MULT keeping
    # C_SIZE below 0xFFF is 4 (2^26 / 2^(4 + 2 + 9) = 2048 -> C_SIZE 2047).
    assert reg.csd_capacity_fields(64 * 1024 ** 2) == (2047, 4, 9)


def test_cid_fields():
    config = card_preset("emmc51")
    cid = reg.cid(config)
    assert reg.field_value(cid, 127, 120) == 0x15                      # MID
    assert reg.field_value(cid, 103, 56).to_bytes(6, "big") == b"EMU51F"  # PNM
    assert reg.field_value(cid, 47, 16) == config.cid.psn              # PSN
    assert cid[15] == (emmc_card.crc7(cid[:15]) << 1) | 1


def test_ext_csd_fields_at_their_indices():
    config = card_preset("emmc51")
    ext = reg.ext_csd(config)
    assert len(ext) == 512
    assert ext[192] == 8                                  # EXT_CSD_REV eMMC 5.1
    assert ext[196] == 0x57                               # DEVICE_TYPE
    assert ext[199] == 3                                  # PARTITION_SWITCH_TIME x10 ms
    assert int.from_bytes(ext[212:216], "little") == 8 * 1024 ** 3 // 512   # SEC_COUNT
    assert ext[222] == 1                                  # REL_WR_SEC_C
    assert ext[226] == 32                                 # BOOT_SIZE_MULT
    assert ext[248] == 10                                 # GENERIC_CMD6_TIME
    assert int.from_bytes(ext[249:253], "little") == 1024  # CACHE_SIZE KiB
    assert ext[33] == 0 and ext[32] == 0 and ext[15] == 0 # cache off, no flush, no CMDQ
    assert ext[179] == 0 and ext[183] == 0 and ext[185] == 0
    assert ext[166] == 0x05 and ext[167] == 0x1F


def test_ext_csd_overrides():
    config = card_preset("emmc51")
    config.ext_csd_overrides = {504: 0x01, 160: 0x07}
    ext = reg.ext_csd(config)
    assert ext[160] == 0x07


def test_taac_encoding():
    assert encode_taac(1_000_000) == 0x0E
    assert encode_taac(1_500_000) == 0x26
    assert encode_taac(80_000_000) == (15 << 3) | 7    # 8.0 x 10 ms
    with pytest.raises(ConfigError, match="taac_ns"):
        encode_taac(1_100_000)


@pytest.mark.parametrize("name", sorted(emmc_card.PRESETS))
def test_presets_validate_and_are_copies(name):
    a = card_preset(name)
    a.validate()
    a.seed = 99
    a.timing.injected_stalls.append(emmc_card.InjectedStall(0, 1))
    assert emmc_card.PRESETS[name].seed == 1
    assert emmc_card.PRESETS[name].timing.injected_stalls == []


def test_preset_shapes():
    assert card_preset("emmc51").sector_mode and card_preset("emmc51").cache_size_kib >= 1024
    assert card_preset("emmc51").user_area_bytes == 8 * 1024 ** 3
    assert card_preset("emmc51-slow").timing.gc_stall_probability > 0
    assert not card_preset("emmc-2gb-byte").sector_mode


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="emmc51"):
        card_preset("nope")


def test_config_from_toml_dict_round_trip():
    data = to_dict(card_preset("emmc51-slow"))
    config = from_dict(CardConfig, data)
    assert config == card_preset("emmc51-slow")


@pytest.mark.parametrize("data, key", [
    ({"user_area_bytes": 1000}, "user_area_bytes"),
    ({"r2w_factor": 9}, "r2w_factor"),
    ({"taac_ns": 1100}, "taac_ns"),
    ({"timing": {"ncr_cycles_min": 1}}, "timing.ncr_cycles_min"),
    ({"timing": {"ncr_cycles_max": 65}}, "timing.ncr_cycles_max"),
    ({"timing": {"program": {"kind": "uniform", "min_us": 5, "max_us": 1}}}, "timing.program.min_us"),
    ({"timing": {"program": {"kind": "replay"}}}, "timing.program.replay_us"),
    ({"timing": {"gc_stall_probability": 1.5}}, "timing.gc_stall_probability"),
    ({"timing": {"cmd6_busy_us": 200_000.0}}, "timing.cmd6_busy_us"),   # > GENERIC_CMD6_TIME 100 ms
    ({"cid": {"pnm": "TOOLONGNAME"}}, "cid.pnm"),
    ({"ext_csd_overrides": {"600": 1}}, "ext_csd_overrides.600"),
])
def test_bad_config_names_the_key(data, key):
    with pytest.raises(ConfigError) as err:
        from_dict(CardConfig, data)
    assert err.value.key == key


def test_timing_defaults_are_the_spec_values():
    timing = CardTiming()
    assert timing.nid_cycles == 5 and timing.crc_status_delay_cycles == 2
    assert timing.ncr_cycles_min >= 2
    assert TimeDistribution().kind == "fixed"


def test_injected_stalls_from_toml_dict():
    config = from_dict(CardConfig, {"timing": {"injected_stalls": [{"block": 3, "duration_ps": 7}]}})
    assert config.timing.injected_stalls == [emmc_card.InjectedStall(block=3, duration_ps=7)]
    with pytest.raises(ConfigError) as err:
        from_dict(CardConfig, {"timing": {"injected_stalls": [{"block": -1, "duration_ps": 7}]}})
    assert err.value.key == "timing.injected_stalls[0].block"
