"""The model presented as rtl_model/sdhci_top, with latencies calibrated against it.

`rtl_controller(base_mhz)` is a ControllerConfig whose Capabilities, version
and buffer are what sdhci_top implements (SDMA and ADMA2, one 512-byte block,
8-bit, high speed, embedded slot, base and timeout clock = BASE_CLK_MHZ, 50
by default) and whose Latencies are the RTL's own pipeline delays. At the
default base clock it is the controller preset 'sdhci-top'; the register
costs of the kit's AXI4-Lite bench are the platform preset 'cocotb-axil'
(sdhci.driver.platform.rtl_platform). With both, the model and the RTL agree
on the panic write's framing phases exactly and on its latency phases within
1.5 SD clocks at 50 MHz by PIO, SDMA and ADMA2 (data issue; the scoreboard's
stated tolerance is 2, sdhci.kit.scoreboard). The kit's benches may run
sdhci_top at other base clocks, hence the base_mhz parameters.
"""
from __future__ import annotations

from sdhci import regmap as rm
from sdhci.controller.clock import period_ps
from sdhci.controller.config import Capabilities, ControllerConfig, Latencies

RTL_BASE_CLK_MHZ = 50                           # sdhci_top's default BASE_CLK_MHZ


def clk_ps(base_mhz: int = RTL_BASE_CLK_MHZ) -> int:
    """Period of sdhci_top's clk (also its SD base clock and TMCLK), ps: the model's own base period."""
    return period_ps(base_mhz * 1_000_000)


# From rtl_model/README.md (timing table) and measured with the kit
# (tests/cocotb/bench_kit_rtl.py, the scoreboard's per-phase samples):
#  - the command's start bit begins 3.5 SD clocks (at N = 0) after the access
#    that writes the Command register starts: the write is taken ~2 clk in,
#    the engine sees it 1 clk later, the cell starts on the falling edge;
#  - status bits are latched 1 clk after the tick that sampled the end bit
#    (response, busy end) or freed the buffer (Buffer Write Ready);
#  - a CRC status start bit is accepted up to 10 cells after the data end bit;
#  - NWR is 2 idle cells; NCR, the CRC status delay and busy are the card's;
#  - DMA, with the kit's host memory (cocotbext-axi's AxiRam, first read beat
#    2 clk after the address, then one per clk; tests/cocotb/bench_dma_rtl.py):
#    a 512-byte block is ready to go 134 clk after the data engine frees the
#    buffer (ARVALID 2 clk in, 128 beats, the AxiRam latency, the start-bit
#    tick) - 133 measured after a block's end bit, 135.5 after the Command
#    write's start, so every block within 1.5 SD clocks; an ADMA2 descriptor
#    (one 2-beat burst) adds 6 clk; an SDMA resume (address write -> fetch)
#    is 2 clk after the write is taken, ~3 clk after the access starts.
def rtl_latencies(base_mhz: int = RTL_BASE_CLK_MHZ) -> Latencies:
    """sdhci_top's pipeline delays at BASE_CLK_MHZ = base_mhz."""
    clk = clk_ps(base_mhz)
    return Latencies(
        internal_clock_stable_ps=2 * clk,       # Internal Clock Stable 2 clk after Internal Clock Enable
        command_issue_cycles=3,                 # Command write -> start bit, SD clocks (N = 0)
        response_status_ps=clk,                 # response end bit -> Command Complete
        buffer_ready_ps=clk,                    # previous block's end bit -> Buffer Write Ready
        write_gap_cycles=2,                     # NWR the RTL keeps before write data
        pio_block_start_ps=3 * clk,             # last Buffer Data Port write starts -> block may start:
                                                # ~2 clk for the AXI write to land, 1 for the data engine
        busy_status_ps=clk,                     # DAT0 high sampled -> Transfer Complete
        crc_status_timeout_cycles=10,           # no CRC status start bit by D+10 -> Data CRC Error
        dma_descriptor_fetch_ps=6 * clk,        # ADMA2: one 2-beat descriptor burst and its decode
        dma_block_ps=134 * clk,                 # buffer free -> a 512-byte block ready in it (128 beats)
        sdma_resume_ps=3 * clk,                 # SDMA address write starts -> the engine fetches again
    )


def rtl_controller(base_mhz: int = RTL_BASE_CLK_MHZ) -> ControllerConfig:
    """The model configured as sdhci_top (v3.00 register map, SDMA/ADMA2, 8-bit, one-block buffer)."""
    return ControllerConfig(
        version=rm.SDHCI_SPEC_300,
        capabilities=Capabilities(base_clock_mhz=base_mhz, timeout_clock=base_mhz,
                                  timeout_clock_unit_mhz=True, max_block_length=512, bus_8bit=True,
                                  adma2=True, sdma=True, high_speed=True, voltage_3v3=True,
                                  voltage_1v8=False, ddr50=False,
                                  slot_type=1),  # embedded slot for one device
        buffer_blocks=1,
        latencies=rtl_latencies(base_mhz),
    )
