"""Building configuration dataclasses from TOML-shaped dicts, with errors that name the key."""
from dataclasses import dataclass, field
from typing import Literal

import pytest

from emmc_card.configtools import ConfigError, from_dict, merge, set_dotted, to_dict


@dataclass
class Inner:
    hz: int = 52_000_000
    mode: Literal["pio", "sdma"] = "pio"

    def validate(self) -> None:
        if self.hz <= 0:
            raise ConfigError("hz", "must be positive")


@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    ratios: list[float] = field(default_factory=list)
    maybe: int | None = None


def test_round_trip_and_defaults():
    cfg = from_dict(Outer, {"inner": {"mode": "sdma"}, "ratios": [1, 2.5]})
    assert cfg.inner == Inner(52_000_000, "sdma")
    assert cfg.ratios == [1.0, 2.5]
    assert from_dict(Outer, to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"nope": 1}, "nope"),
        ({"inner": {"hz": "fast"}}, "inner.hz"),
        ({"inner": {"hz": True}}, "inner.hz"),
        ({"inner": {"mode": "adma9"}}, "inner.mode"),
        ({"inner": {"hz": -1}}, "inner.hz"),
        ({"inner": 3}, "inner"),
        ({"ratios": ["a"]}, "ratios[0]"),
    ],
)
def test_errors_name_the_dotted_key(data, key):
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, data)
    assert err.value.key == key
    assert str(err.value).startswith(key + ":")


def test_set_dotted_and_merge():
    data = {"inner": {"hz": 1}}
    set_dotted(data, "inner.mode", "sdma")
    set_dotted(data, "name", "y")
    assert merge({"inner": {"hz": 2, "mode": "pio"}, "maybe": 3}, data) == {
        "inner": {"hz": 1, "mode": "sdma"},
        "maybe": 3,
        "name": "y",
    }


def test_under_nests_the_key_and_keeps_the_message():
    # The message may itself contain ": "; only the key changes.
    err = ConfigError("program.value_us", "must be >= 0: got -1").under("timing")
    assert (err.key, err.message) == ("timing.program.value_us", "must be >= 0: got -1")
    assert str(err) == "timing.program.value_us: must be >= 0: got -1"
    assert ConfigError("", "bad table").under("card").key == "card"
