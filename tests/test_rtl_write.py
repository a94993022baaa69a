"""pytest entry: the rtl_model write-path bench (tests/cocotb/test_rtl_write.py) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_write() -> None:
    results = run_bench("rtl-model-write", "sdhci_top", rtl_sources(), "test_rtl_write")
    assert get_results(results) == (6, 0)
