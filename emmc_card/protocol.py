"""eMMC command and response tokens, card status bits and states (JESD84-B51).

A command token is 48 bits: start 0, transmission 1 (host to card), 6-bit
index, 32-bit argument, CRC7, end 1. Responses: R1/R1b carry the 32-bit card
status, R3 the OCR (with CRC field and index read as all ones), R2 the 128-bit
CID or CSD (whose own CRC7 sits in bits 7..1). Decoders raise ProtocolError so
a card or host can turn a malformed token into the status the spec asks for.
"""
from __future__ import annotations

import enum
import functools

from emmc_card.crc import crc7

# The token codecs below are pure functions of their (immutable) arguments, called once per
# command on each side of the bus with a handful of distinct values per run: kept in a small
# cache (typed, so 1 and 1.0 or True stay apart; a malformed token raises every time).
_token_cache = functools.lru_cache(maxsize=1024, typed=True)


class ProtocolError(ValueError):
    """A token is malformed: wrong length, start/transmission/end bit or CRC7."""


class CardState(enum.IntEnum):
    """CURRENT_STATE values of the card status (bits 12:9)."""

    IDLE = 0
    READY = 1
    IDENT = 2
    STBY = 3
    TRAN = 4
    DATA = 5
    RCV = 6
    PRG = 7
    DIS = 8
    BTST = 9
    SLP = 10


class CardStatus(enum.IntFlag):
    """Device status bits of the R1 response (JESD84-B51 names)."""

    APP_CMD = 1 << 5
    EXCEPTION_EVENT = 1 << 6
    SWITCH_ERROR = 1 << 7
    READY_FOR_DATA = 1 << 8
    ERASE_RESET = 1 << 13
    WP_ERASE_SKIP = 1 << 15
    CID_CSD_OVERWRITE = 1 << 16
    ERROR = 1 << 19
    CC_ERROR = 1 << 20
    DEVICE_ECC_FAILED = 1 << 21
    ILLEGAL_COMMAND = 1 << 22
    COM_CRC_ERROR = 1 << 23
    LOCK_UNLOCK_FAILED = 1 << 24
    DEVICE_IS_LOCKED = 1 << 25
    WP_VIOLATION = 1 << 26
    ERASE_PARAM = 1 << 27
    ERASE_SEQ_ERROR = 1 << 28
    BLOCK_LEN_ERROR = 1 << 29
    ADDRESS_MISALIGN = 1 << 30
    ADDRESS_OUT_OF_RANGE = 1 << 31


CURRENT_STATE_SHIFT = 9
CURRENT_STATE_MASK = 0xF << CURRENT_STATE_SHIFT

# Error bits the card reports once and then clears (clear conditions B and C).
ERROR_BITS = (
    CardStatus.ADDRESS_OUT_OF_RANGE | CardStatus.ADDRESS_MISALIGN | CardStatus.BLOCK_LEN_ERROR
    | CardStatus.ERASE_SEQ_ERROR | CardStatus.ERASE_PARAM | CardStatus.WP_VIOLATION
    | CardStatus.LOCK_UNLOCK_FAILED | CardStatus.COM_CRC_ERROR | CardStatus.ILLEGAL_COMMAND
    | CardStatus.DEVICE_ECC_FAILED | CardStatus.CC_ERROR | CardStatus.ERROR
    | CardStatus.CID_CSD_OVERWRITE | CardStatus.WP_ERASE_SKIP | CardStatus.ERASE_RESET
    | CardStatus.SWITCH_ERROR
)
# Clear condition B (JESD84-B51 device status table; Linux mmc.h "er, b"): tied
# to the previous command and cleared by the next valid command, whatever its
# response type, not only by being read in an R1.
CLEARED_BY_VALID_COMMAND = CardStatus.COM_CRC_ERROR | CardStatus.ILLEGAL_COMMAND


def status_word(flags: int, state: int) -> int:
    """Card status as sent in R1: the flag bits with CURRENT_STATE inserted."""
    return (flags & ~CURRENT_STATE_MASK & 0xFFFFFFFF) | (int(state) << CURRENT_STATE_SHIFT)


def status_state(status: int) -> CardState:
    """CURRENT_STATE field of a card status word."""
    return CardState((status >> CURRENT_STATE_SHIFT) & 0xF)


class ResponseType(enum.Enum):
    """What the card answers on CMD to a command."""

    NONE = "none"
    R1 = "R1"
    R1B = "R1b"
    R2 = "R2"
    R3 = "R3"


# Response type per supported command index (JESD84-B51 command tables).
# CMD7 answers R1b only when it selects a card that is still programming;
# CMD12 answers R1b after a write and R1 after a read.
RESPONSE_TYPE: dict[int, ResponseType] = {
    0: ResponseType.NONE,
    1: ResponseType.R3,
    2: ResponseType.R2,
    3: ResponseType.R1,
    6: ResponseType.R1B,
    7: ResponseType.R1,
    8: ResponseType.R1,
    9: ResponseType.R2,
    10: ResponseType.R2,
    12: ResponseType.R1B,
    13: ResponseType.R1,
    16: ResponseType.R1,
    17: ResponseType.R1,
    18: ResponseType.R1,
    23: ResponseType.R1,
    24: ResponseType.R1,
    25: ResponseType.R1,
}

# Command indices by their JEDEC names, for readable code and tests.
GO_IDLE_STATE = 0
SEND_OP_COND = 1
ALL_SEND_CID = 2
SET_RELATIVE_ADDR = 3
SWITCH = 6
SELECT_CARD = 7
SEND_EXT_CSD = 8
SEND_CSD = 9
SEND_CID = 10
STOP_TRANSMISSION = 12
SEND_STATUS = 13
SET_BLOCKLEN = 16
READ_SINGLE_BLOCK = 17
READ_MULTIPLE_BLOCK = 18
SET_BLOCK_COUNT = 23
WRITE_BLOCK = 24
WRITE_MULTIPLE_BLOCK = 25


def _check_index(index: int) -> None:
    if not 0 <= index < 64:
        raise ProtocolError(f"command index {index} is not 0..63")


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise ProtocolError(f"{what} {value:#x} does not fit in 32 bits")


def _seal(head: bytes) -> bytes:
    """Append CRC7 and the end bit to the first 40 bits of a token."""
    return head + bytes([(crc7(head) << 1) | 1])


@_token_cache
def encode_command(index: int, argument: int) -> bytes:
    """The 6 bytes of a host command token."""
    _check_index(index)
    _check_u32(argument, "argument")
    return _seal(bytes([0x40 | index]) + argument.to_bytes(4, "big"))


def _check_short(token: bytes, transmission: int) -> None:
    if len(token) != 6:
        raise ProtocolError(f"a 48-bit token has 6 bytes, got {len(token)}")
    if token[0] & 0x80:
        raise ProtocolError("start bit is not 0")
    if (token[0] >> 6) & 1 != transmission:
        raise ProtocolError(f"transmission bit is not {transmission}")
    if not token[5] & 1:
        raise ProtocolError("end bit is not 1")


def decode_command(token: bytes) -> tuple[int, int]:
    """(index, argument) of a command token; ProtocolError if malformed."""
    return _decode_command(bytes(token))     # any bytes-like token; the cache needs it hashable


@_token_cache
def _decode_command(token: bytes) -> tuple[int, int]:
    _check_short(token, 1)
    if token[5] >> 1 != crc7(token[:5]):
        raise ProtocolError(f"CRC7 {token[5] >> 1:#04x} != {crc7(token[:5]):#04x}")
    return token[0] & 0x3F, int.from_bytes(token[1:5], "big")


@_token_cache
def encode_r1(index: int, status: int) -> bytes:
    """R1/R1b response: echoed command index and the card status."""
    _check_index(index)
    _check_u32(status, "status")
    return _seal(bytes([index]) + status.to_bytes(4, "big"))


def decode_r1(response: bytes) -> tuple[int, int]:
    """(index, status) of an R1/R1b response; ProtocolError if malformed."""
    _check_short(response, 0)
    if response[5] >> 1 != crc7(response[:5]):
        raise ProtocolError("R1 CRC7 mismatch")
    return response[0] & 0x3F, int.from_bytes(response[1:5], "big")


def encode_r3(ocr: int) -> bytes:
    """R3 response: OCR, with index and CRC field all ones (no CRC)."""
    _check_u32(ocr, "OCR")
    return bytes([0x3F]) + ocr.to_bytes(4, "big") + b"\xff"


def decode_r3(response: bytes) -> int:
    """OCR of an R3 response; ProtocolError if the fixed bits are wrong."""
    _check_short(response, 0)
    if response[0] & 0x3F != 0x3F or response[5] != 0xFF:
        raise ProtocolError("R3 index and CRC field must read as all ones")
    return int.from_bytes(response[1:5], "big")


def register_with_crc(register: bytes) -> bytes:
    """A 16-byte CID/CSD with its CRC7 (bits 7..1) and bit 0 = 1 filled in."""
    if len(register) != 16:
        raise ProtocolError(f"CID/CSD has 16 bytes, got {len(register)}")
    return _seal(bytes(register[:15]))


def encode_r2(register: bytes) -> bytes:
    """R2 response (17 bytes): start, transmission, 111111, register bits 127..1, end."""
    return b"\x3f" + register_with_crc(register)


def decode_r2(response: bytes) -> bytes:
    """The 16-byte CID/CSD carried by an R2; ProtocolError if malformed."""
    if len(response) != 17:
        raise ProtocolError(f"an R2 has 17 bytes, got {len(response)}")
    if response[0] != 0x3F:
        raise ProtocolError("R2 must start with 0, 0, 111111")
    register = bytes(response[1:])
    if register[15] >> 1 != crc7(register[:15]) or not register[15] & 1:
        raise ProtocolError("R2 register CRC7 or end bit wrong")
    return register
