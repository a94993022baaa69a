"""pytest entries: the driver on the RTL controller (sdhci_top) with the eMMC BFM.

One simulator run per cocotb test, each in its own build directory, so
pytest-xdist workers never share one.
"""
import pytest

from sdhci.cocotb.sim import rtl_sources, run_bench


@pytest.mark.parametrize("testcase", ["panic_write_against_model", "error_injection"])
def test_rtl_kit(testcase: str) -> None:
    run_bench(f"rtl-{testcase}", "sdhci_top", rtl_sources(), "bench_kit_rtl", testcase=testcase)
