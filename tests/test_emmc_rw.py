"""Writes and reads through the command interface, checked against the image file."""
import os

import pytest
from emmc_helpers import CLK_PS, CardHost, blocks, file_bytes

from emmc_card import CardConfig, EmmcCard, card_preset
from emmc_card.bus import CRC_STATUS_ACCEPTED, data_block_cycles
from emmc_card.crc import crc16_lines
from emmc_card.protocol import CardState, status_state

US = 1_000_000   # ps


@pytest.fixture
def sector_card(tmp_path):
    # Default CardConfig: 8 GiB sector mode, program time fixed 100 us, cache off until enabled.
    card = EmmcCard(CardConfig(), image_path=tmp_path / "card.img")
    host = CardHost(card)
    host.init(width=4)
    yield card, host, tmp_path / "card.img"
    card.close()


def test_image_is_sparse_user_area_sized(sector_card):
    _, _, path = sector_card
    assert os.path.getsize(path) == 8 * 1024 ** 3
    assert os.stat(path).st_blocks * 512 < 1024 ** 2


def test_cmd24_single_block(sector_card):
    card, host, path = sector_card
    [data] = blocks(1, 1)
    status = host.r1(24, 1000)
    assert status_state(status) == CardState.TRAN
    assert card.state(host.t) == CardState.RCV
    host.t += (2 + data_block_cycles(512, 4)) * CLK_PS      # NWR, then 1 + 1024 + 16 + 1 clocks
    out = card.write_block(data, crc16_lines(data, 4), host.t, CLK_PS)
    assert out.token == CRC_STATUS_ACCEPTED and out.token_delay_cycles == 2
    # Busy from the CRC status token end (2 + 5 clocks after the data end bit) for 100 us.
    assert out.busy_until_ps == host.t + 7 * CLK_PS + 100 * US
    host.t += 7 * CLK_PS
    assert host.state() == CardState.PRG                     # CMD13 while programming
    assert file_bytes(path, 1000 * 512, 512) == bytes(512)   # not programmed yet
    host.wait_not_busy(out)
    assert host.status() == 0x0900
    card.storage.flush()
    assert file_bytes(path, 1000 * 512, 512) == data
    assert host.read(17, 1000, 1, stop=False) == data
    assert host.status() == 0x0900


def test_cmd25_with_cmd12(sector_card):
    card, host, path = sector_card
    data = blocks(2, 8)
    outs = host.write(25, 5000, data, stop=False)
    assert all(o.token == CRC_STATUS_ACCEPTED for o in outs)
    assert card.state(host.t) == CardState.RCV              # stays in rcv between blocks
    out = host.command(12)
    assert out.busy_until_ps is not None                    # R1b
    assert card.state(host.t) == CardState.PRG
    host.wait_not_busy(out)
    assert host.state() == CardState.TRAN
    card.storage.flush()
    assert file_bytes(path, 5000 * 512, 8 * 512) == b"".join(data)
    assert host.read(18, 5000, 8, stop=True) == b"".join(data)
    assert host.state() == CardState.TRAN


def test_cmd23_then_cmd25_ends_without_cmd12(sector_card):
    card, host, path = sector_card
    data = blocks(3, 4)
    assert status_state(host.r1(23, 4)) == CardState.TRAN
    host.write(25, 64, data, stop=False)
    assert host.state() == CardState.TRAN                   # count reached: prg, then tran
    assert host.command(12).response is None                # CMD12 now illegal
    card.storage.flush()
    assert file_bytes(path, 64 * 512, 4 * 512) == b"".join(data)
    assert host.r1(23, 4) & (1 << 22)                       # ILLEGAL_COMMAND for that CMD12
    assert host.read(18, 64, 4, stop=False) == b"".join(data)
    assert host.read_block() is None
    assert host.status() == 0x0900                          # reported once, then cleared


def test_byte_mode_addresses_are_bytes(tmp_path):
    path = tmp_path / "byte.img"
    card = EmmcCard(card_preset("emmc-2gb-byte"), image_path=path)
    host = CardHost(card)
    host.init()
    data = blocks(4, 2)
    host.write(25, 7 * 512, data, stop=True)                # byte address 3584
    card.storage.flush()
    assert file_bytes(path, 3584, 1024) == b"".join(data)
    assert host.read(17, 7 * 512 + 512, 1, stop=False) == data[1]
    assert host.r1(16, 64) & (1 << 29) == 0                 # 64-byte blocks allowed
    assert host.read(17, 3584 + 64, 1, stop=False) == data[0][64:128]
    card.close()


def test_boot_partitions_go_to_sidecar_files(sector_card):
    card, host, path = sector_card
    boot0 = str(path) + ".boot0"
    assert not os.path.exists(boot0)
    [data] = blocks(5, 1)
    host.switch(179, 1)                                     # PARTITION_CONFIG access = boot 1
    assert host.status() & 0x80 == 0
    host.write(24, 0, [data], stop=False)
    card.state(host.t)                                      # bring the card up to now
    card.storage.flush()
    assert os.path.getsize(boot0) == 4 * 128 * 1024         # BOOT_SIZE_MULT 4 x 128 KiB
    assert file_bytes(boot0, 0, 512) == data
    assert file_bytes(path, 0, 512) == bytes(512)           # user area untouched
    assert not os.path.exists(str(path) + ".boot1")
    # Out of range in the 512 KiB boot partition: sector 1024 is its end.
    assert host.r1(17, 1024) & (1 << 31)
    host.switch(179, 0)
    assert host.read(17, 0, 1, stop=False) == bytes(512)


def test_close_writes_cache_back(tmp_path):
    path = tmp_path / "c.img"
    card = EmmcCard(CardConfig(), image_path=path)
    host = CardHost(card)
    host.init()
    host.switch(33, 1)                                      # CACHE_CTRL on
    [data] = blocks(6, 1)
    host.write(24, 10, [data], stop=False)
    assert card.storage.read(0, 10 * 512, 512) == bytes(512)   # only in the cache
    assert host.read(17, 10, 1, stop=False) == data             # reads see the cache
    card.close()
    assert file_bytes(path, 10 * 512, 512) == data


def test_memory_store_has_the_same_interface():
    card = EmmcCard(CardConfig(user_area_bytes=64 * 1024 ** 2, boot_size_mult=0))
    host = CardHost(card)
    host.init(width=8)
    data = blocks(7, 3)
    host.write(25, 0x10000, data, stop=True)               # byte mode: 64 MiB card
    assert card.storage.read(0, 0x10000, 1536) == b"".join(data)
    assert card.storage.size(1) == 0
    host.switch(179, 1)                                     # no boot partitions
    assert host.status() & 0x80                             # SWITCH_ERROR


def test_existing_image_of_wrong_size_is_a_config_error(tmp_path):
    from emmc_card.configtools import ConfigError
    path = tmp_path / "small.img"
    path.write_bytes(bytes(4096))
    with pytest.raises(ConfigError, match="image_path"):
        EmmcCard(CardConfig(), image_path=path)


@pytest.mark.parametrize("width", [4, 8])
def test_ddr_write_uses_per_edge_crcs(width):
    card = EmmcCard(CardConfig())
    host = CardHost(card)
    host.init()
    host.switch(185, 1)                                     # HS_TIMING: high speed
    host.set_bus_width(width, ddr=True)
    [data] = blocks(8, 1)
    host.r1(24, 3)
    sdr = crc16_lines(data, width)                          # width values: wrong for DDR
    assert host.write_block(data, sdr).token == 0b101
    host.r1(12)
    outs = host.write(24, 3, [data], stop=False)
    assert outs[0].token == CRC_STATUS_ACCEPTED             # 2 x width CRCs, rising then falling
    assert host.read(17, 3, 1, stop=False) == data
