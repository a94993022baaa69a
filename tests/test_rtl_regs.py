"""pytest entry: the rtl_model register bench (tests/cocotb/test_rtl_regs.py) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_regs() -> None:
    results = run_bench("rtl-model-regs", "sdhci_top", rtl_sources(), "test_rtl_regs")
    assert get_results(results) == (5, 0)
