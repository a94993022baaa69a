"""The driver against the RTL controller (sdhci_top) with the eMMC BFM: card
initialisation and a single-block write (CMD24), over AXI4-Lite.

The card's timing is pinned (fixed NCR, NAC, program times) and its
initialisation busy is shorter than the driver's first CMD1, so every run
is the same and the command sequence is the one Linux sends.
"""
from __future__ import annotations

import random
from dataclasses import replace

import cocotb

from emmc_card import EmmcCard, card_preset
from emmc_card.config import TimeDistribution
from sdhci.cocotb.env import KitEnv, start_kit
from sdhci.driver.mmc_core import MMC_CMD_ADTC, MMC_DATA_WRITE, MMC_RSP_R1, MMC_WRITE_BLOCK, MmcCommand, MmcData, \
    MmcRequest, mmc_set_data_timeout
from sdhci.driver.mmc_init import InitSettings, mmc_init
from sdhci.driver.platform import PlatformConfig
from sdhci.driver.sdhci_host import SdhciHost

# Linux's eMMC bring-up on a v3.00 host with 8-bit and high speed and a card
# with a cache (drivers/mmc/core/mmc.c): CMD0, CMD1 (query), CMD0, CMD1
# (ready at once: init busy is over), CMD2, CMD3, CMD9, CMD7, CMD8 (EXT_CSD),
# CMD6 HS_TIMING + CMD13, CMD6 BUS_WIDTH + CMD13, CMD8 (bus test re-read),
# CMD6 CACHE_CTRL + CMD13.
INIT_COMMANDS = [0, 1, 0, 1, 2, 3, 9, 7, 8, 6, 13, 6, 13, 8, 6, 13]


def pinned_card(**timing: object) -> EmmcCard:
    config = card_preset("emmc51")
    return EmmcCard(replace(config, timing=replace(
        config.timing, ncr_cycles_min=2, ncr_cycles_max=2, nac_cycles_min=2, nac_cycles_max=2,
        program=TimeDistribution(kind="fixed", value_us=50.0),
        cached_write=TimeDistribution(kind="fixed", value_us=5.0),
        gc_stall_probability=0.0, init_busy_us=100.0, cmd6_busy_us=50.0, **timing)))


def kit_platform() -> PlatformConfig:
    """The driver's host-side choices on the bench: a 1 us poll loop, PIO."""
    return PlatformConfig(name="cocotb-axil")


async def init_card(env: KitEnv, bus_width: int = 8) -> SdhciHost:
    host = SdhciHost(kit_platform(), transfer="pio")
    card = await env.runner.run(mmc_init(host, InitSettings(bus_width=bus_width, sd_clock_hz=52_000_000)))
    assert host.log.errors == [], host.log.errors
    assert host.mmc.card is card
    return host


@cocotb.test()
async def card_initialisation(dut) -> None:
    env = await start_kit(dut, pinned_card())
    host = await init_card(env)
    now = env.bfm.records[-1].end_ps
    assert env.card.state(now) == 4                     # tran
    assert env.card.bus_width == 8 and host.bus_width == 8
    assert [r.cmd for r in env.bfm.records if r.kind == "command"] == INIT_COMMANDS
    # 50 MHz base clock, 52 MHz asked: divider N = 0 gives the base clock.
    assert env.bfm.period_ps == 20_000
    env.bfm.assert_clean()


@cocotb.test()
async def single_block_write(dut) -> None:
    env = await start_kit(dut, pinned_card())
    host = await init_card(env)
    data = random.Random(24).randbytes(512)
    mmc_card = host.mmc.card
    payload = MmcData(blksz=512, blocks=1, flags=MMC_DATA_WRITE, buf=bytearray(data), sg_len=1)
    mmc_set_data_timeout(payload, mmc_card)
    cmd = MmcCommand(opcode=MMC_WRITE_BLOCK, arg=1000, flags=MMC_RSP_R1 | MMC_CMD_ADTC, data=payload)
    err = await env.runner.run(host.mmc_wait_for_req(MmcRequest(cmd=cmd, data=payload)))
    assert err == 0
    writes = [r for r in env.bfm.records if r.kind in ("command", "data", "crc_status")][-3:]
    assert [(r.kind, r.cmd) for r in writes] == [("command", 24), ("data", 24), ("crc_status", 24)]
    assert writes[0].detail["argument"] == 1000 and writes[2].detail["status"] == 0b010
    # 8-bit bus: start bit + 512 data clocks + 16 CRC clocks + end bit = 530 cells of 20 ns
    assert writes[1].end_ps - writes[1].start_ps == 530 * 20_000
    assert env.card.read(0, 1000 * 512, 512) == data
    env.bfm.assert_clean()
