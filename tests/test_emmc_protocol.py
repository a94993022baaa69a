"""Command/response token encodings, CRC known answers and status bits."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

import emmc_card
from emmc_card.protocol import (
    CURRENT_STATE_MASK,
    RESPONSE_TYPE,
    CardState,
    CardStatus,
    ProtocolError,
    ResponseType,
    decode_command,
    decode_r1,
    decode_r2,
    decode_r3,
    encode_command,
    encode_r1,
    encode_r2,
    encode_r3,
    status_state,
    status_word,
)


# Known answers (docs/facts.md: SD Physical Layer spec, CRC7/CRC16), through the package's public re-exports.
@pytest.mark.parametrize("head, crc", [
    (bytes.fromhex("4000000000"), 0x4A),   # CMD0, arg 0
    (bytes.fromhex("5100000000"), 0x2A),   # CMD17, arg 0
    (bytes.fromhex("1100000900"), 0x33),   # R1 to CMD17, status 0x900
    (bytes.fromhex("48000001AA"), 0x43),   # CMD8, arg 0x1AA
])
def test_crc7_known_answers(head, crc):
    assert emmc_card.crc7(head) == crc


def test_crc16_known_answer():
    assert emmc_card.crc16(b"\xff" * 512) == 0x7FA1


def test_command_tokens_match_known_last_bytes():
    assert encode_command(0, 0) == bytes.fromhex("400000000095")
    assert encode_command(17, 0) == bytes.fromhex("510000000055")
    assert encode_command(8, 0x1AA) == bytes.fromhex("48000001AA87")


def test_r1_known_answer():
    # R1 to CMD17 with status 0x900 (tran, READY_FOR_DATA): last byte 0x33 << 1 | 1.
    assert encode_r1(17, 0x900) == bytes.fromhex("110000090067")
    assert decode_r1(bytes.fromhex("110000090067")) == (17, 0x900)


@given(st.integers(0, 63), st.integers(0, 0xFFFFFFFF))
def test_command_round_trip(index, arg):
    token = encode_command(index, arg)
    assert len(token) == 6 and token[0] >> 6 == 0b01 and token[5] & 1
    assert decode_command(token) == (index, arg)


@given(st.integers(0, 63), st.integers(0, 0xFFFFFFFF), st.integers(0, 47))
def test_any_single_bit_error_is_detected(index, arg, bit):
    token = bytearray(encode_command(index, arg))
    token[bit // 8] ^= 0x80 >> (bit % 8)
    with pytest.raises(ProtocolError):
        decode_command(bytes(token))


@given(st.integers(0, 63), st.integers(0, 0xFFFFFFFF))
def test_r1_round_trip(index, status):
    response = encode_r1(index, status)
    assert response[0] >> 6 == 0b00
    assert decode_r1(response) == (index, status)


@given(st.integers(0, 0xFFFFFFFF))
def test_r3_round_trip_and_fixed_ones(ocr):
    response = encode_r3(ocr)
    # start 0, transmission 0, index 111111; CRC field and end bit all ones.
    assert response[0] == 0x3F and response[5] == 0xFF
    assert decode_r3(response) == ocr


def test_r3_with_a_crc_instead_of_ones_is_rejected():
    with pytest.raises(ProtocolError):
        decode_r3(bytes.fromhex("3fc0ff8080") + b"\x01")


@given(st.binary(min_size=16, max_size=16))
def test_r2_round_trip(register):
    response = encode_r2(register)
    assert len(response) == 17 and response[0] == 0x3F
    body = decode_r2(response)
    assert body[:15] == register[:15]
    assert body[15] == (emmc_card.crc7(register[:15]) << 1) | 1


def test_malformed_tokens_raise_protocol_error_not_other_exceptions():
    good = encode_command(13, 0x20000)
    for bad in (good[:5], b"", good[:5] + bytes([good[5] & 0xFE]),   # short, empty, end bit 0
                bytes([good[0] | 0x80]) + good[1:],                  # start bit 1
                bytes([good[0] & 0xBF]) + good[1:]):                 # transmission bit 0
        with pytest.raises(ProtocolError):
            decode_command(bad)
    with pytest.raises(ProtocolError):
        encode_command(64, 0)
    with pytest.raises(ProtocolError):
        encode_command(1, 1 << 32)


def test_status_bits_have_jedec_positions():
    assert CardStatus.ADDRESS_OUT_OF_RANGE == 1 << 31
    assert CardStatus.ADDRESS_MISALIGN == 1 << 30
    assert CardStatus.BLOCK_LEN_ERROR == 1 << 29
    assert CardStatus.COM_CRC_ERROR == 1 << 23
    assert CardStatus.ILLEGAL_COMMAND == 1 << 22
    assert CardStatus.ERROR == 1 << 19
    assert CardStatus.READY_FOR_DATA == 1 << 8
    assert CardStatus.SWITCH_ERROR == 1 << 7
    assert CardStatus.APP_CMD == 1 << 5
    assert CURRENT_STATE_MASK == 0x1E00


def test_status_word_inserts_current_state():
    word = status_word(CardStatus.READY_FOR_DATA, CardState.TRAN)
    assert word == 0x900
    assert status_state(word) == CardState.TRAN
    assert status_state(status_word(0, CardState.PRG)) == 7


def test_response_types_per_command():
    assert RESPONSE_TYPE[0] is ResponseType.NONE
    assert RESPONSE_TYPE[1] is ResponseType.R3
    assert RESPONSE_TYPE[2] is ResponseType.R2 and RESPONSE_TYPE[9] is ResponseType.R2
    assert RESPONSE_TYPE[6] is ResponseType.R1B and RESPONSE_TYPE[12] is ResponseType.R1B
    for index in (3, 7, 8, 13, 16, 17, 18, 23, 24, 25):
        assert RESPONSE_TYPE[index] is ResponseType.R1
