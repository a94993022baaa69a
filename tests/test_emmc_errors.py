"""Bad host input gets the behaviour JESD84-B51 defines, never a Python exception."""
import pytest
from emmc_helpers import CLK_PS, RCA, CardHost, cmd

from emmc_card import CardConfig, EmmcCard, card_preset
from emmc_card.bus import CRC_STATUS_ACCEPTED, CRC_STATUS_CRC_ERROR
from emmc_card.crc import crc16_lines
from emmc_card.protocol import CardState, decode_r1, status_state

COM_CRC_ERROR = 1 << 23
ILLEGAL_COMMAND = 1 << 22
ADDRESS_OUT_OF_RANGE = 1 << 31
ADDRESS_MISALIGN = 1 << 30
BLOCK_LEN_ERROR = 1 << 29
SWITCH_ERROR = 1 << 7
LAST_SECTOR = 8 * 1024 ** 3 // 512 - 1


@pytest.fixture
def host():
    h = CardHost(EmmcCard(CardConfig()))     # 8 GiB, sector mode
    h.init(width=4)
    return h


def test_bad_crc7_gets_no_response_and_com_crc_error_next(host):
    token = bytearray(cmd(13, RCA << 16))
    token[5] ^= 0x02                                    # flip a CRC bit
    assert host.command(13, token=bytes(token)).response is None
    assert host.status() == 0x0900 | COM_CRC_ERROR      # reported with the next command
    assert host.status() == 0x0900                      # then cleared


def test_bad_end_bit_and_short_token(host):
    token = bytearray(cmd(24, 0))
    token[5] &= 0xFE
    assert host.command(24, token=bytes(token)).response is None
    assert host.command(24, token=cmd(24, 0)[:5]).response is None
    assert host.card.state(host.t) == CardState.TRAN    # not executed
    assert host.status() & COM_CRC_ERROR


@pytest.mark.parametrize("index", [5, 35, 55, 63])
def test_unsupported_command_is_illegal(host, index):
    assert host.command(index, RCA << 16).response is None
    status = host.status()
    assert status & ILLEGAL_COMMAND and status_state(status) == CardState.TRAN


def test_commands_illegal_in_the_current_state():
    host = CardHost(EmmcCard(CardConfig()))
    host.init()
    host.command(7, 0)                                  # deselect: stby
    assert host.command(24, 0).response is None         # write in stby
    assert host.command(2).response is None             # CMD2 only in ready
    status = host.status()
    assert status == (3 << 9) | 0x100 | ILLEGAL_COMMAND
    assert host.card.write_block(bytes(512), crc16_lines(bytes(512), 1), host.t, CLK_PS).token is None
    assert host.card.read_block(host.t, CLK_PS) is None
    assert host.card.storage.read(0, 0, 512) == bytes(512)


def test_cmd13_before_identification_is_illegal():
    host = CardHost(EmmcCard(CardConfig()))
    host.command(0)
    assert host.command(13, RCA << 16).response is None
    assert host.card.state(host.t) == CardState.IDLE


def test_data_crc_error_in_cmd25(host):
    card = host.card
    good, bad, later = bytes([1]) * 512, bytes([2]) * 512, bytes([3]) * 512
    host.r1(25, 100)
    assert host.write_block(good).token == CRC_STATUS_ACCEPTED
    wrong = tuple(c ^ 1 for c in crc16_lines(bad, 4))
    assert host.write_block(bad, wrong).token == CRC_STATUS_CRC_ERROR
    assert host.write_block(later).token is None        # further blocks not accepted
    assert card.state(host.t) == CardState.RCV
    host.r1(12)
    assert host.state() == CardState.TRAN
    assert card.storage.read(0, 100 * 512, 1536) == good + bytes(1024)


def test_crc_for_another_bus_width_is_a_crc_error(host):
    data = bytes(range(256)) * 2
    host.r1(24, 7)
    assert host.write_block(data, crc16_lines(data, 1)).token == CRC_STATUS_CRC_ERROR  # card is 4-bit
    assert host.write_block(data).token is None
    host.r1(12)
    assert host.card.read(0, 7 * 512, 512) == bytes(512)


def test_wrong_block_length_data_is_a_crc_error(host):
    host.r1(24, 7)
    assert host.card.write_block(bytes(100), (0, 0, 0, 0), host.t, CLK_PS).token == CRC_STATUS_CRC_ERROR


def test_read_out_of_range(host):
    status = host.r1(17, LAST_SECTOR + 1)
    assert status & ADDRESS_OUT_OF_RANGE and status_state(status) == CardState.TRAN
    assert host.card.state(host.t) == CardState.TRAN     # not executed
    assert host.read_block() is None
    assert host.status() == 0x0900                       # cleared once reported
    # Open-ended read from the last sector: one block, then the card stops.
    host.r1(18, LAST_SECTOR)
    assert host.read_block() is not None
    assert host.read_block() is None
    assert host.r1(12) & ADDRESS_OUT_OF_RANGE
    assert host.state() == CardState.TRAN


def test_write_out_of_range(host):
    assert host.r1(24, LAST_SECTOR + 1) & ADDRESS_OUT_OF_RANGE
    assert host.card.state(host.t) == CardState.TRAN
    host.r1(25, LAST_SECTOR)
    assert host.write_block(bytes([9]) * 512).token == CRC_STATUS_ACCEPTED
    assert host.write_block(bytes([9]) * 512).token is None   # past the end
    assert host.r1(12) & ADDRESS_OUT_OF_RANGE
    assert host.card.read(0, LAST_SECTOR * 512, 512) == bytes([9]) * 512


def test_byte_mode_misalign_and_block_len():
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    assert host.r1(17, 100) & ADDRESS_MISALIGN            # not a multiple of 512
    assert host.r1(24, 2 * 1024 ** 3) & ADDRESS_OUT_OF_RANGE   # byte address = capacity
    assert host.r1(16, 1024) & BLOCK_LEN_ERROR            # above 512
    assert host.r1(16, 0) & BLOCK_LEN_ERROR
    assert host.r1(16, 256) & BLOCK_LEN_ERROR == 0
    assert host.r1(24, 0) & BLOCK_LEN_ERROR               # writes need 512 (WRITE_BL_PARTIAL 0)
    assert host.r1(17, 256) & ADDRESS_MISALIGN == 0       # 256-byte read at 256
    assert len(host.read_block().data) == 256


def test_sector_mode_block_len_is_512(host):
    assert host.r1(16, 256) & BLOCK_LEN_ERROR
    assert host.r1(16, 1024) & BLOCK_LEN_ERROR
    assert host.r1(16, 512) & BLOCK_LEN_ERROR == 0


@pytest.mark.parametrize("arg", [
    (3 << 24) | (183 << 16) | (3 << 8),     # BUS_WIDTH 3 is reserved
    (3 << 24) | (183 << 16) | (7 << 8),     # BUS_WIDTH 7
    (3 << 24) | (185 << 16) | (9 << 8),     # HS_TIMING timing interface 9
    (3 << 24) | (192 << 16) | (5 << 8),     # EXT_CSD_REV is read-only
    (3 << 24) | (179 << 16) | (3 << 8),     # RPMB access: not modelled
    (3 << 24) | (33 << 16) | (2 << 8),      # CACHE_CTRL bit 1 reserved
    (0 << 24) | (0 << 16) | (1 << 8) | 1,   # command set 1
])
def test_switch_error(host, arg):
    before = host.card.ext_csd
    out = host.command(6, arg)
    _, status = decode_r1(out.response)
    assert status & SWITCH_ERROR == 0                   # type X: not in the CMD6 response
    host.wait_not_busy(out)
    assert host.status() & SWITCH_ERROR
    assert host.status() & SWITCH_ERROR == 0
    assert host.card.ext_csd == before
    assert host.card.bus_width == 4


def test_cache_ctrl_on_a_card_without_cache_is_a_switch_error():
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    host.switch(33, 1)
    assert host.status() & SWITCH_ERROR
    assert host.card.ext_csd[33] == 0


def test_set_and_clear_bits_access_modes(host):
    host.switch(179, 0x41, access=1)                    # set bits: BOOT_ACK | boot 1
    assert host.card.ext_csd[179] == 0x41 and host.card.partition == 1
    host.switch(179, 0x01, access=2)                    # clear bits
    assert host.card.ext_csd[179] == 0x40 and host.card.partition == 0
    assert host.status() & SWITCH_ERROR == 0


def test_powered_off_card_is_silent(host):
    host.card.power_cut(host.t)
    assert host.command(13, RCA << 16).response is None
    assert host.card.read_block(host.t, CLK_PS) is None
    assert host.card.write_block(bytes(512), (0,) * 4, host.t, CLK_PS).token is None
    assert not host.card.busy(host.t)

