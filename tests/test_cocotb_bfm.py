"""pytest entry: the eMMC BFM self-test bench (tests/cocotb/bench_bfm.py) on Icarus."""
from sdhci.cocotb.sim import BENCH_DIR, run_bench


def test_bfm_selftest() -> None:
    run_bench("bfm", "bfm_harness", [BENCH_DIR / "bfm_harness.v"], "bench_bfm")
