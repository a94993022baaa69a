"""pytest entries: the driver on the RTL controller (sdhci_top) with the eMMC BFM.

One simulator run per cocotb test, each in its own build directory, so
pytest-xdist workers never share one.
"""
from sdhci.cocotb.sim import rtl_sources, run_bench


def test_rtl_panic_write_against_model() -> None:
    run_bench("rtl-panic_write_against_model", "sdhci_top", rtl_sources(), "bench_kit_rtl",
              testcase="panic_write_against_model")


def test_rtl_auto_cmd12_and_error_injection() -> None:
    # BASE_CLK_MHZ = 25: the bench reads it back from the DUT (see bench_kit_rtl.py)
    run_bench("rtl-auto_cmd12_and_error_injection-25mhz", "sdhci_top", rtl_sources(), "bench_kit_rtl",
              testcase="auto_cmd12_and_error_injection", parameters={"BASE_CLK_MHZ": 25})
