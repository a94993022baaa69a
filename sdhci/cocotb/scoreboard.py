"""Scoreboard: the same panic write on the Python model and on RTL, compared.

Three checks (DESIGN.md decision 4: the model is cycle-approximate, its
controller latencies calibrated against RTL):
1. the pstore partition's bytes on both cards are identical, and hold the
   record where pstore put it;
2. the commands and arguments on the bus, from initialisation to the end of
   the record's write, are identical, in order;
3. every bus phase of the record's write lasts, and starts after what
   triggers it, the same on both within `tolerance_cycles` SD clocks.

Phases (each sample in ps; paired in order between the backends):
  command issue   command register write (start of the access) -> start bit;
                  an Auto CMD12 counts from the end of the preceding CRC status
  command         the token (48 cycles)
  NCR             command end bit -> response start bit
  response        the response token
  data issue      later of (end of the last Buffer Data Port burst begun before the
                  block, previous bus event end) -> start bit (may be negative)
  data            one block: start bit, data, CRC16, end bit
  CRC status gap  data end bit -> token start bit
  CRC status      the token
  busy gap        CRC status (or R1b response) end -> DAT0 low
  busy            DAT0 low

Bus events may be sdhci.trace.BusEvent (model) or emmc_card.bfm.BusRecord
(RTL): both have kind, start_ps, end_ps, cmd, detail. Op logs are the
runners' OpRecord lists. No cocotb import: this module runs in plain pytest.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from emmc_card.storage import USER
from sdhci import regmap as rm
from sdhci.cocotb.scenario import ScenarioRun, panic_scenario, run_on_model
from sdhci.config import EmulatorConfig
from sdhci.driver.ops import Write, WriteBurst
from sdhci.emulation import PanicSession

PHASES = ("command issue", "command", "NCR", "response", "data issue", "data",
          "CRC status gap", "CRC status", "busy gap", "busy")
BUS_KINDS = ("command", "response", "data", "crc_status", "busy")


def _is_command_write(op: Any) -> bool:
    """A register write that issues a command (the Command register's upper byte)."""
    if not isinstance(op, Write):
        return False
    first, last = op.offset, op.offset + op.width // 8
    return first <= rm.SDHCI_COMMAND + 1 < last


def phase_samples(events: Iterable[Any], op_log: Sequence[Any], start_ps: int, end_ps: int
                  ) -> dict[str, list[int]]:
    """Per phase, the samples (ps) of the bus events in [start_ps, end_ps), in bus order."""
    bus = sorted((e for e in events if e.kind in BUS_KINDS and start_ps <= e.start_ps < end_ps),
                 key=lambda e: (e.start_ps, BUS_KINDS.index(e.kind)))
    issues = [r.start_ps for r in op_log if _is_command_write(r.op) and start_ps <= r.start_ps < end_ps]
    bursts = [(r.start_ps, r.end_ps) for r in op_log if isinstance(r.op, WriteBurst) and start_ps <= r.start_ps < end_ps]
    out: dict[str, list[int]] = defaultdict(list)
    last_command = None
    prev_end: int | None = None
    prev_trigger: dict[str, int] = {}
    for e in bus:
        duration = e.end_ps - e.start_ps
        if e.kind == "command":
            written = [t for t in issues if t <= e.start_ps and (last_command is None or t > last_command.start_ps)]
            if written:
                out["command issue"].append(e.start_ps - written[-1])
            elif "crc_status" in prev_trigger:
                out["command issue"].append(e.start_ps - prev_trigger["crc_status"])
            out["command"].append(duration)
            last_command = e
        elif e.kind == "response":
            if last_command is not None:
                out["NCR"].append(e.start_ps - last_command.end_ps)
            out["response"].append(duration)
            prev_trigger["response"] = e.end_ps
        elif e.kind == "data":
            filled = [end for begin, end in bursts if begin <= e.start_ps]
            ref = max([t for t in (filled[-1] if filled else None, prev_end) if t is not None], default=e.start_ps)
            out["data issue"].append(e.start_ps - ref)
            out["data"].append(duration)
            prev_trigger["data"] = e.end_ps
        elif e.kind == "crc_status":
            if "data" in prev_trigger:
                out["CRC status gap"].append(e.start_ps - prev_trigger["data"])
            out["CRC status"].append(duration)
            prev_trigger["crc_status"] = e.end_ps
        elif e.kind == "busy":
            ref = max(prev_trigger.get("crc_status", 0), prev_trigger.get("response", 0))
            out["busy gap"].append(e.start_ps - ref)
            out["busy"].append(duration)
        prev_end = e.end_ps if prev_end is None else max(prev_end, e.end_ps)
    return dict(out)


def bus_commands(events: Iterable[Any], start_ps: int, end_ps: int) -> list[tuple[int, int]]:
    """(index, argument) of every command token in [start_ps, end_ps), in order."""
    return [(e.cmd, e.detail.get("argument", 0)) for e in sorted(events, key=lambda e: e.start_ps)
            if e.kind == "command" and start_ps <= e.start_ps < end_ps]


@dataclass
class PhaseRow:
    """One phase's comparison, in SD clock cycles."""

    phase: str
    samples: int
    model_mean: float
    rtl_mean: float
    max_deviation: float

    def ok(self, tolerance: float) -> bool:
        return self.max_deviation <= tolerance


@dataclass
class Comparison:
    """Everything the scoreboard found; `ok` is the verdict."""

    period_ps: int
    tolerance_cycles: float
    image_equal: bool
    record_on_both: bool
    commands_model: list[tuple[int, int]]
    commands_rtl: list[tuple[int, int]]
    rows: list[PhaseRow] = field(default_factory=list)
    structure_errors: list[str] = field(default_factory=list)
    totals_ps: tuple[int, int] | None = None    # (model, RTL) panic_write durations, for information

    @property
    def commands_equal(self) -> bool:
        return self.commands_model == self.commands_rtl

    @property
    def ok(self) -> bool:
        return (self.image_equal and self.record_on_both and self.commands_equal and not self.structure_errors
                and all(row.ok(self.tolerance_cycles) for row in self.rows))

    def table(self) -> str:
        """The per-phase deviation table (SD clocks of `period_ps`)."""
        lines = [f"{'phase':<16}{'n':>5}{'model':>11}{'RTL':>11}{'max dev':>9}  (SD clocks of {self.period_ps} ps)"]
        for r in self.rows:
            flag = "" if r.ok(self.tolerance_cycles) else "  <-- beyond tolerance"
            lines.append(f"{r.phase:<16}{r.samples:>5}{r.model_mean:>11.2f}{r.rtl_mean:>11.2f}"
                         f"{r.max_deviation:>9.2f}{flag}")
        lines.append(f"partition bytes identical: {self.image_equal}; record on both cards: {self.record_on_both}; "
                     f"commands identical: {self.commands_equal} ({len(self.commands_rtl)} on RTL)")
        if self.totals_ps is not None:
            model, rtl = self.totals_ps
            lines.append(f"panic_write entry to return: model {model / 1e6:.3f} us, RTL {rtl / 1e6:.3f} us "
                         f"({(model - rtl) / self.period_ps:+.0f} SD clocks; host polling included, not judged)")
        lines.extend(f"structure: {s}" for s in self.structure_errors)
        return "\n".join(lines)


def compare(model: dict[str, list[int]], rtl: dict[str, list[int]], *, period_ps: int,
            tolerance_cycles: float = 2.0, image_equal: bool, record_on_both: bool,
            commands_model: list[tuple[int, int]], commands_rtl: list[tuple[int, int]]) -> Comparison:
    """Pair each phase's samples in order and measure the deviation in SD clocks."""
    result = Comparison(period_ps, tolerance_cycles, image_equal, record_on_both, commands_model, commands_rtl)
    for phase in PHASES:
        m, r = model.get(phase, []), rtl.get(phase, [])
        if len(m) != len(r):
            result.structure_errors.append(f"{phase}: {len(m)} on the model, {len(r)} on RTL")
        pairs = list(zip(m, r))
        if not pairs:
            continue
        result.rows.append(PhaseRow(
            phase, len(pairs),
            sum(a for a, _ in pairs) / len(pairs) / period_ps,
            sum(b for _, b in pairs) / len(pairs) / period_ps,
            max(abs(a - b) for a, b in pairs) / period_ps))
    return result


@dataclass
class Side:
    """One backend's run of the scenario, reduced to what the scoreboard compares."""

    samples: dict[str, list[int]]        # phases of the record's write
    commands: list[tuple[int, int]]      # (index, argument) during the record's write
    all_commands: list[tuple[int, int]]  # ... during the whole scenario, initialisation included
    record: bytes                        # the kmsg record pstore asked to write
    record_offset: int                   # where it belongs within the partition, bytes
    partition: bytes                     # the pstore partition as the card returns it afterwards
    returned: list[int | None]
    total_ps: int                        # the record's panic_write, entry to return

    @property
    def record_on_card(self) -> bool:
        return self.partition[self.record_offset:self.record_offset + len(self.record)] == self.record


def side(session: PanicSession, run: ScenarioRun, events: Iterable[Any], op_log: Sequence[Any]) -> Side:
    """Reduce one backend's run (its card, bus events and op log) to a Side."""
    events = list(events)
    record = bytes(run.record.buf[:run.record.sects * 512])
    part_start = session.mmcpstore.start_sect * 512
    return Side(phase_samples(events, op_log, run.record_start_ps, run.record_end_ps),
                bus_commands(events, run.record_start_ps, run.record_end_ps),
                bus_commands(events, 0, run.record_end_ps),
                record, run.record_byte - part_start,
                session.card.read(USER, part_start, session.mmcpstore.size), list(run.returned),
                run.record_end_ps - run.record_start_ps)


def model_side(config: EmulatorConfig) -> tuple[Side, PanicSession]:
    """Run the scenario on the Python controller model."""
    session = PanicSession(config)
    run = run_on_model(session, panic_scenario(session))
    return side(session, run, session.controller.trace, session.runner.log), session


def compare_sides(model: Side, rtl: Side, period_ps: int, tolerance_cycles: float = 2.0) -> Comparison:
    """Whole pstore partition, every command of the scenario, and the record's phases."""
    result = compare(model.samples, rtl.samples, period_ps=period_ps, tolerance_cycles=tolerance_cycles,
                     image_equal=model.partition == rtl.partition,
                     record_on_both=model.record_on_card and rtl.record_on_card,
                     commands_model=model.all_commands, commands_rtl=rtl.all_commands)
    result.totals_ps = (model.total_ps, rtl.total_ps)
    return result
