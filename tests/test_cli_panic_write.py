"""`sdhci-emu panic-write`, `inspect` and the VCD end to end from the default configuration."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sdhci.cli import main
from sdhci.vcd import SIGNALS
from tests.test_cli_vcd import parse_vcd, value_at

REPO = Path(__file__).resolve().parent.parent
NO_CACHE = ["--set", "run.enable_cache=false"]


def run_json(capsys, *argv: str) -> dict:
    assert main(["panic-write", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def default_report() -> dict:
    out = subprocess.run([sys.executable, "-m", "sdhci.cli", "panic-write", "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return json.loads(out.stdout)


def test_default_run_shape(default_report) -> None:
    r = default_report
    assert r["sectors"] == 128                 # 64 KiB kmsg zone / 512-byte sectors
    assert r["commands"] == [25, 12]           # WRITE_MULTIPLE_BLOCK, then Auto CMD12
    assert r["start_sector"] == 135168         # mmcblk0p5 starts at 135168; zone 0 on a fresh disk
    assert r["bus_width"] == 8 and r["ddr"] is False
    assert r["transfer"] == "adma2"            # v3 host with ADMA2: what sdhci.c picks
    # 200 MHz base clock, 52 MHz asked: v3 10-bit divider N = 2 gives 200 / (2 * 2) = 50 MHz.
    assert r["sd_clock_hz"] == 50_000_000
    # mmc_set_data_timeout: TAAC 1 ms x 10 (MMC) << R2W_FACTOR 4 = 160 ms, NSAC 0.
    assert r["data_timeout_ns"] == 160_000_000
    assert r["poll_timeout_ms"] == 160
    # sdhci_calc_timeout, TMCLK 50 MHz: 8192 * 1000 / 50000 = 163 us; 163 << 10 = 166912 us >= 160000 us.
    assert r["timeout_control"] == 0xA
    assert r["poll_iterations"] > 0
    assert r["register_accesses"]["read"] > 0 and r["register_accesses"]["write"] > 0


def test_default_run_time_budget(default_report) -> None:
    r = default_report
    # Bus lower bound: 128 blocks x (1 start + 512*8/8 data + 16 CRC + 1 end = 82 clocks) at 20 ns
    # = 209,920 ns, plus the 48-clock CMD25 token (960 ns) and its 48-clock response (960 ns).
    assert r["total_ns"] >= 128 * 82 * 20 + 2 * 48 * 20
    assert r["phases_ns"]["data"] >= 128 * 82 * 20
    assert sum(r["phases_ps"].values()) == r["total_ps"]
    assert set(r["phases_ns"]) == {"command_response", "data", "crc_status", "busy", "host_access", "dma", "other"}
    assert r["init_ns"] > 0


def test_default_card_caches_so_record_is_not_durable(default_report) -> None:
    # emmc51 has a 1 MiB volatile cache that Linux turns on; mmcpstore never flushes it.
    r = default_report
    assert r["returned"] == 0
    assert r["durable"] is False and r["silent_loss"] is True
    assert "cache-not-flushed" in {f["code"] for f in r["findings"]}


def test_cache_off_is_durable_and_text_report_says_so(capsys) -> None:
    assert main(["panic-write", *NO_CACHE]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Verdict: DURABLE")
    assert "CMD25 CMD12" in text
    assert "card busy" in text and "Poll iterations:" in text and "Timeout Control: 0xA" in text


def test_same_seed_same_json(capsys) -> None:
    first = run_json(capsys, "--seed", "5")
    assert run_json(capsys, "--seed", "5") == first


def test_stall_longer_than_poll_timeout_is_silent_loss(capsys) -> None:
    r = run_json(capsys, "--stall-ms", "500", *NO_CACHE)   # 500 ms > the 160 ms poll timeout
    assert r["returned"] == 0
    assert r["durable"] is False and r["silent_loss"] is True
    assert r["verdict"] == "silent loss"
    swallowed = [f for f in r["findings"] if f["code"] == "errors-swallowed"]
    assert swallowed and "poll" in swallowed[0]["message"]


def test_byte_addressed_card_lands_elsewhere(capsys) -> None:
    r = run_json(capsys, "--card", "emmc-2gb-byte", *NO_CACHE)
    assert r["durable"] is False
    byte = [f for f in r["findings"] if f["code"] == "byte-addressing"]
    assert byte
    # The sector number is used as a byte address: the record lands at byte 135168.
    assert str(r["start_sector"]) in byte[0]["message"]


def test_inspect_reads_back_the_record(tmp_path, capsys) -> None:
    image = tmp_path / "emmc.img"
    written = run_json(capsys, "--image", str(image), *NO_CACHE)
    assert written["durable"] is True
    assert main(["inspect", str(image), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["errors"] == []
    [record] = listing["records"]
    assert record["zone"] == 0 and record["reason"] == "Panic" and record["counter"] == 1
    assert "Kernel panic - not syncing" in record["text"]
    assert main(["inspect", str(image)]) == 0
    text = capsys.readouterr().out
    assert "dmesg-pstore_blk-0" in text and "Panic: Total 1 times" in text


def test_inspect_corrupt_zone_is_an_error(tmp_path, capsys) -> None:
    image = tmp_path / "emmc.img"
    run_json(capsys, "--image", str(image), *NO_CACHE)
    with open(image, "r+b") as f:                  # break the kmsg magic at zone offset 12
        f.seek(135168 * 512 + 12)
        f.write(b"\0\0\0\1")
    assert main(["inspect", str(image)]) == 2
    captured = capsys.readouterr()
    assert "zone 0: rejected" in captured.out
    [line] = captured.err.splitlines()
    assert line.startswith("sdhci-emu: error: ") and "zone 0" in line


def test_vcd_of_a_real_run(tmp_path, capsys) -> None:
    path = tmp_path / "panic.vcd"
    assert main(["panic-write", "--vcd", str(path)]) == 0
    capsys.readouterr()
    sig = parse_vcd(path.read_text())
    assert set(sig) == set(SIGNALS)
    data_starts = [t for t, v in sig["annotation.phase"] if v == "data"]
    assert len(data_starts) == 128               # one data phase per block
    commands = [v for t, v in sig["annotation.command"] if v]
    assert "CMD25" in commands and "CMD12_auto" in commands
    assert value_at(sig["sd.DAT"], data_starts[0] + 1) == 0       # start bit on all 8 lines
