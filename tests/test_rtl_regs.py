"""pytest entry: the rtl_model register bench at a base clock other than `make sim`'s."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_regs_other_base_clock() -> None:
    # Capabilities follow BASE_CLK_MHZ (base clock and timeout clock fields).
    results = run_bench("rtl-model-regs-25mhz", "sdhci_top", rtl_sources(), "bench_rtl_regs",
                        testcase="reset_values", parameters={"BASE_CLK_MHZ": 25})
    assert get_results(results) == (1, 0)
