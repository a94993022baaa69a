"""The VCD writer against a hand-made bus trace: signals present, bits where the SD bus puts them."""
from __future__ import annotations

import io
from typing import Any

from sdhci.trace import BusEvent
from sdhci.vcd import MAX_CLOCKED_GAP_CYCLES, SIGNALS, clock_period_from_trace, write_gtkw, write_vcd
from tests.cli_helpers import parse_vcd, value_at

P = 19231  # 52 MHz SD clock period in ps: round(1e12 / 52e6)


def Ev(kind: str, start_ps: int, end_ps: int, cmd: int | None = None, detail: dict[str, Any] | None = None) -> BusEvent:
    return BusEvent(kind, start_ps, end_ps, cmd, detail or {})


def _bits(data: bytes) -> list[int]:
    return [(b >> (7 - i)) & 1 for b in data for i in range(8)]


# A CMD17 read with argument 0 (known answer in docs/facts.md: token 51 00 00 00 00 55),
# then a one-block 8-bit write phase set, a short busy and a long busy.
CMD_END = 48 * P
DATA_START = 60 * P
DATA_END = DATA_START + (1 + 512 + 16 + 1) * P   # 530 clocks: 512 bytes on 8 lines take 512
CRC_START = DATA_END + 2 * P
CRC_END = CRC_START + 5 * P
BUSY_END = CRC_END + 100 * P
LONG_BUSY_START = BUSY_END + 1000 * P
LONG_BUSY_END = LONG_BUSY_START + 10**9      # 1 ms: far beyond the clocked-gap limit
TRACE = [
    Ev("command", 0, CMD_END, 17, {"argument": 0}),
    Ev("data", DATA_START, DATA_END, 25, {"block": 3, "direction": "write"}),
    Ev("dma", DATA_START - 10 * P, DATA_START - 5 * P, 25),
    Ev("crc_status", CRC_START, CRC_END, 25, {"status": 0b010}),
    Ev("busy", CRC_END, BUSY_END, 25),
    Ev("command", LONG_BUSY_START + 5 * P, LONG_BUSY_START + 53 * P, 12, {"auto": True}),
    Ev("busy", LONG_BUSY_START, LONG_BUSY_END, 12),
]


def _written() -> dict[str, list[tuple[int, Any]]]:
    out = io.StringIO()
    write_vcd(out, TRACE, P, 8)
    return parse_vcd(out.getvalue())


def test_vcd_has_the_signals() -> None:
    assert set(_written()) == set(SIGNALS)


def test_command_token_bits_on_cmd_sampled_at_rising_edges() -> None:
    sig = _written()
    rising = [t for t, v in sig["sd.SDCLK"] if str(v) == "1" and t < CMD_END]
    assert len(rising) == 48  # one SD clock per token bit
    sampled = [int(value_at(sig["sd.CMD"], t)) for t in rising]
    assert sampled == _bits(bytes.fromhex("510000000055"))
    assert int(value_at(sig["sd.CMD"], CMD_END + P)) == 1  # pull-up after the end bit


def test_dat_lines_data_crc_status_and_busy() -> None:
    sig = _written()
    dat = sig["sd.DAT"]
    assert value_at(dat, DATA_START + P // 2) == 0            # start bit on all 8 lines
    assert value_at(dat, DATA_END - P // 2) == 0xFF           # end bit
    token = [value_at(dat, CRC_START + k * P + P // 2) & 1 for k in range(5)]
    assert token == [0, 0, 1, 0, 1]                           # start, 010 accepted, end
    assert value_at(dat, CRC_END + 50 * P) == 0xFE            # busy: DAT0 low
    assert value_at(dat, BUSY_END + P) == 0xFF


def test_annotations_name_phase_command_block_and_dma() -> None:
    sig = _written()
    assert value_at(sig["annotation.phase"], P) == "command"
    assert value_at(sig["annotation.command"], P) == "CMD17"
    assert value_at(sig["annotation.phase"], CMD_END + P) == "idle"
    assert value_at(sig["annotation.phase"], DATA_START + 10 * P) == "data"
    assert value_at(sig["annotation.block"], DATA_START + 10 * P) == 3
    assert value_at(sig["annotation.phase"], CRC_START + P) == "crc_status"
    assert value_at(sig["annotation.phase"], CRC_END + P) == "busy"
    # Auto CMD12 on CMD while the card is busy on DAT0: the command wins the label.
    assert value_at(sig["annotation.phase"], LONG_BUSY_START + 6 * P) == "command"
    assert value_at(sig["annotation.command"], LONG_BUSY_START + 6 * P) == "CMD12_auto"
    assert value_at(sig["annotation.phase"], LONG_BUSY_START + 100 * P) == "busy"
    assert int(value_at(sig["annotation.dma"], DATA_START - 7 * P)) == 1
    assert int(value_at(sig["annotation.dma"], DATA_START)) == 0


def test_long_busy_holds_sdclk_low() -> None:
    sig = _written()
    edges_in_long_busy = [t for t, _ in sig["sd.SDCLK"]
                          if LONG_BUSY_START + (53 + MAX_CLOCKED_GAP_CYCLES + 1) * P < t < LONG_BUSY_END]
    assert edges_in_long_busy == []
    # The short busy (100 clocks) is clocked: 100 rising edges inside it.
    rising = [t for t, v in sig["sd.SDCLK"] if str(v) == "1" and CRC_END <= t < BUSY_END]
    assert len(rising) == 100


def test_vcd_writer_rejects_bad_clock_and_width() -> None:
    for period, width in ((0, 8), (P, 2)):
        try:
            write_vcd(io.StringIO(), TRACE, period, width)
        except ValueError as err:
            assert str(err)
        else:
            raise AssertionError(f"accepted period {period} width {width}")


def test_gtkw_save_file_names_every_signal() -> None:
    out = io.StringIO()
    write_gtkw(out, "panic.vcd")
    text = out.getvalue()
    assert '[dumpfile] "panic.vcd"' in text
    for name in SIGNALS:
        assert name in text


def test_committed_gtkw_matches_the_writer() -> None:
    from pathlib import Path

    out = io.StringIO()
    write_gtkw(out, "panic.vcd")
    assert (Path(__file__).parent.parent / "waves" / "panic.gtkw").read_text() == out.getvalue()


def test_clock_period_from_the_command_token() -> None:
    assert clock_period_from_trace(TRACE) == P          # the CMD17 token spans 48 * P
    assert clock_period_from_trace([Ev("busy", 0, 1000)]) is None
