"""pytest entry: the kit's own plumbing (AXI4-Lite adapter, AsyncRunner) on Icarus."""
from cocotb_tools.runner import get_results
from kit_helpers import BENCH_DIR

from sdhci.kit.sim import run_bench


def test_adapter_and_async_runner() -> None:
    results = run_bench("kit", "axil_harness", [BENCH_DIR / "axil_harness.v"], "bench_runner",
                        python_paths=[BENCH_DIR])
    assert get_results(results) == (5, 0)
