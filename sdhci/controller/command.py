"""Command engine pieces: the command token, response checks, Response register layout.

Pure functions over the Command register flags and the card's response
token; the controller sequences them in time.
"""
from __future__ import annotations

from dataclasses import dataclass

from emmc_card import bus
from emmc_card.crc import crc7
from emmc_card.protocol import encode_command
from sdhci import regmap as rm

CMD12_STOP_TRANSMISSION = 12
CMD23_SET_BLOCK_COUNT = 23
COMMAND_TYPE_ABORT = 3


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the Command (and Argument) registers describe it."""

    index: int
    argument: int
    flags: int               # Command register bits 7:0
    auto: bool = False       # issued by the controller (Auto CMD12/CMD23)

    @property
    def response_type(self) -> int:
        return self.flags & rm.SDHCI_CMD_RESP_MASK

    @property
    def has_response(self) -> bool:
        return self.response_type != rm.SDHCI_CMD_RESP_NONE

    @property
    def long_response(self) -> bool:
        return self.response_type == rm.SDHCI_CMD_RESP_LONG

    @property
    def busy(self) -> bool:
        return self.response_type == rm.SDHCI_CMD_RESP_SHORT_BUSY

    @property
    def data(self) -> bool:
        return bool(self.flags & rm.SDHCI_CMD_DATA)

    @property
    def abort(self) -> bool:
        return (self.flags >> 6) & 3 == COMMAND_TYPE_ABORT

    @property
    def uses_dat(self) -> bool:
        """Needs the DAT line (Command Inhibit (DAT) applies): data or busy."""
        return self.data or self.busy

    def token(self) -> bytes:
        """The 48-bit command token: start 0, transmission 1, index, argument, CRC7, end 1."""
        return encode_command(self.index, self.argument)


def check_response(cmd: Command, response: bytes) -> int:
    """Error Interrupt Status bits (16-bit layout) for a received response token.

    CRC check and index check run only when the Command register enables
    them; the end bit is always checked (Command End Bit Error).
    """
    errors = 0
    if cmd.long_response:
        body, crc_byte = response[1:16], response[16]     # R2: CRC7 over register bits 127..8
    else:
        body, crc_byte = response[:5], response[5]
    if cmd.flags & rm.SDHCI_CMD_CRC and crc7(body) != crc_byte >> 1:
        errors |= rm.SDHCI_INT_CRC >> 16
    if cmd.flags & rm.SDHCI_CMD_INDEX and (response[0] & 0x3F) != cmd.index:
        errors |= rm.SDHCI_INT_INDEX >> 16
    if not crc_byte & 1:
        errors |= rm.SDHCI_INT_END_BIT >> 16
    return errors


def response_words(cmd: Command, response: bytes) -> list[int]:
    """The Response register (0x10..0x1F) as four 32-bit words, REP[31:0] first.

    48-bit responses: REP[31:0] = token bits 39:8. R2: REP[119:0] = token
    bits 127:8 (the CRC7 and end bit dropped).
    """
    if cmd.long_response:
        value = int.from_bytes(response[1:16], "big")
    else:
        value = int.from_bytes(response[1:5], "big")
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in range(4)]


def response_bits(cmd: Command) -> int:
    return bus.response_bits(cmd.long_response)


def as_received(cmd: Command, response: bytes) -> bytes:
    """The bits the host samples for the response length it expects.

    A card answering shorter than expected leaves CMD high (ones) for the
    rest; a longer answer is cut at the expected end bit.
    """
    n = response_bits(cmd) // 8
    return (bytes(response) + b"\xff" * n)[:n]


def corrupt_crc(response: bytes) -> bytes:
    """The response with one CRC7 bit flipped (fault injection)."""
    return response[:-1] + bytes([response[-1] ^ 0x02])
