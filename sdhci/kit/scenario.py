"""The panic-write scenario, written once for both backends.

`panic_scenario(session)` is a generator of driver routines: it yields each
routine (card initialisation, each panic_write call, a time stamp) and gets
the routine's return value back. `run_on_model` executes it with the
session's SyncRunner against the Python controller; the cocotb benches
execute it with an AsyncRunner against RTL (`run_on_rtl`), so both backends
make exactly the same driver calls in the same order, with the same card
(same seed: same random draws) and the same pstore record.

`bring_up_registers(session)` belongs to the directed benches' bring-up
shortcut (sdhci.kit.env.KitEnv.bring_up_shortcut), which the standard
scenario never takes.

No cocotb import here: the model side of the scoreboard runs in plain pytest.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Generator

from sdhci import regmap as rm
from sdhci.config import SECTOR, EmulatorConfig
from sdhci.controller.config import ControllerConfig
from sdhci.controller.rtl_calibration import RTL_BASE_CLK_MHZ, rtl_controller
from sdhci.driver.mmc_core import KernelOops
from sdhci.driver.ops import DriverGen, Now, Write
from sdhci.driver.platform import PlatformConfig, rtl_platform
from sdhci.emulation import PanicSession, pstore_panic_calls
from sdhci.pstore import PanicWrite

Scenario = Generator[DriverGen, Any, "ScenarioRun"]


class ScenarioError(Exception):
    """The scenario could not reach the panic write (one readable line)."""


@dataclass
class ScenarioRun:
    """What one backend did: time marks (ps, the backend's clock) and the panic_write calls."""

    init_end_ps: int
    record: PanicWrite                  # the first panic_write call: the kmsg record
    record_start_ps: int                # entry into that panic_write
    record_end_ps: int                  # its return
    record_byte: int                    # absolute byte offset the record belongs at
    returned: list[int | None] = field(default_factory=list)   # per call; None = kernel oops
    brought_up: bool = True             # whether Linux's bring-up ran in the scenario (on this backend)


def _now() -> DriverGen:
    return (yield Now())


def panic_scenario(session: PanicSession, bring_up: bool = True) -> Scenario:
    """Linux's card bring-up, then register mmcpstore and make pstore's panic_write calls.

    bring_up=False: the session's card was brought up already (the directed benches'
    shortcut); the scenario starts at registration.
    """
    if bring_up:
        session.mmc_card = yield session.init_routine()
    elif session.mmc_card is None:
        raise ScenarioError("bring_up=False needs a session whose card is brought up (KitEnv.bring_up_shortcut)")
    init_end = yield _now()
    session.register()
    cxt = session.mmcpstore
    if not cxt.registered:
        raise ScenarioError("mmcpstore did not register: " + "; ".join(cxt.messages))
    session.enter_panic(init_end)      # as run_panic_write: the run's seed and entry state from here on
    calls = pstore_panic_calls(session)
    request = next(calls)
    outcome: ScenarioRun | None = None
    while True:
        callback = cxt.panic_write_callback()
        start = yield _now()
        try:
            returned = yield callback(request.buf, request.off_sectors, request.sects)
        except KernelOops as oops:
            session.faults.append(oops)
            returned = None
        end = yield _now()
        if outcome is None:
            outcome = ScenarioRun(init_end, request, start, end, (cxt.start_sect + request.off_sectors) * SECTOR,
                                  brought_up=bring_up)
        outcome.returned.append(returned)
        if returned is None:
            return outcome
        try:
            request = calls.send(returned)
        except StopIteration:
            return outcome


def run_on_model(session: PanicSession, scenario: Scenario) -> ScenarioRun:
    """Execute the scenario with the session's SyncRunner (the Python controller model)."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            routine = scenario.throw(error) if error is not None else scenario.send(result)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            result = session.runner.run(routine)
        except KernelOops as oops:
            error = oops


async def run_on_rtl(runner: Any, scenario: Scenario) -> ScenarioRun:
    """Execute the scenario with an AsyncRunner (sdhci.kit.runner) against RTL."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            routine = scenario.throw(error) if error is not None else scenario.send(result)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            result = await runner.run(routine)
        except KernelOops as oops:
            error = oops


def scenario_config(controller: ControllerConfig, platform: PlatformConfig, *, bus_width: int = 8,
                    transfer: str = "pio", **run: Any) -> EmulatorConfig:
    """The scenario's configuration on both backends: the given controller and platform, a
    panic write with `transfer` on a `bus_width`-bit bus, and an emmc51 card whose slow
    start-up phases are short (they cost simulation time, not fidelity of the write):
    ready at the first CMD1 after CMD0, CMD6 busy 100 us, NAC 2..16, no GC stalls."""
    config = EmulatorConfig(controller=controller, platform=platform)
    card = config.card
    card.timing = replace(card.timing, init_busy_us=0.0, cmd6_busy_us=100.0, nac_cycles_min=2,
                          nac_cycles_max=16, gc_stall_probability=0.0)
    config.run = replace(config.run, transfer=transfer, bus_width=bus_width, **run)
    config.validate()
    return config


def kit_config(base_mhz: int = RTL_BASE_CLK_MHZ, auto_cmd12: bool = False, transfer: str = "pio",
               **run: Any) -> EmulatorConfig:
    """scenario_config for sdhci_top at BASE_CLK_MHZ = base_mhz (its calibrated presentation and
    AXI4-Lite costs): 8 lines, `transfer` pio, sdma, adma2 or auto (what sdhci.c picks: ADMA2
    on sdhci_top), CMD12 by hand or Auto CMD12."""
    return scenario_config(rtl_controller(base_mhz), rtl_platform(base_mhz, auto_cmd12=auto_cmd12),
                           transfer=transfer, **run)


#: What Linux's bring-up leaves in the controller that later requests rely on: sdhci_init's
#: interrupt enables, sdhci_set_ios's power, bus width, High Speed and UHS mode, the last
#: request's timeout; then the clock (divider and enables), started as sdhci_enable_clk does.
BRING_UP_REGISTERS = ((rm.SDHCI_INT_ENABLE, 32), (rm.SDHCI_SIGNAL_ENABLE, 32), (rm.SDHCI_POWER_CONTROL, 8),
                      (rm.SDHCI_HOST_CONTROL, 8), (rm.SDHCI_HOST_CONTROL2, 16), (rm.SDHCI_TIMEOUT_CONTROL, 8))
_CLOCK_STATUS = rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_INT_STABLE | rm.SDHCI_CLOCK_CARD_EN


def bring_up_registers(session: PanicSession) -> DriverGen:
    """Driver routine (the bring-up shortcut's, not Linux's): write into a freshly reset
    controller the registers the session's model holds after Linux's bring-up
    (`session.initialise()`), then start the clock with the driver's sdhci_enable_clk."""
    if session.mmc_card is None:
        raise ScenarioError("the session's card is not brought up: session.initialise() first")
    model, t_ps = session.controller, session.runner.t_ps
    for offset, width in BRING_UP_REGISTERS:
        yield Write(offset, width, model.read(offset, width, t_ps))
    yield from session.host.sdhci_enable_clk(model.read(rm.SDHCI_CLOCK_CONTROL, 16, t_ps) & ~_CLOCK_STATUS)
