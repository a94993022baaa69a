"""SD bus framing and the card's transaction-level interface types.

Lengths are in SD clock cycles (JESD84-B51 bus timing; see docs/facts.md). The
host side (controller model or pin-level BFM) turns these into picoseconds
with its current SD clock period. Outcome types are what a card answers to
one bus transaction; every time in them is an integer number of picoseconds.
"""
from __future__ import annotations

from dataclasses import dataclass

from emmc_card.crc import crc16_lines

COMMAND_BITS = 48          # start, transmission, index(6), argument(32), CRC7, end
SHORT_RESPONSE_BITS = 48   # R1, R1b, R3
LONG_RESPONSE_BITS = 136   # R2 (CID/CSD)
NCR_MIN, NCR_MAX = 2, 64   # command end bit -> response start bit
NID = 5                    # CMD1/CMD2 (open drain) -> response
NAC_MIN = 2                # read command (or previous block) end bit -> data start bit; max from TAAC/NSAC
NRC = 8                    # response end bit -> next command
NCC = 8                    # command end bit -> next command, no response
NWR = 2                    # response end bit -> write data start bit (minimum)
NST = 2                    # CMD12 end bit -> end of read data
CRC_STATUS_DELAY = 2       # data end bit -> CRC status start bit (default)
CRC_STATUS_BITS = 5        # start 0, status(3), end 1
CRC_STATUS_ACCEPTED = 0b010
CRC_STATUS_CRC_ERROR = 0b101
CRC_STATUS_NONE = 0b111    # what a host reads when the card sends no token


def data_clocks(block_len: int, width: int, ddr: bool = False) -> int:
    """Clocks that carry `block_len` data bytes on `width` lines."""
    bits_per_clock = width * (2 if ddr else 1)
    clocks, rest = divmod(block_len * 8, bits_per_clock)
    if rest:
        raise ValueError(f"{block_len} bytes do not fill whole clocks on a {width}-bit bus")
    return clocks


def data_block_cycles(block_len: int, width: int, ddr: bool = False) -> int:
    """A whole data block on the bus: start bit, data, 16 CRC bits, end bit.

    In DDR the rising- and falling-edge CRC16s interleave in the same 16
    clocks; start and end bits take one clock each.
    """
    return 1 + data_clocks(block_len, width, ddr) + 16 + 1


def response_bits(long: bool) -> int:
    return LONG_RESPONSE_BITS if long else SHORT_RESPONSE_BITS


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """The card's answer to one command token.

    response: the whole response token as sent on CMD (6 bytes for a 48-bit
        response, 17 for R2), or None when the card stays silent (no
        response defined, illegal command, CRC error, not addressed).
    delay_cycles: clocks from the command's end bit to the response's start
        bit (NCR, or NID for CMD1/CMD2); 0 when there is no response.
    busy_until_ps: for R1b, DAT0 is held low from the response end bit until
        this absolute time; None when the card does not signal busy.
    """
    response: bytes | None
    delay_cycles: int = 0
    busy_until_ps: int | None = None


# The per-block outcomes are not frozen: a frozen dataclass's __init__ costs about three
# times as much, and a card makes one per block. Treat them as read-only all the same.
@dataclass(slots=True)
class WriteOutcome:
    """The card's answer to one write data block.

    token: the 3 status bits of the CRC status token (0b010 accepted,
        0b101 CRC error), or None when the card sends no token (the host
        then reads 0b111).
    token_delay_cycles: clocks from the data end bit to the token start bit.
    busy_until_ps: DAT0 held low from the token end bit until this absolute
        time (programming or buffer full); None for no busy.
    """
    token: int | None
    token_delay_cycles: int = CRC_STATUS_DELAY
    busy_until_ps: int | None = None


@dataclass(frozen=True, slots=True)
class CorrectCrcs:
    """In place of a written block's CRC16 values: the host sent each line's correct CRC16 on this bus.

    A host that knows its CRCs are right (no fault injected) passes this
    instead of computing them: when the card frames the block the same way
    (bus width and data rate) the values match without being computed.
    """
    width: int
    ddr: bool = False


@dataclass(slots=True)
class ReadOutcome:
    """One read data block as the card sends it, on a `width`-bit bus (`ddr`: both edges).

    access_cycles: clocks from the reference point (command end bit for the
        first block, previous block's end bit after that) to the start bit.
    crcs: CRC16 per line as sent (see emmc_card.crc.crc16_lines), computed
        when asked: a host framing the block alike (same width and rate)
        receives exactly these, so it need not compute them to check.
    """
    data: bytes
    access_cycles: int
    width: int = 1
    ddr: bool = False

    @property
    def crcs(self) -> tuple[int, ...]:
        return crc16_lines(self.data, self.width, self.ddr)
