"""CRC7 for command/response tokens and CRC16 for data blocks, per DAT line.

CRC7: polynomial x^7 + x^3 + 1 over the first 40 bits of a 48-bit token (or
the 120 register bits of an R2). CRC16: CCITT polynomial 0x1021, initial value
0, computed separately for the bit stream on each DAT line; in DDR modes, the
odd bytes (1st, 3rd, ...) travel on rising edges and the even bytes on falling
edges, each with its own CRC16 per line (JESD84-B51, dual data rate packet
format).
"""
from __future__ import annotations

import binascii
import functools

import numpy as np


def _crc7_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x12) if crc & 0x80 else (crc << 1)
        table.append(crc & 0xFF)
    return table


# Table over the CRC kept left-aligned in a byte (crc7 << 1), poly 0x09 << 1.
_CRC7_TABLE = _crc7_table()


def crc7(data: bytes) -> int:
    """CRC7 (x^7 + x^3 + 1, initial 0) of `data`, as a 7-bit value."""
    crc = 0
    for byte in data:
        crc = _CRC7_TABLE[crc ^ byte]
    return crc >> 1


def crc16(data: bytes) -> int:
    """CRC16-CCITT (0x1021, initial 0) of `data` sent on one DAT line, SDR."""
    return binascii.crc_hqx(data, 0)


def split_lines(data: bytes, width: int) -> list[bytes]:
    """The bit stream each DAT line carries for `data` sent SDR on `width` lines.

    Bits go out most significant first; on a 4-bit bus a byte takes two
    clocks (bits 7..4 on DAT3..DAT0, then 3..0), on an 8-bit bus one clock
    (bit k on DATk). Returns one packed byte string per line, DAT0 first.
    """
    if width == 1:
        return [bytes(data)]
    if width not in (4, 8):
        raise ValueError(f"bus width must be 1, 4 or 8, not {width}")
    if (len(data) * 8) % (width * 8):
        raise ValueError(f"{len(data)} bytes do not fill whole bytes on each of {width} lines")
    bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8)).reshape(-1, width)
    # Column 0 is the most significant bit of each clock, i.e. DAT(width-1):
    # reversing the transposed rows puts DAT0 first.
    packed = np.packbits(bits.T[::-1], axis=1)
    return [row.tobytes() for row in packed]


def crc16_lines(data: bytes, width: int, ddr: bool = False) -> tuple[int, ...]:
    """CRC16 of each DAT line's stream, DAT0 first.

    SDR: `width` values. DDR: 2 x `width` values, first the rising-edge CRCs
    (odd bytes) for DAT0.., then the falling-edge CRCs (even bytes).
    Memoised for the last few blocks: the host computes a block's CRCs when
    it sends the block and the card recomputes them to check it, on the very
    same bytes.
    """
    return _crc16_lines(bytes(data), width, ddr)


@functools.lru_cache(maxsize=8)
def _crc16_lines(data: bytes, width: int, ddr: bool) -> tuple[int, ...]:
    if ddr:
        return _crc16_lines(data[0::2], width, False) + _crc16_lines(data[1::2], width, False)
    return tuple(crc16(stream) for stream in split_lines(data, width))
