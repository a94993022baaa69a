"""Run one emulated panic write end to end and say what happened to the record.

Builds card, controller, host driver and runner from an EmulatorConfig,
initialises the card as Linux would at boot, registers mmcpstore, then lets
pstore/zone make its panic_write calls (the record, then any dirty-zone
flushes). The result answers: what did panic_write return, is the record on
the medium at the right place after a power cut at that moment, how long did
it take and where did the time go, and which weakness of the patch bit.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, NamedTuple

from emmc_card import EmmcCard, InjectedStall
from emmc_card.storage import USER, Storage
from sdhci.config import REASONS, SECTOR, EmulatorConfig
from sdhci.controller import SdhciController
from sdhci.driver.mmc_core import EBUSY, NSEC_PER_MSEC, KernelOops, MmcCard
from sdhci.driver.mmc_init import CardInitError, InitSettings, mmc_init
from sdhci.driver.mmcpstore import Mmcpstore, PanicWriteTrace
from sdhci.driver.ops import DriverGen, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.driver.runner import SyncRunner
from sdhci.driver.sdhci_host import HostSetupError, SdhciHost
from sdhci.memory import HostMemory
from sdhci.pstore import PanicWrite, Partition, PstoreZone, panic_text, write_partition_table

__all__ = ["Finding", "PanicWriteCall", "PanicWriteResult", "EmulationError", "PanicSession",
           "run_panic_write", "run_panic_writes", "pstore_panic_calls"]

#: Phase keys, highest priority first: a picosecond covered by several phases counts for the first.
#: The bus phases come from the controller's trace (a data timeout counts as busy: it runs while
#: DAT0 is held low); host_access is the CPU in register operations, a Poll for its whole span
#: (its waits between reads included); other is what is left (delays, controller latencies).
PHASE_PRIORITY = ("command_response", "data", "crc_status", "busy", "dma", "host_access", "other")
_TRACE_PHASE = {"command": "command_response", "response": "command_response", "data": "data",
                "crc_status": "crc_status", "busy": "busy", "dma": "dma"}
# What a timeout event waited for: a data timeout runs while DAT0 is held busy (a write's
# program time), a command timeout while CMD waits for a response.
_TIMEOUT_PHASE = {"data": "busy", "crc_status": "crc_status", "command": "command_response"}
_HOST_OPS = (Read, Write, ReadBurst, WriteBurst, Poll)


class EmulationError(ValueError):
    """The configured system cannot run (host refused, card never initialised): one readable line.

    A ValueError because, like a ConfigError, it comes from what was configured.
    """


@dataclass
class Finding:
    """A weakness of the patch that bit in this run."""
    code: str      # stable id, e.g. 'errors-swallowed'
    message: str   # one readable sentence with the numbers


class PanicWriteCall(NamedTuple):
    """One panic_write call: (off, sects) relative to the partition; returned None = the kernel faulted."""
    off: int
    sects: int
    returned: int | None


@dataclass
class PanicWriteResult:
    """What one emulated panic did (the contract the CLI, report and VCD code read).

    returned is -EFAULT (-14) when the record write itself faulted in the
    port (a NULL dereference the kernel would oops on), -ENODEV (-19) when
    mmcpstore never registered. phases_ps splits total_ps by the priority
    in PHASE_PRIORITY (a picosecond in several phases counts for the first).
    """
    returned: int
    durable: bool
    silent_loss: bool
    total_ps: int
    init_ps: int
    start_sector: int
    sectors: int
    sd_clock_hz: int
    bus_width: int
    ddr: bool
    transfer: str
    commands: list[int]
    phases_ps: dict[str, int]
    poll_iterations: int
    register_accesses: dict[str, int]
    timeout_control: int
    data_timeout_ns: int
    poll_timeout_ms: int
    findings: list[Finding]
    trace: list
    op_log: list
    config: EmulatorConfig
    writes: list = field(default_factory=list)
    wall_ns: int = 0            # host wall-clock time the emulator spent on the record's panic_write call


@dataclass
class _RecordWindow:
    """Where the record write sits in the run's logs: time span and the log positions at its entry."""
    t0: int
    log_start: int
    timeout_start: int
    error_start: int
    t1: int = 0
    port: PanicWriteTrace | None = None     # what the port saw inside the call
    timeout_ns: int = 0                      # data->timeout_ns from mmc_set_data_timeout
    wall_ns: int = 0                         # emulator wall-clock time of the call


class _StorageFile(io.RawIOBase):
    """The card's user area as a seekable binary file (for the partition-table code)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._pos = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._storage.size(USER)}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        end = self._storage.size(USER) if size < 0 else min(self._pos + size, self._storage.size(USER))
        data = self._storage.read(USER, self._pos, max(0, end - self._pos))
        self._pos += len(data)
        return data

    def write(self, data: Any) -> int:
        data = bytes(data)
        self._storage.write(USER, self._pos, data)
        self._pos += len(data)
        return len(data)


class _OverlayStorage:
    """Copy-on-write view of a Storage: a power cut on a copy of the card must not touch the real medium."""

    def __init__(self, base: Storage) -> None:
        self._base = base
        self._writes: list[tuple[int, int, bytes]] = []

    def size(self, partition: int) -> int:
        return self._base.size(partition)

    def read(self, partition: int, offset: int, length: int) -> bytes:
        out = bytearray(self._base.read(partition, offset, length))
        for part, pos, data in self._writes:
            lo, hi = max(pos, offset), min(pos + len(data), offset + length)
            if part == partition and lo < hi:
                out[lo - offset:hi - offset] = data[lo - pos:hi - pos]
        return bytes(out)

    def write(self, partition: int, offset: int, data: bytes) -> None:
        self._writes.append((partition, offset, bytes(data)))

    def flush(self) -> None:
        """Nothing to persist: the overlay lives only for the durability check."""

    def close(self) -> None:
        """Nothing to close: the real medium belongs to the real card."""


def _within(storage: Storage | _OverlayStorage, offset: int, length: int) -> bool:
    """Whether bytes offset..offset+length exist in the user area (a write may aim past the card)."""
    return 0 <= offset and offset + length <= storage.size(USER)


def _power_cut_copy(card: EmmcCard, t_ps: int) -> tuple[EmmcCard, _OverlayStorage]:
    """A deep copy of the card, over a copy-on-write medium, with its power cut at ``t_ps``."""
    overlay = _OverlayStorage(card.storage)
    shadow = copy.deepcopy(card, memo={id(card.storage): overlay})
    shadow.power_cut(t_ps)
    return shadow, overlay


def _phases(trace: list, log: list, t0: int, t1: int) -> dict[str, int]:
    """Split [t0, t1) among the phases by PHASE_PRIORITY; the parts sum to t1 - t0."""
    rank = {name: i for i, name in enumerate(PHASE_PRIORITY)}
    edges: list[tuple[int, int, int]] = []

    def add(start: int, end: int, phase: str) -> None:
        start, end = max(start, t0), min(end, t1)
        if start < end:
            edges.append((start, 1, rank[phase]))
            edges.append((end, -1, rank[phase]))

    for event in trace:
        phase = _TRACE_PHASE.get(event.kind)
        if event.kind == "timeout":
            phase = _TIMEOUT_PHASE.get(event.detail.get("what"), "other")
        if phase is not None:
            add(event.start_ps, event.end_ps, phase)
    for record in log:
        if isinstance(record.op, _HOST_OPS):
            add(record.start_ps, record.end_ps, "host_access")
    totals = dict.fromkeys(PHASE_PRIORITY, 0)
    active = [0] * len(PHASE_PRIORITY)
    edges.sort()
    at = t0
    for t, delta, r in edges:
        if t > at:
            top = next((i for i, n in enumerate(active) if n), rank["other"])
            totals[PHASE_PRIORITY[top]] += t - at
            at = t
        active[r] += delta
    totals["other"] += t1 - at
    return totals


class PanicSession:
    """One board: card, controller, host driver and mmcpstore, driven through a SyncRunner."""

    def __init__(self, config: EmulatorConfig) -> None:
        config.validate()
        self.config = config
        card_config = dataclasses.replace(copy.deepcopy(config.card), seed=config.run.seed)
        if config.run.stall_ms:
            card_config.timing.injected_stalls.append(
                InjectedStall(block=0, duration_ps=round(config.run.stall_ms * 1_000_000_000)))
        self.card = EmmcCard(card_config, image_path=config.run.image)
        # The disk as it was partitioned before boot; Linux's view of the table (msdos numbering).
        self.partitions: list[Partition] = write_partition_table(
            _StorageFile(self.card.storage), [(p.start_sector, p.sectors) for p in config.pstore.partitions],
            primaries=config.pstore.primaries)
        self.memory = HostMemory()
        self.controller = SdhciController(config.controller, self.card, self.memory)
        self.host = SdhciHost(config.platform, config.run.transfer)
        self.runner = SyncRunner(self.controller, self.memory, config.platform)
        self.mmcpstore = Mmcpstore()
        self.mmc_card: MmcCard | None = None
        self.faults: list[KernelOops] = []

    def init_routine(self) -> DriverGen:
        """The boot-time bring-up as a driver routine (mmc_init with the run's board settings), for any runner."""
        run = self.config.run
        return mmc_init(self.host, InitSettings(run.bus_width, run.sd_clock_hz, run.enable_cache, run.ddr))

    def initialise(self) -> MmcCard:
        """Boot-time bring-up (mmc_init) on the SyncRunner; EmulationError on failure."""
        try:
            self.mmc_card = self.runner.run(self.init_routine())
        except (HostSetupError, CardInitError) as err:
            raise EmulationError(f"card initialisation failed: {err}") from None
        return self.mmc_card

    def register(self) -> None:
        """mmcpstore_card_set() as mmc_blk_probe() calls it for mmcblk0."""
        assert self.mmc_card is not None
        try:
            self.mmcpstore.mmcpstore_card_set(self.mmc_card, self.host.mmc, "mmcblk0", self.config.pstore_blk,
                                              self.partitions)
        except KernelOops as oops:
            self.faults.append(oops)

    def panic_write(self, buf: bytes, off: int, sects: int) -> int | None:
        """info->panic_write(buf, off, sects) as pstore/blk calls it; None when the port faulted."""
        callback = self.mmcpstore.panic_write_callback()
        if callback is None:
            return None
        try:
            return self.runner.run(callback(buf, off, sects))
        except KernelOops as oops:
            self.faults.append(oops)
            return None

    def unregister(self) -> None:
        """unregister_mmcpstore() at module exit; a NULL dereference is recorded as a fault."""
        try:
            self.mmcpstore.unregister_mmcpstore()
        except KernelOops as oops:
            self.faults.append(oops)

    def partition_reader(self, start_byte: int) -> Callable[[int, int], bytes]:
        """read(offset, length) within a partition, as pstore/zone recovery reads it."""
        return lambda off, n: self.card.read(USER, start_byte + off, n)


def run_panic_write(config: EmulatorConfig) -> PanicWriteResult:
    """Initialise, register, and run the panic path of pstore/zone through mmcpstore; see PanicWriteResult."""
    return _run(config, pstore_panic_calls)


def run_panic_writes(config: EmulatorConfig, calls: list[tuple[bytes, int, int]],
                     unregister: bool = False) -> PanicWriteResult:
    """As run_panic_write, but with the given panic_write(buf, off, sects) calls instead of pstore's.

    For scenarios pstore/zone does not produce by itself (a single-sector
    write, a write past the partition, a second write in the same panic).
    The first call is the one the result describes. ``unregister`` runs
    unregister_mmcpstore() afterwards, as module exit would.
    """
    def fixed(_session: PanicSession) -> Generator[PanicWrite, int | None, None]:
        for buf, off, sects in calls:
            yield PanicWrite(bytes(buf), off, sects)
    return _run(config, fixed, unregister)


def pstore_panic_calls(session: PanicSession) -> Generator[PanicWrite, int | None, Any]:
    """pstore/zone's panic path on the registered partition: the record, then any dirty-zone flushes."""
    config = session.config
    cxt = session.mmcpstore
    blk = config.pstore_blk
    text = panic_text(random.Random(config.run.seed), blk.kmsg_size * 1024, config.run.uptime_s)
    zone = PstoreZone(blk, cxt.size, session.partition_reader(cxt.start_sect * SECTOR))
    return (yield from zone.kmsg_panic(text, REASONS[config.run.reason], config.run.panic_time_s, 0))


def _run(config: EmulatorConfig, source: Callable[[PanicSession], Generator[PanicWrite, int | None, Any]],
         unregister: bool = False) -> PanicWriteResult:
    session = PanicSession(config)
    try:
        session.initialise()
        init_ps = session.runner.t_ps
        session.register()
        if not session.mmcpstore.registered:
            if unregister:
                session.unregister()
            return _unregistered(session, init_ps)
        writes, record, window = _drive(session, source(session))
        if unregister:
            session.unregister()
        return _result(session, record, writes, window, init_ps)
    finally:
        session.card.close()


def _drive(session: PanicSession, gen: Generator[PanicWrite, int | None, Any]
           ) -> tuple[list[PanicWriteCall], PanicWrite, _RecordWindow]:
    """Make each panic_write call the source asks for, feeding back its return value."""
    cxt = session.mmcpstore
    writes: list[PanicWriteCall] = []
    record: PanicWrite | None = None
    window: _RecordWindow | None = None
    try:
        request = next(gen)
        while True:
            entry = _RecordWindow(session.runner.t_ps, len(session.runner.log),
                                  len(session.host.log.timeout_control), len(session.host.log.errors))
            wall_start = time.perf_counter_ns()
            returned = session.panic_write(request.buf, request.off_sectors, request.sects)
            entry.wall_ns = time.perf_counter_ns() - wall_start
            writes.append(PanicWriteCall(request.off_sectors, request.sects, returned))
            if record is None:
                record, window = request, entry
                window.t1 = session.runner.t_ps
                window.port = cxt.last
                window.timeout_ns = cxt.mrq.data.timeout_ns if cxt.mrq and cxt.mrq.data else 0
            if returned is None:
                break
            request = gen.send(returned)
    except StopIteration:
        pass
    if record is None or window is None:
        raise EmulationError("pstore made no panic_write call")
    return writes, record, window


def _unregistered(session: PanicSession, init_ps: int) -> PanicWriteResult:
    """No backend registered: pstore never calls panic_write."""
    findings: list[Finding] = []
    cxt = session.mmcpstore
    if cxt.dev_name and cxt.start_sect == 0 and any("Non-existent" in m for m in cxt.messages):
        findings.append(Finding("start-sector-zero", f"{cxt.dev_name} starts at sector 0, which mmcpstore_card_set "
                                "takes for a non-existent partition: no pstore backend, no panic record"))
    for oops in session.faults:
        findings.append(Finding(oops.code, str(oops)))
    reason = "; ".join(cxt.messages) or "mmcpstore did not register"
    return PanicWriteResult(
        returned=-19, durable=False, silent_loss=False, total_ps=0, init_ps=init_ps, start_sector=0, sectors=0,
        sd_clock_hz=session.host.actual_clock, bus_width=session.host.bus_width, ddr=session.card.ddr,
        transfer=session.host.transfer, commands=[], phases_ps=dict.fromkeys(PHASE_PRIORITY, 0), poll_iterations=0,
        register_accesses={"read": 0, "write": 0, "burst_words": 0}, timeout_control=0, data_timeout_ns=0,
        poll_timeout_ms=0, findings=findings + [Finding("not-registered", reason)], trace=[], op_log=[],
        config=session.config, writes=[])


def _result(session: PanicSession, record: PanicWrite, writes: list[PanicWriteCall], window: _RecordWindow,
            init_ps: int) -> PanicWriteResult:
    cxt = session.mmcpstore
    runner = session.runner
    t0, t1, trace_info = window.t0, window.t1, window.port
    returned = writes[0].returned
    bus_trace = [e for e in session.controller.trace if e.start_ps < t1 and e.end_ps > t0]
    op_log = [r for r in runner.log[window.log_start:] if r.start_ps < t1]
    expected_byte = (cxt.start_sect + record.off_sectors) * SECTOR
    data = bytes(record.buf[:record.sects * SECTOR])
    shadow, overlay = _power_cut_copy(session.card, t1)
    durable = returned == 0 and _within(overlay, expected_byte, len(data)) and \
        overlay.read(USER, expected_byte, len(data)) == data
    findings = _findings(session, writes, trace_info, window.timeout_ns, returned, durable, shadow,
                         session.host.log.errors[window.error_start:], expected_byte, data)
    timeouts = session.host.log.timeout_control[window.timeout_start:]
    sectors = trace_info.nsects if trace_info else record.sects
    return PanicWriteResult(
        returned=returned if returned is not None else -14,
        durable=durable,
        silent_loss=returned == 0 and not durable,
        total_ps=t1 - t0,
        init_ps=init_ps,
        start_sector=trace_info.sect_offset if trace_info else cxt.start_sect + record.off_sectors,
        sectors=sectors,
        sd_clock_hz=session.host.actual_clock,
        bus_width=session.host.bus_width,
        ddr=session.card.ddr,
        transfer=session.host.transfer,
        commands=[e.cmd for e in bus_trace if e.kind == "command" and e.start_ps >= t0],
        phases_ps=_phases(session.controller.trace, op_log, t0, t1),
        poll_iterations=sum(r.value.iterations for r in op_log if isinstance(r.op, Poll)),
        register_accesses={"read": sum(1 for r in op_log if isinstance(r.op, Read))
                           + sum(r.value.iterations for r in op_log if isinstance(r.op, Poll)),
                           "write": sum(1 for r in op_log if isinstance(r.op, Write)),
                           "burst_words": sum(r.op.count if isinstance(r.op, ReadBurst) else len(r.op.words)
                                              for r in op_log if isinstance(r.op, (ReadBurst, WriteBurst)))},
        timeout_control=timeouts[0] if timeouts else 0,
        data_timeout_ns=window.timeout_ns,
        poll_timeout_ms=trace_info.timeout_ms if trace_info and trace_info.timeout_ms is not None else 0,
        findings=findings,
        trace=bus_trace,
        op_log=op_log,
        config=session.config,
        writes=writes,
        wall_ns=window.wall_ns,
    )


def _findings(session: PanicSession, writes: list[PanicWriteCall], trace_info: PanicWriteTrace | None,
              timeout_ns: int, returned: int | None, durable: bool, shadow: EmmcCard, host_errors: list[str],
              expected_byte: int, data: bytes) -> list[Finding]:
    """Name each weakness of the patch that bit in this run, with the numbers."""
    out: list[Finding] = []
    cxt = session.mmcpstore
    card = session.mmc_card
    assert card is not None
    if returned == 0 and trace_info is not None and trace_info.claimed:
        errors = {"mmc_start_request()": trace_info.start_error,
                  "req_completion_poll()": trace_info.poll_result or 0, "cmd->error": trace_info.cmd_error,
                  "data->error": trace_info.data_error, "stop->error": trace_info.stop_error}
        bad = ", ".join(f"{k} = {v}" for k, v in errors.items() if v)
        if bad:
            seen = f" (the host saw: {host_errors[0]})" if host_errors else ""
            out.append(Finding("errors-swallowed", f"mmcpstore_panic_write returned 0 although {bad}{seen}: the "
                               "patch checks none of them" + ("." if durable else ", and the record is not durable "
                                                             "(silent loss).")))
    if timeout_ns % NSEC_PER_MSEC:
        out.append(Finding("timeout-truncated", f"data timeout {timeout_ns} ns became {timeout_ns // NSEC_PER_MSEC} ms "
                           "for req_completion_poll (timeout_ns / NSEC_PER_MSEC rounds down)"
                           + (": the poll gave up at once" if timeout_ns < NSEC_PER_MSEC else "")))
    if not card.blockaddr and trace_info is not None:
        arg = trace_info.sect_offset
        landed = _within(session.card.storage, arg, len(data)) and session.card.read(USER, arg, len(data)) == data
        where = (f"it landed at byte {arg} (sector {arg / SECTOR:g})" if landed
                 else "the card did not store it there (misaligned or out of range)")
        out.append(Finding("byte-addressing", f"CMD{trace_info.opcode} argument {arg} is a sector number but the card "
                           f"is byte-addressed: {where}, not at byte {expected_byte} (sector {expected_byte // SECTOR})."))
    for oops in session.faults:
        out.append(Finding(oops.code, f"{oops} (kernel oops inside the panic path; the write never happened)"))
    part_sectors = cxt.size // SECTOR
    for call in writes:
        if call.off + call.sects > part_sectors:
            first = cxt.start_sect + call.off
            sent = first & 0xFFFF_FFFF             # the unsigned int sect_offset of mmcpstore_panic_write_req
            where = (f"absolute sectors {sent}..{sent + call.sects - 1}" if sent == first else
                     f"sector {first} truncated to 32 bits: absolute sectors {sent}..{sent + call.sects - 1}")
            out.append(Finding("no-bound-check", f"panic_write(off={call.off}, sects={call.sects}) ends at sector "
                               f"{call.off + call.sects} of a {part_sectors}-sector partition; nothing checks it, "
                               f"so it goes to {where}."))
    busy = [c for c in writes[1:] if c.returned == -EBUSY]
    if busy and session.host.mmc.claimed:
        out.append(Finding("claim-never-released", f"{len(busy)} later panic_write call(s) got -EBUSY (first at "
                           f"off={busy[0].off}, {busy[0].sects} sectors): the host claim taken by the first write "
                           "is never released."))
    report = shadow.power_cut_report
    if card.cache_on and report is not None and returned == 0:
        lost = [key for key in report.lost_cached if expected_byte <= key[1] < expected_byte + len(data)]
        if lost:
            out.append(Finding("cache-not-flushed", f"{len(lost)} of the record's {len(data) // SECTOR} blocks were "
                               "still in the eMMC's volatile cache at return (no CMD6 FLUSH_CACHE, no reliable write): "
                               "a power cut then loses them."))
    return out
