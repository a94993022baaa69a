"""`sdhci-emu rtl compare` and `sdhci-emu rtl calibrate`: the kit from the command line.

`add_rtl_parser` is imported by sdhci.cli to declare the subcommands; it
imports nothing of cocotb, so the emulator's own commands never load a
simulator library. `run_rtl` loads the kit when an `rtl` command runs.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from emmc_card.configtools import ConfigError, preset_table
from sdhci.kit.dut import BUILTIN_DUTS, SIMULATORS, DutDescription, builtin_dut, load_dut


def add_rtl_parser(sub: Any) -> None:
    """Add `rtl compare` and `rtl calibrate` to the `sdhci-emu` subcommands."""
    rtl = sub.add_parser("rtl", help="compare an SDHCI controller's RTL with the model (the cocotb kit)")
    actions = rtl.add_subparsers(dest="rtl_command", required=True, metavar="ACTION", parser_class=type(rtl))
    compare = actions.add_parser("compare", help="run the standard scenario on the DUT and on the model")
    calibrate = actions.add_parser("calibrate", help="fit the model's controller latencies to the DUT")
    for parser in (compare, calibrate):
        parser.add_argument("--dut", default="sdhci-top", metavar="DUT.toml",
                            help=f"DUT description file, or a built-in: {', '.join(BUILTIN_DUTS)} (default sdhci-top)")
        parser.add_argument("--sim", choices=SIMULATORS, help="simulator (default: the DUT's, else icarus)")
        parser.add_argument("--transfer", choices=("auto", "pio", "sdma", "adma2"), default="auto",
                            help="transfer mode of the panic write (auto: what Linux's sdhci chooses)")
        parser.add_argument("--define", action="append", default=[], metavar="NAME[=VALUE]",
                            help="add a `define to the build (repeatable)")
        parser.add_argument("--busy-onset-r1b", type=int, default=0, metavar="CELLS",
                            help="card: idle cells before DAT0 busy after an R1b response (0..2)")
        parser.add_argument("--busy-onset-crc-status", type=int, default=0, metavar="CELLS",
                            help="card: idle cells before DAT0 busy after a CRC status token (0..2)")
        parser.add_argument("--work-dir", metavar="DIR", help="where builds and results go (default: here)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
    compare.add_argument("--controller", metavar="FILE.toml", help="calibrated preset (from rtl calibrate)")
    calibrate.add_argument("--output", metavar="FILE.toml", default="calibrated.toml",
                           help="preset file to write (default calibrated.toml)")


def _description(args: argparse.Namespace) -> DutDescription:
    desc = builtin_dut(args.dut) if args.dut in BUILTIN_DUTS else load_dut(args.dut)
    for item in args.define:
        name, _, value = item.partition("=")
        if not name.isidentifier():
            raise ValueError(f"argument --define: {item!r} is not NAME or NAME=VALUE")
        desc.defines[name] = value or 1
    return desc


def _preset(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return {"controller": preset_table(Path(path), "controller")}
    except ConfigError as err:
        raise ValueError(f"argument --controller: {err.message}") from None


def render(result: dict[str, Any]) -> str:
    """The result as a person reads it: verdict, scoreboard table, diagnosis."""
    verdict = "PASS" if result["passed"] else "FAIL"
    requested = result.get("transfer_requested", result["transfer"])
    lines = [f"{verdict}: {result['dut']} on {result['simulator']}, transfer {result['transfer']}"
             + (f" ({requested}: sdhci.c's choice)" if requested != result["transfer"] else "")
             + (f", {result['bus_width']}-bit bus; model latencies: {result['latencies_from']}"
                if "bus_width" in result else ""),
             f"DUT reports: {json.dumps(result['identity'])}"
             + (f"; register read {result['register_access_ps']['read']} ps, write "
                f"{result['register_access_ps']['write']} ps" if "register_access_ps" in result else "")]
    if result.get("table"):
        lines.append(result["table"])
    if result.get("calibrated"):
        lines.append(f"calibrated preset written to {result['calibrated']}")
    lines.extend(f"diagnosis: {message}" for message in result["diagnosis"])
    lines.append(f"simulator log: {result['log']}")
    return "\n".join(lines) + "\n"


def run_rtl(args: argparse.Namespace, out: TextIO) -> int:
    """Run `rtl compare` or `rtl calibrate`; 0 when the DUT and the model agree, 1 when not.

    A design that does not build, a simulator that is missing or a run that
    produced no result is an error (one line, exit status 2), not a verdict.
    """
    try:
        from sdhci.kit.compare import CompareError, compare_dut
        from sdhci.kit.sim import BuildError, SimulatorError
    except ImportError as err:
        raise ValueError(f"the verification kit is not installed ({err.name} missing): "
                         "pip install 'sdhci-emu[kit]'") from None
    desc = _description(args)
    timing = {"busy_onset_r1b_cells": args.busy_onset_r1b, "busy_onset_crc_status_cells": args.busy_onset_crc_status}
    for key, value in timing.items():
        if not 0 <= value <= 2:
            raise ValueError(f"argument --{key.replace('_cells', '').replace('_', '-')}: must lie in 0..2 cells")
    calibrate = Path(args.output) if args.rtl_command == "calibrate" else None
    try:
        result = compare_dut(desc, simulator=args.sim, transfer=args.transfer,
                             preset=_preset(getattr(args, "controller", None)), calibrate=calibrate,
                             bfm_timing=timing, work_dir=Path(args.work_dir) if args.work_dir else None)
    except (BuildError, CompareError, SimulatorError) as err:     # the DUT or the tools, not a disagreement
        raise ValueError(f"rtl {args.rtl_command}: {err}") from None
    if calibrate is not None:
        result["calibrated"] = str(calibrate)
    if args.json:
        out.write(json.dumps({k: v for k, v in result.items() if k != "table"}, indent=2) + "\n")
    else:
        out.write(render(result))
    return 0 if result["passed"] else 1
