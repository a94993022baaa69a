"""One state, one truth: the verdict, the JSON and the kept image all come from the medium as the power cut left it.

For each verdict the kept image is read back two independent ways: the raw
bytes of the zone against the record built from the pstore/zone layout, and
`sdhci-emu inspect` (the reader a mounted pstore mirrors).
"""
from __future__ import annotations

import json
import random

import pytest

from sdhci.cli import main
from sdhci.config import PowerCut, load_config, parse_power_cut
from sdhci.pstore import build_kmsg_zone, panic_text
from emmc_card.configtools import ConfigError

P5_BYTE = 135168 * 512         # the default table's mmcblk0p5
ZONE = 64 * 1024
NO_CACHE = ["--set", "run.enable_cache=false"]


def _record(counter: int = 1) -> bytes:
    """The first panic's zone, from the pstore/zone layout (not from the emulator's run)."""
    run = load_config(None, []).run
    text = panic_text(random.Random(1), ZONE, run.uptime_s)
    return build_kmsg_zone(text, zone_size=ZONE, reason=1, counter=counter, tv_sec=run.panic_time_s, tv_nsec=0,
                           oopscount=1)


def _panic(capsys, image, *argv: str) -> dict:
    assert main(["panic-write", "--json", "--image", str(image), *argv]) == 0
    return json.loads(capsys.readouterr().out)


def _inspect(capsys, image) -> list[dict]:
    assert main(["inspect", "--json", str(image)]) == 0
    return json.loads(capsys.readouterr().out)["records"]


def _zone_bytes(image, zone: int = 0, size: int = ZONE) -> bytes:
    with open(image, "rb") as f:
        f.seek(P5_BYTE + zone * size)
        return f.read(size)


def _differing(a: bytes, b: bytes) -> int:
    return sum(x != y for x, y in zip(a, b))


def test_durable_image_holds_every_byte_and_inspect_lists_it(tmp_path, capsys) -> None:
    image = tmp_path / "e.img"
    r = _panic(capsys, image, *NO_CACHE)
    assert r["verdict"] == "durable" and r["wrong_bytes"] == 0 and r["linux_lists"] is True
    assert _zone_bytes(image) == _record()
    [listed] = _inspect(capsys, image)
    assert listed["zone"] == 0 and listed["counter"] == 1
    assert listed["text"].encode() == _record()[52:52 + len(listed["text"].encode())]


def test_lost_image_is_blank_and_inspect_lists_nothing(tmp_path, capsys) -> None:
    # Cache on (as Linux leaves it), cut at return: all 128 blocks were still in the volatile cache.
    image = tmp_path / "e.img"
    r = _panic(capsys, image)
    assert r["verdict"] == "lost" and r["linux_lists"] is False and r["silent_loss"] is True
    assert r["power_cut"]["lost_cached_blocks"] == 128
    zone = _zone_bytes(image)
    assert zone == bytes(ZONE)
    assert r["wrong_bytes"] == _differing(zone, _record())
    assert _inspect(capsys, image) == []


def test_torn_image_is_listed_by_inspect_with_the_wrong_bytes_the_report_counts(tmp_path, capsys) -> None:
    # Cache off, power gone 2.04 ms after entry: the first blocks are programmed, the rest never were.
    image = tmp_path / "e.img"
    r = _panic(capsys, image, *NO_CACHE, "--power-cut", "entry+2.04ms")
    assert r["verdict"] == "torn" and r["returned"] is None and r["power_cut"]["before_return"] is True
    assert r["linux_lists"] is True and r["listed_record"] == "this"
    zone = _zone_bytes(image)
    assert zone[:52] == _record()[:52]                       # the header made it: Linux lists the zone
    assert r["wrong_bytes"] == _differing(zone, _record()) > 0
    assert r["intact_bytes"] + r["wrong_bytes"] == ZONE
    [listed] = _inspect(capsys, image)
    assert listed["counter"] == 1
    full_text = _record()[52:]
    assert listed["text"].encode("utf-8", "replace") != full_text[:len(listed["text"].encode("utf-8", "replace"))]


def test_error_verdict_leaves_nothing_for_inspect(tmp_path, capsys) -> None:
    # The whole disk: mmcpstore refuses it (start sector 0), pstore has no backend, panic_write never runs.
    image = tmp_path / "e.img"
    r = _panic(capsys, image, "--set", "pstore.blkdev='/dev/mmcblk0'")
    assert r["verdict"] == "error" and r["returned"] == -19
    assert _zone_bytes(image) == bytes(ZONE)
    assert _inspect(capsys, image) == []


def test_lost_with_an_older_record_in_its_place(tmp_path, capsys) -> None:
    # Two 512 KiB zones in the 1 MiB partition: records 1 and 2 land durably (the power holds), record 3
    # goes back to zone 0 and dies in the cache, so Linux lists record 1 there, an older record in its place.
    image = tmp_path / "e.img"
    size = ["--kmsg-size", str(512 * 1024)]
    assert _panic(capsys, image, *size, "--seed", "1", "--power-cut", "never")["verdict"] == "durable"
    assert _panic(capsys, image, *size, "--seed", "2", "--power-cut", "never")["start_sector"] == 135168 + 1024
    r = _panic(capsys, image, *size, "--seed", "3")
    assert r["start_sector"] == 135168
    assert r["verdict"] == "lost" and r["linux_lists"] is True and r["listed_record"] == "older"
    assert main(["inspect", "--json", str(image), *size]) == 0
    listed = json.loads(capsys.readouterr().out)["records"]
    assert [(x["zone"], x["counter"]) for x in listed] == [(0, 1), (1, 2)]


def test_never_cut_keeps_the_cache_and_the_image_shows_it(tmp_path, capsys) -> None:
    image = tmp_path / "e.img"
    r = _panic(capsys, image, "--power-cut", "never")
    assert r["verdict"] == "durable" and r["power_cut"] == {"setting": "never", "anchor": "never", "delay_ps": 0,
                                                             "applied": False}
    assert _zone_bytes(image) == _record()
    assert "cache-not-flushed" not in [f["code"] for f in r["findings"]]


def test_the_hardware_goes_on_after_return_until_the_power_goes(tmp_path, capsys) -> None:
    # A 0 ms poll (TAAC 20 us x 10 = 200 us truncated) abandons the 8-block write in flight; ADMA2 and the
    # card go on alone. Cut at return: nothing durable. Cut 1 s later with the cache off: all programmed.
    common = ["--set", "card.taac_ns=20000", "--set", "card.r2w_factor=0", "--kmsg-size", "4096", *NO_CACHE]
    at_return = _panic(capsys, tmp_path / "a.img", *common)
    later = _panic(capsys, tmp_path / "b.img", *common, "--power-cut", "return+1s")
    assert at_return["poll_timeout_ms"] == 0 and at_return["verdict"] == "lost"
    assert later["verdict"] == "durable" and later["returned"] == 0


@pytest.mark.parametrize("text, expected", [
    ("return", PowerCut("return", 0)), ("never", PowerCut("never", 0)), ("entry", PowerCut("entry", 0)),
    ("entry+2.5ms", PowerCut("entry", 2_500_000_000)), ("return + 100 us", PowerCut("return", 100_000_000)),
    ("return+1s", PowerCut("return", 10**12)), ("entry+7ps", PowerCut("entry", 7)),
])
def test_power_cut_settings(text: str, expected: PowerCut) -> None:
    assert parse_power_cut(text) == expected


@pytest.mark.parametrize("text", ["at return", "entry+", "entry+5", "entry+1.5ps", "exit", "return+2h",
                                  "entry+3601s", "never+1ms"])
def test_bad_power_cut_settings_name_the_key(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"run.power_cut={text!r}"])
    assert err.value.key == "run.power_cut"


def test_power_cut_is_in_the_printed_config(capsys) -> None:
    assert main(["config", "--power-cut", "entry+1ms"]) == 0
    assert 'power_cut = "entry+1ms"' in capsys.readouterr().out
