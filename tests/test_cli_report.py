"""Text and JSON rendering of a PanicWriteResult built by hand (numbers chosen here, not by a run)."""
from __future__ import annotations

import json

from sdhci.report import errno_text, format_ps, render_json, render_records_text, render_text, report_dict

REQUIRED_KEYS = {
    "verdict", "returned", "durable", "silent_loss", "record_bytes", "intact_bytes", "wrong_bytes", "linux_lists",
    "listed_record", "power_cut", "total_ns", "sectors", "start_sector", "sd_clock_hz", "bus_width", "commands",
    "phases_ns", "poll_iterations", "findings", "notes", "writes",
}


def make_result(**changes):
    from emmc_card.program import PowerCutReport
    from sdhci.config import PowerCut, load_config
    from sdhci.emulation import Finding, IssuedCommand, MediumCheck, PanicWriteCall, PanicWriteResult

    phases = {"command_response": 2_000_000, "data": 201_000_000, "crc_status": 13_000_000,
              "busy": 500_000_000, "host_access": 70_000_000, "dma": 1_000_000, "other": 3_000_000}
    total = sum(phases.values())   # 790_000_000 ps = 790 us
    fields = dict(
        verdict="durable", returned=0, medium=MediumCheck(65536, 65536, "this"), power_cut=PowerCut("return"),
        power_cut_ps=1_000_000 + total, power_cut_report=PowerCutReport(0, [], [], [], []), entry_ps=1_000_000,
        total_ps=total, init_ps=12_345_678_000, start_sector=4096, sectors=128, sd_clock_hz=52_000_000,
        bus_width=8, ddr=False, transfer="adma2", commands=[IssuedCommand(25, 4096), IssuedCommand(12, 0)],
        phases_ps=phases, poll_iterations=321, register_accesses={"read": 400, "write": 30, "burst_words": 0},
        timeout_control=0xA, data_timeout_ns=160_000_000, poll_timeout_ms=160,
        findings=[Finding("cache-not-flushed", "no cache flush after the write")],
        trace=[], op_log=[], config=load_config(None, []), writes=[PanicWriteCall(0, 128, 0)],
    )
    fields.update(changes)
    return PanicWriteResult(**fields)


def test_json_has_required_keys_and_converts_ps_to_ns() -> None:
    data = json.loads(render_json(make_result()))
    assert REQUIRED_KEYS <= set(data)
    assert data["total_ns"] == 790_000.0           # 790_000_000 ps / 1000
    assert data["phases_ns"]["busy"] == 500_000.0
    assert data["commands"] == [{"index": 25, "argument": 4096, "auto": False},
                                {"index": 12, "argument": 0, "auto": False}]
    assert data["findings"] == [{"code": "cache-not-flushed", "message": "no cache flush after the write"}]
    assert data["writes"] == [{"off": 0, "sects": 128, "returned": 0, "interrupted": False}]
    assert data["verdict"] == "durable" and data["durable"] is True and data["silent_loss"] is False
    assert data["power_cut"] == {"setting": "return", "anchor": "return", "delay_ps": 0, "applied": True,
                                 "after_entry_ps": 790_000_000, "before_return": False, "lost_cached_blocks": 0,
                                 "lost_queued_blocks": 0, "torn_blocks": 0, "interrupted_reliable_blocks": 0}


def test_torn_and_lost_carry_the_byte_counts_and_what_linux_lists() -> None:
    from sdhci.emulation import MediumCheck
    torn = report_dict(make_result(verdict="torn", medium=MediumCheck(65536, 65000, "this")))
    assert (torn["intact_bytes"], torn["wrong_bytes"], torn["linux_lists"], torn["silent_loss"]) == (65000, 536, True, True)
    older = report_dict(make_result(verdict="lost", medium=MediumCheck(65536, 100, "older")))
    assert (older["linux_lists"], older["listed_record"], older["wrong_bytes"]) == (True, "older", 65436)
    error = report_dict(make_result(verdict="error", returned=-110, medium=MediumCheck(65536, 0, None)))
    assert error["silent_loss"] is False and error["linux_lists"] is False


def test_text_report_shows_phases_numbers_and_findings() -> None:
    from sdhci.emulation import MediumCheck
    text = render_text(make_result(verdict="torn", medium=MediumCheck(65536, 65024, "this")))
    assert text.startswith("Verdict: TORN - panic_write returned 0 (success); after the power cut at return Linux "
                           "lists the record, but 512 of its 65536 bytes are wrong")
    assert "a silent loss" in text.splitlines()[0]
    assert "790.000 us" in text                    # total
    assert "12.346 ms" in text                     # card initialisation, separately
    assert "500.000 us" in text and "63.3 %" in text   # busy: 500 / 790 = 63.29 %
    assert "Commands on the bus: CMD25 CMD12\n" in text
    assert "Power cut: return (790.000 us after entry): 0 cached block(s) lost" in text
    assert "Poll iterations: 321" in text
    assert "Timeout Control: 0xA (TMCLK x 2^23)" in text   # 13 + 10
    assert "poll timeout 160 ms" in text
    assert "[cache-not-flushed] no cache flush after the write" in text


def test_auto_cmd12_is_told_apart_in_text_and_json() -> None:
    from sdhci.emulation import IssuedCommand
    result = make_result(commands=[IssuedCommand(25, 4096), IssuedCommand(12, 0, auto=True)])
    assert "Commands on the bus: CMD25 CMD12(auto)   (auto: issued by the controller" in render_text(result)
    assert [c["auto"] for c in report_dict(result)["commands"]] == [False, True]


def test_no_command_on_the_bus_says_so_instead_of_register_values() -> None:
    from sdhci.emulation import MediumCheck
    text = render_text(make_result(verdict="lost", medium=MediumCheck(65536, 0, None), commands=[],
                                   timeout_control=None))
    assert "Commands on the bus: (none)" in text
    assert "Record write: 128 sectors for absolute sector 4096, never sent" in text
    assert "Timeout Control: not programmed" in text and "0x0" not in text


def test_errno_names() -> None:
    assert errno_text(-110) == "-110 (ETIMEDOUT)" and errno_text(-22) == "-22 (EINVAL)"
    assert errno_text(0) == "0" and errno_text(None) == "nothing (it never returned)"


def test_inspect_prints_an_out_of_range_tv_nsec_as_stored() -> None:
    from sdhci.pstore import RecordListing
    from sdhci.pstore.zone import KmsgRecord
    record = KmsgRecord(reason=1, counter=1, tv_sec=1764150000, tv_nsec=-1, compressed=False, datalen=45,
                        data=b"hello", text=b"hello", zone_index=0, decompress_failed=False)
    text = render_records_text(RecordListing([record], []))
    assert "time tv_sec 1764150000, tv_nsec -1 (out of range)" in text and ".-0" not in text


def test_format_ps_units() -> None:
    assert format_ps(999) == "0.999 ns"
    assert format_ps(1_500_000) == "1.500 us"
    assert format_ps(5_000_000_000_000) == "5.000 s"
