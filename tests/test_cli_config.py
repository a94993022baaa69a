"""`sdhci-emu config`: the effective configuration as TOML, loadable again."""
from __future__ import annotations

import tomllib

from sdhci.cli import main


def test_config_toml_round_trip(tmp_path, capsys) -> None:
    assert main(["config", "--transfer", "pio", "--bus-width", "4", "--seed", "7",
                 "--set", "card.timing.write_buffer_blocks=4", "--kmsg-size", "32768"]) == 0
    first = capsys.readouterr().out
    data = tomllib.loads(first)
    assert data["run"]["transfer"] == "pio"
    assert data["run"]["bus_width"] == 4
    assert data["run"]["seed"] == 7
    assert data["pstore"]["kmsg_size"] == 32              # 32768 bytes = 32 KiB, the kernel parameter's unit
    assert "kmsg_size" not in data["run"]                  # one key for one setting
    assert "seed" not in data["card"]                      # the card is seeded from run.seed
    assert data["card"]["timing"]["write_buffer_blocks"] == 4
    path = tmp_path / "effective.toml"
    path.write_text(first)
    assert main(["config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == first


def test_options_win_over_set(capsys) -> None:
    assert main(["config", "--set", "run.transfer=\"sdma\"", "--transfer", "pio"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["run"]["transfer"] == "pio"


def test_set_values_are_toml_scalars_else_strings(capsys) -> None:
    assert main(["config", "--set", "run.enable_cache=false", "--set", "run.stall_ms=2.5",
                 "--set", "card_preset=emmc51-slow"]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert data["run"]["enable_cache"] is False       # TOML boolean
    assert data["run"]["stall_ms"] == 2.5             # TOML float
    assert data["card_preset"] == "emmc51-slow"       # not TOML: taken as a string


def test_help_returns_zero(capsys) -> None:
    assert main(["--help"]) == 0
    assert main(["panic-write", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: sdhci-emu" in out and "--stall-ms MS" in out
