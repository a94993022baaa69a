"""Data engine: block pipeline over the DAT lines, the PIO buffer and the DMA engines.

One `Transfer` per data command. Each block is a handful of events computed
in SD clock cycles from emmc_card.bus framing and the card's outcomes:

write: buffer (PIO writes or DMA fetch) -> block on DAT -> CRC status ->
       busy (sampled on SD clock edges) -> next block, Auto CMD12, Transfer Complete.
read:  card access -> block on DAT -> buffer -> PIO reads or DMA store ->
       Transfer Complete when all blocks left the buffer.

The buffer holds `ControllerConfig.buffer_blocks` blocks; a full buffer holds
the card (write: no block to send; read: the clock stops between blocks).
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from emmc_card import bus
from emmc_card.crc import crc16_lines
from sdhci import regmap as rm
from sdhci.controller.command import Command
from sdhci.controller.config import Latencies
from sdhci.controller.dma import Adma2, AdmaStep, Sdma, gather, scatter

if TYPE_CHECKING:
    from sdhci.controller.controller import SdhciController


def host_crcs(data: bytes, width: int, ddr: bool) -> tuple[int, ...] | None:
    """CRC16 per DAT line as the host sends/checks them; None if the block does not fill every line."""
    if len(data) % (width * (2 if ddr else 1)):
        return None
    return crc16_lines(data, width, ddr)


def block_cycles(block_size: int, width: int, ddr: bool) -> int:
    """Start bit + data + 16 CRC + end bit, rounding a partial last clock up."""
    bits_per_clock = width * (2 if ddr else 1)
    return 1 + -(-block_size * 8 // bits_per_clock) + 16 + 1


@dataclass
class Transfer:
    """State of one data command's transfer."""

    cmd: Command
    read: bool
    block_size: int
    total: int | None                # None: open-ended (no block count)
    auto12: bool
    mode: str                        # "pio", "sdma", "adma"
    sdma: Sdma | None = None
    adma: Adma2 | None = None
    buffer: deque = field(default_factory=deque)   # whole blocks held in the buffer
    sendable_ps: deque = field(default_factory=deque)  # write: earliest start bit of each buffered block
    port: bytearray = field(default_factory=bytearray)  # PIO write: block being filled
    port_pos: int = 0                # PIO read: bytes read from buffer[0]
    gate_ps: int | None = None       # earliest start of the next write block; None before the response
    bus_busy: bool = False           # a write block, CRC status or busy is on DAT
    in_flight: int = 0               # write: blocks on the bus still holding a buffer slot
    rx_busy: bool = False            # read: a block is being received
    waiting_space: bool = False      # read: the card is held (buffer full)
    fetched: int = 0                 # write: blocks brought into the buffer
    received: int = 0                # read: blocks received from the card
    done: int = 0                    # blocks completed on the bus
    dma_busy: bool = False
    dma_paused: bool = False         # SDMA at a buffer boundary
    bwe: bool = False                # Present State Buffer Write Enable
    bre: bool = False                # Present State Buffer Read Enable
    ready_pending: bool = False      # a Buffer Write/Read Ready is scheduled
    stopping: bool = False           # abort command issued: no new blocks
    abort_sent: bool = False         # its end bit reached the card: a block still on DAT is cut off
    abort_finished: bool = False     # its response (and busy) ended
    error: bool = False              # stopped by an error; waits for a software reset
    auto12_state: str = "none"       # "none", "running", "done"
    busy_start_ps: int = 0           # last block: CRC status end, where busy starts (Auto CMD12)
    busy_end_ps: int = 0             # last block: where the card releases busy

    def more_to_fetch(self) -> bool:
        return not (self.stopping or self.error) and (self.total is None or self.fetched < self.total)

    def more_to_receive(self) -> bool:
        return not (self.stopping or self.error) and (self.total is None or self.received < self.total)


class DataEngine:
    """Runs `Transfer`s for the controller; owns the DAT line."""

    def __init__(self, ctl: SdhciController) -> None:
        self.ctl = ctl
        self.xfer: Transfer | None = None
        self.blocks_total = 0            # lifetime block counter (fault injection)

    # ---- helpers --------------------------------------------------------
    @property
    def _slots(self) -> int:
        return self.ctl.config.buffer_blocks

    def _lat(self) -> Latencies:
        return self.ctl.config.latencies

    def _sched(self, t: int, fn: Callable[..., None], *args: Any, bus_event: bool = True) -> None:
        self.ctl.push_event(t, bus_event, "dat", fn, args)

    def _fail(self, t: int, bits: int) -> None:
        """A data error: raise it and stop the transfer (software reset DAT ends it)."""
        self.ctl.ints.raise_(bits)
        if self.xfer is not None:
            self.xfer.error = True
            self.xfer.bwe = self.xfer.bre = False

    # ---- start ----------------------------------------------------------
    def start(self, t: int, cmd: Command, total: int | None, block_size: int, read: bool,
              auto12: bool, mode: str) -> None:
        """Arm a transfer when its command is issued; DMA prefetch and PIO space start now."""
        ctl = self.ctl
        x = Transfer(cmd=cmd, read=read, block_size=block_size, total=total, auto12=auto12, mode=mode)
        if mode == "sdma":
            x.sdma = Sdma(ctl.regs["SDMA_SYSTEM_ADDRESS"], ctl.sdma_boundary())
        elif mode == "adma":
            x.adma = Adma2(ctl.memory, ctl.adma_address(), ctl.adma_descriptor_bytes())
        self.xfer = x
        if not read:
            if mode == "pio":
                self._pio_space(t)
            else:
                self._dma_fetch(t)

    def response_done(self, t: int, ok: bool) -> None:
        """The data command's response ended (or failed): open the write gate / give up."""
        x = self.xfer
        if x is None:
            return
        if not ok:
            x.error = True
            x.bwe = x.bre = False
            return
        if not x.read:
            x.gate_ps = t + self._lat().write_gap_cycles * self.ctl.clock.period_ps
            self._try_send(t)

    def abort(self) -> None:
        """An abort command (CMD12) was issued: finish the block on the bus, start no more."""
        if self.xfer is not None:
            self.xfer.stopping = True
            self.xfer.bwe = False

    def abort_reached(self) -> None:
        """The abort command's end bit went out: the card stops taking data."""
        if self.xfer is not None and self.xfer.stopping:
            self.xfer.abort_sent = True

    def abort_done(self, t: int) -> None:
        """The abort command's response/busy ended: the transfer is over when DAT is idle."""
        if self.xfer is not None and self.xfer.stopping:
            self.xfer.abort_finished = True
            self._finish_abort(t)

    def _finish_abort(self, t: int) -> None:
        x = self.xfer
        if x is not None and x.abort_finished and not x.bus_busy and not x.rx_busy:
            self._complete(t)

    # ---- write path -----------------------------------------------------
    def _free_slots(self, x: Transfer) -> int:
        return self._slots - len(x.buffer) - x.in_flight

    def _pio_space(self, t: int) -> None:
        """Buffer Write Enable goes 1 (with Buffer Write Ready) when a block fits."""
        x = self.xfer
        if x.bwe or x.ready_pending or not x.more_to_fetch() or self._free_slots(x) <= 0:
            return
        x.ready_pending = True
        self._sched(t + self._lat().buffer_ready_ps, self._on_write_ready, x, bus_event=False)

    def _on_write_ready(self, t: int, x: Transfer) -> None:
        x.ready_pending = False
        if x is self.xfer and x.more_to_fetch():
            x.bwe = True
            self.ctl.ints.raise_(rm.SDHCI_INT_SPACE_AVAIL)

    def port_write(self, t: int, data: bytes) -> None:
        """Bytes written to the Buffer Data Port (ignored unless Buffer Write Enable)."""
        x = self.xfer
        if x is None or x.read or x.mode != "pio" or not x.bwe:
            return
        x.port += data
        if len(x.port) >= x.block_size:
            x.buffer.append(bytes(x.port[:x.block_size]))
            x.sendable_ps.append(t + self._lat().pio_block_start_ps)
            x.port = bytearray()
            x.fetched += 1
            x.bwe = False
            self._pio_space(t)
            self._try_send(t)

    def port_write_words(self, t: int, data: bytes, start: int, end: int) -> int:
        """32-bit words start..end-1 of ``data`` written to the port with no event between them; how many it took.

        All of them when the port ignores writes; else the run that leaves the
        block unfinished (they only add bytes) or, if the first one completes
        it, that one word through port_write.
        """
        x = self.xfer
        if x is None or x.read or x.mode != "pio" or not x.bwe:
            return end - start
        count = min(end - start, (x.block_size - len(x.port) - 1) // 4)
        if count <= 0:
            self.port_write(t, data[4 * start:4 * start + 4])
            return 1
        x.port += data[4 * start:4 * (start + count)]
        return count

    def _dma_fetch(self, t: int) -> None:
        """Write DMA: bring the next block from host memory into a free buffer slot."""
        x = self.xfer
        if x.dma_busy or x.dma_paused or not x.more_to_fetch() or self._free_slots(x) <= 0:
            return
        step = self._dma_map(x)
        x.dma_busy = True
        lat = self._lat()
        cost = step.fetched * lat.dma_descriptor_fetch_ps + (lat.dma_block_ps if step.error is None else 0)
        self._sched(t + cost, self._on_dma_fetched, x, step, t, bus_event=False)

    def _dma_map(self, x: Transfer) -> AdmaStep:
        if x.adma is not None:
            try:
                step = x.adma.take(x.block_size)
            except ValueError:        # descriptor or data address outside the address space
                return AdmaStep(error=rm.ADMA_ERROR_STATE_ST_FDS)
            self.ctl.adma_position(x.adma.descriptor)
            return step
        return AdmaStep(segments=x.sdma.segments(x.block_size))

    def _dma_done(self, t: int, x: Transfer, step: AdmaStep, start: int) -> bool:
        """Common DMA bookkeeping: trace, ADMA error, Int attribute, SDMA boundary. False on error."""
        x.dma_busy = False
        ctl = self.ctl
        ctl.add_trace("dma", start, t, x.cmd.index, direction="read" if x.read else "write",
                      segments=len(step.segments), descriptors=step.fetched)
        if step.error is not None:
            ctl.adma_error(step.error, x.adma.descriptor if x.adma else 0)
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return False
        if step.interrupt:
            ctl.ints.raise_(rm.SDHCI_INT_DMA_END)
        return True

    def _on_dma_fetched(self, t: int, x: Transfer, step: AdmaStep, start: int) -> None:
        if x is not self.xfer:
            return
        previous = x.sdma.address - x.block_size if x.sdma else None
        if not self._dma_done(t, x, step, start):
            return
        try:
            x.buffer.append(gather(self.ctl.memory, step.segments))
            x.sendable_ps.append(t)
        except ValueError:
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return
        x.fetched += 1
        if x.sdma is not None and x.sdma.at_boundary(previous) and x.more_to_fetch():
            x.dma_paused = True
            self.ctl.ints.raise_(rm.SDHCI_INT_DMA_END)
        self._try_send(t)
        self._dma_fetch(t)

    def sdma_resume(self, t: int, address: int) -> None:
        """The driver wrote the next SDMA address: continue from it."""
        x = self.xfer
        if x is None or x.sdma is None or not x.dma_paused:
            return
        x.sdma.address = address
        x.dma_paused = False
        t_go = t + self._lat().sdma_resume_ps
        if x.read:
            self._sched(t_go, self._dma_store_next, x, bus_event=False)
        else:
            self._sched(t_go, self._dma_fetch_at, x, bus_event=False)

    def _dma_fetch_at(self, t: int, x: Transfer) -> None:
        if x is self.xfer:
            self._dma_fetch(t)

    def _try_send(self, t: int) -> None:
        """Start the next write block on DAT if one is buffered and the line is free."""
        x = self.xfer
        if x is None or x.read or x.bus_busy or x.error or x.stopping or x.gate_ps is None or not x.buffer:
            return
        clock = self.ctl.clock
        start = clock.next_edge(max(t, x.gate_ps, x.sendable_ps.popleft()))
        data = x.buffer.popleft()
        x.in_flight += 1
        x.bus_busy = True
        width, ddr = self.ctl.bus_mode()
        end = start + block_cycles(len(data), width, ddr) * clock.period_ps
        self._sched(end, self._on_write_block_end, x, data, start)

    def _on_write_block_end(self, t: int, x: Transfer, data: bytes, start: int) -> None:
        if x is not self.xfer:
            return
        ctl = self.ctl
        block = self.blocks_total
        self.blocks_total += 1
        width, ddr = ctl.bus_mode()
        crcs = host_crcs(data, width, ddr) or (0,) * width * (2 if ddr else 1)
        # Four fault questions per block: skip them all in the common case of no faults.
        faults = bool(ctl.config.faults)
        if faults and ctl.fault("data_crc", block=block):
            crcs = (crcs[0] ^ 1,) + crcs[1:]
        if x.abort_sent:      # CMD12 reached the card first: this block is cut off, no CRC status
            ctl.add_trace("data", start, t, x.cmd.index, block=x.done, direction="write", aborted=True)
            x.in_flight -= 1
            x.bus_busy = False
            self._finish_abort(t)
            return
        ctl.add_trace("data", start, t, x.cmd.index, block=x.done, direction="write")
        if faults:
            ctl.fault("remove_card", block=block)
        p = ctl.clock.period_ps
        out = ctl.card.write_block(data, crcs, t, p) if ctl.card_ok() else None
        x.in_flight -= 1
        if x.mode == "pio":
            self._pio_space(t)
        else:
            self._dma_fetch(t)
        token = None if out is None or (faults and ctl.fault("drop_crc_status", block=block)) else out.token
        if token is None:
            t_err = t + self._lat().crc_status_timeout_cycles * p
            self._sched(t_err, self._on_data_error, x, rm.SDHCI_INT_DATA_CRC, ("crc_status", t))
            return
        t_tok = t + out.token_delay_cycles * p
        t_tok_end = t_tok + bus.CRC_STATUS_BITS * p
        ctl.add_trace("crc_status", t_tok, t_tok_end, x.cmd.index, status=token, block=x.done)
        if token != bus.CRC_STATUS_ACCEPTED:
            self._sched(t_tok_end, self._on_data_error, x, rm.SDHCI_INT_DATA_CRC)
            return
        busy_until = out.busy_until_ps if out.busy_until_ps is not None else t_tok_end
        stretch = faults and ctl.fault("stretch_busy", block=block)
        if stretch:
            busy_until = max(busy_until, t_tok_end) + stretch.stretch_ps
        last = x.total is not None and x.done + 1 == x.total
        if last and x.auto12:
            # Auto CMD12 goes out on CMD right after the CRC status; DAT stays busy.
            x.busy_start_ps, x.busy_end_ps = t_tok_end, busy_until
            x.auto12_state = "running"
            ctl.issue_auto_cmd12(t_tok_end)
            return
        self._watch_busy(t_tok_end, busy_until, x)

    def _watch_busy(self, t_start: int, busy_until: int, x: Transfer) -> None:
        """DAT0 busy from t_start until the card releases it, seen at an SD clock edge; data timeout."""
        ctl = self.ctl
        t_end = ctl.clock.next_edge(busy_until) if busy_until > t_start else t_start
        limit = ctl.data_timeout_ps()
        ctl.set_dat0_busy(t_start, t_end)
        if t_end > t_start:   # the card holds DAT0 whatever the host's timeout does: trace it now
            ctl.add_trace("busy", t_start, t_end, x.cmd.index, block=x.done)
        if t_end - t_start > limit:
            self._sched(t_start + limit, self._on_data_error, x, rm.SDHCI_INT_DATA_TIMEOUT, ("data", t_start))
            return
        self._sched(t_end, self._on_write_busy_end, x)

    def _on_data_error(self, t: int, x: Transfer, bits: int, timeout: tuple[str, int] | None = None) -> None:
        """A data error fires; `timeout` = (what, start) records the timeout that caused it."""
        if x is self.xfer:
            if timeout is not None:
                self.ctl.add_trace("timeout", timeout[1], t, x.cmd.index, what=timeout[0], block=x.done)
            x.bus_busy = x.rx_busy = False
            self._fail(t, bits)

    def _on_write_busy_end(self, t: int, x: Transfer) -> None:
        """The card released DAT0 after a block: next block, or Transfer Complete."""
        if x is not self.xfer:
            return
        ctl = self.ctl
        x.bus_busy = False
        self._block_done(x)
        if x.stopping:
            self._finish_abort(t)
            return
        if x.total is not None and x.done >= x.total:
            self._complete(t)
            return
        x.gate_ps = t + self._lat().write_gap_cycles * ctl.clock.period_ps
        self._try_send(t)

    def auto12_done(self, t: int, busy_until: int | None) -> None:
        """Auto CMD12's response ended: wait out DAT busy, then Transfer Complete."""
        x = self.xfer
        if x is None:
            return
        x.auto12_state = "done"
        if x.read:
            self._maybe_finish_read(t)
            return
        until = max(x.busy_end_ps, busy_until or 0, t)
        self._watch_busy(x.busy_start_ps, until, x)

    def _block_done(self, x: Transfer) -> None:
        x.done += 1
        self.ctl.block_count_decrement()

    def _complete(self, t: int) -> None:
        """Transfer Complete: the DAT line is idle and the transfer is over."""
        x = self.xfer
        if x is None:
            return
        if x.sdma is not None:
            self.ctl.regs["SDMA_SYSTEM_ADDRESS"] = x.sdma.address
        self.xfer = None
        t_status = t + self._lat().busy_status_ps
        if t_status > t:
            self.ctl.schedule(t_status, self._raise_complete, bus_event=False, engine="dat")
        else:
            self._raise_complete(t)

    def _raise_complete(self, t: int) -> None:
        self.ctl.ints.raise_(rm.SDHCI_INT_DATA_END)

    # ---- read path ------------------------------------------------------
    def read_started(self, t_cmd_end: int) -> None:
        """The read command's end bit went out: the card starts sending after its access time."""
        self._request_block(t_cmd_end)

    def _request_block(self, t_ref: int) -> None:
        x = self.xfer
        if x is None or not x.read or x.rx_busy or not x.more_to_receive():
            return
        if len(x.buffer) >= self._slots:
            x.waiting_space = True
            return
        x.waiting_space = False
        ctl = self.ctl
        p = ctl.clock.period_ps
        out = ctl.card.read_block(t_ref, p) if ctl.card_ok() else None
        limit = ctl.data_timeout_ps()
        if out is None or out.access_cycles * p > limit:
            x.rx_busy = True
            self._sched(t_ref + limit, self._on_data_error, x, rm.SDHCI_INT_DATA_TIMEOUT, ("data", t_ref))
            return
        start = t_ref + out.access_cycles * p
        width, ddr = ctl.bus_mode()
        end = start + block_cycles(x.block_size, width, ddr) * p
        x.rx_busy = True
        self._sched(end, self._on_read_block_end, x, out, start)

    def _on_read_block_end(self, t: int, x: Transfer, out, start: int) -> None:
        if x is not self.xfer:
            return
        ctl = self.ctl
        block = self.blocks_total
        self.blocks_total += 1
        x.rx_busy = False
        ctl.add_trace("data", start, t, x.cmd.index, block=x.received, direction="read")
        width, ddr = ctl.bus_mode()
        data = out.data
        if len(data) > x.block_size:
            # the host samples the end bit inside the card's longer block: data, not a stop bit
            self._fail(t, rm.SDHCI_INT_DATA_CRC | rm.SDHCI_INT_DATA_END_BIT)
            return
        ok = len(data) == x.block_size and host_crcs(data, width, ddr) == tuple(out.crcs)
        if not ok or ctl.fault("data_crc", block=block):
            self._fail(t, rm.SDHCI_INT_DATA_CRC)
            return
        x.buffer.append(bytes(data))
        x.received += 1
        self._block_done(x)
        if not x.more_to_receive() and x.total is not None and x.auto12:
            x.auto12_state = "running"
            ctl.issue_auto_cmd12(t)
        if x.mode == "pio":
            self._pio_data(t)
        else:
            self._dma_store_next(t, x)
        if x.stopping:
            self._finish_abort(t)
        else:
            self._request_block(t)

    def _pio_data(self, t: int) -> None:
        x = self.xfer
        if x is None or x.bre or x.ready_pending or not x.buffer:
            return
        x.ready_pending = True
        self._sched(t + self._lat().buffer_ready_ps, self._on_read_ready, x, bus_event=False)

    def _on_read_ready(self, t: int, x: Transfer) -> None:
        x.ready_pending = False
        if x is self.xfer and x.buffer and not x.error:
            x.bre = True
            self.ctl.ints.raise_(rm.SDHCI_INT_DATA_AVAIL)

    def port_read(self, t: int, n: int) -> bytes:
        """Bytes read from the Buffer Data Port (zeros unless Buffer Read Enable)."""
        x = self.xfer
        if x is None or not x.read or x.mode != "pio" or not x.bre:
            return bytes(n)
        block = x.buffer[0]
        chunk = block[x.port_pos:x.port_pos + n]
        x.port_pos += n
        if x.port_pos >= len(block):
            x.buffer.popleft()
            x.port_pos = 0
            x.bre = False
            self._pio_data(t)
            self._slot_freed(t, x)
        return chunk + bytes(n - len(chunk))

    def port_read_words(self, t: int, limit: int) -> list[int]:
        """Up to ``limit`` 32-bit port reads with no event between them (at least one).

        Zeros when the port is not readable; else the run that leaves the block
        unfinished or, if the first read finishes it, that one through port_read.
        """
        x = self.xfer
        if x is None or not x.read or x.mode != "pio" or not x.bre:
            return [0] * limit
        count = min(limit, (len(x.buffer[0]) - x.port_pos - 1) // 4)
        if count <= 0:
            return [int.from_bytes(self.port_read(t, 4), "little")]
        words = list(struct.unpack_from(f"<{count}I", x.buffer[0], x.port_pos))
        x.port_pos += 4 * count
        return words

    def _slot_freed(self, t: int, x: Transfer) -> None:
        if x.waiting_space:
            self._request_block(self.ctl.clock.next_edge(t))
        self._maybe_finish_read(t)

    def _dma_store_next(self, t: int, x: Transfer) -> None:
        """Read DMA: move the oldest buffered block to host memory."""
        if x is not self.xfer or x.dma_busy or x.dma_paused or not x.buffer or x.error:
            return
        step = self._dma_map(x)
        x.dma_busy = True
        lat = self._lat()
        cost = step.fetched * lat.dma_descriptor_fetch_ps + (lat.dma_block_ps if step.error is None else 0)
        self._sched(t + cost, self._on_dma_stored, x, step, t, bus_event=False)

    def _on_dma_stored(self, t: int, x: Transfer, step: AdmaStep, start: int) -> None:
        if x is not self.xfer:
            return
        previous = x.sdma.address - x.block_size if x.sdma else None
        if not self._dma_done(t, x, step, start):
            return
        try:
            scatter(self.ctl.memory, step.segments, x.buffer.popleft())
        except ValueError:
            self._fail(t, rm.SDHCI_INT_ADMA_ERROR)
            return
        stored = x.received - len(x.buffer)
        more = x.total is None or stored < x.total
        if x.sdma is not None and x.sdma.at_boundary(previous) and more:
            x.dma_paused = True
            self.ctl.ints.raise_(rm.SDHCI_INT_DMA_END)
        self._slot_freed(t, x)
        self._dma_store_next(t, x)

    def _maybe_finish_read(self, t: int) -> None:
        x = self.xfer
        if x is None or not x.read or x.error or x.rx_busy or x.buffer or x.dma_busy:
            return
        if x.total is not None and x.received >= x.total and x.auto12_state != "running":
            self._complete(t)

    # ---- Present State --------------------------------------------------
    def present_bits(self) -> int:
        """Present State bits of the data side."""
        x = self.xfer
        if x is None:
            return 0
        bits = rm.SDHCI_DATA_INHIBIT | rm.SDHCI_DOING_READ if x.read else rm.SDHCI_DATA_INHIBIT
        if not x.read:
            bits |= rm.SDHCI_DOING_WRITE
        if x.bus_busy or x.rx_busy or x.waiting_space or (not x.read and x.gate_ps is not None) \
                or x.auto12_state == "running":
            bits |= 0x4   # DAT Line Active
        if x.bwe:
            bits |= rm.SDHCI_SPACE_AVAILABLE
        if x.bre:
            bits |= rm.SDHCI_DATA_AVAILABLE
        return bits
