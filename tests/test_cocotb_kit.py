"""pytest entry: the kit's own plumbing (AXI4-Lite adapter, AsyncRunner) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import BENCH_DIR, run_bench


def test_adapter_and_async_runner() -> None:
    results = run_bench("kit", "axil_harness", [BENCH_DIR / "axil_harness.v"], "bench_runner")
    assert get_results(results) == (4, 0)
