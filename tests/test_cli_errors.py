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


def _deep_toml(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 500 + "]" * 500 + "\n")
    return str(path)


def _deep_tables(tmp_path):
    path = tmp_path / "deep_tables.toml"
    path.write_text("[" + ".".join(["t"] * 500) + "]\nv = 1\n")
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

#: Bad input that once escaped as a traceback, a hang or a silent change of meaning, with the key the
#: one-line error must name.
NAMED = {
    "infinite stall option": (lambda tmp: ["panic-write", "--stall-ms", "1e999"], "run.stall_ms"),
    "infinite stall key": (lambda tmp: ["panic-write", "--set", "run.stall_ms=inf"], "run.stall_ms"),
    "huge stall": (lambda tmp: ["panic-write", "--stall-ms", "1e300"], "run.stall_ms"),
    "infinite init busy": (lambda tmp: ["panic-write", "--set", "card.timing.init_busy_us=inf"],
                           "card.timing.init_busy_us"),
    "infinite cached write": (lambda tmp: ["panic-write", "--set", "card.timing.cached_write.max_us=inf"],
                              "card.timing.cached_write.max_us"),
    "infinite stop busy": (lambda tmp: ["panic-write", "--set", "card.timing.stop_busy.value_us=inf"],
                           "card.timing.stop_busy.value_us"),
    "infinite gc stall": (lambda tmp: ["panic-write", "--set", "card.timing.gc_stall.max_us=inf",
                                       "--set", "card.timing.gc_stall_probability=1.0"], "card.timing.gc_stall.max_us"),
    "infinite uptime": (lambda tmp: ["panic-write", "--set", "run.uptime_s=inf"], "run.uptime_s"),
    "infinite stall through bench": (lambda tmp: ["bench", "--runs", "1", "--stall-ms", "1e999"], "run.stall_ms"),
    "tv_sec beyond s64": (lambda tmp: ["panic-write", "--set", "run.panic_time_s=9223372036854775808"],
                          "run.panic_time_s"),
    "nan timing": (lambda tmp: ["config", "--set", "card.timing.program.value_us=nan"],
                   "card.timing.program.value_us"),
    "nan with the cache off": (lambda tmp: ["panic-write", "--set", "run.enable_cache=false",
                                            "--set", "card.timing.program.value_us=nan"], "card.timing.program.value_us"),
    "negative sigma, fixed distribution": (lambda tmp: ["config", "--set", "card.timing.program.sigma=-1"],
                                           "card.timing.program.sigma"),
    "kmsg size of a terabyte": (lambda tmp: ["panic-write", "--kmsg-size", "1099511627776"], "pstore.kmsg_size"),
    "kmsg size of 64 MiB": (lambda tmp: ["panic-write", "--kmsg-size", str(64 << 20)], "pstore.kmsg_size"),
    "negative primaries": (lambda tmp: ["panic-write", "--set", "pstore.primaries=-1"], "pstore.primaries"),
    "negative seed": (lambda tmp: ["panic-write", "--seed", "-1"], "run.seed"),
    "seed beyond 64 bits": (lambda tmp: ["panic-write", "--seed", str(1 << 63)], "run.seed"),
    "card seed": (lambda tmp: ["config", "--set", "card.seed=7"], "card.seed"),
    "old run.kmsg_size key": (lambda tmp: ["config", "--set", "run.kmsg_size=32"], "run.kmsg_size"),
    "image is a directory": (lambda tmp: ["panic-write", "--image", str(tmp)], "run.image"),
    "empty vcd path": (lambda tmp: ["panic-write", "--vcd", ""], "--vcd"),
    "deeply nested arrays": (lambda tmp: ["config", "--config", _deep_toml(tmp)], "nest"),
    "deeply nested tables": (lambda tmp: ["config", "--config", _deep_tables(tmp)], "nest"),
    "bad power cut": (lambda tmp: ["panic-write", "--power-cut", "later"], "run.power_cut"),
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


@pytest.mark.parametrize("name", list(NAMED))
def test_bad_input_names_the_key(name, tmp_path, capsys) -> None:
    argv, key = NAMED[name]
    assert main(argv(tmp_path)) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith("sdhci-emu: error: ") and key in line, line
    assert captured.out == ""


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("sdhci-emu 0.")


def test_error_names_the_dotted_key(capsys) -> None:
    assert main(["config", "--set", "run.sd_clock_hz=5"]) == 2
    assert "run.sd_clock_hz" in capsys.readouterr().err
