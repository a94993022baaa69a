"""Every bad-input path of the command line: one line on stderr, exit status 2, no traceback."""
from __future__ import annotations

import pytest

from sdhci.cli import main


def _bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[run\nseed = 1\n")
    return str(path)


def _small_image(tmp_path):
    path = tmp_path / "small.img"
    path.write_bytes(bytes(1 << 20))      # 1 MiB, the default card has 8 GiB
    return str(path)


def _garbage_image(tmp_path):
    path = tmp_path / "garbage.img"
    path.write_bytes(b"not an eMMC image\n" * 64)
    return str(path)


CASES = {
    "no command": lambda tmp: [],
    "unknown command": lambda tmp: ["frobnicate"],
    "unknown option": lambda tmp: ["panic-write", "--frobnicate"],
    "unknown key": lambda tmp: ["config", "--set", "run.bogus=1"],
    "unknown section": lambda tmp: ["panic-write", "--set", "nosuch.key=1"],
    "override without =": lambda tmp: ["config", "--set", "run.seed"],
    "impossible clock": lambda tmp: ["config", "--set", "run.sd_clock_hz=5"],
    "wrong type": lambda tmp: ["config", "--set", "run.bus_width=\"wide\""],
    "bad bus width option": lambda tmp: ["panic-write", "--bus-width", "3"],
    "bad transfer option": lambda tmp: ["panic-write", "--transfer", "dma"],
    "clock not a number": lambda tmp: ["panic-write", "--sd-clock", "fast"],
    "zero clock": lambda tmp: ["panic-write", "--sd-clock", "0"],
    "negative stall": lambda tmp: ["panic-write", "--stall-ms", "-1"],
    "kmsg size not 4 KiB steps": lambda tmp: ["panic-write", "--kmsg-size", "1000"],
    "unknown card preset": lambda tmp: ["panic-write", "--card", "nope"],
    "unknown platform preset": lambda tmp: ["config", "--platform", "vax"],
    "unknown controller preset": lambda tmp: ["panic-write", "--controller", "v9"],
    "transfer the controller lacks": lambda tmp: ["panic-write", "--controller", "v1-pio", "--transfer", "adma2"],
    "missing config file": lambda tmp: ["config", "--config", str(tmp / "missing.toml")],
    "broken config file": lambda tmp: ["config", "--config", _bad_toml(tmp)],
    "partition beyond capacity": lambda tmp: [
        "config", "--set", "pstore.partitions=[{start_sector=2048, sectors=20000000}]",
        "--set", "pstore.blkdev=\"/dev/mmcblk0p1\""],
    "card never initialises": lambda tmp: [
        "panic-write", "--set", "controller.faults=[{kind=\"drop_response\", cmd=2}]"],
    "image too small": lambda tmp: ["panic-write", "--image", _small_image(tmp)],
    "inspect missing image": lambda tmp: ["inspect", str(tmp / "missing.img")],
    "inspect garbage image": lambda tmp: ["inspect", _garbage_image(tmp)],
    "inspect bad blkdev": lambda tmp: ["inspect", _garbage_image(tmp), "--blkdev", "/dev/sda1"],
    "bench zero runs": lambda tmp: ["bench", "--runs", "0"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_exit_2(name, tmp_path, capsys) -> None:
    assert main(CASES[name](tmp_path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sdhci-emu: error: ")
    assert "Traceback" not in captured.err


def test_error_names_the_dotted_key(capsys) -> None:
    assert main(["config", "--set", "run.sd_clock_hz=5"]) == 2
    assert "run.sd_clock_hz" in capsys.readouterr().err
