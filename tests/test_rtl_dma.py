"""pytest entries: the DMA benches of sdhci_top on Icarus (tests/cocotb/bench_dma_timing.py,
tests/cocotb/bench_dma_rtl.py). The driver benches build sdhci_top with BASE_CLK_MHZ = 25, as
tests/test_cocotb_rtl.py does: half the clk edges of Linux's bring-up to simulate."""
from cocotb_tools.runner import get_results

from sdhci.cocotb.sim import rtl_sources, run_bench

PARAMETERS = {"BASE_CLK_MHZ": 25}


def test_rtl_dma_timing() -> None:
    results = run_bench("rtl-dma-timing", "sdhci_top", rtl_sources(), "bench_dma_timing")
    assert get_results(results) == (3, 0)


def test_rtl_dma_sdma_boundary_and_bus_error() -> None:
    results = run_bench("rtl-dma-sdma-25mhz", "sdhci_top", rtl_sources(), "bench_dma_rtl",
                        testcase="sdma_boundary_and_bus_error", parameters=PARAMETERS)
    assert get_results(results) == (1, 0)


def test_rtl_dma_adma2_tables_and_errors() -> None:
    results = run_bench("rtl-dma-adma2-25mhz", "sdhci_top", rtl_sources(), "bench_dma_rtl",
                        testcase="adma2_tables_and_errors", parameters=PARAMETERS)
    assert get_results(results) == (1, 0)
