"""One run's outcome as a row of the sweep's table: the --json report's scalar outputs.

Keys are the JSON report's (sdhci.report.report_dict), nested ones joined
with dots (``phases_ns.busy``, ``power_cut.lost_cached_blocks``); the
finding codes and the commands become lists of strings. Times are in ns as
numbers, and the total also in exact integer ps. Every row has every output
column (None where the report has no value), so a table's schema does not
depend on which runs it holds.
"""
from __future__ import annotations

from typing import Any

from sdhci.emulation import PHASE_PRIORITY, PanicWriteResult
from sdhci.report import report_dict

#: Output columns and their kinds ('int', 'float', 'bool', 'str', 'list'), in table order.
OUTPUTS: tuple[tuple[str, str], ...] = (
    ("verdict", "str"),
    ("returned", "int"),
    ("durable", "bool"),
    ("silent_loss", "bool"),
    ("record_bytes", "int"),
    ("intact_bytes", "int"),
    ("wrong_bytes", "int"),
    ("linux_lists", "bool"),
    ("listed_record", "str"),
    ("total_ns", "float"),
    ("total_ps", "int"),
    ("init_ns", "float"),
    *((f"phases_ns.{phase}", "float") for phase in PHASE_PRIORITY),
    ("poll_iterations", "int"),
    ("register_accesses.read", "int"),
    ("register_accesses.write", "int"),
    ("register_accesses.burst_words", "int"),
    ("start_sector", "int"),
    ("sectors", "int"),
    ("sd_clock_hz", "int"),
    ("bus_width", "int"),
    ("ddr", "bool"),
    ("transfer", "str"),
    ("timeout_control", "int"),
    ("data_timeout_ns", "int"),
    ("poll_timeout_ms", "int"),
    ("power_cut.applied", "bool"),
    ("power_cut.after_entry_ps", "int"),
    ("power_cut.before_return", "bool"),
    ("power_cut.lost_cached_blocks", "int"),
    ("power_cut.lost_queued_blocks", "int"),
    ("power_cut.torn_blocks", "int"),
    ("commands", "list"),
    ("findings", "list"),
    ("emulation_error", "str"),
    ("wall_ns", "int"),
)
OUTPUT_NAMES = tuple(name for name, _ in OUTPUTS)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def outputs(result: PanicWriteResult) -> dict[str, Any]:
    """The output columns of one run."""
    report = _flat(report_dict(result))
    report["commands"] = [f"CMD{c.index}" + ("(auto)" if c.auto else "") for c in result.commands]
    report["findings"] = [f.code for f in result.findings]
    report["wall_ns"] = result.wall_ns
    return {name: report.get(name) for name in OUTPUT_NAMES}


def failed(message: str) -> dict[str, Any]:
    """The output columns of a run the emulator could not play (card bring-up failed, say)."""
    row: dict[str, Any] = dict.fromkeys(OUTPUT_NAMES)
    row["emulation_error"] = message
    row["commands"] = []
    row["findings"] = []
    return row
