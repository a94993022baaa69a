"""Test helpers for driving an EmmcCard at transaction level.

`CardHost` plays the host side of the bus with a fixed SD clock: it builds
command tokens, keeps the bus time (picoseconds) moving by the exact number
of clocks each phase takes, waits out busy, and can walk a card through
initialisation. Other layers' tests may reuse it.
"""
from __future__ import annotations

import os
import random

from emmc_card import EmmcCard
from emmc_card.bus import (
    COMMAND_BITS,
    CRC_STATUS_BITS,
    NRC,
    CommandOutcome,
    ReadOutcome,
    WriteOutcome,
    data_block_cycles,
)
from emmc_card.crc import crc16_lines
from emmc_card.protocol import CardState, decode_r1, decode_r2, decode_r3, encode_command, status_state

CLK_PS = 20_000          # 50 MHz SD clock
HOST_OCR = 0x40FF8080    # sector mode supported, 2.7-3.6 V and 1.7-1.95 V
RCA = 0x0002


def blocks(seed: int, count: int) -> list[bytes]:
    """`count` seeded random 512-byte blocks (test data that differs per block)."""
    rng = random.Random(seed)
    return [rng.randbytes(512) for _ in range(count)]


def file_bytes(path: str | os.PathLike[str], offset: int, length: int) -> bytes:
    """Bytes of the image file itself: what survived, independent of the card model."""
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def cmd(index: int, arg: int = 0) -> bytes:
    """A valid 48-bit command token."""
    return encode_command(index, arg)


class CardHost:
    """A minimal host: issues commands and data blocks with exact bus timing."""

    def __init__(self, card: EmmcCard, clock_period_ps: int = CLK_PS, t_ps: int = 0) -> None:
        self.card = card
        self.clk = clock_period_ps
        self.t = t_ps
        self.width = 1
        self.ddr = False
        self.rca = RCA
        self.last_command_end = t_ps

    def command(self, index: int, arg: int = 0, token: bytes | None = None) -> CommandOutcome:
        """Send a command; time moves to the end of its response (+NRC), or +NCC if silent."""
        self.t += COMMAND_BITS * self.clk
        end_of_command = self.t
        out = self.card.command(token if token is not None else cmd(index, arg), self.t, self.clk)
        if out.response is not None:
            self.t += (out.delay_cycles + 8 * len(out.response)) * self.clk
        self.t += NRC * self.clk
        self.last_command_end = end_of_command
        return out

    def wait_not_busy(self, out: CommandOutcome | WriteOutcome | None = None) -> None:
        """Advance time past the busy the outcome announced (or past any busy)."""
        if out is not None and out.busy_until_ps is not None:
            self.t = max(self.t, out.busy_until_ps)
        if self.card.busy(self.t):
            self.t = self.card.busy_until_ps

    def r1(self, index: int, arg: int = 0) -> int:
        """Send a command expecting R1/R1b; returns the card status."""
        out = self.command(index, arg)
        assert out.response is not None, f"CMD{index} got no response"
        got_index, status = decode_r1(out.response)
        assert got_index == index
        self.wait_not_busy(out)
        return status

    def status(self) -> int:
        """CMD13 card status."""
        return self.r1(13, self.rca << 16)

    def state(self) -> CardState:
        return status_state(self.status())

    def init(self, cmd1_poll_ps: int = 1_000_000_000, width: int | None = None) -> None:
        """CMD0, CMD1 until ready, CMD2, CMD3, CMD7 (and CMD6 BUS_WIDTH when `width` is given)."""
        self.command(0, 0)
        while True:
            ocr = decode_r3(self.command(1, HOST_OCR).response)
            if ocr & 0x80000000:
                break
            self.t += cmd1_poll_ps
        self.cid = decode_r2(self.command(2).response)
        self.r1(3, self.rca << 16)
        self.csd = decode_r2(self.command(9, self.rca << 16).response)
        self.r1(7, self.rca << 16)
        if width is not None:
            self.set_bus_width(width)

    def switch(self, index: int, value: int, access: int = 3) -> CommandOutcome:
        """CMD6 write-byte (by default) to EXT_CSD[index]; waits out the busy."""
        out = self.command(6, (access << 24) | (index << 16) | (value << 8))
        self.wait_not_busy(out)
        return out

    def set_bus_width(self, width: int, ddr: bool = False) -> None:
        value = {(1, False): 0, (4, False): 1, (8, False): 2, (4, True): 5, (8, True): 6}[(width, ddr)]
        self.switch(183, value)
        self.width, self.ddr = width, ddr

    def write_block(self, data: bytes, crcs: tuple[int, ...] | None = None) -> WriteOutcome:
        """Send one data block (NWR after the previous phase); waits out its busy."""
        self.t += (2 + data_block_cycles(len(data), self.width, self.ddr)) * self.clk
        if crcs is None:
            crcs = crc16_lines(data, self.width, self.ddr)
        out = self.card.write_block(data, crcs, self.t, self.clk)
        self.t += (out.token_delay_cycles + CRC_STATUS_BITS) * self.clk
        self.wait_not_busy(out)
        return out

    def read_block(self) -> ReadOutcome | None:
        """Receive the next read block; time moves to its end bit."""
        out = self.card.read_block(self.t, self.clk)
        if out is not None:
            self.t += (out.access_cycles + data_block_cycles(len(out.data), self.width, self.ddr)) * self.clk
        return out

    def write(self, index: int, arg: int, blocks: list[bytes], stop: bool) -> list[WriteOutcome]:
        """CMD24/25 with data blocks, then CMD12 if `stop`; returns the block outcomes."""
        status = self.r1(index, arg)
        assert status_state(status) == CardState.TRAN, hex(status)
        outs = [self.write_block(b) for b in blocks]
        if stop:
            self.r1(12)
        return outs

    def read(self, index: int, arg: int, count: int, stop: bool) -> bytes:
        """CMD17/18 reading `count` blocks, then CMD12 if `stop`."""
        self.r1(index, arg)
        data = b""
        for _ in range(count):
            block = self.read_block()
            assert block is not None
            assert block.crcs == crc16_lines(block.data, self.width, self.ddr)
            data += block.data
        if stop:
            self.r1(12)
        return data
