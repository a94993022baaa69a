"""The scoreboard's machinery, on the Python model alone (no simulator).

The RTL comparison itself runs in tests/test_cocotb_rtl.py; here: phase
extraction against a hand-made trace, and model-versus-model comparisons that
must agree exactly or flag the one latency that was changed. The hand-made
trace uses the model's BusEvent (the BFM's BusRecord has the same fields):
importing emmc_card.bfm would pull cocotb into a plain pytest module.
"""
from dataclasses import replace

from sdhci import regmap as rm
from sdhci.cocotb.scenario import kit_config
from sdhci.cocotb.scoreboard import Sample, compare_sides, model_side, phase_samples
from sdhci.driver.ops import Write, WriteBurst
from sdhci.driver.runner import OpRecord
from sdhci.trace import BusEvent

P = 20_000   # SD clock period, ps


def test_phase_samples_of_a_hand_made_cmd24() -> None:
    # Command register written at 1000 ns; start bit 2 clocks later; NCR 3;
    # the response ends at 1040 + 99 x 20 = 3020 ns; the buffer is filled by a
    # burst ending at 3100 ns (after the response);
    # the block starts 2 clocks later, 530 clocks; token 2 clocks after it;
    # busy 100 clocks right after the token.
    t_cmd = 1_000_000 + 2 * P
    resp = t_cmd + 48 * P + 3 * P
    data = 3_100_000 + 2 * P
    token = data + 530 * P + 2 * P
    events = [
        BusEvent("command", t_cmd, t_cmd + 48 * P, 24, {"argument": 7}),
        BusEvent("response", resp, resp + 48 * P, 24),
        BusEvent("data", data, data + 530 * P, 24),
        BusEvent("crc_status", token, token + 5 * P, 24, {"status": 2}),
        BusEvent("busy", token + 5 * P, token + 105 * P, 24),
    ]
    log = [OpRecord(Write(rm.SDHCI_COMMAND, 16, 0x183A), 1_000_000, 1_080_000, None),
           OpRecord(WriteBurst(rm.SDHCI_BUFFER, (0,) * 128), 2_000_000, 3_100_000, None)]
    samples = phase_samples(events, log, 0, 10**9)
    assert {phase: [s.ps for s in got] for phase, got in samples.items()} == {
        "command issue": [2 * P], "command": [48 * P], "NCR": [3 * P], "response": [48 * P],
        "data issue": [2 * P], "data": [530 * P], "CRC status gap": [2 * P], "CRC status": [5 * P],
        "busy gap": [0], "busy": [100 * P],
    }
    assert samples["data"] == [Sample(530 * P, "block 0 of CMD24")]
    assert samples["NCR"][0].where == "response to CMD24"
    assert samples["busy"][0].where == "busy after the CRC status of block 0 of CMD24"


def test_same_model_twice_agrees_exactly() -> None:
    a, session = model_side(kit_config())
    b, _ = model_side(kit_config())
    result = compare_sides(a, b, period_ps=P)
    assert result.ok, result.table()
    assert all(row.max_deviation == 0 for row in result.rows)
    # one 64 KiB record: CMD25 at the pstore partition's first sector, then CMD12
    assert [cmd for cmd, _ in a.commands] == [25, 12]
    assert a.commands[0][1] == session.mmcpstore.start_sect
    assert len(a.samples["data"]) == 128 and {s.ps for s in a.samples["data"]} == {530 * P}
    assert a.record_on_card and len(a.record) == 64 * 1024
    # initialisation as Linux does it, then the record
    assert [cmd for cmd, _ in a.all_commands] == [0, 1, 0, 1, 2, 3, 9, 7, 8, 6, 13, 6, 13, 8, 6, 13, 25, 12]


def test_a_changed_latency_is_flagged_in_its_phase() -> None:
    base, _ = model_side(kit_config())
    config = kit_config()
    config.controller.latencies = replace(config.controller.latencies,
                                          command_issue_cycles=config.controller.latencies.command_issue_cycles + 3)
    slower, _ = model_side(config)
    result = compare_sides(base, slower, period_ps=P)
    rows = {row.phase: row for row in result.rows}
    assert rows["command issue"].max_deviation == 3 and rows["command issue"].kind == "latency"
    assert rows["command issue"].worst == "CMD25" and rows["command issue"].tolerance == 2
    assert rows["data"].max_deviation == 0 and rows["NCR"].max_deviation == 0
    assert not result.ok and "command issue" in result.table() and "beyond tolerance" in result.table()


def test_a_block_one_clock_short_fails_framing_exactly() -> None:
    # A data block of 529 clocks instead of 530 on one side: framing is exact by
    # design, so one clock is a failure (it passed within the old 2-clock allowance).
    model, _ = model_side(kit_config())
    data = list(model.samples["data"])
    data[17] = Sample(529 * P, data[17].where)
    short = replace(model, samples={**model.samples, "data": data})
    result = compare_sides(model, short, period_ps=P)
    rows = {row.phase: row for row in result.rows}
    assert not result.ok
    assert rows["data"].kind == "framing" and rows["data"].tolerance == 0
    assert rows["data"].max_deviation == 1 and rows["data"].worst == "block 17 of CMD25"
    assert (rows["data"].worst_model, rows["data"].worst_rtl) == (530, 529)
    assert "block 17 of CMD25 (530.00 / 529.00)  <-- beyond tolerance" in result.table()
    assert all(row.ok for row in result.rows if row.phase != "data")


def test_framing_and_latency_phases() -> None:
    rows = {row.phase: row for row in compare_sides(*[model_side(kit_config())[0]] * 2, period_ps=P).rows}
    assert {p for p, r in rows.items() if r.kind == "framing"} == {"command", "response", "data", "CRC status"}
    assert {r.tolerance for r in rows.values() if r.kind == "latency"} == {2.0}


def test_image_difference_fails_the_comparison() -> None:
    a, _ = model_side(kit_config())
    b = replace(a, partition=bytes(len(a.partition)))
    result = compare_sides(a, b, period_ps=P)
    assert not result.image_equal and not result.record_on_both and not result.ok
