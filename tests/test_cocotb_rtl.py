"""pytest entries: the driver on the RTL controller (sdhci_top) with the eMMC BFM.

One simulator run per cocotb test, each in its own build directory, so
pytest-xdist workers never share one. Both build sdhci_top with
BASE_CLK_MHZ = 25 (the benches read it back): half the clk edges of the
~45 ms Linux bring-up to simulate; `make sim` runs them at the default 50.
"""
from sdhci.cocotb.sim import rtl_sources, run_bench

PARAMETERS = {"BASE_CLK_MHZ": 25}


def test_rtl_panic_write_against_model() -> None:
    run_bench("rtl-panic_write_against_model-25mhz", "sdhci_top", rtl_sources(), "bench_kit_rtl",
              testcase="panic_write_against_model", parameters=PARAMETERS)


def test_rtl_auto_cmd12_and_error_injection() -> None:
    run_bench("rtl-auto_cmd12_and_error_injection-25mhz", "sdhci_top", rtl_sources(), "bench_kit_rtl",
              testcase="auto_cmd12_and_error_injection", parameters=PARAMETERS)
