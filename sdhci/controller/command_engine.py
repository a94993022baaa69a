"""Command engine: the CMD line, from a Command register write to Command Complete.

It issues commands (the driver's, and Auto CMD12/CMD23 for the data engine),
puts the token on CMD, hands it to the card, times the response (or its
absence), checks it, fills the Response register and Auto CMD Error Status,
and watches the DAT0 busy of an R1b command. Data commands are handed to
the data engine through the narrow interface `DataSide`.
"""
from __future__ import annotations

from typing import Any, Protocol

from emmc_card import bus
from emmc_card.bus import CommandOutcome
from sdhci import regmap as rm
from sdhci.controller.clock import SdClock
from sdhci.controller.command import (CMD12_STOP_TRANSMISSION, CMD23_SET_BLOCK_COUNT, Command, as_received,
                                      check_response, corrupt_crc, response_bits, response_words)
from sdhci.controller.config import Latencies
from sdhci.controller.interrupts import Interrupts
from sdhci.controller.regfile import RegisterFile
from sdhci.controller.scheduler import Scheduler
from sdhci.controller.slot import CardSlot
from sdhci.trace import BusEvent

_COMMAND_INDEX = rm.field("COMMAND", "COMMAND_INDEX")
_COMMAND_FLAGS = rm.REGISTER_BY_NAME["COMMAND"].mask(("RW",), rm.SDHCI_SPEC_420) & ~_COMMAND_INDEX.mask
_AUTO_CMD_ERROR_BITS = {rm.SDHCI_INT_CRC: rm.SDHCI_AUTO_CMD_CRC, rm.SDHCI_INT_END_BIT: rm.SDHCI_AUTO_CMD_END_BIT,
                        rm.SDHCI_INT_INDEX: rm.SDHCI_AUTO_CMD_INDEX}
_R1_CHECKED = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
_R1B_CHECKED = rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX


class DataSide(Protocol):
    """What the command engine needs of the data engine (sdhci.controller.data.DataEngine)."""

    @property
    def active(self) -> bool: ...
    @property
    def stopping(self) -> bool: ...
    @property
    def reading(self) -> bool: ...
    def arm(self, t: int, cmd: Command) -> int | None: ...
    def response_done(self, t: int, ok: bool) -> None: ...
    def read_started(self, t_cmd_end: int) -> None: ...
    def abort(self) -> None: ...
    def abort_reached(self) -> None: ...
    def abort_done(self, t: int) -> None: ...
    def auto12_done(self, t: int, busy_until: int | None) -> None: ...
    def hold_dat0(self, start: int, end: int) -> None: ...


class CommandEngine:
    """The CMD line of one controller."""

    def __init__(self, latencies: Latencies, scheduler: Scheduler, clock: SdClock, regs: RegisterFile,
                 ints: Interrupts, slot: CardSlot, trace: list[BusEvent]) -> None:
        self._lat = latencies
        self._scheduler = scheduler
        self._clock = clock
        self._regs = regs
        self._ints = ints
        self._slot = slot
        self._trace = trace
        self.data: DataSide | None = None     # connected by the controller
        self.reset_all()

    def reset_all(self) -> None:
        self.inhibit = False                  # Command Inhibit (CMD)
        self.r1b_busy = False                 # an R1b command holds Command Inhibit (DAT)
        self.response = [0, 0, 0, 0]          # the Response register, REP[31:0] first
        self.auto_cmd_status = 0              # Auto CMD Error Status
        self._cmd_line_free = 0
        self._pending_main: Command | None = None

    def reset_cmd(self) -> None:
        """Software Reset for CMD line."""
        self.inhibit = False

    def reset_dat(self) -> None:
        """Software Reset for DAT line: an R1b busy no longer inhibits."""
        self.r1b_busy = False

    def force_auto_cmd_error(self, bits: int) -> None:
        """Force Event for Auto CMD Error Status."""
        self.auto_cmd_status |= bits
        if bits:
            self._ints.raise_(rm.SDHCI_INT_AUTO_CMD_ERR)

    def _schedule(self, t: int, cmd: Command, bus_event: bool, fn: Any, *args: Any) -> None:
        # Auto commands belong to the data transfer (a DAT reset ends them), others to the CMD line.
        self._scheduler.schedule(t, "dat" if cmd.auto else "cmd", bus_event, fn, args)

    # ---- issuing --------------------------------------------------------
    def issue(self, t: int) -> None:
        """The Command register's upper byte was written: issue, unless inhibited (then ignored)."""
        value = self._regs.get("COMMAND")
        cmd = Command(index=_COMMAND_INDEX.get(value), argument=self._regs.get("ARGUMENT"),
                      flags=value & _COMMAND_FLAGS)
        stop = cmd.abort or cmd.index == CMD12_STOP_TRANSMISSION
        data = self.data
        if self.inhibit or (cmd.uses_dat and (data.active or self.r1b_busy) and not stop):
            return
        self.inhibit = True
        if stop and data.active:
            data.abort()
        elif cmd.data:
            argument2 = data.arm(t, cmd)
            if argument2 is not None:            # Auto CMD23 goes first, then the command
                self._pending_main = cmd
                self._send(t, Command(CMD23_SET_BLOCK_COUNT, argument2, _R1_CHECKED, auto=True))
                return
        elif cmd.busy:
            self.r1b_busy = True
        self._send(t, cmd)

    def issue_auto_cmd12(self, t: int) -> None:
        """The data engine reached the block count: Auto CMD12 (R1b) goes out."""
        self._send(t, Command(CMD12_STOP_TRANSMISSION, 0, _R1B_CHECKED, auto=True))

    def _send(self, t: int, cmd: Command) -> None:
        p = self._clock.period_ps
        start = self._clock.next_edge(max(t, self._cmd_line_free)) + self._lat.command_issue_cycles * p
        end = start + bus.COMMAND_BITS * p
        self._cmd_line_free = end
        self._schedule(end, cmd, True, self._on_command_end, cmd, start)

    # ---- on the bus -----------------------------------------------------
    def _on_command_end(self, t: int, cmd: Command, start: int) -> None:
        detail = {"argument": cmd.argument}
        if cmd.auto:
            detail["auto"] = True
        self._trace.append(BusEvent("command", start, t, cmd.index, detail))
        slot = self._slot
        slot.command_sent(cmd.index)
        if cmd.abort or cmd.index == CMD12_STOP_TRANSMISSION:
            self.data.abort_reached()
        slot.fault("remove_card", cmd=cmd.index)
        p = self._clock.period_ps
        out = slot.command(cmd.token(), t, p)
        response = out.response if out is not None else None
        if response is not None and slot.fault("drop_response", cmd=cmd.index):
            response = None
        if response is not None:
            response = as_received(cmd, response)
            if slot.fault("response_crc", cmd=cmd.index):
                response = corrupt_crc(response)
        if not cmd.has_response:
            self._cmd_line_free = t + bus.NCC * p
            self._command_done(t, cmd, None, 0)
            return
        if response is None or out.delay_cycles > bus.NCR_MAX:
            self._schedule(t + bus.NCR_MAX * p, cmd, True, self._on_command_timeout, cmd, t)
            return
        if cmd.data and self.data.reading:
            self.data.read_started(t)
        r_start = t + out.delay_cycles * p
        r_end = r_start + response_bits(cmd) * p
        self._cmd_line_free = r_end + bus.NRC * p
        self._schedule(r_end, cmd, True, self._on_response_end, cmd, response, out, r_start)

    def _on_response_end(self, t: int, cmd: Command, response: bytes, out: CommandOutcome, r_start: int) -> None:
        detail = {"auto": True} if cmd.auto else {}
        self._trace.append(BusEvent("response", r_start, t, cmd.index, detail))
        errors = check_response(cmd, response) << 16
        words = response_words(cmd, response)
        if cmd.auto:
            self.response[3] = words[0]
            self._auto_done(t, cmd, errors, out.busy_until_ps)
            return
        self.response = words
        self._command_done(t, cmd, out, errors)

    def _on_command_timeout(self, t: int, cmd: Command, cmd_end: int) -> None:
        """No response start bit within 64 clocks of the command end bit."""
        self._trace.append(BusEvent("timeout", cmd_end, t, cmd.index, {"what": "command"}))
        self._cmd_line_free = t
        if cmd.auto:
            self._auto_done(t, cmd, rm.SDHCI_INT_TIMEOUT, None)
            return
        self._ints.raise_(rm.SDHCI_INT_TIMEOUT)
        self.inhibit = False
        if cmd.data:
            self.data.response_done(t, False)
        if cmd.busy:
            self.r1b_busy = False

    def _auto_done(self, t: int, cmd: Command, errors: int, busy_until: int | None) -> None:
        """Auto CMD12/CMD23 response (or timeout): Auto CMD Error Status, then go on."""
        if errors:
            status = rm.SDHCI_AUTO_CMD_TIMEOUT if errors & rm.SDHCI_INT_TIMEOUT else 0
            for err, bit in _AUTO_CMD_ERROR_BITS.items():
                if errors & err:
                    status |= bit
            self.auto_cmd_status = status
            self._ints.raise_(rm.SDHCI_INT_AUTO_CMD_ERR)
        if cmd.index == CMD23_SET_BLOCK_COUNT:
            main = self._pending_main
            if errors:
                self.inhibit = False
                self.data.response_done(t, False)
            else:
                self._send(t, main)
            return
        self.data.auto12_done(t, busy_until)

    def _command_done(self, t: int, cmd: Command, out: CommandOutcome | None, errors: int) -> None:
        """Response end (or command end without response): status, inhibit, then data/busy."""
        lat = self._lat.response_status_ps
        bits = errors | rm.SDHCI_INT_RESPONSE
        if lat:
            self._schedule(t + lat, cmd, False, self._raise, bits)
        else:
            self._ints.raise_(bits)
        self.inhibit = False
        data = self.data
        if cmd.data:
            data.response_done(t, errors == 0)
            return
        stop = data.stopping
        if cmd.busy:
            busy_until = out.busy_until_ps if out is not None else None
            stretch = self._slot.fault("stretch_busy", cmd=cmd.index)
            if stretch:
                busy_until = max(busy_until or t, t) + stretch.stretch_ps
            self._watch_r1b(t, busy_until, cmd, stop)
            return
        if out is not None and out.busy_until_ps is not None and out.busy_until_ps > t:
            # The host expected no busy (e.g. Linux sends CMD6 as R1 and polls
            # DAT0 itself), but the card still holds DAT0 low: only the DAT[0]
            # level in Present State shows it.
            data.hold_dat0(t, self._clock.next_edge(out.busy_until_ps))
        if stop:
            data.abort_done(t)

    def _raise(self, t: int, bits: int) -> None:
        self._ints.raise_(bits)

    def _watch_r1b(self, t: int, busy_until: int | None, cmd: Command, stop: bool) -> None:
        """R1b: DAT0 busy from the response end; Transfer Complete when it ends (data timeout covers it)."""
        t_end = self._clock.next_edge(busy_until) if busy_until is not None and busy_until > t else t
        self.data.hold_dat0(t, t_end)
        if t_end > t:
            self._trace.append(BusEvent("busy", t, t_end, cmd.index, {}))
        limit = self._regs.data_timeout_ps
        timed_out = t_end - t > limit
        if timed_out:
            self._scheduler.schedule(t + limit, "dat", True, self._on_busy_timeout, (cmd, t))
        self._scheduler.schedule(t_end, "dat", True, self._on_r1b_end, (stop, timed_out))

    def _on_busy_timeout(self, t: int, cmd: Command, start: int) -> None:
        self._trace.append(BusEvent("timeout", start, t, cmd.index, {"what": "data"}))
        self._ints.raise_(rm.SDHCI_INT_DATA_TIMEOUT)

    def _on_r1b_end(self, t: int, stop: bool, timed_out: bool) -> None:
        """DAT0 released after an R1b response: Transfer Complete (unless it timed out first)."""
        if stop:
            self.data.abort_done(t)
        if self.r1b_busy:
            self.r1b_busy = False
            if not timed_out:
                self._ints.raise_(rm.SDHCI_INT_DATA_END)
