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
    # CSD of this 2 GiB card: READ_BL_LEN 11 (2048-byte physical read blocks, since
    # 2^31 = 2048 x 2^9 x 2^11), WRITE_BL_LEN 9, READ/WRITE_BLK_MISALIGN 0. The
    # command tables' footnote for CMD17/18/24/25: the data must not cross a
    # physical block boundary unless *_BLK_MISALIGN is set; ADDRESS_MISALIGN otherwise.
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    assert host.r1(24, 100) & ADDRESS_MISALIGN            # write 100..611 crosses 512
    assert host.r1(17, 1800) & ADDRESS_MISALIGN           # read 1800..2311 crosses 2048
    assert host.r1(17, 100) & ADDRESS_MISALIGN == 0       # read 100..611 inside 0..2047
    assert len(host.read_block().data) == 512
    assert host.r1(24, 2 * 1024 ** 3) & ADDRESS_OUT_OF_RANGE   # byte address = capacity
    # BLOCK_LEN_ERROR: "the argument of SET_BLOCKLEN exceeds the maximum value
    # allowed" (2^READ_BL_LEN = 2048 here).
    assert host.r1(16, 4096) & BLOCK_LEN_ERROR
    assert host.r1(16, 0) & BLOCK_LEN_ERROR
    assert host.r1(16, 2048) & BLOCK_LEN_ERROR == 0
    assert host.r1(17, 2048) & ADDRESS_MISALIGN == 0
    assert len(host.read_block().data) == 2048
    assert host.r1(16, 256) & BLOCK_LEN_ERROR == 0
    assert host.r1(24, 0) & BLOCK_LEN_ERROR               # writes need 512 (WRITE_BL_PARTIAL 0)
    assert host.r1(17, 256) & ADDRESS_MISALIGN == 0       # 256-byte read at 256
    assert len(host.read_block().data) == 256


def test_multiple_block_read_stops_at_the_first_misaligned_block():
    # MMC product manual, block read: with block misalignment not allowed, the card
    # detects it at the first block that crosses a physical block and answers CMD12
    # with ADDRESS_MISALIGN. Blocks of 512 from byte 100: 100, 612, 1124 fit in the
    # 2048-byte physical block; 1636..2147 crosses it.
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))
    host.init()
    assert host.r1(18, 100) & ADDRESS_MISALIGN == 0
    assert [host.read_block() is not None for _ in range(4)] == [True, True, True, False]
    assert host.r1(12) & ADDRESS_MISALIGN
    assert host.state() == CardState.TRAN


def test_misalignment_follows_read_bl_len():
    # 64 MiB = (2047 + 1) x 2^(4 + 2) x 2^9: READ_BL_LEN 9, so a 512-byte read at
    # byte 100 crosses the 512-byte physical block.
    host = CardHost(EmmcCard(CardConfig(user_area_bytes=64 * 1024 ** 2, boot_size_mult=0)))
    host.init()
    assert host.r1(17, 100) & ADDRESS_MISALIGN
    assert host.r1(16, 1024) & BLOCK_LEN_ERROR            # above 2^9


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
    (0 << 24) | 1,                          # command set 1 in bits 2:0, value field 0
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



def test_switch_command_set_comes_from_argument_bits_2_0(host):
    # JESD84-B51 CMD6 argument: [25:24] access, [23:16] index, [15:8] value,
    # [2:0] Cmd Set; access 00 changes the command set per the Cmd Set field.
    # Cmd Set 0 (the standard set, S_CMD_SET bit 0) is accepted whatever the value field.
    host.switch(0, 0x55, access=0)
    assert host.status() & SWITCH_ERROR == 0


def test_clear_condition_b_bits_are_cleared_by_any_valid_command():
    # COM_CRC_ERROR and ILLEGAL_COMMAND have clear condition B (JESD84-B51 device
    # status table; Linux mmc.h "er, b"): reception of a valid command clears them
    # with a delay of one command, whether or not its response carries a status.
    host = CardHost(EmmcCard(CardConfig()))
    host.init()
    host.command(7, 0)                                   # deselect: stby, where CMD9 is legal
    token = bytearray(cmd(13, RCA << 16))
    token[5] ^= 0x02
    assert host.command(13, token=bytes(token)).response is None
    assert host.command(9, RCA << 16).response is not None    # valid, R2: no status
    assert host.status() & COM_CRC_ERROR == 0
    assert host.command(17, 0).response is None          # illegal in stby
    assert host.command(10, RCA << 16).response is not None   # valid, R2
    assert host.status() & ILLEGAL_COMMAND == 0
    # An illegal command in between is not a valid one: the bit waits.
    assert host.command(17, 0).response is None
    assert host.command(24, 0).response is None
    assert host.status() & ILLEGAL_COMMAND


def test_clear_condition_c_bits_wait_for_an_r1():
    # SWITCH_ERROR is "sx, c" (Linux mmc.h): cleared by read, so CMDs without a
    # status (CMD7 deselect, CMD9's R2) leave it for the next CMD13.
    host = CardHost(EmmcCard(CardConfig()))
    host.init()
    host.switch(192, 1)                                  # EXT_CSD_REV is read-only
    host.command(7, 0)
    assert host.command(9, RCA << 16).response is not None
    assert host.status() & SWITCH_ERROR
    assert host.status() & SWITCH_ERROR == 0
