"""Bench setup for a controller under test: clock, reset, register bus, card BFM, host memory, runner.

`start_kit(dut, card, desc)` is what every RTL bench calls first. The DUT
description (sdhci.kit.dut; sdhci_top's when omitted) names the clock,
reset, register bus, SD pins and DMA master, so the same call serves any
controller. `KitEnv.bring_up_shortcut(session)` is the directed benches'
shortcut past Linux's bring-up; the standard scenario never takes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from emmc_card import EmmcCard
from sdhci.kit.adapters import BusAdapter, make_adapter
from sdhci.kit.bfm import BfmFaults, BfmTiming, EmmcBfm, EmmcBus
from sdhci.kit.dut import BusSpec, ClockSpec, DmaSpec, DutDescription, ResetSpec
from sdhci.kit.host_memory import HostMemory
from sdhci.kit.runner import AsyncRunner, now_ps
from sdhci.kit.scenario import bring_up_registers
from sdhci.emulation import PanicSession

BASE_CLK_PS = 20_000          # sdhci_top's default BASE_CLK_MHZ = 50


@dataclass
class KitEnv:
    """Everything a bench drives: the DUT, the card and its BFM, the bus, host memory, the runner."""

    dut: Any
    card: EmmcCard | None
    bfm: EmmcBfm | None
    adapter: BusAdapter
    runner: AsyncRunner
    clk_period_ps: int
    bus: EmmcBus
    memory: HostMemory | None = None     # on the DUT's DMA master (DutDescription.dma), if it has one

    def attach_card(self, card: EmmcCard, *, faults: BfmFaults | None = None, timing: BfmTiming | None = None,
                    card_time_offset_ps: int = 0) -> EmmcBfm:
        """Put `card` on the SD pins (a bench that reads the DUT's registers before choosing the card)."""
        if self.bfm is not None:
            raise RuntimeError("a card is already on the SD pins")
        self.card = card
        self.bfm = EmmcBfm(card, self.bus, faults=faults, timing=timing, log=self.dut._log.getChild("emmc"),
                           card_time_offset_ps=card_time_offset_ps)
        self.bfm.start()
        return self.bfm

    async def bring_up_shortcut(self, session: PanicSession, *, faults: BfmFaults | None = None,
                                timing: BfmTiming | None = None) -> EmmcBfm:
        """SHORTCUT for directed benches, never the standard scenario: Linux's bring-up runs on the
        Python model instead of the DUT, then the DUT is given the registers it left and the card.

        Linux's ~45 ms bring-up (power-up delays, EXT_CSD at 400 kHz) is most of a bench's wall
        time on RTL; a bench about the data path does not need it on the wire. Here
        `session.initialise()` brings the session's own card to the transfer state through the
        model (the same driver, card and seed), `bring_up_registers` writes what that left in the
        controller into the freshly reset DUT, and the card goes on the SD pins, its clock running
        on from where the bring-up left it. The session's host and mmc_card are Linux's after
        bring-up; continue with `panic_scenario(session, bring_up=False)` or the driver's requests.
        The wire shows no bring-up command, so nothing of the DUT's bring-up is verified.
        """
        if self.bfm is not None:
            raise RuntimeError("the bring-up shortcut needs free SD pins: start_kit(dut, None, ...)")
        session.initialise()
        await self.runner.run(bring_up_registers(session))
        return self.attach_card(session.card, faults=faults, timing=timing,
                                card_time_offset_ps=session.runner.t_ps - now_ps())


def _sdhci_top(clk_period_ps: int) -> DutDescription:
    """sdhci_top's ports (no sources needed: the bench already runs on it)."""
    return DutDescription(toplevel="sdhci_top", clock=ClockSpec("clk", 1_000_000 / clk_period_ps),
                          reset=ResetSpec("rst_n", True, 8), bus=BusSpec("axi4-lite", "s_axil"),
                          dma=DmaSpec("m_axi"))


async def start_kit(dut: Any, card: EmmcCard | None, desc: DutDescription | None = None, *,
                    faults: BfmFaults | None = None, timing: BfmTiming | None = None,
                    clk_period_ps: int | None = None, poll_overhead_ps: int = 0) -> KitEnv:
    """Clock and reset the DUT, attach the card BFM to its SD pins, host memory to its DMA master
    (if the description names one) and a runner to its register bus.

    Without `desc`, sdhci_top's names at `clk_period_ps` (50 MHz by default).
    Without `card`, the lines stay released until `KitEnv.attach_card`.
    """
    desc = desc or _sdhci_top(clk_period_ps or BASE_CLK_PS)
    period = clk_period_ps or desc.clock.period_ps
    clock = getattr(dut, desc.clock.name)
    reset = getattr(dut, desc.reset.name)
    asserted = 0 if desc.reset.active_low else 1
    reset.value = asserted
    # The GPI clock (C, not a Python task per edge) is what makes long benches affordable.
    cocotb.start_soon(Clock(clock, period, unit="ps", impl="gpi").start(start_high=False))
    bus = EmmcBus.from_pins(dut, desc.sd.pin_map())
    if bus.width != desc.sd.width:
        raise ValueError(f"sd.width is {desc.sd.width} but {desc.sd.pin_map()['dat_i']} has {bus.width} lines")
    bus.cmd_i.value = 1                          # released lines read 1 (pull-ups)
    bus.dat_i.value = (1 << bus.width) - 1
    await ClockCycles(clock, 2)
    # Created under reset: cocotbext-axi then waits for its release.
    adapter = make_adapter(desc.bus, dut, clock, reset, reset_active_level=bool(asserted))
    memory = (HostMemory.from_dut(dut, desc.dma.prefix, clock, reset, reset_active_level=bool(asserted))
              if desc.dma.prefix else None)
    await ClockCycles(clock, desc.reset.cycles)
    reset.value = 1 - asserted
    await ClockCycles(clock, 2)
    env = KitEnv(dut, None, None, adapter, AsyncRunner(adapter, poll_overhead_ps, memory), period, bus, memory)
    if card is not None:
        env.attach_card(card, faults=faults, timing=timing)
    return env
