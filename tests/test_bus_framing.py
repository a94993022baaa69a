"""SD bus framing lengths and the per-line split of data (JESD84-B51 packet formats)."""
import pytest

from emmc_card import crc
from emmc_card.bus import data_block_cycles, data_clocks


@pytest.mark.parametrize(
    ("width", "ddr", "cycles"),
    [
        (1, False, 1 + 4096 + 16 + 1),  # 512 bytes x 8 bits on one line
        (4, False, 1 + 1024 + 16 + 1),  # 4096 bits / 4 lines
        (8, False, 1 + 512 + 16 + 1),   # one byte per clock
        (4, True, 1 + 512 + 16 + 1),    # two nibbles per clock
        (8, True, 1 + 256 + 16 + 1),    # two bytes per clock
    ],
)
def test_512_byte_block_cycles(width, ddr, cycles):
    assert data_block_cycles(512, width, ddr) == cycles


def test_block_that_does_not_fill_whole_clocks_is_refused():
    with pytest.raises(ValueError):
        data_clocks(1, 8, ddr=True)


def test_4bit_split_puts_bit7_on_dat3_first():
    # 0xA5 = 1010 0101: clock 0 carries bits 7..4 on DAT3..DAT0 (1,0,1,0),
    # clock 1 carries bits 3..0 (0,1,0,1). Four bytes = eight clocks per line.
    lines = crc.split_lines(b"\xa5" * 4, 4)
    assert lines == [b"\x55", b"\xaa", b"\x55", b"\xaa"]


def test_8bit_split_puts_bit_k_on_datk():
    data = bytes([0x01, 0x80] * 4)  # DAT0 sees 1,0,1,0..., DAT7 sees 0,1,0,1...
    lines = crc.split_lines(data, 8)
    assert lines[0] == b"\xaa" and lines[7] == b"\x55"
    assert all(line == b"\x00" for line in lines[1:7])


def test_one_line_crc_is_plain_crc16():
    assert crc.crc16_lines(b"\xff" * 512, 1) == (0x7FA1,)


def test_ddr_crcs_cover_odd_bytes_on_rising_and_even_bytes_on_falling_edges():
    data = bytes(range(256)) * 2
    rising, falling = data[0::2], data[1::2]
    expected = tuple(crc.crc16(s) for s in crc.split_lines(rising, 8)) + tuple(
        crc.crc16(s) for s in crc.split_lines(falling, 8)
    )
    assert crc.crc16_lines(data, 8, ddr=True) == expected
    assert len(expected) == 16
