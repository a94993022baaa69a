"""Run one emulated panic write end to end and say what happened to the record.

Builds card, controller, host driver and runner from an EmulatorConfig,
initialises the card as Linux would at boot, registers mmcpstore, then lets
pstore/zone make its panic_write calls (the record, then any dirty-zone
flushes). The power goes when run.power_cut says; from then on the medium is
what it is, and the verdict, the findings and the kept image are all read
from that one state. The result answers: what did panic_write return, how
much of the record survived, how long did it take and where did the time go,
and which weakness of the patch bit.
"""
from __future__ import annotations

import copy
import dataclasses
import io
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, NamedTuple

from emmc_card import EmmcCard, InjectedStall
from emmc_card.card import CardSnapshot
from emmc_card.program import PowerCutReport
from emmc_card.statecopy import FrozenState
from emmc_card.storage import USER, Storage
from sdhci import regmap as R
from sdhci.config import REASONS, SECTOR, EmulatorConfig, PowerCut
from sdhci.controller import SdhciController
from sdhci.driver.mmc_core import EBUSY, EINVAL, ETIMEDOUT, NSEC_PER_MSEC, KernelOops, MmcCard
from sdhci.driver.mmc_init import CardInitError, InitSettings, mmc_init
from sdhci.driver.mmcpstore import PanicWriteTrace
from sdhci.driver.ops import DriverGen, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.driver.runner import RunnerSnapshot, SyncRunner
from sdhci.driver.sdhci_host import HostSetupError, SdhciHost
from sdhci.driver.variants import VariantTrace, mmcpstore_for
from sdhci.memory import HostMemory
from sdhci.pstore import KMSG_DUMP_PANIC, PanicWrite, Partition, PstoreZone, ZoneError, blkdev_partno, \
    build_kmsg_zone, panic_text, parse_kmsg_zone, write_partition_table, zone_layout
from sdhci.pstore.zone import KMSG_TEXT_OFFSET

__all__ = ["Finding", "IssuedCommand", "MediumCheck", "PanicWriteCall", "PanicWriteResult", "EmulationError",
           "BootCache", "PanicSession", "SessionSnapshot", "VERDICTS", "run_panic_write", "run_panic_writes",
           "pstore_panic_calls"]

#: What became of the record: every byte on the medium; listed by Linux but partly wrong;
#: not listed (or an older record in its place); panic_write returned an error.
VERDICTS = ("durable", "torn", "lost", "error")

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
    """One panic_write call: (off, sects) relative to the partition.

    returned is None when the call never returned: the ported kernel code
    faulted (interrupted False) or the power went first (interrupted True).
    """
    off: int
    sects: int
    returned: int | None
    interrupted: bool = False


class IssuedCommand(NamedTuple):
    """A command that reached the bus: index, argument, and whether the controller issued it (Auto CMD12/23)."""
    index: int
    argument: int
    auto: bool = False


@dataclass(frozen=True)
class MediumCheck:
    """The record's bytes on the medium as the power cut left it.

    listed: 'this' when Linux lists the zone with this record's header,
    'older' when it lists an earlier record there, None when it lists nothing
    (no valid header: pstore/zone keeps no checksum, so a valid header is
    all Linux asks).
    """
    record_bytes: int
    intact_bytes: int
    listed: str | None

    @property
    def wrong_bytes(self) -> int:
        return self.record_bytes - self.intact_bytes

    @property
    def linux_lists(self) -> bool:
        """Whether a mounted pstore shows a record in the zone (this one or an older one)."""
        return self.listed is not None


@dataclass
class PanicWriteResult:
    """What one emulated panic did (the contract the CLI, report and VCD code read).

    returned is None when the power went before the record's panic_write
    returned, -EFAULT (-14) when the record write faulted in the port (a NULL
    dereference the kernel would oops on), -ENODEV (-19) when mmcpstore never
    registered. total_ps runs from entry to return (or to the power cut, if
    that came first); phases_ps splits it by PHASE_PRIORITY (a picosecond in
    several phases counts for the first). power_cut_ps is the absolute time
    of the cut, None for 'never'.
    """
    verdict: str
    returned: int | None
    medium: MediumCheck
    power_cut: PowerCut
    power_cut_ps: int | None
    power_cut_report: PowerCutReport | None
    entry_ps: int
    total_ps: int
    init_ps: int
    start_sector: int | None
    sectors: int
    sd_clock_hz: int
    bus_width: int
    ddr: bool
    transfer: str
    commands: list[IssuedCommand]
    phases_ps: dict[str, int]
    poll_iterations: int
    register_accesses: dict[str, int]
    timeout_control: int | None
    data_timeout_ns: int
    poll_timeout_ms: int
    findings: list[Finding]
    trace: list
    op_log: list
    config: EmulatorConfig
    writes: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wall_ns: int = 0            # host wall-clock time the emulator spent on the record's panic_write call
    programs: list = field(default_factory=list)   # blocks the card programmed from panic entry on (Program)
    bringup_trace: list = field(default_factory=list)   # the bus before the panic (card bring-up)
    responses: dict[int, bytes] = field(default_factory=dict)   # response tokens by the time of their first bit

    @property
    def durable(self) -> bool:
        return self.verdict == "durable"

    @property
    def silent_loss(self) -> bool:
        """panic_write said 0 (success), yet the record did not survive whole."""
        return self.returned == 0 and self.verdict in ("torn", "lost")

    @property
    def cut_before_return(self) -> bool:
        """The power went while the record's panic_write was still running."""
        return self.returned is None and bool(self.writes) and self.writes[0].interrupted


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


def _within(storage: Storage, offset: int, length: int) -> bool:
    """Whether bytes offset..offset+length exist in the user area (a write may aim past the card)."""
    return 0 <= offset and offset + length <= storage.size(USER)


#: How far 'never' lets the hardware run on after the CPU's last access (an hour: every card busy ends sooner).
_NEVER_HORIZON_PS = 3600 * 10**12


def _let_hardware_run(controller: SdhciController, until_ps: int) -> int | None:
    """After the CPU's last access the controller and card go on alone (DMA, Auto CMD12, programming) until `until_ps`.

    Returns when Transfer Complete came up meanwhile, if it did. Reading the
    interrupt status applies every event up to its time and changes nothing.
    """
    completed = None
    t = controller.next_event_ps()
    while t is not None and t <= until_ps:
        if controller.read(R.SDHCI_INT_STATUS, 32, t) & R.SDHCI_INT_DATA_END and completed is None:
            completed = t
        following = controller.next_event_ps()
        t = following if following is not None and following > t else None
    return completed


_RANK = {name: i for i, name in enumerate(PHASE_PRIORITY)}
_RANK_BITS = 3                      # an edge is one int, time << _RANK_BITS | rank: sorting ints is cheap
_RANK_MASK = (1 << _RANK_BITS) - 1
assert len(PHASE_PRIORITY) <= 1 << _RANK_BITS
#: For each set of covering ranks (bit r for rank r), the phase that counts: the lowest rank, else other.
_FIRST_RANK = tuple((covering & -covering).bit_length() - 1 if covering else _RANK["other"]
                    for covering in range(1 << len(PHASE_PRIORITY)))


def _phases(trace: list, log: list, t0: int, t1: int) -> dict[str, int]:
    """Split [t0, t1) among the phases by PHASE_PRIORITY; the parts sum to t1 - t0."""
    spans: list[list[tuple[int, int]]] = [[] for _ in PHASE_PRIORITY]
    for event in trace:
        if event.start_ps < t1 and event.end_ps > t0:
            phase = (_TIMEOUT_PHASE.get(event.detail.get("what"), "other") if event.kind == "timeout"
                     else _TRACE_PHASE.get(event.kind))
            if phase is not None:
                spans[_RANK[phase]].append((event.start_ps, event.end_ps))
    spans[_RANK["host_access"]] += [(record.start_ps, record.end_ps) for record in log if record.start_ps < t1
                                    and record.end_ps > t0 and isinstance(record.op, _HOST_OPS)]
    # Each rank's spans merged into disjoint intervals, clipped to [t0, t1): then every edge of a rank
    # toggles whether that rank covers the sweep, and the edges are swept in time order.
    edges = []
    for r, rank_spans in enumerate(spans):
        if not rank_spans:
            continue
        rank_spans.sort()
        start, end = rank_spans[0]
        for s, e in rank_spans:
            if s > end:
                edges += ((start if start > t0 else t0) << _RANK_BITS | r, end << _RANK_BITS | r)
                start, end = s, e
            elif e > end:
                end = e
        edges += ((start if start > t0 else t0) << _RANK_BITS | r, (end if end < t1 else t1) << _RANK_BITS | r)
    edges.sort()
    totals = [0] * len(PHASE_PRIORITY)
    covering = 0
    at = t0
    for edge in edges:
        t = edge >> _RANK_BITS
        if t > at:
            totals[_FIRST_RANK[covering]] += t - at
            at = t
        covering ^= 1 << (edge & _RANK_MASK)
    totals[_RANK["other"]] += t1 - at
    return dict(zip(PHASE_PRIORITY, totals))


class CardWire:
    """The card as the controller reaches it, noting each response token where it starts on CMD.

    Everything else goes straight to the card. The tokens are what a
    waveform draws on CMD (the bus trace has only the responses' times).
    """

    def __init__(self, card: EmmcCard) -> None:
        self.card = card
        self.responses: dict[int, bytes] = {}
        self.write_block, self.read_block, self.busy = card.write_block, card.read_block, card.busy

    def command(self, token: bytes, t_ps: int, clock_period_ps: int) -> Any:
        out = self.card.command(token, t_ps, clock_period_ps)
        if out.response is not None:
            self.responses[t_ps + out.delay_cycles * clock_period_ps] = bytes(out.response)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.card, name)


def boot_key(config: EmulatorConfig) -> str:
    """What card bring-up depends on: two configurations with the same key boot to the same board.

    Everything but the settings that act from panic entry on (run.seed, the
    power cut, the patch, the entry state, the record's text and time, the
    pstore/blk parameters mmcpstore registers with).
    """
    run = config.run
    return repr((config.card, config.controller, config.platform, config.pstore.partitions,
                 config.pstore.primaries, run.transfer, run.bus_width, run.sd_clock_hz, run.stall_ms,
                 run.boot_seed, run.image, run.enable_cache, run.ddr))


@dataclass(frozen=True)
class SessionSnapshot:
    """A booted board: each model's state right after card bring-up (PanicSession.snapshot)."""
    key: str
    card: CardSnapshot
    controller: tuple[FrozenState, int]
    host: FrozenState
    runner: RunnerSnapshot
    memory: dict
    responses: dict[int, bytes]


class PanicSession:
    """One board: card, controller, host driver and mmcpstore, driven through a SyncRunner."""

    def __init__(self, config: EmulatorConfig) -> None:
        config.validate()
        self.config = config
        # The card never changes its configuration: a new one where the run's settings differ, not a deep copy.
        timing = config.card.timing
        if config.run.stall_ms:
            stall = InjectedStall(block=0, duration_ps=round(config.run.stall_ms * 1_000_000_000))
            timing = dataclasses.replace(timing, injected_stalls=[*timing.injected_stalls, stall])
        card_config = dataclasses.replace(config.card, seed=config.run.boot_seed, timing=timing)
        self.card = EmmcCard(card_config, image_path=config.run.image)
        # The disk as it was partitioned before boot; Linux's view of the table (msdos numbering).
        self.partitions: list[Partition] = write_partition_table(
            _StorageFile(self.card.storage), [(p.start_sector, p.sectors) for p in config.pstore.partitions],
            primaries=config.pstore.primaries)
        self.memory = HostMemory()
        self.wire = CardWire(self.card)
        self.controller = SdhciController(config.controller, self.wire, self.memory)
        self.host = SdhciHost(config.platform, config.run.transfer)
        self.runner = SyncRunner(self.controller, self.memory, config.platform)
        self.mmcpstore = mmcpstore_for(config.run.patch)
        self.mmc_card: MmcCard | None = None
        self.faults: list[KernelOops] = []
        self.programs: list = []

    # --- boot ---------------------------------------------------------------------
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

    @property
    def restorable(self) -> bool:
        """Whether the board can be snapshotted: every model can, but only over an in-memory medium."""
        return self.config.run.image is None

    def snapshot(self) -> SessionSnapshot:
        """The booted board, to start any number of runs from (restore); call right after initialise()."""
        return SessionSnapshot(boot_key(self.config), self.card.snapshot(), self.controller.snapshot(),
                               self.host.snapshot(), self.runner.snapshot(), self.memory.snapshot(),
                               dict(self.wire.responses))

    def restore(self, snapshot: SessionSnapshot, config: EmulatorConfig) -> None:
        """Back to the booted board of `snapshot`, for a run of `config` (which must boot to that board)."""
        if boot_key(config) != snapshot.key:
            raise ValueError("the configuration boots to another board than the snapshot's")
        self.config = config
        self.card.restore(snapshot.card)
        self.controller.restore(snapshot.controller)
        self.host.restore(snapshot.host)
        self.runner.restore(snapshot.runner)
        self.memory.restore(snapshot.memory)
        self.wire.responses = dict(snapshot.responses)
        self.mmc_card = self.host.mmc.card
        self.mmcpstore = mmcpstore_for(config.run.patch)
        self.faults = []

    # --- from boot to panic -----------------------------------------------------------
    def register(self) -> None:
        """mmcpstore_card_set() as mmc_blk_probe() calls it for mmcblk0."""
        assert self.mmc_card is not None
        try:
            self.mmcpstore.mmcpstore_card_set(self.mmc_card, self.host.mmc, "mmcblk0", self.config.pstore_blk,
                                              self.partitions)
        except KernelOops as oops:
            self.faults.append(oops)

    def enter_panic(self, t_ps: int) -> None:
        """The kernel panics at t_ps: from here the run's seed draws, and the card is as run.entry says.

        Earlier records go into pstore's zones (as an earlier boot left them),
        dirty blocks into the card's cache, and the card starts the remaining
        part of its busy (a previous write, a garbage collection).
        """
        entry = self.config.run.entry
        self.programs = self.card.keep_programming_history()
        self.card.reseed(self.config.run.seed)
        if entry.records:
            self._write_earlier_records(entry.records)
        if entry.dirty_blocks and self.card.cache_on:
            self.card.preload_cache(self._spare_blocks(0, entry.dirty_blocks, 0xD1))
        if entry.busy == "write" and entry.busy_ps:
            blocks = self._spare_blocks(entry.dirty_blocks, self.config.card.timing.write_buffer_blocks, 0xB5)
            self.card.continue_previous_write(blocks, t_ps, t_ps + entry.busy_ps)
        elif entry.busy == "gc" and entry.busy_ps:
            self.card.start_background_operation(t_ps, t_ps + entry.busy_ps)

    def _pstore_partition(self) -> Partition | None:
        target = blkdev_partno(self.config.pstore.blkdev) if self.config.pstore.blkdev else None
        return next((p for p in self.partitions if target and p.number == target[1]), None)

    def _write_earlier_records(self, count: int) -> None:
        """`count` earlier panic records, an hour apart, in the kmsg zones in ring order (oldest first)."""
        part = self._pstore_partition()
        if part is None:
            return
        blk = self.config.pstore_blk
        zones = [z for z in zone_layout(part.size_bytes, blk) if z.kind == "dmesg"]
        newest = self.config.run.panic_time_s
        for i in range(max(0, count - len(zones)), count):     # older ones were overwritten by the ring
            zone = zones[i % len(zones)]
            text = f"<0>[ 3600.000000] Kernel panic - not syncing: earlier panic {i + 1}\n".encode()
            data = build_kmsg_zone(text, zone_size=zone.size_bytes, reason=KMSG_DUMP_PANIC, counter=i + 1,
                                   tv_sec=max(0, newest - 3600 * (count - i)), tv_nsec=0)
            self.card.storage.write(USER, part.start_byte + zone.offset_bytes, data)

    def _spare_blocks(self, first: int, count: int, fill: int) -> list[tuple[tuple[int, int], bytes]]:
        """`count` blocks of the largest partition other than pstore's, from its block `first`, for other writes."""
        pstore = self._pstore_partition()
        others = [p for p in self.partitions if p.kind != "extended" and p is not pstore]
        part = max(others, key=lambda p: p.sectors, default=None)
        if part is None or first + count > part.sectors:
            raise EmulationError(f"no partition besides pstore's holds {first + count} blocks of earlier writes "
                                 "(run.entry.dirty_blocks, run.entry.busy)")
        block = bytes([fill]) * SECTOR
        return [((USER, (part.start_sector + first + i) * SECTOR), block) for i in range(count)]

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


class BootCache:
    """Booted boards by boot_key: a run starts from a kept board instead of bringing the card up again.

    Keeps up to `size` boards, dropping the least recently used. A board
    whose models cannot all be restored (see PanicSession.restorable) is
    brought up afresh for every run: the same results, more time.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._boards: OrderedDict[str, tuple[PanicSession, SessionSnapshot]] = OrderedDict()

    def session(self, config: EmulatorConfig) -> PanicSession:
        """A session for `config`, brought up: a kept board restored, or a new one (kept if it can be)."""
        key = boot_key(config)
        kept = self._boards.get(key)
        if kept is not None:
            self._boards.move_to_end(key)
            session, snapshot = kept
            session.restore(snapshot, config)
            return session
        session = PanicSession(config)
        try:
            session.initialise()
        except EmulationError:
            session.card.close()
            raise
        if session.restorable:
            self._boards[key] = (session, session.snapshot())
            while len(self._boards) > self.size:
                self._boards.popitem(last=False)
        return session

    def done(self, session: PanicSession) -> None:
        """The run on `session` is over: close its card unless the session is a kept board."""
        if all(session is not board for board, _ in self._boards.values()):
            session.card.close()


def run_panic_write(config: EmulatorConfig, boots: BootCache | None = None) -> PanicWriteResult:
    """Initialise, register, and run the panic path of pstore/zone through mmcpstore; see PanicWriteResult.

    With `boots`, the card bring-up comes from a kept board when one fits
    the configuration (the result is the same as a fresh bring-up's).
    """
    return _run(config, pstore_panic_calls, boots=boots)


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


_Source = Callable[[PanicSession], Generator[PanicWrite, int | None, Any]]


@dataclass
class _Panic:
    """One panic played out on a session: the calls, the record's window, and when the power went."""
    session: PanicSession
    init_ps: int
    writes: list[PanicWriteCall]
    record: PanicWrite
    window: _RecordWindow
    cut: PowerCut
    cut_ps: int | None
    completed_ps: int | None    # Transfer Complete while the hardware ran on alone after the last return


def _run(config: EmulatorConfig, source: _Source, unregister: bool = False,
         boots: BootCache | None = None) -> PanicWriteResult:
    session = boots.session(config) if boots is not None else PanicSession(config)
    try:
        init_ps, panic = _play(session, source, unregister)
        if panic is None:
            return _unregistered(session, init_ps)
        return _result(panic, _truncated_poll_completion(panic, source))
    finally:
        if boots is not None:
            boots.done(session)
        else:
            session.card.close()


def _play(session: PanicSession, source: _Source, unregister: bool) -> tuple[int, _Panic | None]:
    """Boot (unless the session is booted already), register, panic, make pstore's panic_write calls,
    let the hardware run on, cut the power.

    Returns the bring-up time and the panic (None when mmcpstore did not register).
    """
    if session.mmc_card is None:
        session.initialise()
    init_ps = session.runner.t_ps
    session.register()
    session.enter_panic(init_ps)
    if not session.mmcpstore.registered:
        if unregister:
            session.unregister()
        return init_ps, None
    cut = session.config.run.power_cut_at
    writes, record, window, cut_ps = _drive(session, source(session), cut)
    if unregister:
        session.unregister()
    if cut_ps is None and cut.anchor == "return":
        cut_ps = session.runner.t_ps + cut.delay_ps
    horizon = cut_ps if cut_ps is not None else session.runner.t_ps + _NEVER_HORIZON_PS
    completed = _let_hardware_run(session.controller, horizon)
    if cut_ps is not None:
        session.card.power_cut(cut_ps)       # no-op if a card call at or after cut_ps already applied it
    return init_ps, _Panic(session, init_ps, writes, record, window, cut, cut_ps, completed)


def _drive(session: PanicSession, gen: Generator[PanicWrite, int | None, Any], cut: PowerCut
           ) -> tuple[list[PanicWriteCall], PanicWrite, _RecordWindow, int | None]:
    """Make each panic_write call the source asks for, feeding back its return value, until the power goes.

    Returns the calls, the record (the first call), its window, and the cut
    time when it is anchored at the record's entry.
    """
    cxt = session.mmcpstore
    runner = session.runner
    writes: list[PanicWriteCall] = []
    record: PanicWrite | None = None
    window: _RecordWindow | None = None
    cut_ps: int | None = None
    try:
        request = next(gen)
        while cut_ps is None or runner.t_ps < cut_ps:
            entry = _RecordWindow(runner.t_ps, len(runner.log), len(session.host.log.timeout_control),
                                  len(session.host.log.errors))
            if record is None and cut.anchor == "entry":
                cut_ps = entry.t0 + cut.delay_ps
                session.card.schedule_power_cut(cut_ps)
            wall_start = time.perf_counter_ns()
            returned = session.panic_write(request.buf, request.off_sectors, request.sects)
            entry.wall_ns = time.perf_counter_ns() - wall_start
            interrupted = cut_ps is not None and runner.t_ps > cut_ps
            writes.append(PanicWriteCall(request.off_sectors, request.sects, None if interrupted else returned,
                                         interrupted))
            if record is None:
                record, window = request, entry
                window.t1 = min(runner.t_ps, cut_ps) if interrupted and cut_ps is not None else runner.t_ps
                window.port = cxt.last
                window.timeout_ns = cxt.mrq.data.timeout_ns if cxt.mrq and cxt.mrq.data else 0
            if returned is None or interrupted:
                break
            request = gen.send(returned)
    except StopIteration:
        pass
    if record is None or window is None:
        raise EmulationError("pstore made no panic_write call")
    return writes, record, window, cut_ps


def _truncated_poll_completion(panic: _Panic, source: _Source) -> int | None:
    """For a poll that timed out on a truncated timeout: when the write would have completed, had the power held.

    The hardware goes on after the poll gives up; with the power never cut it
    finishes the write by itself. If this run cut the power, the same panic
    (same seed, same timeline up to the give-up) is played again with the
    power never cut, on a medium of its own, to find out.
    """
    port, window = panic.window.port, panic.window
    if port is None or port.poll_result != -ETIMEDOUT or not window.timeout_ns % NSEC_PER_MSEC:
        return None
    if panic.cut_ps is None:
        return panic.completed_ps
    config = copy.deepcopy(panic.session.config)
    config.run.power_cut, config.run.image = "never", None
    again = PanicSession(config)
    try:
        _, replay = _play(again, source, unregister=False)
    finally:
        again.card.close()
    return replay.completed_ps if replay is not None else None


def _poll_start(session: PanicSession, window: _RecordWindow) -> int:
    """Start of req_completion_poll(): the record call's first poll of the interrupt status."""
    polls = [r.start_ps for r in session.runner.log[window.log_start:]
             if isinstance(r.op, Poll) and r.op.offset == R.SDHCI_INT_STATUS]
    return polls[0] if polls else window.t0


def _check_medium(card: EmmcCard, offset: int, data: bytes) -> MediumCheck:
    """Compare the record with what the medium holds where it belongs, and read it as Linux would."""
    if not _within(card.storage, offset, len(data)):
        return MediumCheck(len(data), 0, None)
    found = card.read(USER, offset, len(data))
    if found == data:
        intact = len(data)
    elif found == bytes(len(found)):
        intact = data.count(0)          # nothing of the record got there: only its zero bytes match
    else:
        # A byte is intact where the XOR of found and wanted is zero (counted in C, not per byte in Python).
        intact = (int.from_bytes(found) ^ int.from_bytes(data)).to_bytes(len(data)).count(0)
    try:
        listed_record = parse_kmsg_zone(found)
    except ZoneError:
        listed_record = None
    listed = None
    if listed_record is not None:
        listed = "this" if found[:KMSG_TEXT_OFFSET] == data[:KMSG_TEXT_OFFSET] else "older"
    return MediumCheck(len(data), intact, listed)


def _verdict(returned: int | None, medium: MediumCheck) -> str:
    if returned is not None and returned != 0:
        return "error"
    if medium.wrong_bytes == 0:
        return "durable"
    return "torn" if medium.listed == "this" else "lost"


def _notes(session: PanicSession) -> list[str]:
    """Where the run differs from what was asked, and why (never a silent change)."""
    run = session.config.run
    notes = []
    if session.host.bus_width < run.bus_width:
        notes.append(f"{run.bus_width}-bit bus asked for (run.bus_width), {session.host.bus_width}-bit used: "
                     + ("the controller has no 8-bit support (Capabilities bit 18), so Linux leaves "
                        "MMC_CAP_8_BIT_DATA off" if run.bus_width == 8 and not session.host.can_do_8bit
                        else "what Linux's bus-width selection settled on with this card and host"))
    if run.ddr and not session.card.ddr:
        notes.append("DDR52 asked for (run.ddr) but not used: the card, the host (Capabilities DDR50) or the bus "
                     "width does not allow it")
    if run.entry.dirty_blocks and not session.card.cache_on:
        notes.append(f"{run.entry.dirty_blocks} dirty blocks asked for (run.entry.dirty_blocks) but the card's cache "
                     "is off: none were cached")
    return notes


def _unregistered(session: PanicSession, init_ps: int) -> PanicWriteResult:
    """No backend registered: pstore never calls panic_write, and nothing of the record reaches the card."""
    findings: list[Finding] = []
    cxt = session.mmcpstore
    if cxt.dev_name and cxt.start_sect == 0 and any("Non-existent" in m for m in cxt.messages):
        findings.append(Finding("start-sector-zero", f"{cxt.dev_name} is the whole disk (partition 0), which "
                                "mmc_blk_get_part() reports at start sector 0, and mmcpstore_card_set() takes a start "
                                "of 0 for a non-existent partition: no pstore backend, no panic record"))
    for oops in session.faults:
        findings.append(Finding(oops.code, str(oops)))
    reason = "; ".join(cxt.messages) or "mmcpstore did not register"
    record_bytes = session.config.pstore_blk.kmsg_size * 1024
    return PanicWriteResult(
        verdict="error", returned=-19, medium=MediumCheck(record_bytes, 0, None),
        power_cut=session.config.run.power_cut_at, power_cut_ps=None, power_cut_report=None,
        entry_ps=init_ps, total_ps=0, init_ps=init_ps, start_sector=None, sectors=0,
        sd_clock_hz=session.host.actual_clock, bus_width=session.host.bus_width, ddr=session.card.ddr,
        transfer=session.host.transfer, commands=[], phases_ps=dict.fromkeys(PHASE_PRIORITY, 0), poll_iterations=0,
        register_accesses={"read": 0, "write": 0, "burst_words": 0}, timeout_control=None, data_timeout_ns=0,
        poll_timeout_ms=0, findings=findings + [Finding("not-registered", reason)], trace=[], op_log=[],
        config=session.config, writes=[], notes=_notes(session))


def _result(panic: _Panic, truncated_poll_end: int | None) -> PanicWriteResult:
    session, record, writes, window = panic.session, panic.record, panic.writes, panic.window
    cut, cut_ps, init_ps = panic.cut, panic.cut_ps, panic.init_ps
    cxt = session.mmcpstore
    runner = session.runner
    t0, t1, port = window.t0, window.t1, window.port
    call = writes[0]
    returned = call.returned if call.returned is not None or call.interrupted else -14
    bus_trace = [e for e in session.controller.trace if e.start_ps < t1 and e.end_ps > t0]
    op_log = [r for r in runner.log[window.log_start:] if r.start_ps < t1]
    expected_byte = (cxt.start_sect + record.off_sectors) * SECTOR
    data = bytes(record.buf[:record.sects * SECTOR])
    medium = _check_medium(session.card, expected_byte, data)
    verdict = _verdict(returned, medium)
    commands = [IssuedCommand(e.cmd, e.detail.get("argument", 0), bool(e.detail.get("auto")))
                for e in bus_trace if e.kind == "command" and e.start_ps >= t0]
    findings = _findings(session, writes, port, window, returned, verdict, medium, commands, expected_byte, data,
                         truncated_poll_end)
    timeouts = session.host.log.timeout_control[window.timeout_start:]
    return PanicWriteResult(
        verdict=verdict,
        returned=returned,
        medium=medium,
        power_cut=cut,
        power_cut_ps=cut_ps,
        power_cut_report=session.card.power_cut_report if cut_ps is not None else None,
        entry_ps=t0,
        total_ps=t1 - t0,
        init_ps=init_ps,
        start_sector=port.sect_offset if port else None,
        sectors=port.nsects if port else record.sects,
        sd_clock_hz=session.host.actual_clock,
        bus_width=session.host.bus_width,
        ddr=session.card.ddr,
        transfer=session.host.transfer,
        commands=commands,
        phases_ps=_phases(bus_trace, op_log, t0, t1),
        poll_iterations=sum(r.value.iterations for r in op_log if isinstance(r.op, Poll)),
        register_accesses={"read": sum(1 for r in op_log if isinstance(r.op, Read))
                           + sum(r.value.iterations for r in op_log if isinstance(r.op, Poll)),
                           "write": sum(1 for r in op_log if isinstance(r.op, Write)),
                           "burst_words": sum(r.op.count if isinstance(r.op, ReadBurst) else len(r.op.words)
                                              for r in op_log if isinstance(r.op, (ReadBurst, WriteBurst)))},
        timeout_control=timeouts[0] if timeouts else None,
        data_timeout_ns=window.timeout_ns,
        poll_timeout_ms=port.timeout_ms if port and port.timeout_ms is not None else 0,
        findings=findings,
        trace=bus_trace,
        op_log=op_log,
        config=session.config,
        writes=writes,
        notes=_notes(session),
        wall_ns=window.wall_ns,
        programs=list(session.programs),
        bringup_trace=[e for e in session.controller.trace if e.end_ps <= t0],
        responses=dict(session.wire.responses),
    )


def _findings(session: PanicSession, writes: list[PanicWriteCall], port: PanicWriteTrace | None,
              window: _RecordWindow, returned: int | None, verdict: str, medium: MediumCheck,
              commands: list[IssuedCommand], expected_byte: int, data: bytes,
              truncated_poll_end: int | None) -> list[Finding]:
    """Name each weakness of the patch that bit in this run, with the numbers."""
    out: list[Finding] = []
    cxt = session.mmcpstore
    card = session.mmc_card
    assert card is not None
    lost = verdict in ("torn", "lost")
    if port is not None and port.start_error:
        out.append(_request_rejected(session, port, bool(commands)))
    if returned == 0 and port is not None and port.claimed:
        errors = {"mmc_start_request()": port.start_error,
                  "req_completion_poll()": port.poll_result or 0, "cmd->error": port.cmd_error,
                  "data->error": port.data_error, "stop->error": port.stop_error,
                  "the cache flush": port.flush_result if isinstance(port, VariantTrace) else 0}
        bad = ", ".join(f"{k} = {v}" for k, v in errors.items() if v)
        if bad:
            errors_seen = session.host.log.errors[window.error_start:]
            seen = f" (the host saw: {errors_seen[0]})" if errors_seen else ""
            out.append(Finding("errors-swallowed", f"mmcpstore_panic_write returned 0 although {bad}{seen}: the "
                               "patch checks none of them" + (", and the record did not survive whole (silent loss)."
                                                             if lost else ".")))
    if window.timeout_ns % NSEC_PER_MSEC and port is not None and port.timeout_ms is not None:
        out.append(_timeout_truncated(session, window, port, truncated_poll_end))
    not_ready = _card_not_ready(session, window, port)
    if not_ready is not None:
        out.append(not_ready)
    if not card.blockaddr and port is not None:
        arg = port.sect_offset
        landed = _within(session.card.storage, arg, len(data)) and session.card.read(USER, arg, len(data)) == data
        where = (f"it landed at byte {arg} (sector {arg / SECTOR:g})" if landed
                 else "the card did not store it there (misaligned or out of range)")
        out.append(Finding("byte-addressing", f"CMD{port.opcode} argument {arg} is a sector number but the card "
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
    report = session.card.power_cut_report
    if card.cache_on and report is not None and returned == 0:
        cached = [key for key in report.lost_cached if expected_byte <= key[1] < expected_byte + len(data)]
        if cached:
            out.append(Finding("cache-not-flushed", f"{len(cached)} of the record's {len(data) // SECTOR} blocks were "
                               "still in the eMMC's volatile cache when the power went (no CMD6 FLUSH_CACHE, no "
                               "reliable write): the cut lost them."))
    return out


def _card_not_ready(session: PanicSession, window: _RecordWindow, port: PanicWriteTrace | None) -> Finding | None:
    """The card was busy at entry and the record's first command went out before the busy ended."""
    entry = session.config.run.entry
    if entry.busy == "none" or not entry.busy_ps or port is None:
        return None
    first = next((e for e in session.controller.trace if e.kind == "command" and e.start_ps >= window.t0), None)
    if first is None or first.start_ps - window.t0 >= entry.busy_ps:
        return None
    head = (f"CMD{first.cmd} went out {_us(first.start_ps - window.t0)} after entry, while the card stayed busy "
            f"until {_us(entry.busy_ps)} after entry")
    if entry.busy == "write":
        what = ("programming a previous write (prg, DAT0 low): a write command is illegal there"
                + (f", the card did not answer (cmd->error = {port.cmd_error})" if port.cmd_error else ""))
    else:
        what = "with a garbage collection: nothing of the record could be programmed before it ended"
    return Finding("card-not-ready", f"{head} {what}. The patch sends no HPI and does not wait for tran "
                   "(CMD13) before writing.")


def _us(ps: int) -> str:
    return f"{ps / 1e6:.3f} us"


def _request_rejected(session: PanicSession, port: PanicWriteTrace, reached_bus: bool) -> Finding:
    """mmc_start_request() refused the request: say which of mmc_mrq_prep()'s limits it broke, with the numbers."""
    mmc = session.host.mmc
    size = port.nsects * SECTOR
    if port.start_error == -EINVAL and size > mmc.max_req_size:
        why = f"{port.nsects} blocks x {SECTOR} bytes = {size} bytes exceed the host's max_req_size {mmc.max_req_size}"
        if session.host.transfer == "sdma":
            why += (" (sdhci with SDMA and one segment copies every request through a 64 KiB bounce buffer, "
                    "sdhci_allocate_bounce_buffer())")
    elif port.start_error == -EINVAL and port.nsects > mmc.max_blk_count:
        why = f"{port.nsects} blocks exceed the host's max_blk_count {mmc.max_blk_count}"
    else:
        why = f"mmc_mrq_prep() returned {port.start_error}"
    poll = (f"; the patch ignored it and req_completion_poll() polled {port.timeout_ms} ms until its timeout"
            if port.timeout_ms else "")
    bus = "" if reached_bus else ": no command reached the bus"
    return Finding("request-rejected", f"mmc_start_request() refused the record write with {port.start_error} "
                   f"(mmc_mrq_prep: {why}){bus}{poll}.")


def _timeout_truncated(session: PanicSession, window: _RecordWindow, port: PanicWriteTrace,
                       completed_ps: int | None) -> Finding:
    """timeout_ns / NSEC_PER_MSEC dropped a remainder: say whether that cost the write."""
    full, ms = window.timeout_ns, port.timeout_ms
    head = f"data timeout {full} ns became {ms} ms for req_completion_poll (timeout_ns / NSEC_PER_MSEC rounds down)"
    if port.poll_result != -ETIMEDOUT:
        return Finding("timeout-truncated", f"{head}; harmless here: the write completed within the truncated timeout.")
    after = (completed_ps - _poll_start(session, window)) if completed_ps is not None else None
    if after is not None and after <= full * 1000:
        return Finding("timeout-truncated", f"{head}; it bit: the poll gave up after {ms} ms, but Transfer Complete "
                       f"came {after / 1e6:.3f} us after the poll began, within the untruncated {full / 1e3:.3f} us.")
    when = (f"Transfer Complete came only {after / 1e6:.3f} us after the poll began" if after is not None
            else "the write never completed")
    return Finding("timeout-truncated", f"{head}; not the cause here: {when}, beyond the untruncated "
                   f"{full / 1e3:.3f} us as well.")
