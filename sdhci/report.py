"""Render the result of an emulated panic write (and of `inspect`) for people and scripts.

The text report answers the question the emulator exists for: did the panic
record reach the medium before the board resets, how long did it take, and
where did the time go. The JSON report carries the same facts with stable
keys for scripts (times in ns as numbers, and the exact integer ps beside them).
"""
from __future__ import annotations

import json
from typing import Any

from sdhci.emulation import PanicWriteCall, PanicWriteResult
from sdhci.pstore import RecordListing

#: Phase keys of PanicWriteResult.phases_ps in the driver's priority order (where phases
#: overlap, each picosecond counts for the first), with the label the text report shows.
PHASES = {
    "command_response": "command and response on CMD",
    "data": "data blocks on DAT",
    "crc_status": "CRC status tokens",
    "busy": "card busy (DAT0 low)",
    "dma": "DMA (host memory traffic)",
    "host_access": "host register accesses and polling",
    "other": "other (no bus or register activity)",
}

VERDICT_DURABLE = "durable"
VERDICT_SILENT_LOSS = "silent loss"
VERDICT_ERROR = "error"

_VERDICT_TEXT = {
    VERDICT_DURABLE: "panic_write returned 0 and the record is on the medium, at the right place, "
                     "after a power cut at return",
    VERDICT_SILENT_LOSS: "panic_write returned 0 (success) but the record is NOT on the medium "
                         "after a power cut at return",
    VERDICT_ERROR: "panic_write returned {returned}",
}

#: Host Controller Version register, SPECIFICATION_VERSION_NUMBER field (bits 7:0).
SDHCI_SPEC_VERSIONS = {0: "1.00", 1: "2.00", 2: "3.00", 3: "4.00", 4: "4.10", 5: "4.20"}


def verdict(result: PanicWriteResult) -> str:
    """One of 'durable', 'silent loss', 'error' for a PanicWriteResult."""
    if result.returned != 0:
        return VERDICT_ERROR
    return VERDICT_SILENT_LOSS if result.silent_loss else VERDICT_DURABLE


def _ns(ps: int) -> float:
    return ps / 1000


def _write_entry(write: PanicWriteCall) -> dict[str, int | None]:
    """One panic_write call; returned None means the ported kernel code faulted."""
    off, sects, returned = write
    return {"off": off, "sects": sects, "returned": returned}


def report_dict(result: PanicWriteResult) -> dict[str, Any]:
    """The JSON report of a PanicWriteResult as plain data."""
    return {
        "verdict": verdict(result),
        "returned": result.returned,
        "durable": result.durable,
        "silent_loss": result.silent_loss,
        "total_ns": _ns(result.total_ps),
        "total_ps": result.total_ps,
        "init_ns": _ns(result.init_ps),
        "init_ps": result.init_ps,
        "start_sector": result.start_sector,
        "sectors": result.sectors,
        "sd_clock_hz": result.sd_clock_hz,
        "bus_width": result.bus_width,
        "ddr": result.ddr,
        "transfer": result.transfer,
        "commands": list(result.commands),
        "phases_ns": {key: _ns(value) for key, value in result.phases_ps.items()},
        "phases_ps": dict(result.phases_ps),
        "poll_iterations": result.poll_iterations,
        "register_accesses": dict(result.register_accesses),
        "timeout_control": result.timeout_control,
        "data_timeout_ns": result.data_timeout_ns,
        "poll_timeout_ms": result.poll_timeout_ms,
        "findings": [{"code": f.code, "message": f.message} for f in result.findings],
        "writes": [_write_entry(w) for w in result.writes],
    }


def render_json(result: PanicWriteResult) -> str:
    """The JSON report, indented, newline-terminated."""
    return json.dumps(report_dict(result), indent=2) + "\n"


def format_ps(ps: int) -> str:
    """A duration with a unit a person reads at a glance (ns, us, ms, s)."""
    for unit, scale in (("s", 10**12), ("ms", 10**9), ("us", 10**6)):
        if abs(ps) >= scale:
            return f"{ps / scale:.3f} {unit}"
    return f"{ps / 1000:.3f} ns"


def _phase_lines(result: PanicWriteResult) -> list[str]:
    total = result.total_ps or 1
    keys = list(PHASES) + [k for k in result.phases_ps if k not in PHASES]
    lines = []
    for key in keys:
        ps = result.phases_ps.get(key, 0)
        label = PHASES.get(key, key)
        lines.append(f"    {label:<38} {format_ps(ps):>14} {100 * ps / total:6.1f} %")
    return lines


def render_text(result: PanicWriteResult) -> str:
    """The readable report of one emulated panic write."""
    v = verdict(result)
    mode = "DDR" if result.ddr else "SDR"
    accesses = ", ".join(f"{n} {kind}" for kind, n in result.register_accesses.items())
    commands = " ".join(f"CMD{c}" for c in result.commands) or "(none)"
    timeout_exp = 13 + (result.timeout_control & 0xF)
    config = result.config
    version = SDHCI_SPEC_VERSIONS.get(config.controller.version, f"code {config.controller.version}")
    lines = [
        f"Verdict: {v.upper()} - {_VERDICT_TEXT[v].format(returned=result.returned)}.",
        "",
        f"Setup: card {config.card_preset}, SDHCI v{version} ({config.controller_preset}), "
        f"platform {config.platform_preset}, pstore on {config.pstore.blkdev}",
        f"Record write: {result.sectors} sectors at absolute sector {result.start_sector}, "
        f"{result.transfer.upper()}, {result.bus_width}-bit {mode} bus at {result.sd_clock_hz / 1e6:.3f} MHz",
        f"Commands on the bus: {commands}",
        "",
        f"Card initialisation (before the panic, not in the total): {format_ps(result.init_ps)}",
        f"panic_write, entry to return: {format_ps(result.total_ps)}",
        *_phase_lines(result),
        "",
        f"Poll iterations: {result.poll_iterations}",
        f"Register accesses: {accesses or '(none)'}",
        f"Timeout Control: 0x{result.timeout_control:X} (TMCLK x 2^{timeout_exp}); "
        f"data timeout {format_ps(result.data_timeout_ns * 1000)} (mmc_set_data_timeout); "
        f"poll timeout {result.poll_timeout_ms} ms",
    ]
    if len(result.writes) > 1:
        lines.append("panic_write calls (off, sects -> returned): " + ", ".join(
            f"({w['off']}, {w['sects']} -> {'fault' if w['returned'] is None else w['returned']})"
            for w in map(_write_entry, result.writes)))
    lines.append("")
    if result.findings:
        lines.append("Findings:")
        lines.extend(f"  [{f.code}] {f.message}" for f in result.findings)
    else:
        lines.append("Findings: none")
    return "\n".join(lines) + "\n"


def records_dict(listing: RecordListing) -> dict[str, Any]:
    """The JSON form of `inspect` (a sdhci.pstore RecordListing): records found and zones rejected."""
    return {
        "records": [
            {
                "zone": r.zone_index,
                "file": r.filename,
                "reason": r.reason_name,
                "reason_code": r.reason,
                "counter": r.counter,
                "tv_sec": r.tv_sec,
                "tv_nsec": r.tv_nsec,
                "compressed": r.compressed,
                "text": r.text.decode("utf-8", errors="replace"),
            }
            for r in listing.records
        ],
        "errors": [{"zone": zone, "message": message} for zone, message in listing.errors],
    }


def render_records_text(listing: RecordListing) -> str:
    """The readable form of `inspect`: each record as its mounted pstore file shows it."""
    lines = [f"{len(listing.records)} record(s), {len(listing.errors)} rejected zone(s)"]
    for r in listing.records:
        lines.append("")
        lines.append(
            f"== {r.filename} (zone {r.zone_index}): {r.reason_name}, counter {r.counter}, "
            f"time {r.tv_sec}.{r.tv_nsec:09d}{', compressed' if r.compressed else ''} =="
        )
        lines.append(r.mounted_content().decode("utf-8", errors="replace").rstrip("\n"))
    for zone, message in listing.errors:
        lines.append(f"zone {zone}: rejected: {message}")
    return "\n".join(lines) + "\n"
