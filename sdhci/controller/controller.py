"""SdhciController: the register interface, the event queue and the command engine.

Event-driven and lazy (DESIGN.md decision 3): every access carries its time;
the model first applies every scheduled event up to it, then answers. Bus
events (phases on CMD/DAT) only progress while the SD clock runs; while it is
stopped they freeze and resume, shifted, when it restarts.
"""
from __future__ import annotations

import heapq
import struct
from collections import Counter
from collections.abc import Sequence
from typing import Any, Callable

from emmc_card import EmmcCard, bus
from sdhci import regmap as rm
from sdhci.controller.clock import SdClock, data_timeout_ps
from sdhci.controller.command import (CMD12_STOP_TRANSMISSION, CMD23_SET_BLOCK_COUNT, Command,
                                      as_received, check_response, corrupt_crc, response_bits,
                                      response_words)
from sdhci.controller.config import ControllerConfig, Fault
from sdhci.controller.data import DataEngine
from sdhci.controller.dma import sdma_boundary
from sdhci.controller.interrupts import Interrupts
from sdhci.memory import HostMemory
from sdhci.trace import BusEvent

# Registers held as plain storage (RW fields masked by version on write).
_PROTECTED_DURING_TRANSFER = frozenset({"BLOCK_SIZE", "BLOCK_COUNT", "TRANSFER_MODE"})
_PLAIN = ("SDMA_SYSTEM_ADDRESS", "BLOCK_SIZE", "BLOCK_COUNT", "ARGUMENT", "TRANSFER_MODE", "COMMAND",
          "HOST_CONTROL_1", "POWER_CONTROL", "BLOCK_GAP_CONTROL", "WAKEUP_CONTROL", "TIMEOUT_CONTROL",
          "HOST_CONTROL_2", "ADMA_SYSTEM_ADDRESS", "ADMA_SYSTEM_ADDRESS_HI")
_BYTE_TO_REGISTER: list[rm.Register | None] = [rm.register_at(b) for b in range(256)]
_BUFFER_DATA_PORT = rm.REGISTER_BY_NAME["BUFFER_DATA_PORT"]
# (offset, width) of every legal access: 8, 16 or 32 bits, naturally aligned, inside 0x00..0xFF.
_LEGAL_ACCESSES = frozenset((offset, width) for width in (8, 16, 32)
                            for offset in range(0, 0x100 - width // 8 + 1, width // 8))
_DAT_LINE_ACTIVE = 0x4
_VOLTAGE_SELECT = rm.REGISTER_BY_NAME["POWER_CONTROL"].field("SD_BUS_VOLTAGE_SELECT").mask
_ACCESS = ("RW", "RO", "W1C", "RWAC", "ROC", "HWInit", "WO")      # fields a version shows (not RsvdZ)
_AUTO_CMD_ERROR_BITS = {rm.SDHCI_INT_CRC: rm.SDHCI_AUTO_CMD_CRC, rm.SDHCI_INT_END_BIT: rm.SDHCI_AUTO_CMD_END_BIT,
                        rm.SDHCI_INT_INDEX: rm.SDHCI_AUTO_CMD_INDEX}


class _Event:
    """A scheduled state change; `bus` ones need the SD clock, `engine` says which reset cancels it."""

    __slots__ = ("t", "bus", "engine", "scheduled", "fn", "args", "live")

    def __init__(self, t: int, bus_event: bool, engine: str, scheduled: int, fn: Callable, args: tuple) -> None:
        self.t = t
        self.bus = bus_event
        self.engine = engine
        self.scheduled = scheduled
        self.fn = fn
        self.args = args
        self.live = True


class SdhciController:
    """An SD Host Controller (SDHCI register map) in front of an eMMC card model."""

    def __init__(self, config: ControllerConfig, card: EmmcCard | None, memory: HostMemory) -> None:
        config.validate()
        self.config = config
        self.card = card
        self.memory = memory
        self.version = config.version
        self.trace: list[BusEvent] = []
        caps = config.capabilities
        self._caps0, self._caps1 = caps.registers(config.version)
        self._present_mask = {r.name: r.mask(tuple(_ACCESS), config.version) for r in rm.REGISTERS}
        self._rw_mask = {r.name: r.mask(("RW",), config.version) for r in rm.REGISTERS}
        self._supported_voltages = {value for value, offered in (
            (rm.SDHCI_POWER_330, caps.voltage_3v3), (rm.SDHCI_POWER_300, caps.voltage_3v0),
            (rm.SDHCI_POWER_180, caps.voltage_1v8)) if offered}
        self._hc1_mask = self._rw_mask["HOST_CONTROL_1"] & ~(
            (0 if caps.bus_8bit else rm.SDHCI_CTRL_8BITBUS) | (0 if caps.high_speed else rm.SDHCI_CTRL_HISPD))
        self.clock = SdClock(caps.base_clock_mhz * 1_000_000, config.version,
                             config.latencies.internal_clock_stable_ps)
        self.ints = Interrupts(config.version)
        self.data = DataEngine(self)
        self._queue: list[tuple[int, int, _Event]] = []
        self._frozen: list[_Event] = []
        self._seq = 0
        self._now = 0
        self._card_removed = card is None
        self._cmd_counts: Counter[int] = Counter()
        self._fired: set[int] = set()
        self._reset_all_state(0)
        self._readers = self._build_readers()

    # ---- state ----------------------------------------------------------
    def _reset_all_state(self, t: int) -> None:
        self.regs: dict[str, int] = {name: 0 for name in _PLAIN}
        self.clock.reset()
        self.ints.reset()
        self._clock_stopped_at: int | None = t
        self._response = [0, 0, 0, 0]
        self._auto_cmd_status = 0
        self._adma_error_status = 0
        self._cmd_inhibit = False
        self._r1b_busy = False
        self._cmd_line_free = 0
        self._dat0_busy = (0, 0)
        self._pending_main: Command | None = None
        self.data.xfer = None

    def card_ok(self) -> bool:
        """The card is there and powered: it sees commands and data."""
        return not self._card_removed and bool(self.regs["POWER_CONTROL"] & rm.SDHCI_POWER_ON)

    def bus_mode(self) -> tuple[int, bool]:
        """(bus width, DDR) from Host Control 1 and Host Control 2 UHS Mode Select."""
        hc1 = self.regs["HOST_CONTROL_1"]
        width = 8 if hc1 & rm.SDHCI_CTRL_8BITBUS else 4 if hc1 & rm.SDHCI_CTRL_4BITBUS else 1
        uhs = self.regs["HOST_CONTROL_2"] & rm.SDHCI_CTRL_UHS_MASK
        ddr = uhs in (rm.SDHCI_CTRL_UHS_DDR50, rm.SDHCI_CTRL_HS400) and self.config.capabilities.ddr50
        return width, ddr

    def data_timeout_ps(self) -> int:
        return data_timeout_ps(self.regs["TIMEOUT_CONTROL"], self.config.capabilities.timeout_clock_hz)

    def sdma_boundary(self) -> int:
        return sdma_boundary(self.regs["BLOCK_SIZE"])

    def adma_address(self) -> int:
        hi = self.regs["ADMA_SYSTEM_ADDRESS_HI"] if self._dma_select() == 3 else 0
        return self.regs["ADMA_SYSTEM_ADDRESS"] | hi << 32

    def adma_descriptor_bytes(self) -> int:
        """8 (ADMA2 32-bit), 12 (64-bit) or 16 (64-bit, Host Version 4 Enable)."""
        if self._dma_select() != 3:
            return 8
        return 16 if self.regs["HOST_CONTROL_2"] & rm.SDHCI_CTRL_V4_MODE else 12

    def adma_position(self, descriptor: int) -> None:
        """ADMA System Address follows the engine: it points past each descriptor fetched (spec 2.2.31)."""
        self.regs["ADMA_SYSTEM_ADDRESS"] = descriptor & 0xFFFFFFFF
        if self._dma_select() == 3:
            self.regs["ADMA_SYSTEM_ADDRESS_HI"] = descriptor >> 32

    def adma_error(self, status: int, descriptor: int) -> None:
        self._adma_error_status = status
        self.adma_position(descriptor)

    def _dma_select(self) -> int:
        return (self.regs["HOST_CONTROL_1"] & rm.SDHCI_CTRL_DMA_MASK) >> 3

    def _dma_mode(self) -> str:
        """The DMA the Transfer Mode and Host Control 1 select, if the capabilities offer it."""
        if not self.regs["TRANSFER_MODE"] & rm.SDHCI_TRNS_DMA:
            return "pio"
        caps = self.config.capabilities
        select = self._dma_select()
        if select == 0 and caps.sdma:
            return "sdma"
        if (select == 2 and caps.adma2) or (select == 3 and caps.adma2 and caps.bus_64bit):
            return "adma"
        return "pio"

    def block_count_decrement(self) -> None:
        """Block Count counts down per block of a multi-block transfer with Block Count Enable."""
        tm = self.regs["TRANSFER_MODE"]
        if tm & rm.SDHCI_TRNS_BLK_CNT_EN and tm & rm.SDHCI_TRNS_MULTI and self.regs["BLOCK_COUNT"]:
            self.regs["BLOCK_COUNT"] -= 1

    def set_dat0_busy(self, start: int, end: int) -> None:
        """DAT0 is held low over [start, end) (Present State DAT[0] level)."""
        self._dat0_busy = (start, end)
        if start > self._now:     # a level change a poller must not jump over
            self.push_event(start, True, "dat", self._level_change, ())

    def _level_change(self, t: int) -> None:
        """Nothing to do: Present State computes the level; the event only marks the time."""

    def add_trace(self, kind: str, start: int, end: int, cmd: int | None, **detail: Any) -> None:
        self.trace.append(BusEvent(kind, start, end, cmd, detail))

    def fault(self, kind: str, *, cmd: int | None = None, block: int | None = None) -> Fault | None:
        """The configured fault of `kind` at this command occurrence or block, once; remove_card acts."""
        if not self.config.faults:      # asked several times per block: the common case is none
            return None
        for i, f in enumerate(self.config.faults):
            if f.kind != kind or i in self._fired:
                continue
            hit = (cmd is not None and f.cmd == cmd and self._cmd_counts[cmd] == f.occurrence) or \
                  (block is not None and f.block == block)
            if hit:
                self._fired.add(i)
                if kind == "remove_card":
                    self._card_removed = True
                    self.regs["POWER_CONTROL"] &= ~rm.SDHCI_POWER_ON      # cleared in the No Card state
                    self.ints.raise_(rm.SDHCI_INT_CARD_REMOVE)
                return f
        return None

    # ---- events ---------------------------------------------------------
    def schedule(self, t: int, fn: Callable, *args: Any, bus_event: bool = True, engine: str = "cmd") -> None:
        """Run fn(t, *args) at time t (not before now). Bus events wait for a running SD clock."""
        self.push_event(t, bus_event, engine, fn, args)

    def push_event(self, t: int, bus_event: bool, engine: str, fn: Callable, args: tuple) -> None:
        """schedule() with the arguments as they are stored (the data engine's per-block path)."""
        now = self._now
        if t < now:
            t = now
        self._seq = seq = self._seq + 1
        heapq.heappush(self._queue, (t, seq, _Event(t, bus_event, engine, now, fn, args)))

    def _advance(self, t: int) -> None:
        if t < self._now:       # accesses must not go back in time; treat as "now"
            t = self._now
        q = self._queue
        if not q or q[0][0] > t:        # most accesses: nothing due
            self._now = t
            return
        heappop = heapq.heappop
        while q and q[0][0] <= t:
            t_ev, _, ev = heappop(q)
            if not ev.live:
                continue
            if ev.bus and self._clock_stopped_at is not None:
                self._frozen.append(ev)
                continue
            self._now = t_ev
            ev.fn(t_ev, *ev.args)
        self._now = t

    def _cancel(self, engines: tuple[str, ...]) -> None:
        for _, _, ev in self._queue:
            if ev.engine in engines:
                ev.live = False
        self._frozen = [ev for ev in self._frozen if ev.engine not in engines]

    def _update_clock(self, t: int) -> None:
        """Start/stop the SD clock; a restart shifts every frozen or pending bus event."""
        running = self.clock.running(t)
        if running and self._clock_stopped_at is not None:
            stopped = self._clock_stopped_at
            self._clock_stopped_at = None
            self.clock.edge0_ps = t
            pending = [ev for _, _, ev in self._queue if ev.live] + self._frozen
            self._frozen = []
            self._queue = []
            for ev in pending:
                if ev.bus and ev.t >= stopped:
                    ev.t += t - max(stopped, ev.scheduled)
                self._seq += 1
                self._queue.append((ev.t, self._seq, ev))
            heapq.heapify(self._queue)
        elif not running and self._clock_stopped_at is None:
            self._clock_stopped_at = t

    def _on_clock_stable(self, t: int) -> None:
        self._update_clock(t)

    def next_event_ps(self) -> int | None:
        """The earliest time after the last access at which register state may change."""
        q = self._queue
        if not q:
            return None
        stopped = self._clock_stopped_at is not None
        if q[0][2].live and not (stopped and q[0][2].bus):
            return q[0][0]      # the heap's head is the earliest event of all, and it counts
        return min((t for t, _, ev in q if ev.live and not (stopped and ev.bus)), default=None)

    def irq(self, t_ps: int) -> bool:
        """The interrupt line at t_ps."""
        self._advance(t_ps)
        return self.ints.line()

    # ---- register access ------------------------------------------------
    def read(self, offset: int, width: int, t_ps: int) -> int:
        """Register read of `width` bits at `offset`; illegal or reserved addresses read 0."""
        self._advance(t_ps)
        # Checked first: Linux's 32-bit view of 0x30/0x34/0x38 is what the driver polls.
        if width == 32 and offset in _INT_PAIRS:
            return _INT_PAIRS[offset](self.ints)
        if (offset, width) not in _LEGAL_ACCESSES:
            return 0
        n = width // 8
        t = self._now
        if _BYTE_TO_REGISTER[offset] is _BUFFER_DATA_PORT:
            return int.from_bytes(self.data.port_read(t, n), "little")
        reg = _BYTE_TO_REGISTER[offset]
        if reg is not None and reg.offset == offset and reg.width == width:     # one whole register
            return self._read_reg(reg, t) & self._present_mask[reg.name]
        value = 0
        cache: dict[str, int] = {}
        for i in range(n):
            reg = _BYTE_TO_REGISTER[offset + i]
            if reg is None:
                continue
            if reg.name not in cache:
                cache[reg.name] = self._read_reg(reg, t) & self._present_mask[reg.name]
            value |= ((cache[reg.name] >> (8 * (offset + i - reg.offset))) & 0xFF) << (8 * i)
        return value

    def write(self, offset: int, width: int, value: int, t_ps: int) -> None:
        """Register write; illegal, reserved, read-only bits and absent registers ignore it."""
        self._advance(t_ps)
        if (offset, width) not in _LEGAL_ACCESSES:
            return
        n = width // 8
        t = self._now
        value &= (1 << width) - 1
        if _BYTE_TO_REGISTER[offset] is _BUFFER_DATA_PORT:
            self.data.port_write(t, value.to_bytes(n, "little"))
            return
        parts: dict[str, list] = {}
        for i in range(n):
            reg = _BYTE_TO_REGISTER[offset + i]
            if reg is None:
                continue
            shift = 8 * (offset + i - reg.offset)
            part = parts.setdefault(reg.name, [reg, 0, 0])
            part[1] |= ((value >> (8 * i)) & 0xFF) << shift
            part[2] |= 0xFF << shift
        for reg, reg_value, byte_mask in parts.values():   # ascending offsets: Transfer Mode before Command
            if self.version >= reg.min_version:
                self._write_reg(reg, reg_value, byte_mask, t)

    # PIO bursts: 16384 port accesses per 64 KiB. Between two scheduled events
    # nothing but the port's bytes changes until a word completes a block, so
    # the data engine takes such runs of words in one piece; event times and
    # block-completing words go the single-access way.
    def read_burst(self, offset: int, count: int, t_ps: int, word_ps: int) -> list[int]:
        """``count`` 32-bit reads of one port, word i at t_ps + i * word_ps: exactly read() per word."""
        if offset != _BUFFER_DATA_PORT.offset:
            return [self.read(offset, 32, t_ps + i * word_ps) for i in range(count)]
        words: list[int] = []
        while len(words) < count:
            i = len(words)
            self._advance(t_ps + i * word_ps)
            got = self.data.port_read_words(self._now, self._words_before_event(i, count, t_ps, word_ps) - i)
            if len(got) > 1:
                self._advance(t_ps + (i + len(got) - 1) * word_ps)
            words += got
        return words

    def write_burst(self, offset: int, words: Sequence[int], t_ps: int, word_ps: int) -> None:
        """32-bit writes of ``words`` to one port, word i at t_ps + i * word_ps: exactly write() per word."""
        if offset != _BUFFER_DATA_PORT.offset:
            for i, word in enumerate(words):
                self.write(offset, 32, word, t_ps + i * word_ps)
            return
        n = len(words)
        try:
            data = struct.pack(f"<{n}I", *words)
        except struct.error:        # a value beyond 32 bits: keep its low 32 bits, as write() does
            data = struct.pack(f"<{n}I", *(word & 0xFFFFFFFF for word in words))
        i = 0
        while i < n:
            self._advance(t_ps + i * word_ps)
            taken = self.data.port_write_words(self._now, data, i, self._words_before_event(i, n, t_ps, word_ps))
            if taken > 1:
                self._advance(t_ps + (i + taken - 1) * word_ps)
            i += taken

    def _words_before_event(self, i: int, n: int, t_ps: int, word_ps: int) -> int:
        """End of the run of burst words from word i that all come before the next scheduled event.

        Word k is at t_ps + k * word_ps; the run stops at the first word at or
        after the earliest queued event (which its access would apply first).
        Word i itself always belongs to the run: the caller advanced to it.
        """
        if not self._queue or word_ps <= 0:
            return n
        first_at_event = -(-(self._queue[0][0] - t_ps) // word_ps)
        return min(n, max(i + 1, first_at_event))

    def _build_readers(self) -> dict[str, Callable[[int], int]]:
        """Per-register read functions for registers that are not plain storage."""
        ints = self.ints
        readers: dict[str, Callable[[int], int]] = {
            "PRESENT_STATE": self._present_state,
            "CLOCK_CONTROL": self.clock.read,
            "NORMAL_INTERRUPT_STATUS": lambda t: ints.status_value() & 0xFFFF,
            "ERROR_INTERRUPT_STATUS": lambda t: ints.status_value() >> 16,
            "NORMAL_INTERRUPT_STATUS_ENABLE": lambda t: ints.enable & 0xFFFF,
            "ERROR_INTERRUPT_STATUS_ENABLE": lambda t: ints.enable >> 16,
            "NORMAL_INTERRUPT_SIGNAL_ENABLE": lambda t: ints.signal & 0xFFFF,
            "ERROR_INTERRUPT_SIGNAL_ENABLE": lambda t: ints.signal >> 16,
            "AUTO_CMD_ERROR_STATUS": lambda t: self._auto_cmd_status,
            "CAPABILITIES": lambda t: self._caps0,
            "CAPABILITIES_1": lambda t: self._caps1,
            "ADMA_ERROR_STATUS": lambda t: self._adma_error_status,
            "SLOT_INTERRUPT_STATUS": lambda t: int(ints.line()),
            "HOST_CONTROLLER_VERSION": lambda t: self.version | self.config.vendor_version << 8,
        }
        for i in range(4):
            readers[f"RESPONSE{i}"] = lambda t, i=i: self._response[i]
        return readers

    def _read_reg(self, reg: rm.Register, t: int) -> int:
        name = reg.name
        x = self.data.xfer
        if x is not None and x.sdma is not None and name == "SDMA_SYSTEM_ADDRESS":
            return x.sdma.address     # the engine's live position
        value = self.regs.get(name)
        if value is not None:
            return value
        reader = self._readers.get(name)
        return reader(t) if reader is not None else 0   # Software Reset, Force Event (WO), Presets, Max Current

    def _present_state(self, t: int) -> int:
        bits = self.data.present_bits()
        if self._cmd_inhibit:
            bits |= rm.SDHCI_CMD_INHIBIT
        if self._r1b_busy:
            bits |= rm.SDHCI_DATA_INHIBIT | _DAT_LINE_ACTIVE
        if not self._card_removed:
            bits |= rm.SDHCI_CARD_PRESENT | rm.SDHCI_CD_LVL
        bits |= rm.SDHCI_CD_STABLE | rm.SDHCI_WRITE_PROTECT | rm.SDHCI_CMD_LVL | rm.SDHCI_DAT_4_TO_7_LVL_MASK
        busy_start, busy_end = self._dat0_busy
        dat = 0xE if busy_start <= t < busy_end else 0xF
        return bits | dat << rm.SDHCI_DATA_LVL_SHIFT

    def _write_reg(self, reg: rm.Register, value: int, byte_mask: int, t: int) -> None:
        name = reg.name
        if name in self.regs:
            if name in _PROTECTED_DURING_TRANSFER and self._dat_inhibit():
                return      # ignored while a transaction runs (spec 2.2.2, 2.2.3, 2.2.5)
            mask = (self._hc1_mask if name == "HOST_CONTROL_1" else self._rw_mask[name]) & byte_mask
            old = self.regs[name]
            self.regs[name] = (old & ~mask) | (value & mask)
            if name == "POWER_CONTROL" and not self._bus_power_allowed():
                self.regs[name] &= ~rm.SDHCI_POWER_ON
            if name == "SDMA_SYSTEM_ADDRESS" and byte_mask & 0xFF000000:
                self.data.sdma_resume(t, self.regs[name])
            elif name == "COMMAND" and byte_mask & 0xFF00:
                self._issue(t)
            elif name == "POWER_CONTROL":
                self._power_changed(old, t)
            return
        if name == "CLOCK_CONTROL":
            mask = self._rw_mask[name] & byte_mask
            was_stable_pending = self.clock.stable_at_ps
            self.clock.write((self.clock.control & ~mask) | (value & mask), t)
            if self.clock.stable_at_ps is not None and self.clock.stable_at_ps != was_stable_pending:
                self.schedule(self.clock.stable_at_ps, self._on_clock_stable, bus_event=False, engine="clk")
            self._update_clock(t)
        elif name == "SOFTWARE_RESET":
            self._software_reset(value & byte_mask, t)
        elif name == "NORMAL_INTERRUPT_STATUS":
            self.ints.clear(value & byte_mask)
        elif name == "ERROR_INTERRUPT_STATUS":
            self.ints.clear((value & byte_mask) << 16)
        elif name.endswith("STATUS_ENABLE"):
            shift = 16 if name.startswith("ERROR") else 0
            self.ints.write_enable(value << shift, byte_mask << shift)
        elif name.endswith("SIGNAL_ENABLE"):
            shift = 16 if name.startswith("ERROR") else 0
            self.ints.write_signal(value << shift, byte_mask << shift)
        elif name == "FORCE_EVENT_ERROR_INTERRUPT_STATUS":
            self.ints.raise_((value & byte_mask) << 16)
        elif name == "FORCE_EVENT_AUTO_CMD_ERROR_STATUS":
            forced = value & byte_mask & self._present_mask["AUTO_CMD_ERROR_STATUS"]
            self._auto_cmd_status |= forced
            if forced:
                self.ints.raise_(rm.SDHCI_INT_AUTO_CMD_ERR)

    def _bus_power_allowed(self) -> bool:
        """SD Bus Power stays 0 with no card or an unsupported SD Bus Voltage Select (spec 2.2.11)."""
        voltage = self.regs["POWER_CONTROL"] & _VOLTAGE_SELECT
        return not self._card_removed and voltage in self._supported_voltages

    def _power_changed(self, old: int, t: int) -> None:
        """SD Bus Power switches the card's supply: off loses its volatile state, on resets it."""
        on = bool(self.regs["POWER_CONTROL"] & rm.SDHCI_POWER_ON)
        if bool(old & rm.SDHCI_POWER_ON) != on:
            self._card_supply(on, t)

    def _card_supply(self, on: bool, t: int) -> None:
        if self.card is None or self._card_removed or not self.config.bus_power_controls_card:
            return
        if not on:
            self.card.power_cut(t)
        elif not self.card.powered:
            self.card.power_on(t)

    def _software_reset(self, bits: int, t: int) -> None:
        """Software Reset for All / CMD line / DAT line, clearing what spec 2.2.16 lists."""
        if bits & rm.SDHCI_RESET_ALL:
            power_was_on = self.card_ok()
            self._cancel(("cmd", "dat", "clk"))
            self._reset_all_state(t)
            if power_was_on:      # Reset For All clears SD Bus Power
                self._card_supply(False, t)
            return
        if bits & rm.SDHCI_RESET_CMD:
            self._cancel(("cmd",))
            self._cmd_inhibit = False
            self.ints.clear(rm.SDHCI_INT_RESPONSE)
        if bits & rm.SDHCI_RESET_DATA:
            self._cancel(("dat",))
            self.data.xfer = None
            self._r1b_busy = False
            self.regs["BLOCK_GAP_CONTROL"] &= ~0x3
            self.ints.clear(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_DMA_END | rm.SDHCI_INT_BLK_GAP
                            | rm.SDHCI_INT_SPACE_AVAIL | rm.SDHCI_INT_DATA_AVAIL)

    def _dat_inhibit(self) -> bool:
        return self.data.xfer is not None or self._r1b_busy

    # ---- command engine -------------------------------------------------
    def _issue(self, t: int) -> None:
        """The Command register's upper byte was written: issue, unless inhibited (then ignored)."""
        value = self.regs["COMMAND"]
        cmd = Command(index=(value >> 8) & 0x3F, argument=self.regs["ARGUMENT"], flags=value & 0xFF)
        stop = cmd.abort or cmd.index == CMD12_STOP_TRANSMISSION
        if self._cmd_inhibit or (cmd.uses_dat and self._dat_inhibit() and not stop):
            return
        self._cmd_inhibit = True
        if stop and self.data.xfer is not None:
            self.data.abort()
        elif cmd.data:
            if not self._start_data(t, cmd):
                return
        elif cmd.busy:
            self._r1b_busy = True
        self._send(t, cmd)

    def _start_data(self, t: int, cmd: Command) -> bool:
        """Arm the data engine from Transfer Mode / Block Size / Block Count; maybe Auto CMD23 first."""
        tm = self.regs["TRANSFER_MODE"]
        multi = bool(tm & rm.SDHCI_TRNS_MULTI)
        block_size = self.regs["BLOCK_SIZE"] & 0xFFF
        total = (self.regs["BLOCK_COUNT"] if tm & rm.SDHCI_TRNS_BLK_CNT_EN else None) if multi else 1
        auto = tm & rm.SDHCI_TRNS_AUTO_SEL
        auto12 = multi and auto == rm.SDHCI_TRNS_AUTO_CMD12
        auto23 = multi and auto == rm.SDHCI_TRNS_AUTO_CMD23 and self.version >= rm.SDHCI_SPEC_300
        if block_size == 0 or total == 0:
            # No data to move (spec: block size 0 = no data transfer): the command goes out alone.
            self.schedule(t, self._on_empty_transfer, bus_event=False, engine="dat")
            self.data.start(t, cmd, 0, 0, bool(tm & rm.SDHCI_TRNS_READ), False, "pio")
            return True
        self.data.start(t, cmd, total, block_size, bool(tm & rm.SDHCI_TRNS_READ), auto12, self._dma_mode())
        if auto23:
            arg = self.regs["SDMA_SYSTEM_ADDRESS"]      # Argument 2
            pre = Command(CMD23_SET_BLOCK_COUNT, arg, rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC
                          | rm.SDHCI_CMD_INDEX, auto=True)
            self._pending_main = cmd
            self._send(t, pre)
            return False
        return True

    def _on_empty_transfer(self, t: int) -> None:
        self.data.xfer = None
        self.ints.raise_(rm.SDHCI_INT_DATA_END)

    def issue_auto_cmd12(self, t: int) -> None:
        """The data engine reached the block count: Auto CMD12 (R1b) goes out."""
        self._send(t, Command(CMD12_STOP_TRANSMISSION, 0, rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC
                              | rm.SDHCI_CMD_INDEX, auto=True))

    def _send(self, t: int, cmd: Command) -> None:
        p = self.clock.period_ps
        start = self.clock.next_edge(max(t, self._cmd_line_free)) + self.config.latencies.command_issue_cycles * p
        end = start + bus.COMMAND_BITS * p
        self._cmd_line_free = end
        self.schedule(end, self._on_command_end, cmd, start, engine=self._engine(cmd))

    @staticmethod
    def _engine(cmd: Command) -> str:
        """Auto commands belong to the data transfer (DAT reset ends them), others to the CMD line."""
        return "dat" if cmd.auto else "cmd"

    def _on_command_end(self, t: int, cmd: Command, start: int) -> None:
        detail = {"argument": cmd.argument}
        if cmd.auto:
            detail["auto"] = True
        self.add_trace("command", start, t, cmd.index, **detail)
        self._cmd_counts[cmd.index] += 1
        if cmd.abort or cmd.index == CMD12_STOP_TRANSMISSION:
            self.data.abort_reached()
        self.fault("remove_card", cmd=cmd.index)
        p = self.clock.period_ps
        out = self.card.command(cmd.token(), t, p) if self.card_ok() else None
        response = out.response if out is not None else None
        if response is not None and self.fault("drop_response", cmd=cmd.index):
            response = None
        if response is not None:
            response = as_received(cmd, response)
            if self.fault("response_crc", cmd=cmd.index):
                response = corrupt_crc(response)
        if not cmd.has_response:
            self._cmd_line_free = t + bus.NCC * p
            self._command_done(t, cmd, None, 0)
            return
        if response is None or out.delay_cycles > bus.NCR_MAX:
            self.schedule(t + bus.NCR_MAX * p, self._on_command_timeout, cmd, t, engine=self._engine(cmd))
            return
        if cmd.data and self.data.xfer is not None and self.data.xfer.read:
            self.data.read_started(t)
        r_start = t + out.delay_cycles * p
        r_end = r_start + response_bits(cmd) * p
        self._cmd_line_free = r_end + bus.NRC * p
        self.schedule(r_end, self._on_response_end, cmd, response, out, r_start, engine=self._engine(cmd))

    def _on_response_end(self, t: int, cmd: Command, response: bytes, out: Any, r_start: int) -> None:
        detail = {"auto": True} if cmd.auto else {}
        self.add_trace("response", r_start, t, cmd.index, **detail)
        errors = check_response(cmd, response) << 16
        words = response_words(cmd, response)
        if cmd.auto:
            self._response[3] = words[0]
            self._auto_done(t, cmd, errors, out.busy_until_ps)
            return
        self._response = words
        self._command_done(t, cmd, out, errors)

    def _on_command_timeout(self, t: int, cmd: Command, cmd_end: int) -> None:
        """No response start bit within 64 clocks of the command end bit."""
        self.add_trace("timeout", cmd_end, t, cmd.index, what="command")
        self._cmd_line_free = t
        if cmd.auto:
            self._auto_done(t, cmd, rm.SDHCI_INT_TIMEOUT, None)
            return
        self.ints.raise_(rm.SDHCI_INT_TIMEOUT)
        self._cmd_inhibit = False
        if cmd.data:
            self.data.response_done(t, False)
        if cmd.busy:
            self._r1b_busy = False

    def _auto_done(self, t: int, cmd: Command, errors: int, busy_until: int | None) -> None:
        """Auto CMD12/CMD23 response (or timeout): Auto CMD Error Status, then go on."""
        if errors:
            status = rm.SDHCI_AUTO_CMD_TIMEOUT if errors & rm.SDHCI_INT_TIMEOUT else 0
            for err, bit in _AUTO_CMD_ERROR_BITS.items():
                if errors & err:
                    status |= bit
            self._auto_cmd_status = status
            self.ints.raise_(rm.SDHCI_INT_AUTO_CMD_ERR)
        if cmd.index == CMD23_SET_BLOCK_COUNT:
            main = self._pending_main
            if errors:
                self._cmd_inhibit = False
                self.data.response_done(t, False)
            else:
                self._send(t, main)
            return
        self.data.auto12_done(t, busy_until)

    def _command_done(self, t: int, cmd: Command, out: Any, errors: int) -> None:
        """Response end (or command end without response): status, inhibit, then data/busy."""
        lat = self.config.latencies.response_status_ps
        bits = errors | rm.SDHCI_INT_RESPONSE
        if lat:
            self.schedule(t + lat, self._raise, bits, bus_event=False, engine=self._engine(cmd))
        else:
            self.ints.raise_(bits)
        self._cmd_inhibit = False
        if cmd.data:
            self.data.response_done(t, errors == 0)
            return
        stop = self.data.xfer is not None and self.data.xfer.stopping
        if cmd.busy:
            busy_until = out.busy_until_ps if out is not None else None
            stretch = self.fault("stretch_busy", cmd=cmd.index)
            if stretch:
                busy_until = max(busy_until or t, t) + stretch.stretch_ps
            self._watch_r1b(t, busy_until, cmd, stop)
            return
        if out is not None and out.busy_until_ps is not None and out.busy_until_ps > t:
            # The host expected no busy (e.g. Linux sends CMD6 as R1 and polls
            # DAT0 itself), but the card still holds DAT0 low: only the DAT[0]
            # level in Present State shows it.
            self.set_dat0_busy(t, self.clock.next_edge(out.busy_until_ps))
        if stop:
            self.data.abort_done(t)

    def _raise(self, t: int, bits: int) -> None:
        self.ints.raise_(bits)

    def _watch_r1b(self, t: int, busy_until: int | None, cmd: Command, stop: bool) -> None:
        """R1b: DAT0 busy from the response end; Transfer Complete when it ends (data timeout covers it)."""
        t_end = self.clock.next_edge(busy_until) if busy_until is not None and busy_until > t else t
        self.set_dat0_busy(t, t_end)
        if t_end > t:
            self.add_trace("busy", t, t_end, cmd.index)
        limit = self.data_timeout_ps()
        timed_out = t_end - t > limit
        if timed_out:
            self.schedule(t + limit, self._on_busy_timeout, cmd, t, engine="dat")
        self.schedule(t_end, self._on_r1b_end, stop, timed_out, engine="dat")

    def _on_busy_timeout(self, t: int, cmd: Command, start: int) -> None:
        self.add_trace("timeout", start, t, cmd.index, what="data")
        self.ints.raise_(rm.SDHCI_INT_DATA_TIMEOUT)

    def _on_r1b_end(self, t: int, stop: bool, timed_out: bool) -> None:
        """DAT0 released after an R1b response: Transfer Complete (unless it timed out first)."""
        if stop:
            self.data.abort_done(t)
        if self._r1b_busy:
            self._r1b_busy = False
            if not timed_out:
                self.ints.raise_(rm.SDHCI_INT_DATA_END)


_INT_PAIRS: dict[int, Callable[[Interrupts], int]] = {
    rm.SDHCI_INT_STATUS: Interrupts.status_value,
    rm.SDHCI_INT_ENABLE: lambda ints: ints.enable,
    rm.SDHCI_SIGNAL_ENABLE: lambda ints: ints.signal,
}
