"""The report's phase split: priority order as the README states it, and the default run's split pinned.

README ("What the report means"): where phases overlap, a picosecond counts
for the first of command and response, data, CRC status, card busy, DMA,
host register accesses and polling, other. Swapping any two of them must
turn a test here red.
"""
from __future__ import annotations

from emmc_card.bus import COMMAND_BITS, CRC_STATUS_BITS, SHORT_RESPONSE_BITS, data_block_cycles
from sdhci.config import load_config
from sdhci.driver.ops import Read
from sdhci.driver.runner import OpRecord
from sdhci.emulation import _phases, run_panic_write
from sdhci.trace import BusEvent

README_ORDER = ["command_response", "data", "crc_status", "busy", "dma", "host_access", "other"]
PERIOD_PS = 20_000      # 200 MHz base clock / (2 x 2): 50 MHz


def test_nested_phases_split_in_the_readme_order() -> None:
    # Phase i covers [0, 10 (i + 1)) ps; the run lasts 70 ps. In README order each phase keeps exactly the
    # 10 ps the ones before it do not cover; any other order gives some phase 0 or 20.
    trace = [BusEvent("command", 0, 10, 25), BusEvent("data", 0, 20, 25), BusEvent("crc_status", 0, 30, 25),
             BusEvent("busy", 0, 40, 25), BusEvent("dma", 0, 50, 25)]
    log = [OpRecord(Read(0x30, 16), 0, 60, 0)]
    assert _phases(trace, log, 0, 70) == dict.fromkeys(README_ORDER, 10)


def test_the_default_run_splits_as_pinned() -> None:
    result = run_panic_write(load_config(None, []))
    phases = result.phases_ps
    # By hand: CMD25 and CMD12, each a 48-clock token and a 48-clock R1/R1b; 128 blocks of 530 clocks
    # (1 + 512 + 16 + 1 on 8 lines) and 128 five-clock CRC status tokens.
    assert phases["command_response"] == 2 * (COMMAND_BITS + SHORT_RESPONSE_BITS) * PERIOD_PS == 3_840_000
    assert phases["data"] == 128 * data_block_cycles(512, 8) * PERIOD_PS == 1_356_800_000
    assert phases["crc_status"] == 128 * CRC_STATUS_BITS * PERIOD_PS == 12_800_000
    # Pinned from `sdhci-emu panic-write --json` (seed 1; README's report): what is left of the 2.075 ms.
    assert (phases["busy"], phases["dma"], phases["host_access"], phases["other"]) == \
        (687_480_000, 5_080_000, 9_150_000, 0)
    assert sum(phases.values()) == result.total_ps == 2_075_150_000


def test_random_overlaps_split_as_counted_picosecond_by_picosecond() -> None:
    """Against a count of every picosecond: each goes to the first phase (README order) covering it, else other."""
    import random
    from sdhci.driver.ops import Write
    kinds = {"command": "command_response", "response": "command_response", "data": "data",
             "crc_status": "crc_status", "busy": "busy", "dma": "dma"}
    timeouts = {"data": "busy", "crc_status": "crc_status", "command": "command_response", "card": "other"}
    rng = random.Random(7)
    for _ in range(300):
        trace, covers = [], []
        for _ in range(rng.randint(0, 12)):
            start = rng.randint(0, 60)
            end = start + rng.choice([0, 1, 3, 10, 25])
            kind = rng.choice([*kinds, "timeout"])
            what = rng.choice(list(timeouts))
            trace.append(BusEvent(kind, start, end, 25, {"what": what} if kind == "timeout" else {}))
            covers.append((start, end, timeouts[what] if kind == "timeout" else kinds[kind]))
        log = []
        for _ in range(rng.randint(0, 4)):
            start = rng.randint(0, 60)
            log.append(OpRecord(Write(0x30, 16, 0), start, start + rng.randint(0, 15), None))
            covers.append((log[-1].start_ps, log[-1].end_ps, "host_access"))
        t0 = rng.randint(0, 30)
        t1 = t0 + rng.randint(0, 50)
        expected = dict.fromkeys(README_ORDER, 0)
        for ps in range(t0, t1):
            phase = min((README_ORDER.index(p) for s, e, p in covers if s <= ps < e), default=len(README_ORDER) - 1)
            expected[README_ORDER[phase]] += 1
        assert _phases(trace, log, t0, t1) == expected
