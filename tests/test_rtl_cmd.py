"""pytest entry: the rtl_model command-engine bench (tests/cocotb/test_rtl_cmd.py) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_cmd() -> None:
    results = run_bench("rtl-model-cmd", "sdhci_top", rtl_sources(), "test_rtl_cmd")
    assert get_results(results) == (9, 0)
