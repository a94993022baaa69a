"""Scoreboard: the same panic write on the Python model and on RTL, compared.

Three checks (the model is cycle-approximate: bus framing exact, its
controller latencies calibrated against RTL; docs/kit.md):
1. the pstore partition's bytes on both cards are identical, and hold the
   record where pstore put it;
2. the commands and arguments on the bus, from initialisation to the end of
   the record's write, are identical, in order;
3. every bus phase of the record's write lasts, and starts after what
   triggers it, the same on both: framing phases (token lengths fixed by the
   protocol) exactly, latency phases within a stated tolerance
   (`LATENCY_TOLERANCE_CYCLES` SD clocks by default). Each phase reports its
   worst sample with the block or command it belongs to.

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

Bus events may be sdhci.trace.BusEvent (model) or sdhci.kit.bfm.BusRecord
(RTL): both have kind, start_ps, end_ps, cmd, detail. Op logs are the
runners' OpRecord lists. No cocotb import: this module runs in plain pytest.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from emmc_card.storage import USER
from sdhci import regmap as rm
from sdhci.kit.scenario import ScenarioRun, panic_scenario, run_on_model
from sdhci.config import EmulatorConfig
from sdhci.driver.ops import Write, WriteBurst
from sdhci.emulation import PanicSession

PHASES = ("command issue", "command", "NCR", "response", "data issue", "data",
          "CRC status gap", "CRC status", "busy gap", "busy")
BUS_KINDS = ("command", "response", "data", "crc_status", "busy")
#: Token lengths fixed by the bus protocol: a 48-clock command or response, a
#: 136-clock R2, a 1 + 8 x bytes / width + 16 + 1 clock data block (530 for
#: 512 bytes on 8 lines), the 5-clock CRC status token. They compare exactly.
FRAMING = frozenset({"command", "response", "data", "CRC status"})
#: Stated tolerance of the latency phases (controller pipeline delays, the
#: card's gaps and busy times as each side saw them), in SD clocks.
LATENCY_TOLERANCE_CYCLES = 2.0
# Commands after which the count of data blocks restarts (not CMD12/CMD13,
# which stop or poll the transfer in flight).
_TRANSFER_EXTRAS = frozenset({12, 13})


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of a phase, ps, and the bus item it belongs to (e.g. 'block 3 of CMD25')."""

    ps: int
    where: str


def phase_kind(phase: str) -> str:
    """'framing' (exact by protocol) or 'latency' (compared within a tolerance)."""
    return "framing" if phase in FRAMING else "latency"


def _is_command_write(op: Any) -> bool:
    """A register write that issues a command (the Command register's upper byte)."""
    if not isinstance(op, Write):
        return False
    first, last = op.offset, op.offset + op.width // 8
    return first <= rm.SDHCI_COMMAND + 1 < last


def phase_samples(events: Iterable[Any], op_log: Sequence[Any], start_ps: int, end_ps: int
                  ) -> dict[str, list[Sample]]:
    """Per phase, the samples of the bus events in [start_ps, end_ps), in bus order."""
    bus = sorted((e for e in events if e.kind in BUS_KINDS and start_ps <= e.start_ps < end_ps),
                 key=lambda e: (e.start_ps, BUS_KINDS.index(e.kind)))
    issues = [r.start_ps for r in op_log if _is_command_write(r.op) and start_ps <= r.start_ps < end_ps]
    bursts = [(r.start_ps, r.end_ps) for r in op_log if isinstance(r.op, WriteBurst) and start_ps <= r.start_ps < end_ps]
    out: dict[str, list[Sample]] = defaultdict(list)
    last_command = None
    transfer = "no command"              # the command whose data blocks are counted
    block = -1                           # index of the last data block of that command
    last_token = "no command"            # what the latest response or CRC status belonged to
    prev_end: int | None = None
    prev_trigger: dict[str, int] = {}

    def add(phase: str, ps: int, where: str) -> None:
        out[phase].append(Sample(ps, where))

    for e in bus:
        duration = e.end_ps - e.start_ps
        if e.kind == "command":
            where = f"CMD{e.cmd}"
            written = [t for t in issues if t <= e.start_ps and (last_command is None or t > last_command.start_ps)]
            if written:
                add("command issue", e.start_ps - written[-1], where)
            elif "crc_status" in prev_trigger:
                add("command issue", e.start_ps - prev_trigger["crc_status"], f"{where} (after {last_token})")
            add("command", duration, where)
            last_command = e
            if e.cmd not in _TRANSFER_EXTRAS:
                transfer, block = where, -1
        elif e.kind == "response":
            where = f"response to CMD{last_command.cmd}" if last_command is not None else "response"
            if last_command is not None:
                add("NCR", e.start_ps - last_command.end_ps, where)
            add("response", duration, where)
            prev_trigger["response"] = e.end_ps
            last_token = where
        elif e.kind == "data":
            block += 1
            where = f"block {block} of {transfer}"
            filled = [end for begin, end in bursts if begin <= e.start_ps]
            ref = max([t for t in (filled[-1] if filled else None, prev_end) if t is not None], default=e.start_ps)
            add("data issue", e.start_ps - ref, where)
            add("data", duration, where)
            prev_trigger["data"] = e.end_ps
        elif e.kind == "crc_status":
            where = f"CRC status of block {block} of {transfer}"
            if "data" in prev_trigger:
                add("CRC status gap", e.start_ps - prev_trigger["data"], where)
            add("CRC status", duration, where)
            prev_trigger["crc_status"] = e.end_ps
            last_token = where
        elif e.kind == "busy":
            ref = max(prev_trigger.get("crc_status", 0), prev_trigger.get("response", 0))
            where = f"busy after the {last_token}"
            add("busy gap", e.start_ps - ref, where)
            add("busy", duration, where)
        prev_end = e.end_ps if prev_end is None else max(prev_end, e.end_ps)
    return dict(out)


def bus_commands(events: Iterable[Any], start_ps: int, end_ps: int) -> list[tuple[int, int]]:
    """(index, argument) of every command token in [start_ps, end_ps), in order."""
    return [(e.cmd, e.detail.get("argument", 0)) for e in sorted(events, key=lambda e: e.start_ps)
            if e.kind == "command" and start_ps <= e.start_ps < end_ps]


@dataclass
class PhaseRow:
    """One phase's comparison, in SD clock cycles; `worst` names the sample that deviates most."""

    phase: str
    kind: str                      # framing or latency
    tolerance: float
    samples: int
    model_mean: float
    rtl_mean: float
    max_deviation: float
    worst: str
    worst_model: float
    worst_rtl: float

    @property
    def ok(self) -> bool:
        return self.max_deviation <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "kind": self.kind, "samples": self.samples,
                "model_mean_cycles": round(self.model_mean, 3), "rtl_mean_cycles": round(self.rtl_mean, 3),
                "worst_deviation_cycles": round(self.max_deviation, 3), "worst_at": self.worst,
                "worst_model_cycles": round(self.worst_model, 3), "worst_rtl_cycles": round(self.worst_rtl, 3),
                "tolerance_cycles": self.tolerance, "ok": self.ok}


@dataclass
class Comparison:
    """Everything the scoreboard found; `ok` is the verdict."""

    period_ps: int
    latency_tolerance: float
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
                and all(row.ok for row in self.rows))

    def table(self) -> str:
        """The per-phase table (SD clocks of `period_ps`) with each phase's worst sample."""
        lines = [f"{'phase':<16}{'kind':<9}{'n':>5}{'model':>9}{'RTL':>9}{'worst':>7}{'tol':>6}  worst sample "
                 f"(model / RTL; SD clocks of {self.period_ps} ps)"]
        for r in self.rows:
            flag = "" if r.ok else "  <-- beyond tolerance"
            lines.append(f"{r.phase:<16}{r.kind:<9}{r.samples:>5}{r.model_mean:>9.2f}{r.rtl_mean:>9.2f}"
                         f"{r.max_deviation:>7.2f}{r.tolerance:>6.1f}  {r.worst} "
                         f"({r.worst_model:.2f} / {r.worst_rtl:.2f}){flag}")
        lines.append(f"partition bytes identical: {self.image_equal}; record on both cards: {self.record_on_both}; "
                     f"commands identical: {self.commands_equal} ({len(self.commands_rtl)} on RTL)")
        if self.totals_ps is not None:
            model, rtl = self.totals_ps
            lines.append(f"panic_write entry to return: model {model / 1e6:.3f} us, RTL {rtl / 1e6:.3f} us "
                         f"({(model - rtl) / self.period_ps:+.0f} SD clocks; host polling included, not judged)")
        lines.extend(f"structure: {s}" for s in self.structure_errors)
        return "\n".join(lines)


def compare(model: dict[str, list[Sample]], rtl: dict[str, list[Sample]], *, period_ps: int,
            latency_tolerance: float = LATENCY_TOLERANCE_CYCLES, image_equal: bool, record_on_both: bool,
            commands_model: list[tuple[int, int]], commands_rtl: list[tuple[int, int]]) -> Comparison:
    """Pair each phase's samples in order and measure the deviation in SD clocks.

    Framing phases must agree exactly (0 clocks), latency phases within
    `latency_tolerance` clocks.
    """
    result = Comparison(period_ps, latency_tolerance, image_equal, record_on_both, commands_model, commands_rtl)
    for phase in PHASES:
        m, r = model.get(phase, []), rtl.get(phase, [])
        if len(m) != len(r):
            result.structure_errors.append(f"{phase}: {len(m)} on the model, {len(r)} on RTL")
        pairs = list(zip(m, r))
        if not pairs:
            continue
        worst_m, worst_r = max(pairs, key=lambda pair: abs(pair[0].ps - pair[1].ps))
        kind = phase_kind(phase)
        result.rows.append(PhaseRow(
            phase, kind, 0.0 if kind == "framing" else latency_tolerance, len(pairs),
            sum(a.ps for a, _ in pairs) / len(pairs) / period_ps,
            sum(b.ps for _, b in pairs) / len(pairs) / period_ps,
            abs(worst_m.ps - worst_r.ps) / period_ps, worst_r.where,
            worst_m.ps / period_ps, worst_r.ps / period_ps))
    return result


@dataclass
class Side:
    """One backend's run of the scenario, reduced to what the scoreboard compares."""

    samples: dict[str, list[Sample]]     # phases of the record's write
    commands: list[tuple[int, int]]      # (index, argument) during the record's write
    all_commands: list[tuple[int, int]]  # ... during the whole scenario, the bring-up included if it ran there
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
                bus_commands(events, 0 if run.brought_up else run.init_end_ps, run.record_end_ps),
                record, run.record_byte - part_start,
                session.card.read(USER, part_start, session.mmcpstore.size), list(run.returned),
                run.record_end_ps - run.record_start_ps)


def model_side(config: EmulatorConfig, bring_up: bool = True) -> tuple[Side, PanicSession]:
    """Run the scenario on the Python controller model (bring_up=False: the card brought up
    before the scenario, its commands left out, as an RTL bench with the bring-up shortcut)."""
    session = PanicSession(config)
    if not bring_up:
        session.initialise()
    run = run_on_model(session, panic_scenario(session, bring_up))
    return side(session, run, session.controller.trace, session.runner.log), session


def compare_sides(model: Side, rtl: Side, period_ps: int,
                  latency_tolerance: float = LATENCY_TOLERANCE_CYCLES) -> Comparison:
    """Whole pstore partition, every command of the scenario, and the record's phases."""
    result = compare(model.samples, rtl.samples, period_ps=period_ps, latency_tolerance=latency_tolerance,
                     image_equal=model.partition == rtl.partition,
                     record_on_both=model.record_on_card and rtl.record_on_card,
                     commands_model=model.all_commands, commands_rtl=rtl.all_commands)
    result.totals_ps = (model.total_ps, rtl.total_ps)
    return result
