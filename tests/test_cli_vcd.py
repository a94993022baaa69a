"""The VCD writer against a hand-made bus trace: signals present, bits where the SD bus puts them."""
from __future__ import annotations

import io
from typing import Any

from sdhci.trace import BusEvent
from sdhci.vcd import (
    BRINGUP_SIGNALS, MAX_CLOCKED_GAP_CYCLES, SIGNALS, TEXT_CHARS, VAR_TYPES, Waves, clock_period_from_trace, text_of, write_gtkw,
    write_vcd,
)
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
    write_vcd(out, Waves(TRACE, P, 8))
    return parse_vcd(out.getvalue())


def _text(sig: dict, name: str, t: int) -> str:
    return text_of(value_at(sig[name], t), TEXT_CHARS[name])


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
    assert _text(sig, "annotation.phase", P) == "command"
    assert _text(sig, "annotation.command", P) == "CMD17"
    assert _text(sig, "annotation.phase", CMD_END + P) == "idle"
    assert _text(sig, "annotation.phase", DATA_START + 10 * P) == "data"
    assert value_at(sig["annotation.block"], DATA_START + 10 * P) == 3
    assert _text(sig, "annotation.phase", CRC_START + P) == "crc_status"
    assert _text(sig, "annotation.phase", CRC_END + P) == "busy"
    # Auto CMD12 on CMD while the card is busy on DAT0: the command wins the label.
    assert _text(sig, "annotation.phase", LONG_BUSY_START + 6 * P) == "command"
    assert _text(sig, "annotation.command", LONG_BUSY_START + 6 * P) == "CMD12_auto"
    assert _text(sig, "annotation.phase", LONG_BUSY_START + 100 * P) == "busy"
    assert int(value_at(sig["annotation.dma"], DATA_START - 7 * P)) == 1
    assert int(value_at(sig["annotation.dma"], DATA_START)) == 0


def test_only_ieee_1364_variable_types() -> None:
    # String variables are a GTKWave extension other readers refuse; text is an ASCII reg vector here.
    out = io.StringIO()
    write_vcd(out, Waves(TRACE, P, 8))
    types = {line.split()[1] for line in out.getvalue().splitlines() if line.startswith("$var")}
    assert types <= set(VAR_TYPES) <= {"event", "integer", "parameter", "real", "realtime", "reg", "supply0",
                                        "supply1", "time", "tri", "triand", "trior", "trireg", "tri0", "tri1",
                                        "wand", "wire", "wor"}


def test_response_token_bits_and_markers() -> None:
    response = bytes.fromhex("1900000900") + bytes([0x01])       # any 48 bits: drawn as given
    trace = TRACE[:1] + [Ev("response", CMD_END + 2 * P, CMD_END + 50 * P, 17)]
    out = io.StringIO()
    write_vcd(out, Waves(trace, P, 8, responses={CMD_END + 2 * P: response},
                         markers=[(0, "entry"), (CMD_END + 60 * P, "return")]))
    sig = parse_vcd(out.getvalue())
    rising = [t for t, v in sig["sd.SDCLK"] if str(v) == "1" and CMD_END + 2 * P <= t < CMD_END + 50 * P]
    assert [int(value_at(sig["sd.CMD"], t)) for t in rising] == _bits(response)
    assert _text(sig, "panic.marker", 0) == "entry" and _text(sig, "panic.marker", CMD_END + 60 * P) == "return"


def test_bring_up_in_its_own_scope_from_power_on() -> None:
    boot = [Ev("command", 0, 48 * P, 1, {"argument": 0x40FF8080})]
    later = [BusEvent(e.kind, e.start_ps + 10**9, e.end_ps + 10**9, e.cmd, e.detail) for e in TRACE]
    out = io.StringIO()
    write_vcd(out, Waves(later, P, 8, bringup=boot, origin_ps=10**9))
    sig = parse_vcd(out.getvalue())
    assert set(sig) == set(SIGNALS) | set(BRINGUP_SIGNALS)
    rising = [t for t, v in sig["bringup.SDCLK"] if str(v) == "1"]
    sampled = "".join(str(value_at(sig["bringup.CMD"], t)) for t in rising[:40])
    assert sampled == "01" + "000001" + format(0x40FF8080, "032b")      # CMD1 token: start, host, index, arg
    assert all(t >= 10**9 for t, _ in sig["sd.CMD"][1:])         # the panic's bus starts at its entry
    assert _text(sig, "annotation.command", 10**9 + P) == "CMD17"


def test_time_zero_is_the_origin() -> None:
    out = io.StringIO()
    shifted = [BusEvent(e.kind, e.start_ps + 10**9, e.end_ps + 10**9, e.cmd, e.detail) for e in TRACE]
    write_vcd(out, Waves(shifted, P, 8, origin_ps=10**9))
    sig = parse_vcd(out.getvalue())
    assert _text(sig, "annotation.command", P) == "CMD17"        # the command's first bit at VCD time 0


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
            write_vcd(io.StringIO(), Waves(TRACE, period, width))
        except ValueError as err:
            assert str(err)
        else:
            raise AssertionError(f"accepted period {period} width {width}")


def test_gtkw_save_file_names_every_signal_and_opens_on_the_window() -> None:
    out = io.StringIO()
    write_gtkw(out, "panic.vcd", (1000, 2_001_000), [2000, 2_000_000])
    text = out.getvalue()
    assert '[dumpfile] "panic.vcd"' in text and "[timestart] 1000" in text
    # 2 us in about 1000 pixels: 2000 ps a pixel, GTKWave zoom -log2(2000); markers a and b at entry and return.
    assert "*-10.965784 2000 2000 2000000 -1" in text
    for name in SIGNALS:
        assert name in text


def test_committed_gtkw_is_what_the_default_run_writes(tmp_path) -> None:
    from pathlib import Path

    from sdhci.cli import main
    assert main(["panic-write", "--vcd", str(tmp_path / "panic.vcd")]) == 0
    assert (Path(__file__).parent.parent / "waves" / "panic.gtkw").read_text() == (tmp_path / "panic.gtkw").read_text()


def test_clock_period_from_the_command_token() -> None:
    assert clock_period_from_trace(TRACE) == P          # the CMD17 token spans 48 * P
    assert clock_period_from_trace([Ev("busy", 0, 1000)]) is None
