"""Data engine: the block pipeline over the DAT lines, the PIO buffer and the DMA engines.

One `Transfer` per data command (sdhci.controller.transfer: its phases and
their transitions). Each block is a handful of events computed in SD clock
cycles from emmc_card.bus framing and the card's outcomes:

write: buffer (PIO writes or DMA fetch) -> block on DAT -> CRC status ->
       busy (sampled on SD clock edges) -> next block, Auto CMD12, Transfer Complete.
read:  card access -> block on DAT -> buffer -> PIO reads or DMA store ->
       Transfer Complete when all blocks left the buffer.

The buffer holds `ControllerConfig.buffer_blocks` blocks; a full buffer holds
the card (write: no block to send; read: the clock stops between blocks).
A DMA write's blocks run ahead in one loop while nothing else can happen
(`_write_ahead`, below): the same steps, without a trip through the
scheduler's queue each.

The engine owns the DAT line, DAT0's level included (an R1b busy from the
command engine is shown there too). It sees the rest of the controller
through what it is given: the scheduler, the SD clock, the register file's
views, the interrupt status, the card slot, the trace, and a way to issue
Auto CMD12.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from emmc_card import bus
from emmc_card.bus import CorrectCrcs, ReadOutcome
from emmc_card.crc import crc16_lines
from sdhci import regmap as rm
from sdhci.controller.clock import SdClock
from sdhci.controller.command import Command
from sdhci.controller.config import ControllerConfig
from sdhci.controller.dma import Adma2, AdmaStep, Sdma, gather, scatter
from sdhci.controller.interrupts import Interrupts
from sdhci.controller.regfile import RegisterFile
from sdhci.controller.scheduler import Scheduler
from sdhci.controller.slot import CardSlot
from sdhci.controller.transfer import LINE_BUSY, Cause, Dma, Phase, Port, Stop, Transfer
from sdhci.memory import HostMemory
from sdhci.trace import BusEvent

_BUS, _HOST = True, False      # an event on the SD bus (waits for the SD clock), or on the host side
# What a write's pending event is while the data engine runs it ahead.
_END, _BUSY, _FETCH, _LEVEL, _ERROR = "block end", "busy end", "dma fetched", "dat0 level", "data error"
_DAT_LINE_ACTIVE = rm.bits("PRESENT_STATE", "DAT_LINE_ACTIVE")
_DAT_ACTIVE_READ = frozenset({Phase.READ_BLOCK, Phase.READ_HELD, Phase.AUTO_CMD12_READ})
_WRITE_PRESENT = rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DOING_WRITE
_READ_PRESENT = rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DOING_READ
_ADMA_FETCH_ERROR = rm.ADMA_ERROR_STATE_ST_FDS


# The host's CRC16s are computed only where something consumes them (a fault that corrupts
# them, or a framing mismatch with the card); otherwise they are known to be right.
_CORRECT_CRCS = {(width, ddr): CorrectCrcs(width, ddr) for width in (1, 4, 8) for ddr in (False, True)}


def _fills_lines(length: int, width: int, ddr: bool) -> bool:
    """A block of `length` bytes fills every DAT line to the same number of bits."""
    return not length % (width * (2 if ddr else 1))


def host_crcs(data: bytes, width: int, ddr: bool) -> tuple[int, ...] | None:
    """CRC16 per DAT line as the host sends/checks them; None if the block does not fill every line."""
    if not _fills_lines(len(data), width, ddr):
        return None
    return crc16_lines(data, width, ddr)


def _computed_crcs(data: bytes, width: int, ddr: bool, corrupt: bool) -> tuple[int, ...]:
    """A write block's CRC16s, computed: zeros if it does not fill the lines, one bit flipped by a fault."""
    crcs = host_crcs(data, width, ddr) or (0,) * width * (2 if ddr else 1)
    return (crcs[0] ^ 1,) + crcs[1:] if corrupt else crcs


def block_cycles(block_size: int, width: int, ddr: bool) -> int:
    """Start bit + data + 16 CRC + end bit, rounding a partial last clock up."""
    bits_per_clock = width * (2 if ddr else 1)
    return 1 + -(-block_size * 8 // bits_per_clock) + 16 + 1


class DataEngine:
    """Runs `Transfer`s for the controller; owns the DAT line."""

    def __init__(self, config: ControllerConfig, scheduler: Scheduler, clock: SdClock, regs: RegisterFile,
                 ints: Interrupts, slot: CardSlot, memory: HostMemory, trace: list[BusEvent],
                 issue_auto_cmd12: Callable[[int], None]) -> None:
        self._slots = config.buffer_blocks
        self._lat = config.latencies
        self._scheduler = scheduler
        self._schedule = scheduler.schedule       # (t, engine, bus, fn, args): the per-block paths call it
        self._clock = clock
        self._regs = regs
        self._ints = ints
        self._slot = slot
        self._memory = memory
        self._trace = trace
        self._issue_auto_cmd12 = issue_auto_cmd12
        self.xfer: Transfer | None = None
        self.blocks_total = 0             # lifetime block counter (fault injection)
        self.adma_error_status = 0        # ADMA Error Status register
        self._dat0_busy = (0, 0)          # DAT0 held low over [start, end)

    # ---- what the rest of the controller asks ----------------------------
    @property
    def active(self) -> bool:
        """A transfer holds Command Inhibit (DAT)."""
        return self.xfer is not None

    @property
    def stopping(self) -> bool:
        """An abort command runs against the transfer."""
        return self.xfer is not None and self.xfer.stop is not Stop.NONE

    @property
    def reading(self) -> bool:
        return self.xfer is not None and self.xfer.read

    def sdma_address(self) -> int | None:
        """SDMA System Address as the running SDMA engine has advanced it (None: no SDMA transfer)."""
        x = self.xfer
        return x.sdma.address if x is not None and x.sdma is not None else None

    def present_bits(self) -> int:
        """Present State bits of the data side (DAT[0] level aside)."""
        x = self.xfer
        if x is None:
            return 0
        if x.read:
            bits = _READ_PRESENT
            if x.phase in _DAT_ACTIVE_READ:
                bits |= _DAT_LINE_ACTIVE
            if x.port is Port.OPEN:
                bits |= rm.SDHCI_DATA_AVAILABLE
        else:
            bits = _WRITE_PRESENT
            if x.gate_ps is not None:      # from the response on, until Transfer Complete
                bits |= _DAT_LINE_ACTIVE
            if x.port is Port.OPEN:
                bits |= rm.SDHCI_SPACE_AVAILABLE
        return bits

    def dat0_low(self, t: int) -> bool:
        """DAT0 held low (busy) at t."""
        start, end = self._dat0_busy
        return start <= t < end

    def hold_dat0(self, start: int, end: int) -> None:
        """DAT0 is held low over [start, end) (Present State DAT[0] level)."""
        self._dat0_busy = (start, end)
        for edge in (start, end):           # level changes a poller of Present State must not jump over
            if edge > self._scheduler.now:
                self._scheduler.schedule(edge, "dat", True, _level_change)

    def reset(self) -> None:
        """Software Reset for DAT: the transfer is gone."""
        self.xfer = None

    def reset_all(self) -> None:
        self.xfer = None
        self.adma_error_status = 0
        self._dat0_busy = (0, 0)

    # ---- helpers --------------------------------------------------------
    def _at(self, t: int, fn: Callable[..., None], *args: Any) -> None:
        """A DAT-line (bus) event: it waits for the SD clock."""
        self._schedule(t, "dat", _BUS, fn, args)

    def _after(self, t: int, fn: Callable[..., None], *args: Any) -> None:
        """A host-side event of the data engine (latency, DMA): it runs whatever the SD clock does."""
        self._schedule(t, "dat", _HOST, fn, args)

    def _fail(self, t: int, bits: int) -> None:
        """A data error: raise it and stop the transfer (software reset DAT ends it)."""
        self._ints.raise_(bits)
        if self.xfer is not None:
            self.xfer.fail()

    # ---- start ----------------------------------------------------------
    def arm(self, t: int, cmd: Command) -> int | None:
        """A data command was issued: set its transfer up from Transfer Mode, Block Size and Block Count.

        Returns Argument 2 when Auto CMD23 must go out first, else None.
        """
        regs = self._regs
        tm = regs.get("TRANSFER_MODE")
        multi = bool(tm & rm.SDHCI_TRNS_MULTI)
        read = bool(tm & rm.SDHCI_TRNS_READ)
        block_size = regs.block_size()
        total = (regs.get("BLOCK_COUNT") if tm & rm.SDHCI_TRNS_BLK_CNT_EN else None) if multi else 1
        auto = tm & rm.SDHCI_TRNS_AUTO_SEL
        if block_size == 0 or total == 0:
            # No data to move (spec: block size 0 = no data transfer): the command goes out alone.
            self._after(t, self._on_empty_transfer)
            self.xfer = Transfer(cmd=cmd, read=read, block_size=0, total=0, auto12=False, mode="pio")
            return None
        auto12 = multi and auto == rm.SDHCI_TRNS_AUTO_CMD12
        x = Transfer(cmd=cmd, read=read, block_size=block_size, total=total, auto12=auto12, mode=regs.dma_mode())
        if x.mode == "sdma":
            x.sdma = Sdma(regs.get("SDMA_SYSTEM_ADDRESS"), regs.sdma_boundary())
        elif x.mode == "adma":
            x.adma = Adma2(self._memory, regs.adma_address(), regs.adma_descriptor_bytes())
        self.xfer = x
        if not read:
            if x.mode == "pio":
                self._pio_space(t)
            else:
                self._dma_fetch(t)
        if multi and auto == rm.SDHCI_TRNS_AUTO_CMD23 and regs.version >= rm.SDHCI_SPEC_300:
            return regs.get("SDMA_SYSTEM_ADDRESS")       # Argument 2
        return None

    def _on_empty_transfer(self, t: int) -> None:
        self.xfer.go(Cause.COMPLETE)
        self.xfer = None
        self._ints.raise_(rm.SDHCI_INT_DATA_END)

    def response_done(self, t: int, ok: bool) -> None:
        """The data command's response ended (or failed): open the write gate / give up."""
        x = self.xfer
        if x is None:
            return
        if not ok:
            x.fail()
            return
        if not x.read:
            x.gate_ps = t + self._lat.write_gap_cycles * self._clock.period_ps
            x.go(Cause.RESPONSE)
            self._try_send(t)

    def abort(self) -> None:
        """An abort command (CMD12) was issued: finish the block on the bus, start no more."""
        x = self.xfer
        if x is not None:
            if x.stop is Stop.NONE:
                x.stop = Stop.REQUESTED
            if not x.read and x.port is Port.OPEN:
                x.port = Port.CLOSED

    def abort_reached(self) -> None:
        """The abort command's end bit went out: the card stops taking data."""
        if self.xfer is not None and self.xfer.stop is Stop.REQUESTED:
            self.xfer.stop = Stop.SENT

    def abort_done(self, t: int) -> None:
        """The abort command's response/busy ended: the transfer is over when DAT is idle."""
        if self.stopping:
            self.xfer.stop = Stop.FINISHED
            self._finish_abort(t)

    def _finish_abort(self, t: int) -> None:
        x = self.xfer
        if x is not None and x.stop is Stop.FINISHED and x.phase not in LINE_BUSY:
            self._complete(t)

    # ---- write path -----------------------------------------------------
    def _pio_space(self, t: int) -> None:
        """Buffer Write Enable goes 1 (with Buffer Write Ready) when a block fits."""
        x = self.xfer
        if x.port is not Port.CLOSED or not x.more_to_fetch() or len(x.buffer) + x.in_flight >= self._slots:
            return
        x.port = Port.PENDING
        self._after(t + self._lat.buffer_ready_ps, self._on_write_ready, x)

    def _on_write_ready(self, t: int, x: Transfer) -> None:
        if x.port is Port.PENDING:
            x.port = Port.CLOSED
        if x is self.xfer and x.more_to_fetch():
            x.port = Port.OPEN
            self._ints.raise_(rm.SDHCI_INT_SPACE_AVAIL)

    def port_write(self, t: int, data: bytes) -> None:
        """Bytes written to the Buffer Data Port (ignored unless Buffer Write Enable)."""
        x = self.xfer
        if x is None or x.read or x.mode != "pio" or x.port is not Port.OPEN:
            return
        x.port_bytes += data
        if len(x.port_bytes) >= x.block_size:
            x.buffer.append(bytes(x.port_bytes[:x.block_size]))
            x.sendable_ps.append(t + self._lat.pio_block_start_ps)
            x.port_bytes = bytearray()
            x.fetched += 1
            x.port = Port.CLOSED
            self._pio_space(t)
            self._try_send(t)

    def port_write_words(self, t: int, data: bytes, start: int, end: int) -> int:
        """32-bit words start..end-1 of ``data`` written to the port with no event between them; how many it took.

        All of them when the port ignores writes; else the run that leaves the
        block unfinished (they only add bytes) or, if the first one completes
        it, that one word through port_write.
        """
        x = self.xfer
        if x is None or x.read or x.mode != "pio" or x.port is not Port.OPEN:
            return end - start
        count = min(end - start, (x.block_size - len(x.port_bytes) - 1) // 4)
        if count <= 0:
            self.port_write(t, data[4 * start:4 * start + 4])
            return 1
        x.port_bytes += data[4 * start:4 * (start + count)]
        return count

    def _dma_fetch(self, t: int) -> None:
        """Write DMA: bring the next block from host memory into a free buffer slot."""
        x = self.xfer
        if x.dma is not Dma.IDLE or not x.more_to_fetch() or len(x.buffer) + x.in_flight >= self._slots:
            return
        step, cost = self._dma_map(x)
        x.dma = Dma.MOVING
        self._schedule(t + cost, "dat", _HOST, self._on_dma_fetched, (x, step, t))

    def _dma_map(self, x: Transfer) -> tuple[AdmaStep, int]:
        """Map the next block's host memory: the step and its latency (descriptor fetches, the block's move)."""
        lat = self._lat
        if x.adma is None:
            return AdmaStep(x.sdma.segments(x.block_size)), lat.dma_block_ps
        try:
            step = x.adma.take(x.block_size)
        except ValueError:        # descriptor or data address outside the address space
            return AdmaStep(error=_ADMA_FETCH_ERROR), 0
        self._regs.set_adma_address(x.adma.descriptor)
        return step, step.fetched * lat.dma_descriptor_fetch_ps + (lat.dma_block_ps if step.error is None else 0)

    def _dma_done(self, t: int, x: Transfer, step: AdmaStep, start: int) -> bool:
        """Common DMA bookkeeping: trace, ADMA error, Int attribute. False on error."""
        x.dma = Dma.IDLE
        self._trace.append(BusEvent("dma", start, t, x.cmd.index, {
            "direction": "read" if x.read else "write", "segments": len(step.segments), "descriptors": step.fetched}))
        if step.error is not None:
            self.adma_error_status = step.error
            self._regs.set_adma_address(x.adma.descriptor if x.adma else 0)
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return False
        if step.interrupt:
            self._ints.raise_(rm.SDHCI_INT_DMA_END)
        return True

    def _on_dma_fetched(self, t: int, x: Transfer, step: AdmaStep, start: int) -> None:
        if x is not self.xfer:
            return
        previous = x.sdma.address - x.block_size if x.sdma else None
        if not self._dma_done(t, x, step, start):
            return
        try:
            x.buffer.append(gather(self._memory, step.segments))
            x.sendable_ps.append(t)
        except ValueError:
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return
        x.fetched += 1
        if x.sdma is not None and x.sdma.at_boundary(previous) and x.more_to_fetch():
            x.dma = Dma.PAUSED
            self._ints.raise_(rm.SDHCI_INT_DMA_END)
        self._try_send(t)
        self._dma_fetch(t)

    def sdma_resume(self, t: int, address: int) -> None:
        """The driver wrote the next SDMA address: continue from it."""
        x = self.xfer
        if x is None or x.sdma is None or x.dma is not Dma.PAUSED:
            return
        x.sdma.address = address
        x.dma = Dma.IDLE
        t_go = t + self._lat.sdma_resume_ps
        if x.read:
            self._after(t_go, self._dma_store_next, x)
        else:
            self._after(t_go, self._dma_fetch_at, x)

    def _dma_fetch_at(self, t: int, x: Transfer) -> None:
        if x is self.xfer:
            self._dma_fetch(t)

    def _try_send(self, t: int) -> None:
        """Start the next write block on DAT if one is buffered and the line is free."""
        x = self.xfer
        if x is None or x.read or x.phase is not Phase.IDLE or not x.running or x.gate_ps is None \
                or not x.buffer:
            return
        clock = self._clock
        start = clock.next_edge(max(t, x.gate_ps, x.sendable_ps.popleft()))
        data = x.buffer.popleft()
        x.in_flight += 1
        x.go(Cause.BLOCK_START)
        width, ddr = self._regs.bus
        end = start + block_cycles(len(data), width, ddr) * clock.period_ps
        self._schedule(end, "dat", _BUS, self._on_write_block_end, (x, data, start))

    def _on_write_block_end(self, t: int, x: Transfer, data: bytes, start: int) -> None:
        if x is not self.xfer:
            return
        bound = self._scheduler.ahead_bound()
        if bound is not None and x.mode != "pio" and _fills_lines(x.block_size, *self._regs.bus):
            free = self._slot.first_block_fault(self.blocks_total) if self._slot.faults_armed else None
            if self._steady_block_end(x, self.blocks_total, free):
                self._write_ahead(t, x, data, start, bound, free)
                return
        slot = self._slot
        block = self.blocks_total
        self.blocks_total += 1
        width, ddr = self._regs.bus
        # Four fault questions per block: skip them all in the common case of none armed.
        faults = slot.faults_armed
        corrupt = faults and slot.fault("data_crc", block=block) is not None
        if not corrupt and _fills_lines(len(data), width, ddr):
            crcs = _CORRECT_CRCS[width, ddr]        # not computed: nothing needs their values
        else:
            crcs = _computed_crcs(data, width, ddr, corrupt)
        if x.stop in (Stop.SENT, Stop.FINISHED):   # CMD12 reached the card first: cut off, no CRC status
            self._trace.append(BusEvent("data", start, t, x.cmd.index,
                                        {"block": x.done, "direction": "write", "aborted": True}))
            x.in_flight -= 1
            x.go(Cause.CUT_OFF)
            self._finish_abort(t)
            return
        self._trace.append(BusEvent("data", start, t, x.cmd.index, {"block": x.done, "direction": "write"}))
        x.go(Cause.BLOCK_END)
        if faults:
            slot.fault("remove_card", block=block)
        p = self._clock.period_ps
        out = slot.write_block(data, crcs, t, p)
        x.in_flight -= 1
        if x.mode == "pio":
            self._pio_space(t)
        else:
            self._dma_fetch(t)
        token = None if out is None or (faults and slot.fault("drop_crc_status", block=block)) else out.token
        if token is None:
            t_err = t + self._lat.crc_status_timeout_cycles * p
            self._at(t_err, self._on_data_error, x, rm.SDHCI_INT_DATA_CRC, ("crc_status", t))
            return
        t_tok = t + out.token_delay_cycles * p
        t_tok_end = t_tok + bus.CRC_STATUS_BITS * p
        self._trace.append(BusEvent("crc_status", t_tok, t_tok_end, x.cmd.index, {"status": token, "block": x.done}))
        if token != bus.CRC_STATUS_ACCEPTED:
            self._at(t_tok_end, self._on_data_error, x, rm.SDHCI_INT_DATA_CRC)
            return
        busy_until = out.busy_until_ps if out.busy_until_ps is not None else t_tok_end
        stretch = faults and slot.fault("stretch_busy", block=block)
        if stretch:
            busy_until = max(busy_until, t_tok_end) + stretch.stretch_ps
        if x.auto12 and x.total is not None and x.done + 1 == x.total:
            # Auto CMD12 goes out on CMD right after the CRC status; DAT stays busy.
            x.busy_start_ps, x.busy_end_ps = t_tok_end, busy_until
            x.go(Cause.LAST_BLOCK)
            self._issue_auto_cmd12(t_tok_end)
            return
        self._watch_busy(t_tok_end, busy_until, x)

    def _watch_busy(self, t_start: int, busy_until: int, x: Transfer) -> None:
        """DAT0 busy from t_start until the card releases it, seen at an SD clock edge; data timeout."""
        t_end = self._clock.next_edge(busy_until) if busy_until > t_start else t_start
        limit = self._regs.data_timeout_ps
        self.hold_dat0(t_start, t_end)
        if t_end > t_start:   # the card holds DAT0 whatever the host's timeout does: trace it now
            self._trace.append(BusEvent("busy", t_start, t_end, x.cmd.index, {"block": x.done}))
        if t_end - t_start > limit:
            self._at(t_start + limit, self._on_data_error, x, rm.SDHCI_INT_DATA_TIMEOUT, ("data", t_start))
            return
        self._schedule(t_end, "dat", _BUS, self._on_write_busy_end, (x,))

    # ---- running a DMA write ahead (temporal decoupling) -----------------
    # While nothing else can happen (ahead_bound: no other event queued before, no register
    # access), a DMA write's blocks run here one after the other: block end, the card's
    # answer, CRC status, busy, the DMA fetches, the next block. Each step is the event
    # handler's common case, in the order the scheduler would run them; at anything else
    # (an error, a fault's block, an SDMA boundary or ADMA Int, the last block) the events
    # still to come are queued as they stand and their handlers take over.

    @staticmethod
    def _steady_block_end(x: Transfer, block: int, free: int | None) -> bool:
        """A write block's end that takes the common way: no abort or error, no fault on it, not Auto CMD12's."""
        return (x.stop is Stop.NONE and not x.failed and (free is None or block < free)
                and not (x.auto12 and x.total is not None and x.done + 1 == x.total))

    def _write_ahead(self, t: int, x: Transfer, data: bytes, start: int, bound: int, free: int | None) -> None:
        """From this block's end on, run the write's events that come before `bound`; queue the rest.

        `free`: the first block a fault names (None: none). Each step is its
        handler's common case (the comments name the handler); nothing here
        can abort the transfer or make it fail, so it stays running.
        """
        clock, regs, lat, slots = self._clock, self._regs, self._lat, self._slots
        p = clock.period_ps
        width, ddr = regs.bus
        crcs = _CORRECT_CRCS[width, ddr]
        block_ps = block_cycles(x.block_size, width, ddr) * p
        gap_ps = lat.write_gap_cycles * p
        token_ps = bus.CRC_STATUS_BITS * p
        limit = regs.data_timeout_ps
        cmd = x.cmd.index
        total = x.total
        write_block, next_edge, record, memory = self._slot.block_writer(), clock.next_edge, self._trace.append, self._memory
        block_end, busy_end, block_start, idle = Cause.BLOCK_END, Cause.BUSY_END, Cause.BLOCK_START, Phase.IDLE
        dma_idle, dma_moving = Dma.IDLE, Dma.MOVING
        dma_map, count_down = self._dma_map, regs.block_count_decrement
        # Of _steady_block_end's questions two can change from block to block here (nothing in the
        # loop stops or fails the transfer): the block a fault names (blocks run one by one from
        # one below it, so reaching it is equality) and the last block of an Auto CMD12 write.
        auto12_last = total - 1 if x.auto12 and total is not None else -1
        # Pending events as (time, making order, kind, made at, handler arguments): one on the DAT
        # line (a block's end, busy's end or an error) and one DMA move at most, run here in order;
        # DAT0's two level changes (busy's start and end, as _dat0_busy holds them) do nothing when
        # they run, so only the last block's making order and time are kept until the stop says
        # whether they ran.
        line: tuple | None = (t, 0, _END, t, (x, data, start))
        fetch: tuple | None = None
        level_order, level_made = None, 0
        order = 0
        now = t
        while True:
            ev = line
            if fetch is not None and (ev is None or fetch < ev):
                ev = fetch
            if ev is None or ev[0] >= bound:
                break
            kind = ev[2]
            if kind is _END:                      # _on_write_block_end
                block = self.blocks_total
                if ev[1] and (block == free or x.done == auto12_last):      # _steady_block_end: see above
                    break
                now = ev[0]
                _, data, start = ev[4]
                self.blocks_total = block + 1
                record(BusEvent("data", start, now, cmd, {"block": x.done, "direction": "write"}))
                x.go(block_end)
                out = write_block(data, crcs, now, p)
                x.in_flight -= 1
                if x.dma is dma_idle and (total is None or x.fetched < total) \
                        and len(x.buffer) + x.in_flight < slots:                  # _dma_fetch
                    step, cost = dma_map(x)
                    x.dma = dma_moving
                    order += 1
                    fetch = (now + cost, order, _FETCH, now, (x, step, now))
                token = out.token if out is not None else None
                order += 1
                if token is None:
                    line = (now + lat.crc_status_timeout_cycles * p, order, _ERROR, now,
                            (x, rm.SDHCI_INT_DATA_CRC, ("crc_status", now)))
                    continue
                t_tok = now + out.token_delay_cycles * p
                t_tok_end = t_tok + token_ps
                record(BusEvent("crc_status", t_tok, t_tok_end, cmd, {"status": token, "block": x.done}))
                if token != bus.CRC_STATUS_ACCEPTED:
                    line = (t_tok_end, order, _ERROR, now, (x, rm.SDHCI_INT_DATA_CRC))
                    continue
                busy_until = out.busy_until_ps
                t_end = next_edge(busy_until) if busy_until is not None and busy_until > t_tok_end \
                    else t_tok_end                                                       # _watch_busy
                self._dat0_busy = (t_tok_end, t_end)                                     # hold_dat0
                level_order, level_made = order, now
                if t_end > t_tok_end:
                    record(BusEvent("busy", t_tok_end, t_end, cmd, {"block": x.done}))
                order += 2
                if t_end - t_tok_end > limit:
                    line = (t_tok_end + limit, order, _ERROR, now, (x, rm.SDHCI_INT_DATA_TIMEOUT, ("data", t_tok_end)))
                else:
                    line = (t_end, order, _BUSY, now, (x,))
                continue
            if kind is _BUSY:                     # _on_write_busy_end, not the last block
                if total is not None and x.done + 1 >= total:
                    break
                now = ev[0]
                line = None
                x.go(busy_end)
                x.done += 1                                                                # _block_done
                count_down()
                x.gate_ps = now + gap_ps
            elif kind is _FETCH:                  # _on_dma_fetched: no error, Int or SDMA boundary
                _, step, fetch_start = ev[4]
                sdma = x.sdma
                if step.error is not None or step.interrupt or (
                        sdma is not None and sdma.at_boundary(sdma.address - x.block_size)
                        and (total is None or x.fetched + 1 < total)):
                    break
                try:
                    fetched = gather(memory, step.segments)
                except ValueError:
                    break
                now = ev[0]
                fetch = None
                x.dma = dma_idle
                record(BusEvent("dma", fetch_start, now, cmd, {
                    "direction": "write", "segments": len(step.segments), "descriptors": step.fetched}))
                x.buffer.append(fetched)
                x.sendable_ps.append(now)
                x.fetched += 1
            else:                                 # a data error: its handler takes over
                break
            if x.phase is idle and x.gate_ps is not None and x.buffer:                 # _try_send
                begin = next_edge(max(now, x.gate_ps, x.sendable_ps.popleft()))
                block_data = x.buffer.popleft()
                x.in_flight += 1
                x.go(block_start)
                order += 1
                line = (begin + block_ps, order, _END, now, (x, block_data, begin))
            if kind is _FETCH and x.dma is dma_idle and (total is None or x.fetched < total) \
                    and len(x.buffer) + x.in_flight < slots:                          # _dma_fetch
                step, cost = dma_map(x)
                x.dma = dma_moving
                order += 1
                fetch = (now + cost, order, _FETCH, now, (x, step, now))
        # The level changes before the stop (the first event not run, or the bound) have run.
        stop = ev[:2] if ev is not None and ev[0] < bound else (bound, -1)
        levels = [] if level_order is None else [(edge, level_order + i, _LEVEL, level_made, ())
                                                 for i, edge in enumerate(self._dat0_busy)]
        ran = [level[0] for level in levels if level[:2] < stop]
        self._queue_ahead(max([now, *ran]), [e for e in (line, fetch, *levels[len(ran):]) if e is not None])

    def _queue_ahead(self, now: int, pending: list[tuple]) -> None:
        """The write ran ahead up to `now`: queue its pending events, in the order they were made."""
        scheduler = self._scheduler
        scheduler.ran_to(now)
        handlers = {_END: (self._on_write_block_end, _BUS), _BUSY: (self._on_write_busy_end, _BUS),
                    _FETCH: (self._on_dma_fetched, _HOST), _LEVEL: (_level_change, _BUS),
                    _ERROR: (self._on_data_error, _BUS)}
        for t, _, kind, made_at, args in sorted(pending, key=lambda ev: ev[1]):
            fn, on_bus = handlers[kind]
            scheduler.schedule(t, "dat", on_bus, fn, args, made_at=made_at)

    def _on_data_error(self, t: int, x: Transfer, bits: int, timeout: tuple[str, int] | None = None) -> None:
        """A data error fires; `timeout` = (what, start) records the timeout that caused it."""
        if x is self.xfer:
            if timeout is not None:
                self._trace.append(BusEvent("timeout", timeout[1], t, x.cmd.index,
                                            {"what": timeout[0], "block": x.done}))
            x.go(Cause.LINE_ERROR)
            self._fail(t, bits)

    def _on_write_busy_end(self, t: int, x: Transfer) -> None:
        """The card released DAT0 after a block: next block, or Transfer Complete."""
        if x is not self.xfer:
            return
        x.go(Cause.BUSY_END)
        self._block_done(x)
        if x.stop is not Stop.NONE:
            self._finish_abort(t)
            return
        if x.total is not None and x.done >= x.total:
            self._complete(t)
            return
        x.gate_ps = t + self._lat.write_gap_cycles * self._clock.period_ps
        self._try_send(t)

    def auto12_done(self, t: int, busy_until: int | None) -> None:
        """Auto CMD12's response ended: wait out DAT busy, then Transfer Complete."""
        x = self.xfer
        if x is None:
            return
        x.go(Cause.AUTO_CMD12_DONE)
        if x.read:
            self._maybe_finish_read(t)
            return
        until = max(x.busy_end_ps, busy_until or 0, t)
        self._watch_busy(x.busy_start_ps, until, x)

    def _block_done(self, x: Transfer) -> None:
        x.done += 1
        self._regs.block_count_decrement()

    def _complete(self, t: int) -> None:
        """Transfer Complete: the DAT line is idle and the transfer is over."""
        x = self.xfer
        if x is None:
            return
        if x.sdma is not None:
            self._regs.set("SDMA_SYSTEM_ADDRESS", x.sdma.address)
        x.go(Cause.COMPLETE)
        self.xfer = None
        t_status = t + self._lat.busy_status_ps
        if t_status > t:
            self._after(t_status, self._raise_complete)
        else:
            self._raise_complete(t)

    def _raise_complete(self, t: int) -> None:
        self._ints.raise_(rm.SDHCI_INT_DATA_END)

    # ---- read path ------------------------------------------------------
    def read_started(self, t_cmd_end: int) -> None:
        """The read command's end bit went out: the card starts sending after its access time."""
        self._request_block(t_cmd_end)

    def _request_block(self, t_ref: int) -> None:
        x = self.xfer
        if x is None or not x.read or x.phase is Phase.READ_BLOCK or not x.more_to_receive():
            return
        if len(x.buffer) >= self._slots:
            if x.phase is not Phase.READ_HELD:
                x.go(Cause.BUFFER_FULL)
            return
        x.go(Cause.CARD_SENDS)
        p = self._clock.period_ps
        out = self._slot.read_block(t_ref, p)
        limit = self._regs.data_timeout_ps
        if out is None or out.access_cycles * p > limit:
            self._at(t_ref + limit, self._on_data_error, x, rm.SDHCI_INT_DATA_TIMEOUT, ("data", t_ref))
            return
        start = t_ref + out.access_cycles * p
        width, ddr = self._regs.bus
        end = start + block_cycles(x.block_size, width, ddr) * p
        self._at(end, self._on_read_block_end, x, out, start)

    def _on_read_block_end(self, t: int, x: Transfer, out: ReadOutcome, start: int) -> None:
        if x is not self.xfer:
            return
        slot = self._slot
        block = self.blocks_total
        self.blocks_total += 1
        x.go(Cause.BLOCK_END)
        self._trace.append(BusEvent("data", start, t, x.cmd.index, {"block": x.received, "direction": "read"}))
        width, ddr = self._regs.bus
        data = out.data
        if len(data) > x.block_size:
            # the host samples the end bit inside the card's longer block: data, not a stop bit
            self._fail(t, rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_DATA_END_BIT)
            return
        # The card's CRCs are those of its data on its bus: the host's match them without being
        # computed when both frame the block alike.
        ok = len(data) == x.block_size and (
            (out.width, out.ddr) == (width, ddr) and _fills_lines(len(data), width, ddr)
            or host_crcs(data, width, ddr) == out.crcs)
        if not ok or slot.fault("data_crc", block=block):
            self._fail(t, rm.SDHCI_INT_DATA_CRC)
            return
        x.buffer.append(bytes(data))
        x.received += 1
        self._block_done(x)
        if not x.more_to_receive() and x.total is not None and x.auto12:
            x.go(Cause.LAST_BLOCK)
            self._issue_auto_cmd12(t)
        if x.mode == "pio":
            self._pio_data(t)
        else:
            self._dma_store_next(t, x)
        if x.stop is not Stop.NONE:
            self._finish_abort(t)
        else:
            self._request_block(t)

    def _pio_data(self, t: int) -> None:
        x = self.xfer
        if x is None or x.port is not Port.CLOSED or not x.buffer:
            return
        x.port = Port.PENDING
        self._after(t + self._lat.buffer_ready_ps, self._on_read_ready, x)

    def _on_read_ready(self, t: int, x: Transfer) -> None:
        if x.port is Port.PENDING:
            x.port = Port.CLOSED
        if x is self.xfer and x.buffer and not x.failed:
            x.port = Port.OPEN
            self._ints.raise_(rm.SDHCI_INT_DATA_AVAIL)

    def port_read(self, t: int, n: int) -> bytes:
        """Bytes read from the Buffer Data Port (zeros unless Buffer Read Enable)."""
        x = self.xfer
        if x is None or not x.read or x.mode != "pio" or x.port is not Port.OPEN:
            return bytes(n)
        block = x.buffer[0]
        chunk = block[x.port_pos:x.port_pos + n]
        x.port_pos += n
        if x.port_pos >= len(block):
            x.buffer.popleft()
            x.port_pos = 0
            x.port = Port.CLOSED
            self._pio_data(t)
            self._slot_freed(t, x)
        return chunk + bytes(n - len(chunk))

    def port_read_words(self, t: int, limit: int) -> list[int]:
        """Up to ``limit`` 32-bit port reads with no event between them (at least one).

        Zeros when the port is not readable; else the run that leaves the block
        unfinished or, if the first read finishes it, that one through port_read.
        """
        x = self.xfer
        if x is None or not x.read or x.mode != "pio" or x.port is not Port.OPEN:
            return [0] * limit
        count = min(limit, (len(x.buffer[0]) - x.port_pos - 1) // 4)
        if count <= 0:
            return [int.from_bytes(self.port_read(t, 4), "little")]
        words = list(struct.unpack_from(f"<{count}I", x.buffer[0], x.port_pos))
        x.port_pos += 4 * count
        return words

    def _slot_freed(self, t: int, x: Transfer) -> None:
        if x.phase is Phase.READ_HELD:
            self._request_block(self._clock.next_edge(t))
        self._maybe_finish_read(t)

    def _dma_store_next(self, t: int, x: Transfer) -> None:
        """Read DMA: move the oldest buffered block to host memory."""
        if x is not self.xfer or x.dma is not Dma.IDLE or not x.buffer or x.failed:
            return
        step, cost = self._dma_map(x)
        x.dma = Dma.MOVING
        self._after(t + cost, self._on_dma_stored, x, step, t)

    def _on_dma_stored(self, t: int, x: Transfer, step: AdmaStep, start: int) -> None:
        if x is not self.xfer:
            return
        previous = x.sdma.address - x.block_size if x.sdma else None
        if not self._dma_done(t, x, step, start):
            return
        try:
            scatter(self._memory, step.segments, x.buffer.popleft())
        except ValueError:
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return
        stored = x.received - len(x.buffer)
        more = x.total is None or stored < x.total
        if x.sdma is not None and x.sdma.at_boundary(previous) and more:
            x.dma = Dma.PAUSED
            self._ints.raise_(rm.SDHCI_INT_DMA_END)
        self._slot_freed(t, x)
        self._dma_store_next(t, x)

    def _maybe_finish_read(self, t: int) -> None:
        x = self.xfer
        if x is None or not x.read or x.failed or x.phase is not Phase.IDLE or x.buffer or x.dma is not Dma.IDLE:
            return
        if x.total is not None and x.received >= x.total:
            self._complete(t)


def _level_change(t: int) -> None:
    """Nothing to do: Present State computes DAT0's level; the event only marks the time for pollers."""
