"""`sdhci-emu panic-write`, `inspect` and the VCD end to end from the default configuration."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sdhci.cli import main
from emmc_card.crc import crc7
from sdhci.vcd import SIGNALS, TEXT_CHARS, text_of
from tests.cli_helpers import parse_vcd, value_at

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
    # WRITE_MULTIPLE_BLOCK, then the driver's own CMD12 (no Auto CMD12 without the quirk)
    assert r["commands"] == [{"index": 25, "argument": 135168, "auto": False},
                             {"index": 12, "argument": 0, "auto": False}]
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
    # One block on 8 lines: 1 start + 512*8/8 = 512 data + 16 CRC + 1 end = 530 clocks; at 20 ns
    # 128 blocks take 128 * 530 * 20 = 1,356,800 ns on DAT, exactly.
    assert r["phases_ns"]["data"] == 128 * 530 * 20
    # Lower bound of the whole: the data plus the 48-clock CMD25 token and its 48-clock R1 (2 x 960 ns)
    # and one 5-clock CRC status token per block (128 x 100 ns).
    assert r["total_ns"] >= 128 * 530 * 20 + 2 * 48 * 20 + 128 * 5 * 20
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
    # The stall holds the first block in programming: the cut at return tears it (with seed 1 the new
    # prefix keeps the zone header, so Linux lists the record), and the other 127 blocks never came.
    assert r["verdict"] == "torn" and r["linux_lists"] is True and r["listed_record"] == "this"
    assert r["intact_bytes"] + r["wrong_bytes"] == 65536 and r["wrong_bytes"] > 127 * 512 - 512
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


def _texts(sig: dict, name: str) -> list[tuple[int, str]]:
    return [(t, text_of(v, TEXT_CHARS[name])) for t, v in sig[name]]


def test_vcd_of_a_real_run(tmp_path, capsys) -> None:
    path = tmp_path / "panic.vcd"
    assert main(["panic-write", "--vcd", str(path)]) == 0
    capsys.readouterr()
    sig = parse_vcd(path.read_text())
    assert set(sig) == set(SIGNALS)
    phases = _texts(sig, "annotation.phase")
    data_starts = [t for t, v in phases if v == "data"]
    assert len(data_starts) == 128               # one data phase per block
    commands = {v for t, v in _texts(sig, "annotation.command") if v}
    # sdhci.c sets SDHCI_AUTO_CMD12 only with SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12, so by default
    # the driver sends the stop itself: a plain CMD12 after the last block.
    assert commands == {"CMD25", "CMD12"}
    assert value_at(sig["sd.DAT"], data_starts[0] + 1) == 0       # start bit on all 8 lines
    # Time 0 is panic_write's entry; the CMD25 token, 0.98 us later, sampled on the first 40 rising SDCLK
    # edges of the command phase: start 0, transmission 1, index 25 = 011001, argument 135168 (the sector).
    cmd_start = next(t for t, v in phases if v == "command")
    assert cmd_start == 980_000
    rising = [t for t, v in sig["sd.SDCLK"] if str(v) == "1" and t > cmd_start][:40]
    sampled = "".join(str(value_at(sig["sd.CMD"], t)) for t in rising)
    assert sampled == "01" + "011001" + format(135168, "032b")
    # The card's R1 on CMD: start 0, transmission 0 (card to host), index 25, status, a valid CRC7, end 1.
    response_start = next(t for t, v in phases if v == "response")
    rising = [t for t, v in sig["sd.SDCLK"] if str(v) == "1" and t >= response_start][:48]
    bits = "".join(str(value_at(sig["sd.CMD"], t)) for t in rising)
    assert bits[:8] == "00011001" and bits[-1] == "1"
    assert int(bits[40:47], 2) == crc7(int(bits[:40], 2).to_bytes(5, "big"))
    # Entry at 0; return and power cut together at the default run's 2.075150 ms (the cut is at return).
    assert _texts(sig, "panic.marker") == [(0, "entry"), (2_075_150_000, "power cut")]
    polls = [t for t, v in sig["host.poll"] if str(v) == "1"]
    assert polls and all(t >= 0 for t in polls)
    gtkw = (tmp_path / "panic.gtkw").read_text()
    assert '[dumpfile] "panic.vcd"' in gtkw and "[timestart] 0" in gtkw


def test_vcd_keeps_the_bring_up_in_its_own_scope(tmp_path, capsys) -> None:
    path = tmp_path / "boot.vcd"
    assert main(["panic-write", "--vcd", str(path), "--vcd-bringup", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    header = path.read_text().split("$enddefinitions", 1)[0]
    scopes = {line.split()[2] for line in header.splitlines() if line.startswith("$scope")}
    assert scopes == {"sd", "bringup", "annotation", "host", "panic"}
    # Time 0 is power-on now: the save file opens on the panic, which starts where the bring-up ended.
    gtkw = (tmp_path / "boot.gtkw").read_text()
    assert f"[timestart] {report['init_ps'] - report['total_ps'] // 50}" in gtkw and "bringup.CMD" in gtkw


def test_options_reach_the_run(capsys) -> None:
    r = run_json(capsys, "--transfer", "pio", "--bus-width", "4", "--sd-clock", "25000000")
    assert r["transfer"] == "pio" and r["bus_width"] == 4
    # 200 MHz base, 25 MHz asked: N = 4 gives 200 / (2 * 4) = 25 MHz exactly, a 40 ns period.
    assert r["sd_clock_hz"] == 25_000_000
    # 4 lines: 1 + 512*8/4 = 1024 data + 16 CRC + 1 end = 1042 clocks per block; 128 blocks at 40 ns.
    assert r["phases_ns"]["data"] == 128 * 1042 * 40
    assert r["register_accesses"]["burst_words"] == 128 * 512 // 4     # PIO: every word through the port


def test_kmsg_size_option_sets_the_zone(capsys) -> None:
    r = run_json(capsys, "--kmsg-size", "32768")
    assert r["sectors"] == 64                      # a 32 KiB zone is 64 sectors


def test_auto_cmd12_with_the_quirk(tmp_path, capsys) -> None:
    # With SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12 sdhci.c sets SDHCI_AUTO_CMD12: the controller sends the stop.
    path = tmp_path / "auto.vcd"
    r = run_json(capsys, "--set", "platform.quirk_multiblock_read_acmd12=true", "--vcd", str(path))
    assert [(c["index"], c["auto"]) for c in r["commands"]] == [(25, False), (12, True)]
    labels = {v for _, v in _texts(parse_vcd(path.read_text()), "annotation.command") if v}
    assert labels == {"CMD25", "CMD12_auto"}


def test_inspect_partition_past_image_end(tmp_path, capsys) -> None:
    image = tmp_path / "emmc.img"
    run_json(capsys, "--image", str(image), *NO_CACHE)
    # mmcblk0p5 spans sectors 135168 .. 137215, i.e. up to byte 137216 * 512 = 70,254,592.
    with open(image, "r+b") as f:
        f.truncate(70_000_000)
    assert main(["inspect", str(image)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "ends at byte 70254592" in line


def test_a_narrower_bus_than_asked_is_noted(capsys) -> None:
    # v1-pio has no 8-bit support (Capabilities bit 18 clear): Linux runs the card 4 bits wide.
    r = run_json(capsys, "--controller", "v1-pio", *NO_CACHE)
    assert r["bus_width"] == 4
    assert any("8-bit bus asked for" in note and "4-bit used" in note for note in r["notes"])
    assert main(["panic-write", "--controller", "v1-pio", *NO_CACHE]) == 0
    assert "Note: 8-bit bus asked for (run.bus_width), 4-bit used" in capsys.readouterr().out
    assert run_json(capsys, *NO_CACHE)["notes"] == []                # the default gets what it asks for
