"""pytest entry: the rtl_model read-path bench (tests/cocotb/test_rtl_read.py) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_read() -> None:
    results = run_bench("rtl-model-read", "sdhci_top", rtl_sources(), "test_rtl_read")
    assert get_results(results) == (6, 0)
