"""Card initialisation and identification, step by step, state checked each time."""
from emmc_helpers import CLK_PS, HOST_OCR, RCA, CardHost

from emmc_card import EmmcCard, card_preset
from emmc_card import registers as reg
from emmc_card.crc import crc16_lines
from emmc_card.protocol import CardState, decode_r1, decode_r2, decode_r3, status_state

MS = 1_000_000_000   # ps


def test_full_initialisation_sector_mode():
    card = EmmcCard(card_preset("emmc51"))          # init_busy_us 10 000
    host = CardHost(card)

    assert host.command(0, 0).response is None      # CMD0: no response
    assert card.state(host.t) == CardState.IDLE

    first = host.command(1, HOST_OCR)
    assert first.delay_cycles == 5                  # NID
    assert decode_r3(first.response) == 0x40FF8080  # busy: bit 31 still 0
    first_cmd1 = host.last_command_end
    polls = 0
    while True:
        host.t += MS
        ocr = decode_r3(host.command(1, HOST_OCR).response)
        polls += 1
        if ocr & 0x80000000:
            break
        assert card.state(host.t) == CardState.IDLE
    assert ocr == 0xC0FF8080                        # ready, sector access mode 10
    # Ready 10 ms after the first CMD1: each poll is 1 ms + 48 + 5 + 48 + 8 clocks later.
    assert host.last_command_end - first_cmd1 >= 10 * MS
    assert polls == 10
    assert card.state(host.t) == CardState.READY

    out = host.command(2)
    assert out.delay_cycles == 5 and len(out.response) == 17
    assert decode_r2(out.response) == reg.cid(card.config)
    assert card.state(host.t) == CardState.IDENT

    status = host.r1(3, RCA << 16)
    assert status_state(status) == CardState.IDENT  # state when the command arrived
    assert host.status() == 0x0700                  # stby (3 << 9) | READY_FOR_DATA

    csd = decode_r2(host.command(9, RCA << 16).response)
    assert csd == reg.csd(card.config)
    assert reg.field_value(csd, 73, 62) == 0xFFF
    assert host.command(9, 0x0005 << 16).response is None   # another card's RCA

    assert status_state(host.r1(7, RCA << 16)) == CardState.STBY
    assert host.status() == 0x0900                  # tran | READY_FOR_DATA

    assert status_state(host.r1(8)) == CardState.TRAN
    block = host.read_block()
    assert len(block.data) == 512
    assert block.crcs == crc16_lines(block.data, 1)
    assert int.from_bytes(block.data[212:216], "little") == 16 * 1024 ** 2   # SEC_COUNT, 8 GiB
    assert block.data[192] == 8 and block.data[226] == 32 and block.data[248] == 10
    assert int.from_bytes(block.data[249:253], "little") == 1024
    assert host.read_block() is None                # one block only
    assert host.status() == 0x0900

    out = host.command(6, (3 << 24) | (183 << 16) | (2 << 8))    # BUS_WIDTH = 8 bit
    # R1b: busy from the response end bit for cmd6_busy_us = 500 us.
    response_end = host.last_command_end + (out.delay_cycles + 48) * CLK_PS
    assert out.busy_until_ps == response_end + 500_000_000
    assert card.busy(response_end + 1) and not card.busy(out.busy_until_ps)
    assert host.status() == 0x0E00                  # prg (7 << 9), not READY_FOR_DATA
    host.wait_not_busy(out)
    assert host.status() == 0x0900
    assert card.bus_width == 8 and not card.ddr

    host.width = 8
    assert status_state(host.r1(8)) == CardState.TRAN
    block = host.read_block()
    # BUS_WIDTH [183] is cell type W/E_P, "not readable" (JESD84-B51 EXT_CSD table;
    # Micron eMMC 5.0 datasheet Table 9): it reads as 0 even after the switch.
    assert block.data[183] == 0
    assert block.crcs == crc16_lines(block.data, 8)


def test_byte_mode_card_reports_access_mode_00():
    host = CardHost(EmmcCard(card_preset("emmc-2gb-byte")))   # init_busy_us 20 000
    host.command(0, 0)
    assert decode_r3(host.command(1, HOST_OCR).response) == 0x00FF8080
    host.t += 20 * MS
    assert decode_r3(host.command(1, HOST_OCR).response) == 0x80FF8080


def test_ddr_bus_width_values():
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.init()
    host.switch(185, 1)                      # HS_TIMING high speed
    host.set_bus_width(8, ddr=True)          # BUS_WIDTH 6
    assert (card.bus_width, card.ddr) == (8, True)
    host.set_bus_width(4, ddr=True)          # BUS_WIDTH 5
    assert (card.bus_width, card.ddr) == (4, True)
    assert host.status() & 0x80 == 0         # no SWITCH_ERROR


def test_cmd7_deselect_and_reselect():
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.init()
    assert host.command(7, 0).response is None     # RCA 0 deselects, no response
    assert card.state(host.t) == CardState.STBY
    _, status = decode_r1(host.command(7, RCA << 16).response)
    assert status_state(status) == CardState.STBY
    assert card.state(host.t) == CardState.TRAN


def test_deselect_during_programming_goes_to_dis_then_stby():
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.init()
    out = host.command(6, (3 << 24) | (185 << 16) | (1 << 8))   # HS_TIMING: 500 us busy
    assert card.state(host.t) == CardState.PRG
    assert host.command(7, 0).response is None                  # deselect while busy
    assert card.state(host.t) == CardState.DIS
    reselect = host.command(7, RCA << 16)                       # back: R1b until the busy ends
    _, status = decode_r1(reselect.response)
    assert status_state(status) == CardState.DIS
    assert reselect.busy_until_ps == out.busy_until_ps
    assert card.state(host.t) == CardState.PRG
    assert card.state(out.busy_until_ps) == CardState.TRAN


def test_cmd0_resets_to_idle_and_keeps_acknowledged_data():
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.init(width=4)
    host.switch(33, 1)                                         # cache on
    data = bytes([7]) * 512
    host.write(24, 50, [data], stop=False)
    host.command(0)
    assert card.state(host.t) == CardState.IDLE and card.bus_width == 1 and card.ext_csd[33] == 0
    assert host.command(13, RCA << 16).response is None        # idle: CMD13 illegal
    host.t += 10 ** 12                                         # 1 s: programming long done
    card.state(host.t)
    assert card.storage.read(0, 50 * 512, 512) == data


def test_partition_config_boot_bits_survive_cmd0_and_power_cycle():
    # PARTITION_CONFIG [179] cell type "R/W/E, R/W/E_P" (JESD84-B51 EXT_CSD; Micron
    # eMMC datasheet Table 9): BOOT_ACK (bit 6) and BOOT_PARTITION_ENABLE (5:3) are
    # R/W/E, kept over CMD0 and power cycles; PARTITION_ACCESS (2:0) is R/W/E_P, reset.
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.init()
    host.switch(179, 0x49)                                    # BOOT_ACK, boot 1 enabled, access boot 1
    assert card.ext_csd[179] == 0x49 and card.partition == 1
    host.command(0)
    assert card.ext_csd[179] == 0x48 and card.partition == 0
    card.power_cut(host.t)
    card.power_on(host.t)
    assert card.ext_csd[179] == 0x48 and card.partition == 0


def test_cmd1_voltage_mismatch_puts_the_card_in_inactive_state():
    # JESD84-B51 operating voltage validation: a device that cannot work in the
    # window of the host's CMD1 goes to the inactive state (ina) and ignores every
    # command, CMD0 included (the state table has no CMD0 transition from ina),
    # until a power cycle. An argument without voltage bits is only a query.
    card = EmmcCard(card_preset("emmc51"))
    host = CardHost(card)
    host.command(0)
    assert decode_r3(host.command(1, 0).response) == 0x40FF8080    # query: OCR, busy
    assert host.command(1, 0x0000_0100).response is None            # 2.0-2.1 V only: no overlap
    assert host.command(0).response is None
    assert host.command(1, HOST_OCR).response is None
    card.power_cut(host.t)
    card.power_on(host.t)
    assert decode_r3(host.command(1, HOST_OCR).response) == 0x40FF8080
