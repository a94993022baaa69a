"""Text and JSON rendering of a PanicWriteResult built by hand."""
from __future__ import annotations

import json

from sdhci.report import format_ps, render_json, render_text, report_dict, verdict

REQUIRED_KEYS = {
    "returned", "durable", "silent_loss", "total_ns", "sectors", "start_sector", "sd_clock_hz",
    "bus_width", "commands", "phases_ns", "poll_iterations", "findings",
}


def make_result(**changes):
    from sdhci.config import load_config
    from sdhci.emulation import Finding, PanicWriteCall, PanicWriteResult

    phases = {"command_response": 2_000_000, "data": 201_000_000, "crc_status": 13_000_000,
              "busy": 500_000_000, "host_access": 70_000_000, "dma": 1_000_000, "other": 3_000_000}
    fields = dict(
        returned=0, durable=True, silent_loss=False,
        total_ps=sum(phases.values()),  # 790_000_000 ps = 790 us
        init_ps=12_345_678_000, start_sector=4096, sectors=128, sd_clock_hz=52_000_000,
        bus_width=8, ddr=False, transfer="adma2", commands=[25, 12], phases_ps=phases,
        poll_iterations=321, register_accesses={"read": 400, "write": 30, "burst_words": 0},
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
    assert data["commands"] == [25, 12]
    assert data["findings"] == [{"code": "cache-not-flushed", "message": "no cache flush after the write"}]
    assert data["writes"] == [{"off": 0, "sects": 128, "returned": 0}]
    assert data["verdict"] == "durable"


def test_verdicts() -> None:
    assert verdict(make_result()) == "durable"
    assert verdict(make_result(durable=False, silent_loss=True)) == "silent loss"
    assert verdict(make_result(returned=-16, durable=False)) == "error"
    assert report_dict(make_result(returned=-16, durable=False))["verdict"] == "error"


def test_text_report_shows_phases_numbers_and_findings() -> None:
    text = render_text(make_result(durable=False, silent_loss=True))
    assert text.startswith("Verdict: SILENT LOSS")
    assert "790.000 us" in text                    # total
    assert "12.346 ms" in text                     # card initialisation, separately
    assert "500.000 us" in text and "63.3 %" in text   # busy: 500 / 790 = 63.29 %
    assert "CMD25 CMD12" in text
    assert "Poll iterations: 321" in text
    assert "Timeout Control: 0xA (TMCLK x 2^23)" in text   # 13 + 10
    assert "poll timeout 160 ms" in text
    assert "[cache-not-flushed] no cache flush after the write" in text


def test_format_ps_units() -> None:
    assert format_ps(999) == "0.999 ns"
    assert format_ps(1_500_000) == "1.500 us"
    assert format_ps(5_000_000_000_000) == "5.000 s"
