"""pytest entry: the rtl_model specification bench (tests/cocotb/test_rtl_spec.py) on Icarus."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_spec() -> None:
    results = run_bench("rtl-model-spec", "sdhci_top", rtl_sources(), "test_rtl_spec")
    assert get_results(results) == (3, 0)
