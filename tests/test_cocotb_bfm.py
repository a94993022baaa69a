"""pytest entry: the eMMC BFM self-test bench (tests/cocotb/bench_bfm.py) on Icarus."""
from cocotb_tools.runner import get_results
from kit_helpers import BENCH_DIR

from sdhci.kit.sim import run_bench


def test_bfm_selftest() -> None:
    results = run_bench("bfm", "bfm_harness", [BENCH_DIR / "bfm_harness.v"], "bench_bfm", python_paths=[BENCH_DIR])
    assert get_results(results) == (7, 0)
