"""Wire-level diagnosis: when the driver saw an error or a result differs, whose fault is it?

The BFM records every token on the SD pins (sdhci.kit.bfm.BusRecord); the
runner logs every register access with its time and value (OpRecord). Read
side by side they show what the controller told the driver against what
really crossed the wire:

- a Command CRC Error (or Command Timeout Error) reported for a command
  whose response on the wire was intact (or was there in time);
- Transfer Complete read while DAT0 was still busy on the wire;
- a Buffer Data Port word that differs from what the card sent (EXT_CSD and
  every other read block, word by word); by DMA, the read data the driver
  found in host memory against what the card sent;
- Response registers (card status, CID, CSD) that differ from the response
  bits on the wire.

Each finding is one sentence in an engineer's words with times in us,
status words (Interrupt Status, the card status of an R1) and errno values
decoded by name. The checks use no simulator: they run on
recorded lists, so they are tested without one.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from emmc_card.protocol import CURRENT_STATE_MASK, CURRENT_STATE_SHIFT, CardState, CardStatus
from sdhci import regmap as rm
from sdhci.driver import mmc_core
from sdhci.driver.ops import MemRead, Poll, Read, ReadBurst, Write

#: Normal and Error Interrupt Status bits (one 32-bit view at 0x30) by their specification names.
INT_STATUS_NAMES = {
    rm.SDHCI_INT_RESPONSE: "Command Complete", rm.SDHCI_INT_DATA_END: "Transfer Complete",
    rm.SDHCI_INT_BLK_GAP: "Block Gap Event", rm.SDHCI_INT_DMA_END: "DMA Interrupt",
    rm.SDHCI_INT_SPACE_AVAIL: "Buffer Write Ready", rm.SDHCI_INT_DATA_AVAIL: "Buffer Read Ready",
    rm.SDHCI_INT_CARD_INSERT: "Card Insertion", rm.SDHCI_INT_CARD_REMOVE: "Card Removal",
    rm.SDHCI_INT_CARD_INT: "Card Interrupt", rm.SDHCI_INT_ERROR: "Error Interrupt",
    rm.SDHCI_INT_TIMEOUT: "Command Timeout Error", rm.SDHCI_INT_CRC: "Command CRC Error",
    rm.SDHCI_INT_END_BIT: "Command End Bit Error", rm.SDHCI_INT_INDEX: "Command Index Error",
    rm.SDHCI_INT_DATA_TIMEOUT: "Data Timeout Error", rm.SDHCI_INT_DATA_CRC: "Data CRC Error",
    rm.SDHCI_INT_DATA_END_BIT: "Data End Bit Error", rm.SDHCI_INT_BUS_POWER: "Current Limit Error",
    rm.SDHCI_INT_AUTO_CMD_ERR: "Auto CMD Error", rm.SDHCI_INT_ADMA_ERROR: "ADMA Error",
}
#: Linux errno values the driver returns, by name (include/uapi/asm-generic/errno*.h).
ERRNO_NAMES = {getattr(mmc_core, n): n for n in ("EIO", "EBUSY", "EINVAL", "ETIMEDOUT", "EILSEQ", "EBADMSG")}
#: What a command's data or R2 response carries (JESD84-B51 command set).
DATA_NAMES = {8: "EXT_CSD", 2: "CID", 9: "CSD", 10: "CID"}
#: Short responses that are no card status: CMD1's R3 carries the OCR.
SHORT_RESPONSE_NAMES = {1: "OCR"}
MAX_NCR_CELLS = 64            # longest response delay a host must wait for (NCR max)


def status_names(value: int) -> str:
    """'Command Complete | Command CRC Error' for an Interrupt Status value."""
    names = [name for bit, name in INT_STATUS_NAMES.items() if value & bit]
    return " | ".join(names) if names else "nothing set"


def card_status_names(value: int) -> str:
    """'CURRENT_STATE tran | READY_FOR_DATA' for an R1 card status (JESD84-B51 device status)."""
    state = (value & CURRENT_STATE_MASK) >> CURRENT_STATE_SHIFT
    try:
        state_name = CardState(state).name.lower()
    except ValueError:
        state_name = str(state)                   # reserved
    names = [f"CURRENT_STATE {state_name}"] + [bit.name for bit in CardStatus if value & bit]
    return " | ".join(names)


def errno_names(message: str) -> str:
    """The message with each negative errno followed by its name: '-84' -> '-84 (EILSEQ)'."""
    return re.sub(r"-(\d+)\b", lambda m: f"{m.group(0)} ({ERRNO_NAMES[int(m.group(1))]})"
                  if int(m.group(1)) in ERRNO_NAMES else m.group(0), message)


def _us(ps: int) -> str:
    return f"{ps / 1e6:.3f} us"


@dataclass(frozen=True)
class _StatusRead:
    start_ps: int
    end_ps: int
    value: int


def _command_index(op: Any) -> int | None:
    """The command a register write issues (Command register at 0x0E, or 32-bit at 0x0C)."""
    if not isinstance(op, Write):
        return None
    if op.offset == rm.SDHCI_COMMAND and op.width == 16:
        return (op.value >> 8) & 0x3F
    if op.offset == rm.SDHCI_TRANSFER_MODE and op.width == 32:
        return (op.value >> 24) & 0x3F
    return None


def _status_read(r: Any) -> _StatusRead | None:
    """The Interrupt Status value an op record saw, as a 32-bit view (a Poll: its last read)."""
    op = r.op
    if not (isinstance(op, (Read, Poll)) and op.offset in (rm.SDHCI_INT_STATUS, rm.SDHCI_INT_STATUS + 2)):
        return None
    if isinstance(op, Poll):
        value, start = r.value.value, r.end_ps - (r.end_ps - r.start_ps) // max(1, r.value.iterations)
    else:
        value, start = r.value, r.start_ps
    return _StatusRead(start, r.end_ps, value << 16 if op.offset == rm.SDHCI_INT_STATUS + 2 else value)


def _status_reads(log: Sequence[Any]) -> list[_StatusRead]:
    """Every Interrupt Status value the driver saw, in order."""
    return [read for r in log if (read := _status_read(r)) is not None]


def _fresh_transfer_completes(log: Sequence[Any]) -> list[_StatusRead]:
    """Status reads that show Transfer Complete for the first time since the driver cleared it (W1C)."""
    out, pending = [], False
    for r in log:
        op = r.op
        if isinstance(op, Write) and op.offset == rm.SDHCI_INT_STATUS and op.value & rm.SDHCI_INT_DATA_END:
            pending = False
        elif (read := _status_read(r)) is not None and read.value & rm.SDHCI_INT_DATA_END:
            if not pending:
                out.append(read)
            pending = True
    return out


def _issued(log: Sequence[Any]) -> list[tuple[int, int]]:
    """(start ps, command index) of every command register write."""
    return [(r.start_ps, idx) for r in log if (idx := _command_index(r.op)) is not None]


def _last_before(items: Sequence[tuple[int, int]], t_ps: int) -> tuple[int, int] | None:
    before = [item for item in items if item[0] <= t_ps]
    return before[-1] if before else None


def command_errors(records: Sequence[Any], log: Sequence[Any]) -> list[str]:
    """A command error the controller reported although the wire shows the response was fine."""
    issued = _issued(log)
    out, seen = [], set()
    for read in _status_reads(log):
        errors = read.value & (rm.SDHCI_INT_CRC | rm.SDHCI_INT_TIMEOUT)
        last = _last_before(issued, read.start_ps)
        if not errors or last is None or last in seen:
            continue
        t_issue, index = last
        command = next((r for r in records if r.kind == "command" and r.cmd == index and r.start_ps >= t_issue), None)
        response = next((r for r in records if r.kind == "response" and r.cmd == index
                         and command is not None and r.start_ps >= command.end_ps), None)
        if command is None or response is None or response.start_ps > read.end_ps:
            continue
        seen.add(last)
        kind = "R2" if response.detail.get("length") == 136 else "response"
        status = f"(Interrupt Status 0x{read.value:08X}: {status_names(read.value)})"
        if errors & rm.SDHCI_INT_CRC and response.detail.get("crc7_ok"):
            out.append(f"controller reported Command CRC Error on CMD{index} at {_us(read.end_ps)} {status}, "
                       f"but the {kind} on the wire ({_us(response.start_ps)} to {_us(response.end_ps)}) carried "
                       f"a correct CRC7 (0x{response.detail['crc7']:02X}): controller defect")
        elif errors & rm.SDHCI_INT_TIMEOUT and command is not None:
            cells = (response.start_ps - command.end_ps) / max(1, (command.end_ps - command.start_ps) // 48)
            if cells <= MAX_NCR_CELLS + 1:
                out.append(f"controller reported Command Timeout Error on CMD{index} at {_us(read.end_ps)} "
                           f"{status}, but the {kind} started on the wire at {_us(response.start_ps)}, "
                           f"{cells:.0f} cells after the command's end bit (NCR max {MAX_NCR_CELLS}): "
                           "controller defect")
    return out


def early_transfer_complete(records: Sequence[Any], log: Sequence[Any]) -> list[str]:
    """Transfer Complete seen by the driver while the card still held DAT0 busy, or before the
    R1b response whose busy it must wait for had even ended."""
    busy = [r for r in records if r.kind == "busy"]
    responses = [r for r in records if r.kind == "response"]
    tokens = [r for r in records if r.kind in ("response", "crc_status")]
    issued = _issued(log)
    out, seen = [], set()
    for read in _fresh_transfer_completes(log):
        last = _last_before(issued, read.start_ps)
        if last is None:
            continue
        t_issue, index = last
        status = f"(Interrupt Status 0x{read.value:08X}: {status_names(read.value)})"
        response = next((r for r in responses if r.cmd == index and r.start_ps >= t_issue), None)
        after = next((b for b in busy if response is not None and b.start_ps >= response.end_ps), None)
        if response is not None and read.end_ps < response.end_ps and after is not None \
                and after.start_ps - response.end_ps <= 4 * (response.end_ps - response.start_ps) // 48:
            out.append(f"Transfer Complete at {_us(read.end_ps)} {status}, before the CMD{index} R1b response "
                       f"ended ({_us(response.end_ps)}); the card then held DAT0 busy until {_us(after.end_ps)}: "
                       "controller defect")
            continue
        for b in busy:
            if b.start_ps >= t_issue and b.start_ps < read.end_ps < b.end_ps and id(b) not in seen:
                seen.add(id(b))
                before = [t for t in tokens if t.end_ps <= b.start_ps]
                what = ""
                if before:
                    t = before[-1]
                    what = (f" after the CMD{t.cmd} R1b response" if t.kind == "response"
                            else f" after the CRC status of a CMD{t.cmd} block")
                out.append(f"Transfer Complete at {_us(read.end_ps)} {status} while DAT0 was still busy until "
                           f"{_us(b.end_ps)} (busy since {_us(b.start_ps)}{what}): controller defect")
    return out


def _buffer_words(log: Sequence[Any]) -> list[tuple[int, int]]:
    """(time ps, word) of every Buffer Data Port read, in order."""
    out = []
    for r in log:
        op = r.op
        if isinstance(op, ReadBurst) and op.offset == rm.SDHCI_BUFFER:
            step = (r.end_ps - r.start_ps) // max(1, op.count)
            out.extend((r.start_ps + i * step, w) for i, w in enumerate(r.value))
        elif isinstance(op, Read) and op.offset == rm.SDHCI_BUFFER and op.width == 32:
            out.append((r.start_ps, r.value))
    return out


def buffer_data(records: Sequence[Any], log: Sequence[Any]) -> list[str]:
    """Buffer Data Port reads against the read blocks the card sent, word by word."""
    words = _buffer_words(log)
    out = []
    at = 0
    for block in _read_blocks(records):
        sent = struct.unpack(f"<{len(block.detail['data']) // 4}I", block.detail["data"])
        got = words[at:at + len(sent)]
        at += len(sent)
        if len(got) < len(sent):
            break
        wrong = [i for i, ((_, g), s) in enumerate(zip(got, sent)) if g != s]
        if wrong:
            i = wrong[0]
            what = DATA_NAMES.get(block.cmd, "data")
            out.append(f"Buffer Data Port read returned 0x{got[i][1]:08X} at {_us(got[i][0])}, but the card sent "
                       f"0x{sent[i]:08X} ({what}: block {block.detail['block']} of CMD{block.cmd}, word {i}; "
                       f"{len(wrong)} of {len(sent)} words wrong): controller defect")
    return out


def _read_blocks(records: Sequence[Any]) -> list[Any]:
    """The read data blocks the card sent whole (a block cut by a stop carries nothing to compare)."""
    return [r for r in records if r.kind == "data" and r.detail.get("direction") == "read"
            and not r.detail.get("stopped")]


def dma_data(records: Sequence[Any], log: Sequence[Any]) -> list[str]:
    """A DMA read's data in host memory, as the driver loaded it (MemRead), against the blocks the
    card sent for it: the controller's master stored what it should have."""
    blocks = _read_blocks(records)
    out = []
    at = 0
    for r in log:
        if not isinstance(r.op, MemRead):
            continue
        mine = [b for b in blocks[at:] if b.end_ps <= r.start_ps]
        at += len(mine)
        sent = b"".join(b.detail["data"] for b in mine)
        got = bytes(r.value)[:len(sent)]
        words = len(sent) // 4
        wrong = [i for i in range(words) if got[4 * i:4 * i + 4] != sent[4 * i:4 * i + 4]]
        if wrong:
            i = wrong[0]
            block = mine[4 * i // len(mine[0].detail["data"])]
            word = i % (len(block.detail["data"]) // 4)
            g, s = struct.unpack_from("<I", got, 4 * i)[0], struct.unpack_from("<I", sent, 4 * i)[0]
            out.append(f"DMA read data in host memory at 0x{r.op.addr + 4 * i:08X} was 0x{g:08X} when the driver "
                       f"loaded it at {_us(r.start_ps)}, but the card sent 0x{s:08X} "
                       f"({DATA_NAMES.get(block.cmd, 'data')}: block {block.detail['block']} of CMD{block.cmd}, "
                       f"word {word}; {len(wrong)} of {words} words wrong): controller defect")
    return out


def response_registers(records: Sequence[Any], log: Sequence[Any]) -> list[str]:
    """Response register reads against the response bits on the wire (card status, CID, CSD)."""
    issued = _issued(log)
    out = []
    responses = [r for r in records if r.kind == "response"]
    for r in log:
        op = r.op
        if not (isinstance(op, Read) and op.width == 32 and rm.SDHCI_RESPONSE <= op.offset < rm.SDHCI_RESPONSE + 16):
            continue
        last = _last_before(issued, r.start_ps)
        if last is None:
            continue
        t_issue, index = last
        wire = next((x for x in responses if x.cmd == index and x.start_ps >= t_issue and x.end_ps <= r.start_ps), None)
        if wire is None:
            continue
        bits = wire.detail["bits"]
        content = (bits >> 8) & ((1 << 120) - 1) if wire.detail["length"] == 136 else (bits >> 8) & 0xFFFF_FFFF
        word = (op.offset - rm.SDHCI_RESPONSE) // 4
        expected = (content >> (32 * word)) & 0xFFFF_FFFF
        if r.value != expected:
            if wire.detail["length"] == 136:
                what, got, sent = DATA_NAMES.get(index, "R2"), "", ""
            elif index in SHORT_RESPONSE_NAMES:
                what, got, sent = SHORT_RESPONSE_NAMES[index], "", ""
            else:
                what, got, sent = "card status", f" ({card_status_names(r.value)})", f" ({card_status_names(expected)})"
            out.append(f"Response register 0x{op.offset:02X} read 0x{r.value:08X}{got} at {_us(r.start_ps)} after "
                       f"CMD{index}, but the card sent 0x{expected:08X}{sent} there ({what}, response at "
                       f"{_us(wire.start_ps)}): controller defect")
            break
    return out


def diagnose(records: Iterable[Any], log: Sequence[Any], error: str | None = None) -> list[str]:
    """Every finding, the driver's own error first (errno decoded)."""
    records = list(records)
    out = [f"driver: {errno_names(error)}"] if error else []
    for check in (command_errors, early_transfer_complete, buffer_data, dma_data, response_registers):
        out.extend(check(records, log))
    return out
