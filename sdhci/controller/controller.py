"""SdhciController: the register interface, wiring the scheduler, the register file and the engines.

Event-driven and lazy: every access carries its time; the model first runs
every scheduled event up to it (sdhci.controller.scheduler), then answers.
Who does what:

- `RegisterFile` (regfile.py): plain-storage registers and their write masks;
- `CommandEngine` (command_engine.py): the CMD line, Response, Auto CMD Error Status;
- `DataEngine` (data.py): the DAT line, the buffer, PIO, SDMA and ADMA2;
- `Interrupts` (interrupts.py), `SdClock` (clock.py), `CardSlot` (slot.py);
- this class: decoding accesses, the registers that are views of the
  engines (Present State, Clock Control, interrupts, ...), resets, power.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from emmc_card import EmmcCard
from emmc_card.statecopy import FrozenState, copy_states, restore_states
from sdhci import regmap as rm
from sdhci.controller.clock import SdClock
from sdhci.controller.command_engine import CommandEngine
from sdhci.controller.config import ControllerConfig
from sdhci.controller.data import DataEngine
from sdhci.controller.interrupts import Interrupts
from sdhci.controller.regfile import BYTE_TO_REGISTER, LEGAL_ACCESSES, RegisterFile, decode
from sdhci.controller.scheduler import Scheduler
from sdhci.controller.slot import CardSlot
from sdhci.memory import HostMemory
from sdhci.trace import BusEvent

_PROTECTED_DURING_TRANSFER = frozenset({"BLOCK_SIZE", "BLOCK_COUNT", "TRANSFER_MODE"})
_BUFFER_DATA_PORT = rm.REGISTER_BY_NAME["BUFFER_DATA_PORT"]
_DAT_LINE_ACTIVE = rm.bits("PRESENT_STATE", "DAT_LINE_ACTIVE")
_VOLTAGE_SELECT = rm.bits("POWER_CONTROL", "SD_BUS_VOLTAGE_SELECT")
_BLOCK_GAP_REQUESTS = rm.bits("BLOCK_GAP_CONTROL", "STOP_AT_BLOCK_GAP_REQUEST") \
    | rm.bits("BLOCK_GAP_CONTROL", "CONTINUE_REQUEST")
_PINS = rm.SDHCI_CD_STABLE | rm.SDHCI_WRITE_PROTECT | rm.SDHCI_CMD_LVL | rm.SDHCI_DAT_4_TO_7_LVL_MASK
_DAT_HIGH = rm.SDHCI_DATA_LVL_MASK                            # DAT[3:0] all high
_DAT0_LOW = rm.SDHCI_DATA_LVL_MASK & ~rm.SDHCI_DATA_0_LVL_MASK
# Linux's 32-bit views of the interrupt register pairs (what a driver polls).
_INT_PAIRS: dict[int, Callable[[Interrupts], int]] = {
    rm.SDHCI_INT_STATUS: Interrupts.status_value,
    rm.SDHCI_INT_ENABLE: lambda ints: ints.enable,
    rm.SDHCI_SIGNAL_ENABLE: lambda ints: ints.signal,
}
# Accesses that cover exactly one register, but the Buffer Data Port (its accesses move data):
# (offset, width) -> that register, so the commonest access is decoded with one dict lookup.
_WHOLE_REGISTER: dict[tuple[int, int], rm.Register] = {
    (reg.offset, reg.width): reg for reg in rm.REGISTERS
    if reg is not _BUFFER_DATA_PORT and (reg.offset, reg.width) in LEGAL_ACCESSES}


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
        self._supported_voltages = {value for value, offered in (
            (rm.SDHCI_POWER_330, caps.voltage_3v3), (rm.SDHCI_POWER_300, caps.voltage_3v0),
            (rm.SDHCI_POWER_180, caps.voltage_1v8)) if offered}
        self.scheduler = Scheduler()
        self.regs = RegisterFile(config)
        self.clock = SdClock(caps.base_clock_mhz * 1_000_000, config.version, config.latencies.internal_clock_stable_ps)
        self.ints = Interrupts(config.version, on_change=self.scheduler.halt)
        self.slot = CardSlot(card, config.faults, config.bus_power_controls_card,
                             on_removal=lambda: self.ints.raise_(rm.SDHCI_INT_CARD_REMOVE))
        self.commands = CommandEngine(config.latencies, self.scheduler, self.clock, self.regs, self.ints,
                                      self.slot, self.trace)
        self.data = DataEngine(config, self.scheduler, self.clock, self.regs, self.ints, self.slot, memory,
                               self.trace, self.commands.issue_auto_cmd12)
        self.commands.data = self.data
        self._readers = self._build_readers()
        self._reset_all(0)

    # ---- snapshots ----------------------------------------------------------
    def _parts(self) -> tuple[object, ...]:
        """The controller and every part that changes as it runs, each restored in place."""
        return (self, self.scheduler, self.regs, self.clock, self.ints, self.slot, self.commands, self.data)

    def snapshot(self) -> tuple[FrozenState, int]:
        """Every part's state, copied in one pass, and how long the trace is.

        The trace only grows and its events are never changed, so it is kept,
        not copied: a restore cuts it back. The card and host memory keep
        snapshots of their own.
        """
        return copy_states(self._parts(), self._shared()), len(self.trace)

    def restore(self, snapshot: tuple[FrozenState, int]) -> None:
        """Back to what snapshot() saw: the same objects, so scheduled events and register readers stay bound."""
        states, trace_length = snapshot
        restore_states(self._parts(), states)
        del self.trace[trace_length:]

    def _shared(self) -> tuple[object, ...]:
        """What a snapshot leaves shared: the configuration, the peers, the trace, and what construction fixed
        (the register readers and masks, the supported voltages)."""
        return (self.config, self.config.latencies, self.config.capabilities, self.card, self.memory, self.trace,
                self._readers, self._supported_voltages, *self.regs.fixed_tables())

    def _reset_all(self, t: int) -> None:
        self.regs.reset()
        self.clock.reset()
        self.ints.reset()
        self.scheduler.stop_clock(t)
        self.commands.reset_all()
        self.data.reset_all()

    def bus_mode(self) -> tuple[int, bool]:
        """(bus width, DDR) as Host Control 1 and 2 select them."""
        return self.regs.bus

    # ---- time -------------------------------------------------------------
    def next_event_ps(self) -> int | None:
        """The earliest time after the last access at which register state may change."""
        return self.scheduler.next_event_ps()

    def irq(self, t_ps: int) -> bool:
        """The interrupt line at t_ps."""
        self.scheduler.advance(t_ps)
        return self.ints.line()

    def run_until_change(self, offset: int, width: int, limit_ps: int) -> int | None:
        """Run events up to `limit_ps`, stopping after the first that changes what a read of (offset, width) returns.

        Returns that event's time, None if no event by `limit_ps` changes it
        (the model then stands at `limit_ps`, or where it was if nothing was
        due). For a poller that reads (offset, width) next no earlier than the
        returned time (or than `limit_ps`): reading then sees exactly what it
        would have seen stepping from event to event, yet a whole multi-block
        transfer runs here in one call. Not for the Buffer Data Port, whose
        reads have effects.
        """
        scheduler = self.scheduler
        if (offset, width) in LEGAL_ACCESSES and BYTE_TO_REGISTER[offset] is _BUFFER_DATA_PORT:
            return scheduler.next_event_ps()      # reading it to compare would take data out
        if width == 32 and offset == rm.SDHCI_INT_STATUS:
            # While events run, only Interrupts.raise_ changes the status, and it halts the run.
            return scheduler.run_until_halt(limit_ps)
        before = self.read(offset, width, scheduler.now)
        while True:
            t = scheduler.next_event_ps()
            if t is None:
                return None
            if t > limit_ps:
                scheduler.advance(limit_ps)
                return None
            scheduler.advance(t)
            if self.read(offset, width, t) != before:
                return t

    # ---- register access ------------------------------------------------
    def read(self, offset: int, width: int, t_ps: int) -> int:
        """Register read of `width` bits at `offset`; illegal or reserved addresses read 0."""
        self.scheduler.advance(t_ps)
        # Checked first: Linux's 32-bit view of 0x30/0x34/0x38 is what the driver polls.
        if width == 32 and offset in _INT_PAIRS:
            return _INT_PAIRS[offset](self.ints)
        reg = _WHOLE_REGISTER.get((offset, width))
        if reg is not None:
            return self._read_reg(reg.name, self.scheduler.now) & self.regs.shown_mask[reg.name]
        if (offset, width) not in LEGAL_ACCESSES:
            return 0
        t = self.scheduler.now
        reg = BYTE_TO_REGISTER[offset]
        if reg is _BUFFER_DATA_PORT:
            return int.from_bytes(self.data.port_read(t, width // 8), "little")
        shown = self.regs.shown_mask
        value = 0
        cache: dict[str, int] = {}
        for i in range(width // 8):
            reg = BYTE_TO_REGISTER[offset + i]
            if reg is None:
                continue
            if reg.name not in cache:
                cache[reg.name] = self._read_reg(reg.name, t) & shown[reg.name]
            value |= ((cache[reg.name] >> (8 * (offset + i - reg.offset))) & 0xFF) << (8 * i)
        return value

    def write(self, offset: int, width: int, value: int, t_ps: int) -> None:
        """Register write; illegal, reserved, read-only bits and absent registers ignore it."""
        self.scheduler.advance(t_ps)
        if width == 32 and offset == rm.SDHCI_INT_STATUS:
            # Linux's acknowledgement of both status registers at once (write 1 to clear each half).
            self.ints.clear(value & 0xFFFFFFFF)
            return
        reg = _WHOLE_REGISTER.get((offset, width))
        if reg is not None:
            if self.version >= reg.min_version:
                mask = (1 << width) - 1
                self._write_reg(reg.name, value & mask, mask, self.scheduler.now)
            return
        if (offset, width) not in LEGAL_ACCESSES:
            return
        t = self.scheduler.now
        mask = (1 << width) - 1
        value &= mask
        reg = BYTE_TO_REGISTER[offset]
        if reg is _BUFFER_DATA_PORT:
            self.data.port_write(t, value.to_bytes(width // 8, "little"))
            return
        for reg, reg_value, byte_mask in decode(offset, width, value):
            if self.version >= reg.min_version:
                self._write_reg(reg.name, reg_value, byte_mask, t)

    # PIO bursts: 16384 port accesses per 64 KiB. Between two scheduled events
    # nothing but the port's bytes changes until a word completes a block, so
    # the data engine takes such runs of words in one piece; event times and
    # block-completing words go the single-access way.
    def read_burst(self, offset: int, count: int, t_ps: int, word_ps: int) -> list[int]:
        """``count`` 32-bit reads of one port, word i at t_ps + i * word_ps: exactly read() per word."""
        if offset != _BUFFER_DATA_PORT.offset:
            return [self.read(offset, 32, t_ps + i * word_ps) for i in range(count)]
        scheduler = self.scheduler
        words: list[int] = []
        while len(words) < count:
            i = len(words)
            scheduler.advance(t_ps + i * word_ps)
            got = self.data.port_read_words(scheduler.now, self._words_before_event(i, count, t_ps, word_ps) - i)
            if len(got) > 1:
                scheduler.advance(t_ps + (i + len(got) - 1) * word_ps)
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
        scheduler = self.scheduler
        i = 0
        while i < n:
            scheduler.advance(t_ps + i * word_ps)
            taken = self.data.port_write_words(scheduler.now, data, i, self._words_before_event(i, n, t_ps, word_ps))
            if taken > 1:
                scheduler.advance(t_ps + (i + taken - 1) * word_ps)
            i += taken

    def _words_before_event(self, i: int, n: int, t_ps: int, word_ps: int) -> int:
        """End of the run of burst words from word i that all come before the next scheduled event.

        Word k is at t_ps + k * word_ps; the run stops at the first word at or
        after the earliest queued event (which its access would apply first).
        Word i itself always belongs to the run: the caller advanced to it.
        """
        nxt = self.scheduler.next_due_ps()
        if nxt is None or word_ps <= 0:
            return n
        first_at_event = -(-(nxt - t_ps) // word_ps)
        return min(n, max(i + 1, first_at_event))

    # ---- registers that are views ---------------------------------------
    def _build_readers(self) -> dict[str, Callable[[int], int]]:
        """Per-register read functions for registers that are not plain storage."""
        ints, commands, data = self.ints, self.commands, self.data
        readers: dict[str, Callable[[int], int]] = {
            "PRESENT_STATE": self._present_state,
            "CLOCK_CONTROL": self.clock.read,
            "POWER_CONTROL": lambda t: self.regs.get("POWER_CONTROL") & ~rm.SDHCI_POWER_ON
            | (rm.SDHCI_POWER_ON if self.slot.bus_power else 0),
            "NORMAL_INTERRUPT_STATUS": lambda t: ints.status_value() & 0xFFFF,
            "ERROR_INTERRUPT_STATUS": lambda t: ints.status_value() >> 16,
            "NORMAL_INTERRUPT_STATUS_ENABLE": lambda t: ints.enable & 0xFFFF,
            "ERROR_INTERRUPT_STATUS_ENABLE": lambda t: ints.enable >> 16,
            "NORMAL_INTERRUPT_SIGNAL_ENABLE": lambda t: ints.signal & 0xFFFF,
            "ERROR_INTERRUPT_SIGNAL_ENABLE": lambda t: ints.signal >> 16,
            "AUTO_CMD_ERROR_STATUS": lambda t: commands.auto_cmd_status,
            "CAPABILITIES": lambda t: self._caps0,
            "CAPABILITIES_1": lambda t: self._caps1,
            "ADMA_ERROR_STATUS": lambda t: data.adma_error_status,
            "SLOT_INTERRUPT_STATUS": lambda t: int(ints.line()),
            "HOST_CONTROLLER_VERSION": lambda t: self.version | self.config.vendor_version << 8,
        }
        for i in range(4):
            readers[f"RESPONSE{i}"] = lambda t, i=i: commands.response[i]
        return readers

    def _read_reg(self, name: str, t: int) -> int:
        if name == "SDMA_SYSTEM_ADDRESS":
            live = self.data.sdma_address()
            if live is not None:
                return live
        reader = self._readers.get(name)
        if reader is not None:
            return reader(t)
        if self.regs.holds(name):
            return self.regs.get(name)
        return 0       # Software Reset (self-clearing), Force Event (WO), Preset Values, Max Current

    def _present_state(self, t: int) -> int:
        bits = self.data.present_bits() | _PINS
        if self.commands.inhibit:
            bits |= rm.SDHCI_CMD_INHIBIT
        if self.commands.r1b_busy:
            bits |= rm.SDHCI_DATA_INHIBIT | _DAT_LINE_ACTIVE
        if not self.slot.removed:
            bits |= rm.SDHCI_CARD_PRESENT | rm.SDHCI_CD_LVL
        return bits | (_DAT0_LOW if self.data.dat0_low(t) else _DAT_HIGH)

    def _write_reg(self, name: str, value: int, byte_mask: int, t: int) -> None:
        regs = self.regs
        if regs.holds(name):
            if name in _PROTECTED_DURING_TRANSFER and (self.data.active or self.commands.r1b_busy):
                return      # ignored while a transaction runs (spec 2.2.2, 2.2.3, 2.2.5)
            regs.write(name, value, byte_mask)
            if name == "SDMA_SYSTEM_ADDRESS" and byte_mask & 0xFF000000:
                self.data.sdma_resume(t, regs.get(name))
            elif name == "COMMAND" and byte_mask & 0xFF00:
                self.commands.issue(t)
            elif name == "POWER_CONTROL":
                self._power_written(t)
            return
        ints = self.ints
        if name == "CLOCK_CONTROL":
            self._clock_written(value, byte_mask, t)
        elif name == "SOFTWARE_RESET":
            self._software_reset(value & byte_mask, t)
        elif name == "NORMAL_INTERRUPT_STATUS":
            ints.clear(value & byte_mask)
        elif name == "ERROR_INTERRUPT_STATUS":
            ints.clear((value & byte_mask) << 16)
        elif name.endswith("STATUS_ENABLE"):
            shift = 16 if name.startswith("ERROR") else 0
            ints.write_enable(value << shift, byte_mask << shift)
        elif name.endswith("SIGNAL_ENABLE"):
            shift = 16 if name.startswith("ERROR") else 0
            ints.write_signal(value << shift, byte_mask << shift)
        elif name == "FORCE_EVENT_ERROR_INTERRUPT_STATUS":
            ints.raise_((value & byte_mask) << 16)
        elif name == "FORCE_EVENT_AUTO_CMD_ERROR_STATUS":
            self.commands.force_auto_cmd_error(value & byte_mask & regs.shown_mask["AUTO_CMD_ERROR_STATUS"])

    def _clock_written(self, value: int, byte_mask: int, t: int) -> None:
        """Clock Control: the internal clock starts (stable after a delay) or stops; the SD clock gates."""
        clock = self.clock
        mask = self.regs.write_mask("CLOCK_CONTROL") & byte_mask
        was_stable_at = clock.stable_at_ps
        clock.write((clock.control & ~mask) | (value & mask), t)
        if clock.stable_at_ps is not None and clock.stable_at_ps != was_stable_at:
            self.scheduler.schedule(clock.stable_at_ps, "clk", False, self._update_sd_clock)
        self._update_sd_clock(t)

    def _update_sd_clock(self, t: int) -> None:
        """The SD clock runs when enabled on a stable internal clock; a restart resumes the bus events."""
        if self.clock.running(t):
            if self.scheduler.clock_stopped_at is not None:
                self.clock.edge0_ps = t
                self.scheduler.start_clock(t)
        else:
            self.scheduler.stop_clock(t)

    def _power_written(self, t: int) -> None:
        """SD Bus Power follows bit 0 unless no card is present or the voltage is not offered (spec 2.2.11)."""
        value = self.regs.get("POWER_CONTROL")
        allowed = not self.slot.removed and value & _VOLTAGE_SELECT in self._supported_voltages
        self.slot.set_bus_power(bool(value & rm.SDHCI_POWER_ON) and allowed, t)

    def _software_reset(self, bits: int, t: int) -> None:
        """Software Reset for All / CMD line / DAT line, clearing what spec 2.2.16 lists."""
        scheduler = self.scheduler
        if bits & rm.SDHCI_RESET_ALL:
            scheduler.cancel(("cmd", "dat", "clk"))
            self._reset_all(t)
            self.slot.set_bus_power(False, t)       # Reset For All clears SD Bus Power
            return
        if bits & rm.SDHCI_RESET_CMD:
            scheduler.cancel(("cmd",))
            self.commands.reset_cmd()
            self.ints.clear(rm.SDHCI_INT_RESPONSE)
        if bits & rm.SDHCI_RESET_DATA:
            scheduler.cancel(("dat",))
            self.data.reset()
            self.commands.reset_dat()
            self.regs.set("BLOCK_GAP_CONTROL", self.regs.get("BLOCK_GAP_CONTROL") & ~_BLOCK_GAP_REQUESTS)
            self.ints.clear(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_DMA_END | rm.SDHCI_INT_BLK_GAP
                            | rm.SDHCI_INT_SPACE_AVAIL | rm.SDHCI_INT_DATA_AVAIL)
