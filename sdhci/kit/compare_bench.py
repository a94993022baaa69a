"""The cocotb side of `sdhci-emu rtl compare` and `rtl calibrate` (one cocotb test).

The job comes as a JSON file named by $SDHCI_KIT_JOB (written by
sdhci.kit.compare): the DUT description, the transfer mode, a calibrated
preset or none, the BFM's timing, whether to calibrate, where to write the
result. The bench reads the DUT's Version and Capabilities and measures one
register access, builds the model side from them, runs the standard
scenario (Linux card bring-up, then the mmcpstore panic write) on the RTL,
then on the model, compares, diagnoses, and writes the result JSON. The
cocotb test itself fails only if the bench could not do that; the verdict
is in the result.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import cocotb
import tomli_w
from cocotb.triggers import Timer

from emmc_card.configtools import ConfigError, from_dict
from sdhci.controller.config import Latencies
from sdhci.controller.rtl_calibration import rtl_latencies
from sdhci.kit.autoconfig import (
    capabilities_from_registers, controller_from_identity, measure_access, measured_platform, read_identity,
)
from sdhci.kit.bfm import BfmTiming
from sdhci.kit.calibrate import fit, preset_document
from sdhci.kit.compare import JOB_ENV
from sdhci.kit.diagnosis import diagnose
from sdhci.kit.dut import BUILTIN_DUTS, DutDescription
from sdhci.kit.env import start_kit
from sdhci.kit.scenario import panic_scenario, run_on_rtl, scenario_config
from sdhci.kit.scoreboard import compare_sides, model_side, side
from sdhci.driver.sdhci_host import sdhci_dma_flags, transfer_name
from sdhci.emulation import PanicSession

WIRE_SETTLE_CELLS = 300       # longer than an R2 response (136 cells) after its NCR/NID
UNCALIBRATED = "defaults (uncalibrated)"


def _latencies(job: dict[str, Any], desc: DutDescription, base_mhz: int) -> tuple[Latencies, int, str]:
    """The model's latencies and buffer depth: the preset's, else sdhci_top's own, else defaults."""
    preset = job.get("preset")
    if preset:
        table = preset["controller"]
        return (from_dict(Latencies, table.get("latencies", {}), "controller.latencies"),
                int(table.get("buffer_blocks", 1)), "preset file")
    if desc.name in BUILTIN_DUTS:
        return rtl_latencies(base_mhz), 1, "sdhci_top calibration"
    return Latencies(), 1, UNCALIBRATED


def _refuse(job: dict[str, Any], desc: DutDescription, identity: Any, message: str) -> None:
    """A result that failed before the scenario could start, with the reason."""
    Path(job["output"]).write_text(json.dumps({
        "dut": desc.label, "simulator": job["simulator"], "transfer": job.get("transfer", "auto"),
        "transfer_requested": job.get("transfer", "auto"), "identity": identity.as_dict(), "passed": False,
        "image_identical": False, "commands_identical": False, "phases": [], "error": message,
        "diagnosis": [f"driver: {message}"]}, indent=2))


@cocotb.test()
async def compare(dut: Any) -> None:
    job = json.loads(Path(os.environ[JOB_ENV]).read_text())
    desc = DutDescription.from_dict(job["dut"])
    env = await start_kit(dut, None, desc)
    identity = await env.runner.run(read_identity())
    read_ps, write_ps = await env.runner.run(measure_access())
    base_mhz = capabilities_from_registers(identity.version, identity.caps0, identity.caps1).base_clock_mhz
    latencies, buffer_blocks, source = _latencies(job, desc, base_mhz)
    try:
        controller = controller_from_identity(identity, latencies, buffer_blocks)
    except ConfigError as err:        # e.g. base clock 0: the model cannot present as this DUT
        _refuse(job, desc, identity, f"the DUT's registers describe no controller the model can be: {err}")
        return
    bus_width = min(desc.sd.width, 8 if controller.capabilities.bus_8bit else 4)
    config = scenario_config(controller, measured_platform(read_ps, write_ps), bus_width=bus_width,
                             transfer=job.get("transfer", "auto"))
    # auto: what sdhci.c picks from the Version and Capabilities the DUT reported
    used = transfer_name(sdhci_dma_flags(identity.version, identity.caps0, config.run.transfer,
                                         config.platform.quirk_broken_64bit_dma))
    if used != "pio" and env.memory is None:
        chosen = " (sdhci.c's choice from its Capabilities)" if config.run.transfer == "auto" else ""
        _refuse(job, desc, identity, f"the driver would move data by {used}{chosen}, but the DUT description "
                                     "names no DMA master: add [dma] prefix = \"...\" to DUT.toml, or run "
                                     "with --transfer pio")
        return
    session = PanicSession(config)
    bfm = env.attach_card(session.card, timing=BfmTiming(**job.get("bfm_timing", {})))

    out: dict[str, Any] = {
        "dut": desc.label, "simulator": job["simulator"], "transfer": used,
        "transfer_requested": config.run.transfer,
        "identity": identity.as_dict(), "bus_width": bus_width, "latencies_from": source,
        "register_access_ps": {"read": read_ps, "write": write_ps}, "passed": False,
        "image_identical": False, "commands_identical": False, "phases": [], "diagnosis": [], "error": None,
    }
    wall = time.perf_counter()
    run = None
    try:
        run = await run_on_rtl(env.runner, panic_scenario(session))
    except Exception as err:          # the driver's failure is evidence for the diagnosis, not a bench error
        out["error"] = f"{type(err).__name__}: {err}"
    out["rtl_wall_s"] = round(time.perf_counter() - wall, 3)
    out["sd_period_ps"] = period = bfm.period_ps or env.clk_period_ps
    # Let tokens still on the wire finish (the bench may stop mid-response after a driver error).
    await Timer(WIRE_SETTLE_CELLS * period, "ps")
    if run is not None:
        rtl = side(session, run, bfm.records, env.runner.log)
        if job.get("calibrate"):
            before = compare_sides(model_side(config)[0], rtl, period)
            out["uncalibrated_phases"] = [row.as_dict() for row in before.rows]
            config, _ = fit(config, rtl, period, clk_ps=round(1_000_000 / base_mhz),
                            dma=used != "pio")
            out["latencies_from"] = "fitted to this run"
            Path(job["calibrate"]).write_text(
                f"# sdhci-emu rtl calibrate: {desc.label} on {job['simulator']}\n"
                + tomli_w.dumps(preset_document(config, f"calibrated against {desc.label}")))
        model, _ = model_side(config)
        result = compare_sides(model, rtl, period)
        out.update(passed=result.ok, image_identical=result.image_equal,
                   commands_identical=result.commands_equal, record_on_both=result.record_on_both,
                   phases=[row.as_dict() for row in result.rows], structure_errors=result.structure_errors,
                   table=result.table(), returned=run.returned,
                   panic_write_ps={"model": model.total_ps, "rtl": rtl.total_ps})
    out["diagnosis"] = diagnose(bfm.records, env.runner.log, out["error"]) + [
        f"SD bus protocol violation at {v.t_ps / 1e6:.3f} us: {v.code}: {v.message}" for v in bfm.violations]
    out["passed"] = out["passed"] and not out["diagnosis"]    # wire evidence against the DUT fails it
    if not out["passed"] and not out["diagnosis"]:
        off = [row for row in out["phases"] if not row["ok"]]
        out["diagnosis"].append("no wire-level evidence against the controller; the model and the RTL differ in: "
                                + (", ".join(row["phase"] for row in off) or "image or commands"))
        if (out["latencies_from"] == UNCALIBRATED and off and all(row["kind"] == "latency" for row in off)
                and out["image_identical"] and out["commands_identical"]):
            out["diagnosis"].append("only latencies differ, and the model's are the defaults: `sdhci-emu rtl "
                                    "calibrate` (same --dut, with --output PRESET.toml) fits them to this "
                                    "controller; `sdhci-emu rtl compare --controller PRESET.toml` then uses them")
    Path(job["output"]).write_text(json.dumps(out, indent=2) + "\n")
