"""The equivalence matrix of the controller rework: cases, how each runs, and its fingerprint.

The controller's scheduler, transfer state machine and whole-transfer
stepping must not change anything a user can see: the same bus trace (every
event, in order, to the picosecond), the same driver operations with the
same times and values, the same bytes on the card and in host memory. The
fingerprints in tests/golden/controller_equivalence.json were captured from
the controller as it was before that rework (commit c570c4a), with

    cd <a checkout of c570c4a> && PYTHONPATH=<this tests directory> \\
        .venv/bin/python -m equivalence_helpers --write <this tests directory>/golden/controller_equivalence.json

and tests/test_sdhci_equivalence.py compares today's code with them.

The ``emu/...`` fingerprints were captured again, deliberately, when the
emulator began seeding card bring-up from run.boot_seed and the panic from
run.seed (each seed now starts from the same booted board): by the reworked
controller, after it had matched c570c4a on the whole matrix. The ``reg/...``
fingerprints are c570c4a's own, but ``reg/adma/sdhci-top``: captured again,
deliberately, when the sdhci-top preset began advertising SDMA and ADMA2
with its DMA latencies calibrated against the RTL (issue 12); with the
preset as it was (PIO-only Capabilities, default DMA latencies) the case
still gives c570c4a's fingerprint.

The cases added with the write run-ahead (EMU_LATE, reg_fallback_cases:
faults on late blocks, a power cut mid-write, register reads, a Present
State poll, a Software Reset and the SD clock stopping mid-write, card
stalls, a write past the card's end, other buffer sizes, a slow DMA) come
from the event-by-event controller just before it: the register-level ones
from commit e3c1797 (the 32 of them c570c4a can run give the same
fingerprints there), the emulator ones from commit 2fd18f1 (after the
seeding change).

Two kinds of case:
- ``emu/...``: the emulator's whole default run (sdhci.emulation.run_panic_write)
  with overrides: transfer mode x bus width x card x seed, plus faults.
- ``reg/...``: register-level scenarios driven through the SyncRunner by the
  small polled driver below (bring-up, multi-block write and read back by
  PIO, SDMA and ADMA2, Auto CMD12/CMD23, SDMA boundaries, an ADMA2 table with
  a link, a NOP and an Int attribute, SD clock gating mid-transfer, an abort,
  controller faults). Only public interfaces are used, so the same file runs
  against the old and the new code.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from emmc_card import EmmcCard, InjectedStall, card_preset
from emmc_card.storage import USER
from sdhci import regmap as rm
from sdhci.config import load_config
from sdhci.controller import Fault, SdhciController, controller_preset
from sdhci.driver.ops import Delay, DriverGen, MemRead, MemWrite, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.driver.platform import platform_preset
from sdhci.driver.runner import SyncRunner
from sdhci.emulation import run_panic_write
from sdhci.memory import HostMemory

R1 = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R1B = rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R2 = rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC
R3 = rm.SDHCI_CMD_RESP_SHORT
ERRORS = rm.SDHCI_INT_ERROR_MASK
HOST_OCR = 0x40FF8080          # sector mode, 2.7-3.6 V and 1.7-1.95 V
RCA = 2
BUFFER, TABLE = 0x0040_0000, 0x0010_0000
POLL_NS = 1_000                # the polled driver reads the status every microsecond
TIMEOUT_NS = 2_000_000_000

WIDTHS = (1, 4, 8)
CARDS = ("emmc51", "emmc51-slow", "emmc-2gb-byte")
SEEDS = (1, 2)
EMU_TRANSFERS = ("pio", "sdma", "adma2")
REG_MODES = ("pio", "sdma", "adma")


# ---- fingerprints -------------------------------------------------------------
def _canon(value: Any) -> Any:
    """A value with dicts sorted by key and dataclasses as (type, fields): stable across versions."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,) + tuple(_canon(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return tuple(sorted((k, _canon(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_canon(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(value).hexdigest()
    return value


def _trace_rows(trace: list) -> list[tuple]:
    return [(e.kind, e.start_ps, e.end_ps, e.cmd, _canon(e.detail)) for e in trace]


def _op_rows(log: list) -> list[tuple]:
    return [(_canon(r.op), r.start_ps, r.end_ps, _canon(r.value)) for r in log]


def fingerprint(parts: dict[str, Any]) -> dict[str, str]:
    """One sha256 per part, so a mismatch says which part differs."""
    return {name: hashlib.sha256(repr(value).encode()).hexdigest()[:32] for name, value in parts.items()}


# ---- emulator cases -----------------------------------------------------------
EMU_FAULTS: dict[str, list[str]] = {
    "stall": ["run.stall_ms=3", "run.enable_cache=false"],
    "stall-timeout": ["run.stall_ms=400", "run.enable_cache=false"],
    "acmd12": ["platform_preset='arm64-soc-acmd12'"],
    "nocache": ["run.enable_cache=false"],
    "ddr": ["run.ddr=true"],
    "data-crc": ['controller.faults=[{kind="data_crc", block=6}]'],
    "drop-crc-status": ['controller.faults=[{kind="drop_crc_status", block=9}]'],
    "stretch-busy": ['controller.faults=[{kind="stretch_busy", block=4, stretch_ps=300000000}]'],
    "busy-timeout": ['controller.faults=[{kind="stretch_busy", block=4, stretch_ps=200000000000}]'],
    "remove-card": ['controller.faults=[{kind="remove_card", block=20}]'],
    "response-crc": ['controller.faults=[{kind="response_crc", cmd=25}]'],
    "drop-response": ['controller.faults=[{kind="drop_response", cmd=12}]'],
}
# Cases added with the write run-ahead (captured from commit e3c1797, the event-by-event controller):
# faults on late blocks (many blocks run ahead first) and a power cut in the middle of the write.
EMU_LATE: dict[str, list[str]] = {
    "data-crc-late": ['controller.faults=[{kind="data_crc", block=100}]'],
    "stretch-busy-late": ['controller.faults=[{kind="stretch_busy", block=90, stretch_ps=300000000}]'],
    "remove-card-late": ['controller.faults=[{kind="remove_card", block=77}]'],
    "cut-mid-write": ["run.power_cut='entry+700us'"],
    "cut-mid-write-nocache": ["run.power_cut='entry+1500us'", "run.enable_cache=false"],
}


def emu_cases() -> dict[str, list[str]]:
    """Case name -> the configuration overrides of one run_panic_write."""
    cases: dict[str, list[str]] = {}
    for transfer in EMU_TRANSFERS:
        for width in WIDTHS:
            for card in CARDS:
                for seed in SEEDS:
                    cases[f"emu/{transfer}/w{width}/{card}/s{seed}"] = [
                        f"run.transfer={transfer!r}", f"run.bus_width={width}", f"card_preset={card!r}",
                        f"run.seed={seed}"]
        for fault, overrides in (EMU_FAULTS | EMU_LATE).items():
            cases[f"emu/{transfer}/w8/emmc51/s1/{fault}"] = [f"run.transfer={transfer!r}", *overrides]
    return cases


def _command_index(command: Any) -> int:
    """A command of the report as its index (the report's own type for them has changed over time)."""
    return getattr(command, "index", command)


def run_emu(overrides: list[str]) -> dict[str, Any]:
    result = run_panic_write(load_config(None, overrides))
    return {
        "trace": _trace_rows(result.trace),
        "ops": _op_rows(result.op_log),
        "result": (result.returned, result.durable, result.total_ps, result.init_ps, result.start_sector,
                   result.sectors, result.sd_clock_hz, result.bus_width, result.ddr, result.transfer,
                   tuple(_command_index(c) for c in result.commands), _canon(result.phases_ps), result.poll_iterations,
                   _canon(result.register_accesses), result.timeout_control, result.data_timeout_ns),
    }


# ---- register-level cases -------------------------------------------------------
# Registers a transfer changes as it goes: Present State, Block Count, SDMA and ADMA System
# Address, the interrupt status, Clock Control.
PEEKED = ((rm.SDHCI_PRESENT_STATE, 32), (rm.SDHCI_BLOCK_COUNT, 16), (rm.SDHCI_DMA_ADDRESS, 32),
          (rm.SDHCI_ADMA_ADDRESS, 32), (rm.SDHCI_INT_STATUS, 32), (rm.SDHCI_CLOCK_CONTROL, 16))


@dataclasses.dataclass(frozen=True)
class Midway:
    """What the driver does in the middle of the written transfer, besides servicing it.

    peeks_ns: delays after each of which it reads the PEEKED registers; clock_off_ns: how long
    the SD clock stays off when gated; reset_after_ns: after this delay it gives the transfer
    up (Software Reset for CMD and DAT, CMD12); poll_present: it waits for the end on Present
    State before the interrupt status.
    """
    peeks_ns: tuple[int, ...] = ()
    clock_off_ns: int = 37_000
    reset_after_ns: int | None = None
    poll_present: bool = False


class PolledDriver:
    """A minimal polled SDHCI driver as driver operations (it waits with Poll, never with next_event_ps)."""

    def __init__(self, byte_addressed: bool) -> None:
        self.byte_addressed = byte_addressed
        self.errors: list[int] = []

    def wait(self, mask: int) -> DriverGen:
        result = yield Poll(rm.SDHCI_INT_STATUS, 32, mask | ERRORS, 0, interval_ns=POLL_NS,
                            timeout_ns=TIMEOUT_NS, negate=True)
        return result.value

    def command(self, index: int, arg: int, flags: int, mode: int | None = None) -> DriverGen:
        """Issue when not inhibited, wait for Command Complete (or an error), ack it; the status."""
        uses_dat = flags & rm.SDHCI_CMD_DATA or flags & rm.SDHCI_CMD_RESP_MASK == rm.SDHCI_CMD_RESP_SHORT_BUSY
        inhibit = rm.SDHCI_CMD_INHIBIT | (rm.SDHCI_DATA_INHIBIT if uses_dat and index != 12 else 0)
        yield Poll(rm.SDHCI_PRESENT_STATE, 32, inhibit, 0, interval_ns=POLL_NS, timeout_ns=TIMEOUT_NS)
        yield Write(rm.SDHCI_ARGUMENT, 32, arg)
        if mode is None:
            yield Write(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(index, flags))
        else:
            yield Write(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(index, flags) << 16)
        status = yield from self.wait(rm.SDHCI_INT_RESPONSE)
        yield Write(rm.SDHCI_INT_STATUS, 32, status & (rm.SDHCI_INT_RESPONSE | rm.SDHCI_INT_CMD_MASK))
        return status

    def r1b(self, index: int, arg: int) -> DriverGen:
        yield from self.command(index, arg, R1B)
        status = yield from self.wait(rm.SDHCI_INT_DATA_END)
        yield Write(rm.SDHCI_INT_STATUS, 32, status)

    def clock(self, n: int, card_clock: bool = True) -> DriverGen:
        div = (n & 0xFF) << 8 | ((n >> 8) & 3) << 6
        yield Write(rm.SDHCI_CLOCK_CONTROL, 16, 0)
        yield Write(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN)
        yield Poll(rm.SDHCI_CLOCK_CONTROL, 16, rm.SDHCI_CLOCK_INT_STABLE, rm.SDHCI_CLOCK_INT_STABLE,
                   interval_ns=POLL_NS, timeout_ns=TIMEOUT_NS)
        if card_clock:
            yield Write(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN)

    def bring_up(self, width: int, ddr: bool, cache: bool) -> DriverGen:
        """Reset, power, 400 kHz, CMD0/1/2/3, 50 MHz, CMD7, cache, bus width (and DDR)."""
        yield Write(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_ALL)
        yield Write(rm.SDHCI_POWER_CONTROL, 8, rm.SDHCI_POWER_330 | rm.SDHCI_POWER_ON)
        yield Write(rm.SDHCI_INT_ENABLE, 32, 0xFFFFFFFF & ~rm.SDHCI_INT_CARD_INT)
        yield Write(rm.SDHCI_TIMEOUT_CONTROL, 8, 0xE)
        yield from self.clock(250)
        yield from self.command(0, 0, 0)
        while True:
            yield from self.command(1, HOST_OCR, R3)
            if (yield Read(rm.SDHCI_RESPONSE, 32)) >> 31:
                break
            yield Delay(1_000_000)
        yield from self.command(2, 0, R2)
        yield from self.command(3, RCA << 16, R1)
        yield from self.clock(2)
        yield from self.r1b(7, RCA << 16)
        if cache:
            yield from self.r1b(6, (3 << 24) | (33 << 16) | (1 << 8))            # CACHE_CTRL = 1
        if ddr:
            yield from self.r1b(6, (3 << 24) | (185 << 16) | (1 << 8))           # HS_TIMING = 1
        code = {1: 0, 4: 1, 8: 2}[width] + (4 if ddr else 0)
        yield from self.r1b(6, (3 << 24) | (183 << 16) | (code << 8))            # BUS_WIDTH
        hc1 = {1: 0, 4: rm.SDHCI_CTRL_4BITBUS, 8: rm.SDHCI_CTRL_8BITBUS}[width]
        yield Write(rm.SDHCI_HOST_CONTROL, 8, hc1)
        if ddr:
            yield Write(rm.SDHCI_HOST_CONTROL2, 16, rm.SDHCI_CTRL_UHS_DDR50)

    def _arg(self, lba: int) -> int:
        return lba * 512 if self.byte_addressed else lba

    def _setup_dma(self, mode: str, blocks: int, data: bytes | None, boundary: int, table: str) -> DriverGen:
        """DMA address registers (and the buffer and ADMA2 table); the Transfer Mode DMA bit."""
        hc1 = (yield Read(rm.SDHCI_HOST_CONTROL, 8)) & ~rm.SDHCI_CTRL_DMA_MASK
        if mode == "pio":
            yield Write(rm.SDHCI_HOST_CONTROL, 8, hc1)
            return 0
        if data is not None:
            yield MemWrite(BUFFER, data)
        if mode == "sdma":
            yield Write(rm.SDHCI_HOST_CONTROL, 8, hc1)
            yield Write(rm.SDHCI_DMA_ADDRESS, 32, BUFFER)
        else:
            yield from self._adma_table(blocks * 512, table)
            yield Write(rm.SDHCI_HOST_CONTROL, 8, hc1 | rm.SDHCI_CTRL_ADMA32)
            yield Write(rm.SDHCI_ADMA_ADDRESS, 32, TABLE)
        return rm.SDHCI_TRNS_DMA

    @staticmethod
    def _adma_table(length: int, layout: str) -> DriverGen:
        """'plain': 4 KiB tran descriptors; 'mixed': 1536-byte pieces (blocks across descriptors),
        a link and a NOP half-way, the Int attribute on the second descriptor."""
        chunk = 4096 if layout == "plain" else 1536
        pieces = [(BUFFER + off, min(chunk, length - off)) for off in range(0, length, chunk)]
        addr = TABLE
        for i, (target, n) in enumerate(pieces):
            if layout == "mixed" and i == len(pieces) // 2 and i:
                yield MemWrite(addr, _desc(rm.ADMA2_VALID | rm.ADMA2_ACT_LINK, 0, TABLE + 0x1000))
                addr = TABLE + 0x1000
                yield MemWrite(addr, _desc(rm.ADMA2_VALID | rm.ADMA2_ACT_NOP, 0, 0))
                addr += 8
            attr = rm.ADMA2_TRAN_VALID | (rm.ADMA2_END if i == len(pieces) - 1 else 0)
            if layout == "mixed" and i == 1:
                attr |= rm.ADMA2_INT
            yield MemWrite(addr, _desc(attr, n & 0xFFFF, target))
            addr += 8

    def _data_loop(self, mode: str, data: bytes | None, blocks: int, read: bool,
                   gate_clock_after_ns: int | None, midway: Midway) -> DriverGen:
        """Service Buffer Ready / DMA Interrupt until Transfer Complete or an error; the bytes read."""
        out: list[int] = []
        pos = 0
        if gate_clock_after_ns is not None:
            # Stop the SD clock for a while in the middle of the transfer, as a driver changing it would.
            yield Delay(gate_clock_after_ns)
            clk = yield Read(rm.SDHCI_CLOCK_CONTROL, 16)
            yield Write(rm.SDHCI_CLOCK_CONTROL, 16, clk & ~rm.SDHCI_CLOCK_CARD_EN)
            yield Delay(midway.clock_off_ns)
            yield Write(rm.SDHCI_CLOCK_CONTROL, 16, clk)
        for delay_ns in midway.peeks_ns:
            # Look at the registers a transfer changes, in the middle of it.
            yield Delay(delay_ns)
            for offset, width in PEEKED:
                yield Read(offset, width)
        if midway.reset_after_ns is not None:
            # Give the transfer up half-way: Software Reset for CMD and DAT, then a CMD12.
            yield Delay(midway.reset_after_ns)
            yield Write(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)
            yield Write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
            yield from self.r1b(12, 0)
            self.errors.append(-1)
            return b""
        if midway.poll_present:
            # Wait for the end of the transfer on Present State (Command Inhibit (DAT)) first.
            yield Poll(rm.SDHCI_PRESENT_STATE, 32, rm.SDHCI_DATA_INHIBIT, 0, interval_ns=POLL_NS,
                       timeout_ns=TIMEOUT_NS)
        while True:
            status = yield from self.wait(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_SPACE_AVAIL
                                          | rm.SDHCI_INT_DATA_AVAIL | rm.SDHCI_INT_DMA_END)
            if status & ERRORS:
                self.errors.append(status)
                yield Write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
                yield Write(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)
                yield from self.command(12, 0, R1B)
                yield Poll(rm.SDHCI_PRESENT_STATE, 32, rm.SDHCI_DATA_INHIBIT, 0, interval_ns=POLL_NS,
                           timeout_ns=TIMEOUT_NS)
                yield Write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
                break
            if status & rm.SDHCI_INT_SPACE_AVAIL:
                yield Write(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_SPACE_AVAIL)
                while pos < len(data) and (yield Read(rm.SDHCI_PRESENT_STATE, 32)) & rm.SDHCI_SPACE_AVAILABLE:
                    yield WriteBurst(rm.SDHCI_BUFFER, tuple(
                        int.from_bytes(data[i:i + 4], "little") for i in range(pos, pos + 512, 4)))
                    pos += 512
            if status & rm.SDHCI_INT_DATA_AVAIL:
                yield Write(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_DATA_AVAIL)
                while (yield Read(rm.SDHCI_PRESENT_STATE, 32)) & rm.SDHCI_DATA_AVAILABLE:
                    out += (yield ReadBurst(rm.SDHCI_BUFFER, 128))
            if status & rm.SDHCI_INT_DMA_END and not status & rm.SDHCI_INT_DATA_END:
                yield Write(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_DMA_END)
                if mode == "sdma":
                    yield Write(rm.SDHCI_DMA_ADDRESS, 32, (yield Read(rm.SDHCI_DMA_ADDRESS, 32)))
            if status & rm.SDHCI_INT_DATA_END:
                yield Write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
                break
        if read and mode != "pio":
            return (yield MemRead(BUFFER, blocks * 512))
        return b"".join(w.to_bytes(4, "little") for w in out)

    def transfer(self, mode: str, lba: int, blocks: int, data: bytes | None, stop: str = "auto12",
                 boundary: int = 7, table: str = "plain", gate_clock_after_ns: int | None = None,
                 midway: Midway = Midway()) -> DriverGen:
        """CMD25 (data given) or CMD18 of `blocks` blocks, stopped by Auto CMD12, Auto CMD23 or a CMD12."""
        read = data is None
        tm = yield from self._setup_dma(mode, blocks, data, boundary, table)
        tm |= rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | (rm.SDHCI_TRNS_READ if read else 0)
        if stop == "auto12":
            tm |= rm.SDHCI_TRNS_AUTO_CMD12
        elif stop == "auto23":
            tm |= rm.SDHCI_TRNS_AUTO_CMD23
            yield Write(rm.SDHCI_ARGUMENT2, 32, blocks)
        yield Write(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(boundary, 512))
        yield Write(rm.SDHCI_BLOCK_COUNT, 16, blocks)
        status = yield from self.command(18 if read else 25, self._arg(lba), R1 | rm.SDHCI_CMD_DATA, tm)
        if status & ERRORS:
            self.errors.append(status)
            yield Write(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)
            yield Write(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
            return b""
        got = yield from self._data_loop(mode, data, blocks, read, gate_clock_after_ns, midway)
        if stop == "cmd12" and not self.errors:
            yield from self.r1b(12, 0)
        return got

    def open_ended_abort(self, lba: int, data: bytes, blocks_before_abort: int) -> DriverGen:
        """A PIO CMD25 without a block count, aborted with CMD12 (Command Type Abort) after some blocks."""
        yield from self._setup_dma("pio", 0, None, 0, "plain")
        yield Write(rm.SDHCI_BLOCK_SIZE, 16, 512)
        yield from self.command(25, self._arg(lba), R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_MULTI)
        sent = 0
        while sent < blocks_before_abort:
            yield from self.wait(rm.SDHCI_INT_SPACE_AVAIL)
            yield Write(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_SPACE_AVAIL)
            yield WriteBurst(rm.SDHCI_BUFFER, tuple(
                int.from_bytes(data[i:i + 4], "little") for i in range(sent * 512, sent * 512 + 512, 4)))
            sent += 1
        yield from self.command(12, 0, R1B | rm.SDHCI_CMD_ABORTCMD)
        status = yield from self.wait(rm.SDHCI_INT_DATA_END)
        yield Write(rm.SDHCI_INT_STATUS, 32, status)
        yield Write(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD | rm.SDHCI_RESET_DATA)


def _desc(attr: int, length: int, target: int) -> bytes:
    return attr.to_bytes(2, "little") + length.to_bytes(2, "little") + target.to_bytes(4, "little")


def reg_cases() -> dict[str, dict[str, Any]]:
    """Case name -> parameters of run_reg."""
    cases: dict[str, dict[str, Any]] = {}
    for mode in REG_MODES:
        for width in WIDTHS:
            for card in CARDS:
                for seed in SEEDS:
                    cases[f"reg/{mode}/w{width}/{card}/s{seed}"] = dict(mode=mode, width=width, card=card, seed=seed)
        base = dict(mode=mode, width=4, card="emmc51", seed=1)
        cases[f"reg/{mode}/auto23"] = dict(base, stop="auto23")
        cases[f"reg/{mode}/cmd12"] = dict(base, stop="cmd12")
        cases[f"reg/{mode}/ddr8"] = dict(base, width=8, ddr=True)
        cases[f"reg/{mode}/clock-gated"] = dict(base, gate_clock_after_ns=90_000)
        cases[f"reg/{mode}/nocache"] = dict(base, card="emmc51-slow", cache=False)
        for fault in (Fault("data_crc", block=5), Fault("drop_crc_status", block=7),
                      Fault("stretch_busy", block=3, stretch_ps=250_000_000),
                      Fault("stretch_busy", block=3, stretch_ps=3_000_000_000_000),
                      Fault("remove_card", block=9), Fault("response_crc", cmd=25),
                      Fault("drop_response", cmd=12), Fault("data_crc", block=20)):
            tag = f"{fault.kind}-{fault.block if fault.cmd is None else f'cmd{fault.cmd}'}-{fault.stretch_ps}"
            cases[f"reg/{mode}/fault-{tag}"] = dict(base, faults=[fault])
    cases["reg/sdma/boundary-4k"] = dict(mode="sdma", width=8, card="emmc51", seed=1, boundary=0)
    cases["reg/sdma/boundary-8k-w1"] = dict(mode="sdma", width=1, card="emmc51", seed=2, boundary=1)
    cases["reg/adma/mixed-table"] = dict(mode="adma", width=8, card="emmc51", seed=1, table="mixed")
    cases["reg/adma/mixed-table-w1"] = dict(mode="adma", width=1, card="emmc51-slow", seed=2, table="mixed")
    cases["reg/pio/abort"] = dict(mode="pio", width=4, card="emmc51", seed=1, abort=True)
    cases["reg/pio/v1-pio"] = dict(mode="pio", width=4, card="emmc51", seed=1, controller="v1-pio")
    cases["reg/adma/v4"] = dict(mode="adma", width=8, card="emmc51", seed=1, controller="v4")
    cases["reg/adma/sdhci-top"] = dict(mode="adma", width=4, card="emmc51", seed=1, controller="sdhci-top")
    cases.update(reg_fallback_cases())
    return cases


def reg_fallback_cases() -> dict[str, dict[str, Any]]:
    """Cases added with the write run-ahead (captured from commit e3c1797, the event-by-event controller).

    Each makes the running ahead stop or never start: a register read, a Present State poll,
    a Software Reset or the SD clock stopping in the middle of the write, a card stall (one
    beyond the data timeout), the card refusing a block past its end, a buffer of one or
    four blocks, a DMA slower than the card's busy.
    """
    cases: dict[str, dict[str, Any]] = {}
    for mode in REG_MODES:
        base = dict(mode=mode, width=4, card="emmc51", seed=1)
        cases[f"reg/{mode}/peek"] = dict(base, midway=Midway(peeks_ns=(3_300, 11_000, 17_700, 25_000, 40_000,
                                                                       41_000, 90_000)))
        cases[f"reg/{mode}/dat-reset-mid"] = dict(base, midway=Midway(reset_after_ns=60_000))
        cases[f"reg/{mode}/clock-gated-early"] = dict(base, gate_clock_after_ns=20_000,
                                                      midway=Midway(clock_off_ns=5_000))
        cases[f"reg/{mode}/clock-gated-late"] = dict(base, width=8, gate_clock_after_ns=200_000,
                                                     midway=Midway(clock_off_ns=150_000))
        cases[f"reg/{mode}/stall-block-12"] = dict(base, stalls=((12, 1_000_000_000),))
        cases[f"reg/{mode}/stall-timeout-block-12"] = dict(base, stalls=((12, 3_000_000_000_000),))
        cases[f"reg/{mode}/past-end"] = dict(base, lba_from_end=10)
        cases[f"reg/{mode}/buffer-1"] = dict(base, buffer_blocks=1)
        cases[f"reg/{mode}/buffer-4"] = dict(base, width=8, buffer_blocks=4)
        cases[f"reg/{mode}/slow-dma"] = dict(base, latencies={"dma_block_ps": 30_000_000})
    for mode in ("sdma", "adma"):
        cases[f"reg/{mode}/poll-present"] = dict(mode=mode, width=8, card="emmc51", seed=2,
                                                 midway=Midway(poll_present=True))
    return cases


def run_reg(mode: str, width: int, card: str, seed: int, stop: str = "auto12", ddr: bool = False,
            cache: bool = True, boundary: int = 7, table: str = "plain", gate_clock_after_ns: int | None = None,
            faults: list[Fault] | None = None, abort: bool = False, controller: str = "v3",
            blocks: int = 24, midway: Midway = Midway(), stalls: tuple[tuple[int, int], ...] = (),
            lba_from_end: int | None = None, buffer_blocks: int | None = None,
            latencies: dict[str, int] | None = None) -> dict[str, Any]:
    """Bring a card up, write `blocks` blocks, read them back; everything that happened.

    stalls: (card block, extra busy in ps) injected into the card; lba_from_end: write that
    many sectors before the card's end (so the rest runs past it); buffer_blocks and
    latencies: changes to the controller preset.
    """
    card_config = card_preset(card)
    card_config.seed = seed
    card_config.timing.injected_stalls += [InjectedStall(block, ps) for block, ps in stalls]
    emmc = EmmcCard(card_config)
    config = controller_preset(controller)
    config.faults = list(faults or [])
    if buffer_blocks is not None:
        config.buffer_blocks = buffer_blocks
    if latencies:
        config.latencies = dataclasses.replace(config.latencies, **latencies)
    memory = HostMemory()
    ctl = SdhciController(config, emmc, memory)
    runner = SyncRunner(ctl, memory, platform_preset("arm64-soc"))
    driver = PolledDriver(byte_addressed=card == "emmc-2gb-byte")
    data = random.Random(seed).randbytes(512 * blocks)
    lba = 4096 + 8 * seed if lba_from_end is None else card_config.user_area_bytes // 512 - lba_from_end
    runner.run(driver.bring_up(width, ddr, cache and card_config.cache_size_kib > 0))
    if abort:
        runner.run(driver.open_ended_abort(lba, data, 5))
        read_back = b""
    else:
        runner.run(driver.transfer(mode, lba, blocks, data, stop, boundary, table, gate_clock_after_ns, midway))
        read_back = runner.run(driver.transfer(mode, lba, blocks, None, stop, boundary, table))
    on_card = min(len(data), emmc.storage.size(USER) - lba * 512)
    return {
        "trace": _trace_rows(ctl.trace),
        "ops": _op_rows(runner.log),
        "result": (runner.t_ps, tuple(driver.errors), ctl.next_event_ps()),
        "bytes": (hashlib.sha256(emmc.read(USER, lba * 512, on_card)).hexdigest(),
                  hashlib.sha256(read_back).hexdigest()),
    }


def all_cases() -> dict[str, Callable[[], dict[str, Any]]]:
    """Every case of the matrix: name -> a function that runs it."""
    cases: dict[str, Callable[[], dict[str, Any]]] = {}
    for name, overrides in emu_cases().items():
        cases[name] = lambda overrides=overrides: run_emu(overrides)
    for name, params in reg_cases().items():
        cases[name] = lambda params=params: run_reg(**params)
    return cases


def capture(names: Iterator[str] | None = None) -> dict[str, dict[str, str]]:
    cases = all_cases()
    return {name: fingerprint(cases[name]()) for name in (names or cases)}


def main() -> int:
    parser = argparse.ArgumentParser(description="Capture the equivalence fingerprints of this checkout.")
    parser.add_argument("--write", required=True, help="JSON file to write")
    args = parser.parse_args()
    with open(args.write, "w") as f:
        json.dump(capture(), f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
