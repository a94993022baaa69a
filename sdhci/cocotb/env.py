"""Bench setup for a controller under test: clock, reset, AXI4-Lite master, card BFM, runner.

`start_kit(dut, card)` is what every RTL bench calls first. It assumes the
sdhci_top port names (clk, rst_n, s_axil_*, sdclk, cmd_*, dat_*, and m_axi_*
for the DMA master, which gets host memory when present); a
controller with other names builds the same KitEnv by hand from its own
adapter and `EmmcBfm(...)` (docs/kit.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from emmc_card import EmmcCard
from emmc_card.bfm import BfmFaults, EmmcBfm
from sdhci.cocotb.adapters import AxiLiteAdapter, BusAdapter
from sdhci.cocotb.host_memory import HostMemory
from sdhci.cocotb.runner import AsyncRunner

BASE_CLK_PS = 20_000          # sdhci_top's default BASE_CLK_MHZ = 50


@dataclass
class KitEnv:
    """Everything a bench drives: the DUT, the card and its BFM, the bus, host memory, the runner."""

    dut: Any
    card: EmmcCard
    bfm: EmmcBfm
    adapter: BusAdapter
    runner: AsyncRunner
    clk_period_ps: int
    memory: HostMemory | None = None      # on the DUT's m_axi_* master, if it has one


async def start_kit(dut: Any, card: EmmcCard, *, faults: BfmFaults | None = None,
                    clk_period_ps: int = BASE_CLK_PS, poll_overhead_ps: int = 0,
                    reset_cycles: int = 8) -> KitEnv:
    """Clock and reset sdhci_top, attach the card BFM, host memory and an AXI4-Lite runner."""
    dut.rst_n.value = 0
    # The GPI clock (C, not a Python task per edge) is what makes long benches affordable.
    cocotb.start_soon(Clock(dut.clk, clk_period_ps, unit="ps", impl="gpi").start(start_high=False))
    bfm = EmmcBfm.from_dut(dut, card, faults=faults)
    bfm.start()
    await ClockCycles(dut.clk, 2)
    # Created under reset: cocotbext-axi then waits for its release.
    adapter = AxiLiteAdapter.from_dut(dut)
    memory = HostMemory.from_dut(dut) if hasattr(dut, "m_axi_awvalid") else None
    await ClockCycles(dut.clk, reset_cycles)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    return KitEnv(dut, card, bfm, adapter, AsyncRunner(adapter, poll_overhead_ps, memory), clk_period_ps, memory)
