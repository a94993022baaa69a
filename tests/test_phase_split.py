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
