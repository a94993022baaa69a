"""Pin-level eMMC card for cocotb benches: the EmmcCard model behind CMD/DAT pins.

cocotb-only: nothing else in the project imports this module (DESIGN.md), so
the fast model runs without a simulator.

Bus convention (the one rtl_model/ uses): both sides change what they drive
right after a falling edge of the SD clock and sample on the rising edge. A
bit cell is therefore one SD clock period from falling edge to falling edge;
its end is the falling edge after the rising edge that sampled it. Gaps such
as NCR, NWR, NRC or the CRC status delay count whole cells between the end
of one token and the start of the next (NCR = 2 means two idle cells between
the command end bit and the response start bit).

Lines are open (pull-up) when nobody drives them: the card's inputs to the
host (cmd_i, dat_i) carry what the card drives, else 1. The host's own drive
is not looped back into cmd_i/dat_i.

Timing comes from the card model: the response after its delay_cycles (NCR,
or NID for CMD1/CMD2) counted from the command end bit; read data after NAC
counted from the command end bit (it may start while the response is still
on CMD) or from the previous block's end bit; the CRC status after the
card's token delay; DAT0 busy until the card's busy_until_ps, released at
that instant (the card's clock, not an SD clock edge). Writes are taken in
`block_len` (512) byte blocks, SDR only, on the width CMD6 set in the card.

Violation policy: a host protocol violation (bad CRC7 or end bit, a command
other than CMD0/7/12/13/15 while the card signals busy, NRC/NCC/NWR gaps too
short, a data block with a bad CRC16, start or end bit, the host driving a
line the card drives) is recorded in `EmmcBfm.violations` and logged as an
error; the bench calls `assert_clean()` at its end, which raises
`ProtocolViolationError` listing them. Tests that provoke a violation on
purpose check the list themselves. Faults injected with `BfmFaults` are not
violations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import First, Timer

from emmc_card.bus import (
    CRC_STATUS_BITS,
    NCC,
    NRC,
    NST,
    NWR,
    data_clocks,
)
from emmc_card.card import EmmcCard
from emmc_card.crc import crc7, crc16_lines

# Commands a host may send while the card holds DAT0 busy (JESD84-B51
# class 0: reset, select/deselect, stop, status, inactive).
BUSY_ALLOWED_COMMANDS = frozenset({0, 7, 12, 13, 15})
# Commands after which the card sends read data on DAT.
READ_COMMANDS = frozenset({8, 17, 18})
# Commands after which the host sends write data on DAT.
WRITE_COMMANDS = frozenset({24, 25})
STOP_TRANSMISSION = 12
DEFAULT_BLOCK_LEN = 512


@dataclass(frozen=True, slots=True)
class Violation:
    """One host protocol violation seen on the pins."""

    t_ps: int
    code: str      # e.g. 'cmd-crc', 'cmd-while-busy', 'nwr', 'data-crc', 'dat-contention'
    message: str


@dataclass(frozen=True, slots=True)
class BusRecord:
    """A bus phase as the card saw it; same kinds as sdhci.trace.BusEvent."""

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


class ProtocolViolationError(AssertionError):
    """The host broke the SD bus protocol during the bench."""


def _level(value: Any, undriven: int) -> int:
    """Integer value of a simulator signal; X/Z (not resolved) reads as `undriven`."""
    try:
        return int(value)
    except ValueError:
        return undriven


def _now_ps() -> int:
    return int(round(get_sim_time("ps")))


class EmmcBfm:
    """The card side of the SD bus: samples the host's pins, answers through the card model.

    Signals: sdclk, cmd_o/cmd_oe (host drive), cmd_i (to the host), dat_o/
    dat_oe (host drive; dat_oe one bit or one per line), dat_i (to the host).
    """

    def __init__(self, card: EmmcCard, *, sdclk: Any, cmd_o: Any, cmd_oe: Any, cmd_i: Any,
                 dat_o: Any, dat_oe: Any, dat_i: Any, faults: BfmFaults | None = None,
                 block_len: int = DEFAULT_BLOCK_LEN, log: logging.Logger | None = None) -> None:
        self.card = card
        self.sdclk, self.cmd_o, self.cmd_oe, self.cmd_i = sdclk, cmd_o, cmd_oe, cmd_i
        self.dat_o, self.dat_oe, self.dat_i = dat_o, dat_oe, dat_i
        self.faults = faults or BfmFaults()
        self.block_len = block_len
        self.log = log or logging.getLogger("emmc_bfm")
        self.violations: list[Violation] = []
        self.records: list[BusRecord] = []
        self.period_ps = 0                   # last measured SD clock period
        self._dat_oe_bits = len(dat_oe) if hasattr(dat_oe, "__len__") else 1
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
    def from_dut(cls, dut: Any, card: EmmcCard, **kwargs: Any) -> EmmcBfm:
        """Bind to the sdhci_top pin names (sdclk, cmd_o, cmd_oe, cmd_i, dat_o, dat_oe, dat_i)."""
        return cls(card, sdclk=dut.sdclk, cmd_o=dut.cmd_o, cmd_oe=dut.cmd_oe, cmd_i=dut.cmd_i,
                   dat_o=dut.dat_o, dat_oe=dut.dat_oe, dat_i=dut.dat_i, **kwargs)

    # -- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Release the lines (pull-ups) and start watching the host."""
        self.cmd_i.value = 1
        self.dat_i.value = 0xFF
        for loop in (self._command_loop(), self._write_data_loop(),
                     self._watch_contention(self.cmd_oe, "cmd"), self._watch_contention(self.dat_oe, "dat")):
            cocotb.start_soon(loop)

    def assert_clean(self) -> None:
        """Raise ProtocolViolationError if the host broke the protocol at any point."""
        if self.violations:
            lines = "\n".join(f"  {v.t_ps} ps {v.code}: {v.message}" for v in self.violations)
            raise ProtocolViolationError(f"{len(self.violations)} SD bus protocol violation(s):\n{lines}")

    # -- helpers ------------------------------------------------------------

    def _violation(self, t_ps: int, code: str, message: str) -> None:
        self.violations.append(Violation(t_ps, code, message))
        self.log.error("SD bus violation at %d ps: %s: %s", t_ps, code, message)

    def _host_cmd_level(self) -> int:
        """CMD as the host drives it (1 = released or high)."""
        if _level(self.cmd_oe.value, 0) == 0:
            return 1
        return _level(self.cmd_o.value, 1)

    def _host_dat_lines(self) -> int:
        """DAT[7:0] as the host drives them, undriven lines pulled up."""
        oe = _level(self.dat_oe.value, 0)
        value = _level(self.dat_o.value, 0xFF)
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
        self.records.append(BusRecord("command", start_ps, end_ps, index, {"argument": argument}))
        self._check_command(token, index, start_ps, period)
        occurrence = self._cmd_seen.get(index, 0)
        self._cmd_seen[index] = occurrence + 1
        self._last_cmd_end_ps = end_ps
        self._last_resp_end_ps = None
        self._expect_write_data = False
        if index == STOP_TRANSMISSION and self._read_task is not None and not self._read_task.done():
            self._read_stop_ps = end_ps + NST * period
        outcome = self.card.command(token, end_ps, period)
        if outcome.response is not None and (index, occurrence) not in self.faults.drop_response:
            cocotb.start_soon(self._send_response(index, outcome))
        elif outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps)
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
        self.records.append(BusRecord("response", start, end, index))
        self._last_resp_end_ps = end
        self._expect_write_data = index in WRITE_COMMANDS
        if outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps)

    # -- busy on DAT0 -------------------------------------------------------

    def _hold_busy(self, until_ps: int) -> None:
        """Hold DAT0 low from now until `until_ps` (extended if already busy)."""
        if until_ps <= _now_ps():
            return
        self._busy_until_ps = max(self._busy_until_ps, until_ps)
        if self._busy_task is None or self._busy_task.done():
            self._busy_task = cocotb.start_soon(self._busy())

    async def _busy(self) -> None:
        start = _now_ps()
        self._dat_driving = True
        self.dat_i.value = 0xFE
        while (remaining := self._busy_until_ps - _now_ps()) > 0:
            await Timer(remaining, "ps")
        self.dat_i.value = 0xFF
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
        data_samples = np.array(samples[1:-17], dtype=np.uint8) & mask
        data = _join_lines(data_samples, width)
        crcs = tuple(_crc_of_line(samples[-17:-1], line) for line in range(width))
        expected = crc16_lines(data, width)
        if crcs != expected:
            self._violation(start_ps, "data-crc", f"write block {block}: CRC16 {crcs}, expected {expected}")
        if block in self.faults.corrupt_write_crc:
            crcs = (crcs[0] ^ 1,) + crcs[1:]
        self.records.append(BusRecord("data", start_ps, end_ps, cmd,
                                      {"block": block, "direction": "write", "width": width}))
        outcome = self.card.write_block(data, crcs, end_ps, period)
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
            self.dat_i.value = 0xFE | ((token >> shift) & 1)
            await fall
        self.dat_i.value = 0xFF
        self._dat_driving = False
        self.records.append(BusRecord("crc_status", start, _now_ps(), cmd, {"status": outcome.token}))
        if outcome.busy_until_ps is not None:
            self._hold_busy(outcome.busy_until_ps)

    # -- read data ----------------------------------------------------------

    def _start_read(self, index: int, cmd_end_ps: int, period: int) -> None:
        self._read_stop_ps = None
        self._read_task = cocotb.start_soon(self._send_read_data(index, cmd_end_ps, period))

    async def _send_read_data(self, index: int, ref_ps: int, period: int) -> None:
        fall = self.sdclk.falling_edge
        block = 0
        lead = 1      # called mid-cell of the command end bit: the next falling edge ends it
        while self._read_stop_ps is None:
            outcome = self.card.read_block(ref_ps, period)
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
            for value in _read_block_cells(outcome.data, outcome.crcs, len(outcome.crcs)):
                self.dat_i.value = value
                await fall
                if self._read_stop_ps is not None and _now_ps() >= self._read_stop_ps:
                    stopped = True
                    break
            self.dat_i.value = 0xFF
            self._dat_driving = False
            ref_ps = _now_ps()
            self.records.append(BusRecord("data", start, ref_ps, index,
                                          {"block": block, "direction": "read", "stopped": stopped}))
            block += 1
            period = self.period_ps or period


def _join_lines(samples: np.ndarray, width: int) -> bytes:
    """Bytes carried by per-clock DAT samples (bit k of a sample = DATk), SDR."""
    if width == 8:
        return samples.tobytes()
    if width == 4:
        return ((samples[0::2] << 4) | samples[1::2]).astype(np.uint8).tobytes()
    return np.packbits(samples & 1).tobytes()


def _crc_of_line(samples: list[int], line: int) -> int:
    crc = 0
    for sample in samples:
        crc = (crc << 1) | ((sample >> line) & 1)
    return crc


def _read_block_cells(data: bytes, crcs: tuple[int, ...], width: int) -> list[int]:
    """DAT[7:0] per clock for one read block: start bit, data, CRC16s, end bit.

    Lines beyond `width` stay pulled up.
    """
    unused = 0xFF & ~((1 << width) - 1)
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if width == 8:
        cells = raw
    elif width == 4:
        cells = np.empty(raw.size * 2, dtype=np.uint8)
        cells[0::2], cells[1::2] = raw >> 4, raw & 0x0F
    else:
        cells = np.unpackbits(raw)
    crc_cells = [sum(((crcs[line] >> bit) & 1) << line for line in range(width)) for bit in range(15, -1, -1)]
    return [unused] + [int(c) | unused for c in cells] + [c | unused for c in crc_cells] + [0xFF]
