"""Render the result of an emulated panic write (and of `inspect`) for people and scripts.

The text report answers the question the emulator exists for: did the panic
record reach the medium before the board resets, how long did it take, and
where did the time go. The JSON report carries the same facts with stable
keys for scripts (times in ns as numbers, and the exact integer ps beside them).
"""
from __future__ import annotations

import json
from typing import Any

from sdhci.emulation import IssuedCommand, PanicWriteCall, PanicWriteResult
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

#: errno values the panic path can return, by name (include/uapi/asm-generic/errno-base.h, errno.h).
ERRNO_NAMES = {5: "EIO", 6: "ENXIO", 14: "EFAULT", 16: "EBUSY", 19: "ENODEV", 22: "EINVAL", 28: "ENOSPC",
               42: "ENOMSG", 84: "EILSEQ", 110: "ETIMEDOUT", 123: "ENOMEDIUM"}

#: Host Controller Version register, SPECIFICATION_VERSION_NUMBER field (bits 7:0).
SDHCI_SPEC_VERSIONS = {0: "1.00", 1: "2.00", 2: "3.00", 3: "4.00", 4: "4.10", 5: "4.20"}


def errno_text(value: int | None) -> str:
    """-110 -> '-110 (ETIMEDOUT)'; None -> 'nothing (it never returned)'."""
    if value is None:
        return "nothing (it never returned)"
    name = ERRNO_NAMES.get(-value)
    return f"{value} ({name})" if name else str(value)


def _verdict_sentence(result: PanicWriteResult) -> str:
    """What happened to the record, in one sentence, naming the power cut it was judged after."""
    m = result.medium
    if result.verdict == "error":
        return f"panic_write returned {errno_text(result.returned)}: pstore sees the failure."
    if result.cut_before_return:
        assert result.power_cut_ps is not None
        head = (f"the power went at {result.power_cut} ({format_ps(result.power_cut_ps - result.entry_ps)} after "
                "entry), before panic_write returned")
        when = "after the cut"
    else:
        head = f"panic_write returned {errno_text(result.returned)}" + (" (success)" if result.returned == 0 else "")
        when = ("with the power never cut" if result.power_cut_ps is None
                else f"after the power cut at {result.power_cut}")
    silent = " - a silent loss" if result.silent_loss else ""
    if result.verdict == "durable":
        return f"{head}; every byte of the record is on the medium {when}."
    if result.verdict == "torn":
        return (f"{head}; {when} Linux lists the record, but {m.wrong_bytes} of its {m.record_bytes} bytes are "
                f"wrong (zeros or stale data; pstore/zone keeps no checksum){silent}.")
    listed = "Linux lists an older record in its zone" if m.listed == "older" else "Linux lists nothing in its zone"
    return (f"{head}; {when} the record is not on the medium: {m.wrong_bytes} of its {m.record_bytes} bytes are "
            f"wrong and {listed}{silent}.")


def _ns(ps: int) -> float:
    return ps / 1000


def _write_entry(write: PanicWriteCall) -> dict[str, Any]:
    """One panic_write call; returned None means it never returned (a fault, or the power went first)."""
    return {"off": write.off, "sects": write.sects, "returned": write.returned, "interrupted": write.interrupted}


def _power_cut_dict(result: PanicWriteResult) -> dict[str, Any]:
    cut = result.power_cut
    out: dict[str, Any] = {"setting": str(cut), "anchor": cut.anchor, "delay_ps": cut.delay_ps,
                           "applied": result.power_cut_ps is not None}
    if result.power_cut_ps is not None:
        report = result.power_cut_report
        out.update({
            "after_entry_ps": result.power_cut_ps - result.entry_ps,
            "before_return": result.cut_before_return,
            "lost_cached_blocks": len(report.lost_cached) if report else 0,
            "lost_queued_blocks": len(report.lost_queued) if report else 0,
            "torn_blocks": len(report.torn) if report else 0,
            "interrupted_reliable_blocks": len(report.interrupted_reliable) if report else 0,
        })
    return out


def report_dict(result: PanicWriteResult) -> dict[str, Any]:
    """The JSON report of a PanicWriteResult as plain data."""
    m = result.medium
    return {
        "patch": result.config.run.patch,
        "verdict": result.verdict,
        "returned": result.returned,
        "durable": result.durable,
        "silent_loss": result.silent_loss,
        "record_bytes": m.record_bytes,
        "intact_bytes": m.intact_bytes,
        "wrong_bytes": m.wrong_bytes,
        "linux_lists": m.linux_lists,
        "listed_record": m.listed,
        "power_cut": _power_cut_dict(result),
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
        "commands": [{"index": c.index, "argument": c.argument, "auto": c.auto} for c in result.commands],
        "phases_ns": {key: _ns(value) for key, value in result.phases_ps.items()},
        "phases_ps": dict(result.phases_ps),
        "poll_iterations": result.poll_iterations,
        "register_accesses": dict(result.register_accesses),
        "timeout_control": result.timeout_control,
        "data_timeout_ns": result.data_timeout_ns,
        "poll_timeout_ms": result.poll_timeout_ms,
        "findings": [{"code": f.code, "message": f.message} for f in result.findings],
        "notes": list(result.notes),
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


def _command_text(command: IssuedCommand) -> str:
    return f"CMD{command.index}(auto)" if command.auto else f"CMD{command.index}"


def _entry_lines(result: PanicWriteResult) -> list[str]:
    """The card's state at panic entry, when it is not idle and empty."""
    entry = result.config.run.entry
    parts = []
    if entry.busy != "none" and entry.busy_ps:
        what = "still programming a previous write" if entry.busy == "write" else "in a garbage collection"
        parts.append(f"card {what} for {format_ps(entry.busy_ps)}")
    if entry.dirty_blocks:
        parts.append(f"{entry.dirty_blocks} dirty blocks in its cache")
    if entry.records:
        parts.append(f"{entry.records} earlier record(s) in pstore's zones")
    return [f"At panic entry: {', '.join(parts)}"] if parts else []


def _power_cut_line(result: PanicWriteResult) -> str:
    if result.power_cut_ps is None:
        return "Power cut: never (the card keeps power: what it holds, its cache included, counts as on the medium)"
    when = format_ps(result.power_cut_ps - result.entry_ps) + " after entry"
    if result.cut_before_return:
        when += ", before panic_write returned"
    report = result.power_cut_report
    lost = (f": {len(report.lost_cached)} cached block(s) lost, {len(report.lost_queued)} queued block(s) lost, "
            f"{len(report.torn)} torn" if report else "")
    return f"Power cut: {result.power_cut} ({when}){lost}"


def _record_line(result: PanicWriteResult) -> str:
    mode = "DDR" if result.ddr else "SDR"
    where = (f"absolute sector {result.start_sector}" if result.start_sector is not None else "no sector (not prepared)")
    bus = f"{result.transfer.upper()}, {result.bus_width}-bit {mode} bus at {result.sd_clock_hz / 1e6:.3f} MHz"
    if not result.commands:
        return f"Record write: {result.sectors} sectors for {where}, never sent ({bus})"
    return f"Record write: {result.sectors} sectors at {where}, {bus}"


def _timeout_line(result: PanicWriteResult) -> str:
    poll = f"poll timeout {result.poll_timeout_ms} ms"
    data = f"data timeout {format_ps(result.data_timeout_ns * 1000)} (mmc_set_data_timeout)"
    if result.timeout_control is None:
        return f"Timeout Control: not programmed (no data command reached the controller); {data}; {poll}"
    return (f"Timeout Control: 0x{result.timeout_control:X} (TMCLK x 2^{13 + (result.timeout_control & 0xF)}); "
            f"{data}; {poll}")


def render_text(result: PanicWriteResult) -> str:
    """The readable report of one emulated panic write."""
    accesses = ", ".join(f"{n} {kind}" for kind, n in result.register_accesses.items())
    commands = " ".join(map(_command_text, result.commands)) or "(none)"
    if any(c.auto for c in result.commands):
        commands += "   (auto: issued by the controller, Auto CMD12/CMD23)"
    config = result.config
    version = SDHCI_SPEC_VERSIONS.get(config.controller.version, f"code {config.controller.version}")
    span = ("entry to power cut (it never returned)" if result.cut_before_return else "entry to return")
    lines = [
        f"Verdict: {result.verdict.upper()} - {_verdict_sentence(result)}",
        "",
        f"Setup: card {config.card_preset}, SDHCI v{version} ({config.controller_preset}), "
        f"platform {config.platform_preset}, pstore on {config.pstore.blkdev}, patch {config.run.patch}",
        *_entry_lines(result),
        *(f"Note: {note}" for note in result.notes),
        _power_cut_line(result),
        _record_line(result),
        f"Commands on the bus: {commands}",
        "",
        f"Card initialisation (before the panic, not in the total): {format_ps(result.init_ps)}",
        f"panic_write, {span}: {format_ps(result.total_ps)}",
        *_phase_lines(result),
        "",
        f"Poll iterations: {result.poll_iterations}",
        f"Register accesses: {accesses or '(none)'}",
        _timeout_line(result),
    ]
    if len(result.writes) > 1:
        lines.append("panic_write calls (off, sects -> returned): " + ", ".join(
            f"({w.off}, {w.sects} -> {'power cut' if w.interrupted else 'fault' if w.returned is None else w.returned})"
            for w in result.writes))
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


def _record_time(tv_sec: int, tv_nsec: int) -> str:
    """seconds.nanoseconds, or both fields as stored when tv_nsec is outside 0..999999999."""
    if 0 <= tv_nsec < 1_000_000_000:
        return f"{tv_sec}.{tv_nsec:09d}"
    return f"tv_sec {tv_sec}, tv_nsec {tv_nsec} (out of range)"


def render_records_text(listing: RecordListing) -> str:
    """The readable form of `inspect`: each record as its mounted pstore file shows it."""
    lines = [f"{len(listing.records)} record(s), {len(listing.errors)} rejected zone(s)"]
    for r in listing.records:
        lines.append("")
        lines.append(
            f"== {r.filename} (zone {r.zone_index}): {r.reason_name}, counter {r.counter}, "
            f"time {_record_time(r.tv_sec, r.tv_nsec)}{', compressed' if r.compressed else ''} =="
        )
        lines.append(r.mounted_content().decode("utf-8", errors="replace").rstrip("\n"))
    for zone, message in listing.errors:
        lines.append(f"zone {zone}: rejected: {message}")
    return "\n".join(lines) + "\n"
