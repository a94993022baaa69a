"""Pin-level eMMC card for cocotb benches: the EmmcCard model behind CMD/DAT pins.

Bus convention (the one rtl_model/ uses): both sides change what they drive
right after a falling edge of the SD clock and sample on the rising edge. A
bit cell is therefore one SD clock period from falling edge to falling edge;
its end is the falling edge after the rising edge that sampled it. Gaps such
as NCR, NWR, NRC or the CRC status delay count whole cells between the end
of one token and the start of the next (NCR = 2 means two idle cells between
the command end bit and the response start bit).

Lines are open (pull-up) when nobody drives them: the card's inputs to the
host (cmd_i, dat_i) carry what the card drives, else 1. The host's own drive
is not looped back into cmd_i/dat_i. DAT is 1, 4 or 8 lines wide (the width
of `dat_i`); every value the BFM drives is masked to it.

Timing comes from the card model (its `timing` keys: NCR, NID, NAC, CRC
status delay, program and busy times) and from `BfmTiming` (when DAT0 busy
starts after an R1b response or a CRC status token). The card keeps its own
clock, `card_time_offset_ps` ahead of the simulator's: 0 unless the card was
brought up elsewhere (the directed benches' bring-up shortcut,
sdhci.kit.env.KitEnv.bring_up_shortcut) and continues from its own time. Writes are taken in
`block_len` (512) byte blocks, SDR only, on the width CMD6 set in the card.

Every token on the wire is recorded in `EmmcBfm.records` (`BusRecord`):
commands and responses with their bits and CRC7 (as sent and as it should
be), data blocks with their bytes and each line's CRC16, CRC status tokens,
busy intervals on DAT0. `sdhci.kit.diagnosis` reads them to say whose fault
a failure is.

Violation policy: a host protocol violation (bad CRC7 or end bit, a command
other than CMD0/7/12/13/15 while the card signals busy, NRC/NCC/NWR gaps too
short, a data block with a bad CRC16, start or end bit, the host driving a
line the card drives) is recorded in `EmmcBfm.violations` and logged as an
error; the bench calls `assert_clean()` at its end, which raises
`ProtocolViolationError` listing them. Faults injected with `BfmFaults` are
not violations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import First, Timer

from emmc_card.bus import CRC_STATUS_BITS, NCC, NRC, NST, NWR, data_clocks
from emmc_card.card import EmmcCard
from emmc_card.crc import crc7, crc16_lines, split_lines
from sdhci.kit.dut import DAT_WIDTHS, PIN_ROLES

# Commands a host may send while the card holds DAT0 busy (JESD84-B51
# class 0: reset, select/deselect, stop, status, inactive).
BUSY_ALLOWED_COMMANDS = frozenset({0, 7, 12, 13, 15})
# Commands after which the card sends read data on DAT.
READ_COMMANDS = frozenset({8, 17, 18})
# Commands after which the host sends write data on DAT.
WRITE_COMMANDS = frozenset({24, 25})
STOP_TRANSMISSION = 12
DEFAULT_BLOCK_LEN = 512
#: Largest busy onset the kit lets a bench set, in idle cells after the R1b
#: response's or the CRC status token's end bit.
MAX_BUSY_ONSET_CELLS = 2


@dataclass(frozen=True, slots=True)
class Violation:
    """One host protocol violation seen on the pins."""

    t_ps: int
    code: str      # e.g. 'cmd-crc', 'cmd-while-busy', 'nwr', 'data-crc', 'dat-contention'
    message: str


@dataclass(frozen=True, slots=True)
class BusRecord:
    """A token on the wire as the card saw or sent it; same kinds as sdhci.trace.BusEvent.

    detail by kind: command {argument, crc7, crc7_ok}; response {bits,
    length, crc7, crc7_expected, crc7_ok (None for R3, which has no CRC)};
    data {block, direction, width, data, crcs, stopped}; crc_status {status}.
    """

    kind: str      # command, response, data, crc_status, busy
    start_ps: int
    end_ps: int
    cmd: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BfmFaults:
    """Line faults the BFM injects (the card model never sees them as host errors).

    drop_response: (command index, occurrence) pairs, occurrence 0-based and
        counted per index over the BFM's life: the card processes the
        command but its response never reaches the CMD line (the host sees
        a command timeout).
    corrupt_write_crc: write block numbers (0-based over the BFM's life)
        whose CRC16 on DAT0 arrives with one bit flipped, so the card
        answers the CRC status 101.
    """

    drop_response: set[tuple[int, int]] = field(default_factory=set)
    corrupt_write_crc: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class BfmTiming:
    """When the card pulls DAT0 low for busy, in idle cells after the token that precedes it.

    busy_onset_r1b_cells: after the end bit of an R1b response.
    busy_onset_crc_status_cells: after the end bit of a CRC status token.
    0 (the default) pulls DAT0 low in the cell right after the end bit; a
    host must tolerate up to MAX_BUSY_ONSET_CELLS, so a bench can probe a
    controller's busy detection on purpose.
    """

    busy_onset_r1b_cells: int = 0
    busy_onset_crc_status_cells: int = 0

    def __post_init__(self) -> None:
        for name in ("busy_onset_r1b_cells", "busy_onset_crc_status_cells"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_BUSY_ONSET_CELLS:
                raise ValueError(f"{name} must lie in 0..{MAX_BUSY_ONSET_CELLS} cells, not {value}")


class ProtocolViolationError(AssertionError):
    """The host broke the SD bus protocol during the bench."""


@dataclass(frozen=True)
class EmmcBus:
    """The SD pins of a DUT, by role: clock, CMD drive/enable/input, DAT drive/enable/input.

    `from_prefix(dut, "sd")` binds `sd_sdclk`, `sd_cmd_o`, ... (no prefix:
    sdhci_top's names); any role can be renamed with a keyword
    (`from_prefix(dut, "", dat_i="sd_dat_in")`). `from_pins(dut, {...})`
    takes a whole role -> name map.
    """

    sdclk: Any
    cmd_o: Any
    cmd_oe: Any
    cmd_i: Any
    dat_o: Any
    dat_oe: Any
    dat_i: Any

    @classmethod
    def from_prefix(cls, dut: Any, prefix: str = "", **names: str) -> EmmcBus:
        pins = {role: f"{prefix}_{role}" if prefix else role for role in PIN_ROLES}
        return cls.from_pins(dut, {**pins, **names})

    @classmethod
    def from_pins(cls, dut: Any, pins: Mapping[str, str]) -> EmmcBus:
        unknown = set(pins) - set(PIN_ROLES)
        if unknown:
            raise ValueError(f"unknown SD pin role(s) {sorted(unknown)} (roles: {', '.join(PIN_ROLES)})")
        handles = {}
        for role in PIN_ROLES:
            name = pins.get(role, role)
            handle = getattr(dut, name, None)
            if handle is None:
                raise ValueError(f"SD pin {role}: the DUT has no signal {name!r}")
            handles[role] = handle
        bus = cls(**handles)
        if bus.width not in DAT_WIDTHS:
            raise ValueError(f"SD pin dat_i is {bus.width} bits wide; DAT must be 1, 4 or 8 lines")
        return bus

    @property
    def width(self) -> int:
        """Number of DAT lines."""
        return len(self.dat_i)

    @property
    def name(self) -> str:
        return getattr(self.sdclk, "_name", "sd")


def _level(value: Any, undriven: int) -> int:
    """Integer value of a simulator signal; X/Z (not resolved) reads as `undriven`."""
    try:
        return int(value)
    except ValueError:
        return undriven


def _now_ps() -> int:
    return int(round(get_sim_time("ps")))


def response_check(index: int, response: bytes) -> dict[str, Any]:
    """What a response carried on the wire: its bits and CRC7, and the CRC7 it should carry.

    R2 (136 bits): CRC7 over the 120 register bits, in bits 7..1 of the last
    byte. R1/R1b (48 bits): over the first 40 bits. R3 (CMD1's OCR) has all
    ones in place of a CRC: crc7_ok is None.
    """
    bits = int.from_bytes(response, "big")
    if len(response) == 17:
        crc, expected = response[16] >> 1, crc7(response[1:16])
    else:
        crc, expected = response[5] >> 1, crc7(response[:5])
    no_crc = len(response) == 6 and response[0] & 0x3F == 0x3F
    return {"bits": bits, "length": len(response) * 8, "crc7": crc, "crc7_expected": expected,
            "crc7_ok": None if no_crc else crc == expected}


class EmmcBfm:
    """The card side of the SD bus: samples the host's pins, answers through the card model.

    `bus` is an EmmcBus (or pass the seven pins as keywords); logging goes to
    `<dut logger>.emmc` when the bus was built from a DUT, else `emmc_bfm`.
    """

    def __init__(self, card: EmmcCard, bus: EmmcBus | None = None, *, faults: BfmFaults | None = None,
                 timing: BfmTiming | None = None, block_len: int = DEFAULT_BLOCK_LEN,
                 log: logging.Logger | None = None, card_time_offset_ps: int = 0, **pins: Any) -> None:
        self.card = card
        self.card_time_offset_ps = card_time_offset_ps
        self.bus = bus if bus is not None else EmmcBus(**pins)
        b = self.bus
        self.sdclk, self.cmd_o, self.cmd_oe, self.cmd_i = b.sdclk, b.cmd_o, b.cmd_oe, b.cmd_i
        self.dat_o, self.dat_oe, self.dat_i = b.dat_o, b.dat_oe, b.dat_i
        self.width = len(b.dat_i) if hasattr(b.dat_i, "__len__") else 8
        self.mask = (1 << self.width) - 1
        self.faults = faults or BfmFaults()
        self.timing = timing or BfmTiming()
        self.block_len = block_len
        self.log = log or logging.getLogger("emmc_bfm")
        self.violations: list[Violation] = []
        self.records: list[BusRecord] = []
        self.period_ps = 0                   # last measured SD clock period
        self._dat_oe_bits = len(b.dat_oe) if hasattr(b.dat_oe, "__len__") else 1
        self._tasks: list[Any] = []
        self._cmd_seen: dict[int, int] = {}  # index -> occurrences so far
        self._write_blocks = 0               # write blocks received over the BFM's life
        self._last_cmd_end_ps: int | None = None
        self._last_resp_end_ps: int | None = None
        self._expect_write_data = False      # a CMD24/25 response went out; NWR applies
        self._cmd_driving = False
        self._dat_driving = False
        self._busy_until_ps = 0
        self._busy_task: Any = None
        self._read_task: Any = None
        self._read_stop_ps: int | None = None

    @classmethod
    def from_dut(cls, dut: Any, card: EmmcCard, prefix: str = "", **kwargs: Any) -> EmmcBfm:
        """Bind to `dut`'s SD pins by prefix (sdhci_top's names without one), logging under the DUT."""
        names = {role: kwargs.pop(role) for role in PIN_ROLES if role in kwargs}
        bus = EmmcBus.from_prefix(dut, prefix, **names)
        log = kwargs.pop("log", None) or dut._log.getChild("emmc")
        return cls(card, bus, log=log, **kwargs)

    # -- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Release the lines (pull-ups) and start watching the host."""
        self.cmd_i.value = 1
        self.dat_i.value = self.mask
        for loop in (self._command_loop(), self._write_data_loop(),
                     self._watch_contention(self.cmd_oe, "cmd"), self._watch_contention(self.dat_oe, "dat")):
            self._tasks.append(cocotb.start_soon(loop))

    def stop(self) -> None:
        """Stop answering and release the lines."""
        for task in self._tasks + [self._busy_task, self._read_task]:
            if task is not None and not task.done():
                task.cancel()
        self._tasks.clear()
        self.cmd_i.value = 1
        self.dat_i.value = self.mask

    def assert_clean(self) -> None:
        """Raise ProtocolViolationError if the host broke the protocol at any point."""
        if self.violations:
            lines = "\n".join(f"  {v.t_ps} ps {v.code}: {v.message}" for v in self.violations)
            raise ProtocolViolationError(f"{len(self.violations)} SD bus protocol violation(s):\n{lines}")

    def card_now_ps(self) -> int:
        """The card's time now (the simulator's plus card_time_offset_ps), for the card model's queries."""
        return _now_ps() + self.card_time_offset_ps

    # -- helpers ------------------------------------------------------------

    def _violation(self, t_ps: int, code: str, message: str) -> None:
        self.violations.append(Violation(t_ps, code, message))
        self.log.error("SD bus violation at %d ps: %s: %s", t_ps, code, message)

    def _drive_dat(self, value: int) -> None:
        self.dat_i.value = value & self.mask

    def _host_cmd_level(self) -> int:
        """CMD as the host drives it (1 = released or high)."""
        if _level(self.cmd_oe.value, 0) == 0:
            return 1
        return _level(self.cmd_o.value, 1)

    def _host_dat_lines(self) -> int:
        """DAT lines as the host drives them, undriven lines pulled up (1 above the bus width)."""
        oe = _level(self.dat_oe.value, 0)
        value = _level(self.dat_o.value, self.mask) | (0xFF & ~self.mask)
        if self._dat_oe_bits == 1:
            return value if oe else 0xFF
        return (value & oe) | (~oe & 0xFF)

    async def _falling_edges(self, count: int) -> None:
        edge = self.sdclk.falling_edge
        for _ in range(count):
            await edge

    def _measure(self, rise_times: list[int]) -> int:
        if len(rise_times) >= 2:
            self.period_ps = rise_times[-1] - rise_times[-2]
        return self.period_ps

    # -- contention ---------------------------------------------------------

    async def _watch_contention(self, oe: Any, line: str) -> None:
        """Flag the host enabling its driver on a line the card is driving."""
        while True:
            await oe.value_change
            if _level(oe.value, 0) == 0:
                continue
            driving = self._cmd_driving if line == "cmd" else self._dat_driving
            if driving:
                self._violation(_now_ps(), f"{line}-contention",
                                f"host drives {line.upper()} while the card drives it")

    # -- command path ---------------------------------------------------------

    async def _wait_host_start(self, level: Any, signals: tuple[Any, ...]) -> None:
        """Wait until the host drives a 0 (a possible start bit) on a line."""
        while level() & 1:
            await First(*(s.value_change for s in signals))

    async def _command_loop(self) -> None:
        rise = self.sdclk.rising_edge
        while True:
            await self._wait_host_start(self._host_cmd_level, (self.cmd_o, self.cmd_oe))
            await rise
            if self._host_cmd_level():
                continue                      # not a start bit: a glitch before a clock edge
            times = [_now_ps()]
            bits = 0
            for _ in range(47):
                await rise
                times.append(_now_ps())
                bits = (bits << 1) | self._host_cmd_level()
            period = self._measure(times)
            self._on_command(bits.to_bytes(6, "big"), times[0] - period // 2,
                             times[-1] + period // 2, period)

    def _on_command(self, token: bytes, start_ps: int, end_ps: int, period: int) -> None:
        index = token[0] & 0x3F
        argument = int.from_bytes(token[1:5], "big")
        self.records.append(BusRecord("command", start_ps, end_ps, index, {
            "argument": argument, "crc7": token[5] >> 1, "crc7_ok": token[5] >> 1 == crc7(token[:5])}))
        self._check_command(token, index, start_ps, period)
        occurrence = self._cmd_seen.get(index, 0)
        self._cmd_seen[index] = occurrence + 1
        self._last_cmd_end_ps = end_ps
        self._last_resp_end_ps = None
        self._expect_write_data = False
        if index == STOP_TRANSMISSION and self._read_task is not None and not self._read_task.done():
            self._read_stop_ps = end_ps + NST * period
        outcome = self.card.command(token, end_ps + self.card_time_offset_ps, period)
        if outcome.response is not None and (index, occurrence) not in self.faults.drop_response:
            cocotb.start_soon(self._send_response(index, outcome))
        elif outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps, self.timing.busy_onset_r1b_cells)
        if index in READ_COMMANDS and outcome.response is not None:
            self._start_read(index, end_ps, period)

    def _check_command(self, token: bytes, index: int, start_ps: int, period: int) -> None:
        if token[5] & 1 == 0:
            self._violation(start_ps, "cmd-end-bit", f"CMD{index} end bit is 0")
        if token[5] >> 1 != crc7(token[:5]):
            self._violation(start_ps, "cmd-crc",
                            f"CMD{index} CRC7 0x{token[5] >> 1:02x}, expected 0x{crc7(token[:5]):02x}")
        if not token[0] & 0x40:
            self._violation(start_ps, "cmd-transmission-bit", f"CMD{index} transmission bit is 0")
        if self._busy_until_ps > start_ps and index not in BUSY_ALLOWED_COMMANDS:
            self._violation(start_ps, "cmd-while-busy",
                            f"CMD{index} while the card holds DAT0 busy "
                            f"(until {self._busy_until_ps} ps)")
        if self._last_resp_end_ps is not None:
            gap = (start_ps - self._last_resp_end_ps) // period
            if gap < NRC:
                self._violation(start_ps, "nrc", f"CMD{index} {gap} clocks after a response end (NRC {NRC})")
        elif self._last_cmd_end_ps is not None:
            gap = (start_ps - self._last_cmd_end_ps) // period
            if gap < NCC:
                self._violation(start_ps, "ncc", f"CMD{index} {gap} clocks after a command end (NCC {NCC})")

    async def _send_response(self, index: int, outcome: Any) -> None:
        response: bytes = outcome.response
        fall = self.sdclk.falling_edge
        await self._falling_edges(1 + outcome.delay_cycles)   # end of the end bit, then NCR idle cells
        if _level(self.cmd_oe.value, 0):
            self._violation(_now_ps(), "cmd-contention", f"host still drives CMD when the CMD{index} response starts")
        start = _now_ps()
        self._cmd_driving = True
        bits = int.from_bytes(response, "big")
        for shift in range(len(response) * 8 - 1, -1, -1):
            self.cmd_i.value = (bits >> shift) & 1
            await fall
        self.cmd_i.value = 1
        self._cmd_driving = False
        end = _now_ps()
        self.records.append(BusRecord("response", start, end, index, response_check(index, response)))
        self._last_resp_end_ps = end
        self._expect_write_data = index in WRITE_COMMANDS
        if outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps, self.timing.busy_onset_r1b_cells)

    # -- busy on DAT0 -------------------------------------------------------

    def _hold_busy(self, until_card_ps: int, onset_cells: int = 0) -> None:
        """Hold DAT0 low from `onset_cells` falling edges from now until the card's `until_card_ps`
        (extended if busy)."""
        until_ps = until_card_ps - self.card_time_offset_ps
        if until_ps <= _now_ps():
            return
        if onset_cells and (self._busy_task is None or self._busy_task.done()):
            cocotb.start_soon(self._delayed_busy(until_card_ps, onset_cells))
            return
        self._busy_until_ps = max(self._busy_until_ps, until_ps)
        if self._busy_task is None or self._busy_task.done():
            self._busy_task = cocotb.start_soon(self._busy())

    async def _delayed_busy(self, until_card_ps: int, onset_cells: int) -> None:
        await self._falling_edges(onset_cells)
        self._hold_busy(until_card_ps)

    async def _busy(self) -> None:
        start = _now_ps()
        self._dat_driving = True
        self._drive_dat(0xFE)
        while (remaining := self._busy_until_ps - _now_ps()) > 0:
            await Timer(remaining, "ps")
        self._drive_dat(0xFF)
        self._dat_driving = False
        self.records.append(BusRecord("busy", start, _now_ps()))

    # -- write data ---------------------------------------------------------

    async def _write_data_loop(self) -> None:
        rise = self.sdclk.rising_edge
        while True:
            await self._wait_host_start(self._host_dat_lines, (self.dat_o, self.dat_oe))
            await rise
            first = self._host_dat_lines()
            if first & 1:
                continue
            if self.card.ddr:
                raise RuntimeError("EmmcBfm receives SDR data only; the card is in a DDR bus mode")
            width = self.card.bus_width
            clocks = data_clocks(self.block_len, width) + 16 + 1
            times = [_now_ps()]
            samples = [first]
            for _ in range(clocks):
                await rise
                times.append(_now_ps())
                samples.append(self._host_dat_lines())
            period = self._measure(times)
            await self._on_write_block(samples, width, times[0] - period // 2,
                                       times[-1] + period // 2, period)

    async def _on_write_block(self, samples: list[int], width: int, start_ps: int,
                              end_ps: int, period: int) -> None:
        mask = (1 << width) - 1
        block = self._write_blocks
        self._write_blocks += 1
        cmd = self._current_write_command()
        if samples[0] & mask:
            self._violation(start_ps, "data-start-bit", f"write block {block}: start bit not 0 on all {width} lines")
        if samples[-1] & mask != mask:
            self._violation(start_ps, "data-end-bit", f"write block {block}: end bit not 1 on all {width} lines")
        if self._expect_write_data and self._last_resp_end_ps is not None:
            gap = (start_ps - self._last_resp_end_ps) // period
            if gap < NWR:
                self._violation(start_ps, "nwr", f"write data {gap} clocks after the response end (NWR {NWR})")
        self._expect_write_data = False
        data = join_lines([s & mask for s in samples[1:-17]], width)
        crcs = tuple(_crc_of_line(samples[-17:-1], line) for line in range(width))
        expected = crc16_lines(data, width)
        if crcs != expected:
            self._violation(start_ps, "data-crc", f"write block {block}: CRC16 {crcs}, expected {expected}")
        if block in self.faults.corrupt_write_crc:
            crcs = (crcs[0] ^ 1,) + crcs[1:]
        self.records.append(BusRecord("data", start_ps, end_ps, cmd, {
            "block": block, "direction": "write", "width": width, "data": data, "crcs": crcs}))
        outcome = self.card.write_block(data, crcs, end_ps + self.card_time_offset_ps, period)
        if outcome.token is None:
            if outcome.busy_until_ps is not None:
                await self._falling_edges(1)
                self._hold_busy(outcome.busy_until_ps)
            return
        await self._send_crc_status(cmd, outcome)

    def _current_write_command(self) -> int | None:
        for record in reversed(self.records):
            if record.kind == "command" and record.cmd in WRITE_COMMANDS:
                return record.cmd
        return None

    async def _send_crc_status(self, cmd: int | None, outcome: Any) -> None:
        fall = self.sdclk.falling_edge
        await self._falling_edges(1 + outcome.token_delay_cycles)
        if _level(self.dat_oe.value, 0):
            self._violation(_now_ps(), "dat-contention", "host still drives DAT when the CRC status starts")
        start = _now_ps()
        self._dat_driving = True
        token = (outcome.token << 1) | 1           # start 0, status(3), end 1
        for shift in range(CRC_STATUS_BITS - 1, -1, -1):
            self._drive_dat(0xFE | ((token >> shift) & 1))
            await fall
        self._drive_dat(0xFF)
        self._dat_driving = False
        self.records.append(BusRecord("crc_status", start, _now_ps(), cmd, {"status": outcome.token}))
        if outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps, self.timing.busy_onset_crc_status_cells)

    # -- read data ----------------------------------------------------------

    def _start_read(self, index: int, cmd_end_ps: int, period: int) -> None:
        self._read_stop_ps = None
        self._read_task = cocotb.start_soon(self._send_read_data(index, cmd_end_ps, period))

    async def _send_read_data(self, index: int, ref_ps: int, period: int) -> None:
        fall = self.sdclk.falling_edge
        block = 0
        lead = 1      # called mid-cell of the command end bit: the next falling edge ends it
        while self._read_stop_ps is None:
            outcome = self.card.read_block(ref_ps + self.card_time_offset_ps, period)
            if outcome is None:
                return
            await self._falling_edges(lead + outcome.access_cycles)
            lead = 0  # from here on each block ends on a falling edge
            if self._read_stop_ps is not None and _now_ps() >= self._read_stop_ps:
                return
            if _level(self.dat_oe.value, 0):
                self._violation(_now_ps(), "dat-contention", "host drives DAT when read data starts")
            start = _now_ps()
            self._dat_driving = True
            stopped = False
            for value in read_block_cells(outcome.data, outcome.crcs, len(outcome.crcs)):
                self._drive_dat(value)
                await fall
                if self._read_stop_ps is not None and _now_ps() >= self._read_stop_ps:
                    stopped = True
                    break
            self._drive_dat(0xFF)
            self._dat_driving = False
            ref_ps = _now_ps()
            self.records.append(BusRecord("data", start, ref_ps, index, {
                "block": block, "direction": "read", "width": len(outcome.crcs), "data": bytes(outcome.data),
                "crcs": tuple(outcome.crcs), "stopped": stopped}))
            block += 1
            period = self.period_ps or period


def join_lines(samples: list[int], width: int) -> bytes:
    """Bytes carried by per-clock DAT samples (bit k of a sample = DATk), SDR, MSB first."""
    if width == 8:
        return bytes(samples)
    if width == 4:
        return bytes((hi << 4) | lo for hi, lo in zip(samples[0::2], samples[1::2]))
    bits = 0
    for sample in samples:
        bits = (bits << 1) | (sample & 1)
    return bits.to_bytes(len(samples) // 8, "big")


def _crc_of_line(samples: list[int], line: int) -> int:
    crc = 0
    for sample in samples:
        crc = (crc << 1) | ((sample >> line) & 1)
    return crc


def read_block_cells(data: bytes, crcs: tuple[int, ...], width: int) -> list[int]:
    """DAT[7:0] per clock for one read block: start bit, data, CRC16s, end bit.

    Lines beyond `width` stay pulled up.
    """
    unused = 0xFF & ~((1 << width) - 1)
    lines = [int.from_bytes(line, "big") for line in split_lines(bytes(data), width)]
    nbits = len(data) * 8 // width
    cells = [unused]
    for i in range(nbits - 1, -1, -1):
        cells.append(unused | sum(((stream >> i) & 1) << line for line, stream in enumerate(lines)))
    cells.extend(unused | sum(((crcs[line] >> bit) & 1) << line for line in range(width))
                 for bit in range(15, -1, -1))
    cells.append(0xFF)
    return cells
