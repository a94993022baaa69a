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


# Splitting a block into per-line streams is a bit transpose. Seen as a
# matrix, every group of bus clocks that fills one byte per line is square:
#
#   8-bit bus: 8 bytes (one per clock) x 8 bits; line k takes bit k of each byte.
#   4-bit bus: 4 bytes (two clocks each) x 4 two-bit cells, once each byte's
#              bits are reordered 7 3 6 2 5 1 4 0 (_PAIR_BITS), so that the cell
#              for DAT(3 - c) holds (bit 7 - c, bit 3 - c): both clocks of that line.
#
# Transposing that matrix turns row r into line (width - 1 - r)'s byte. The
# whole block is transposed at once, as one big integer, with the classic
# recursive block swap: for s = n/2, n/4, .., 1, each 2s x 2s sub-square
# swaps its top-right and bottom-left s x s quarters (a "delta swap": a mask of
# the bottom-left cells, moved up by the distance between the two quarters).
# That is log2(n) big-int shifts and masks instead of a Python loop per bit.

_PAIR_BITS = bytes(
    sum(((byte >> src) & 1) << (7 - dst) for dst, src in enumerate((7, 3, 6, 2, 5, 1, 4, 0)))
    for byte in range(256))


@functools.lru_cache(maxsize=16)
def _transpose_swaps(nbytes: int, width: int) -> tuple[tuple[int, int], ...]:
    """(distance, mask) of each delta swap transposing every group of `nbytes` bytes on `width` lines."""
    n, cell = (8, 1) if width == 8 else (4, 2)          # matrix side, bits per cell
    group_bits = n * n * cell
    swaps = []
    s = n // 2
    while s:
        # Cell (r, c) sits (r * n + c) * cell bits below the group's top; its
        # partner (r - s, c + s) sits `distance` bits above it.
        distance = (s * n - s) * cell
        group_mask = 0
        for r in range(n):
            for c in range(n):
                if r & s and not c & s:       # bottom-left quarter of its 2s x 2s square
                    group_mask |= ((1 << cell) - 1) << (group_bits - (r * n + c + 1) * cell)
        mask = int.from_bytes(group_mask.to_bytes(group_bits // 8, "big") * (nbytes * 8 // group_bits), "big")
        swaps.append((distance, mask))
        s //= 2
    return tuple(swaps)


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
    data = bytes(data)
    if width == 4:
        data = data.translate(_PAIR_BITS)
    bits = int.from_bytes(data, "big")
    for distance, mask in _transpose_swaps(len(data), width):
        moved = (bits ^ (bits >> distance)) & mask
        bits ^= moved ^ (moved << distance)
    transposed = bits.to_bytes(len(data), "big")
    # Byte r of each width-byte group is now row r = line (width - 1 - r): DAT0 is the last.
    return [transposed[width - 1 - line::width] for line in range(width)]


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
    return tuple([binascii.crc_hqx(stream, 0) for stream in split_lines(data, width)])
