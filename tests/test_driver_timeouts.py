"""Kernel arithmetic ported in the driver: data timeout, Timeout Control, clock divider, CSD, ADMA2 table."""
from __future__ import annotations

import pytest

from emmc_card import card_preset
from emmc_card.registers import csd as encode_csd
from sdhci import regmap as R
from sdhci.driver.mmc_core import (
    MMC_DATA_READ, MMC_DATA_WRITE, MmcCard, MmcCommand, MmcData, mmc_decode_csd, mmc_set_data_timeout,
)
from sdhci.driver.sdhci_host import sdhci_adma_table, sdhci_calc_clk, sdhci_calc_timeout


def _card(taac_ns: int, nsac: int, r2w: int) -> MmcCard:
    config = card_preset("emmc51")
    config.taac_ns, config.nsac, config.r2w_factor = taac_ns, nsac, r2w
    # The CSD as the card encodes it (16 bytes, CRC7 in bits 7..1), as a 128-bit integer.
    return MmcCard(rca=1, ocr=0, cid=0, csd=mmc_decode_csd(int.from_bytes(encode_csd(config), "big")))


def test_csd_decode_of_the_cards_own_encoding() -> None:
    csd = _card(1_500_000, 1, 5).csd
    assert csd.taac_ns == 1_500_000          # TAAC unit 1 ms, value 1.5
    assert csd.taac_clks == 100              # NSAC 1 x 100 clocks
    assert csd.r2w_factor == 5
    assert csd.mmca_vsn == 4                 # SPEC_VERS 4: EXT_CSD present


@pytest.mark.parametrize("taac_ns, nsac, r2w, flags, want_ns, want_clks", [
    # FACTS.md example: 1 ms x 10 x 2^4 = 160 ms for a write.
    (1_000_000, 0, 4, MMC_DATA_WRITE, 160_000_000, 0),
    # Reads are not scaled by R2W_FACTOR: 1 ms x 10.
    (1_000_000, 0, 4, MMC_DATA_READ, 10_000_000, 0),
    # 1.5 ms x 10 x 2^5 = 480 ms; NSAC 1 -> 100 clocks x 10 x 32 = 32000 clocks.
    (1_500_000, 1, 5, MMC_DATA_WRITE, 480_000_000, 32_000),
])
def test_mmc_set_data_timeout(taac_ns: int, nsac: int, r2w: int, flags: int, want_ns: int, want_clks: int) -> None:
    data = MmcData(flags=flags)
    mmc_set_data_timeout(data, _card(taac_ns, nsac, r2w))
    assert (data.timeout_ns, data.timeout_clks) == (want_ns, want_clks)


def _data_cmd(timeout_ns: int, timeout_clks: int = 0) -> MmcCommand:
    return MmcCommand(opcode=25, data=MmcData(timeout_ns=timeout_ns, timeout_clks=timeout_clks))


def test_calc_timeout_facts_example() -> None:
    # TMCLK 52 MHz: 2^13 / 52000 kHz = 157 us (integer us); 157 << 10 = 160768 >= 160000 -> 0xA.
    assert sdhci_calc_timeout(52_000, 52_000_000, _data_cmd(160_000_000)) == (0xA, False)


def test_calc_timeout_with_clocks() -> None:
    # 480 ms + 32000 clocks at 50 MHz (640 us) = 480640 us; TMCLK 50 MHz: 163 us;
    # 163 << 11 = 333824 < 480640 <= 163 << 12 = 667648 -> 12.
    assert sdhci_calc_timeout(50_000, 50_000_000, _data_cmd(480_000_000, 32_000)) == (12, False)


def test_calc_timeout_unspecified_and_too_big() -> None:
    assert sdhci_calc_timeout(50_000, 50_000_000, None) == (0xE, True)
    assert sdhci_calc_timeout(50_000, 50_000_000, MmcCommand(opcode=12)) == (0xE, True)
    # 100 s: 163 << 14 = 2.67 s is still short, count reaches 0xF -> clamped to 0xE, too big.
    assert sdhci_calc_timeout(50_000, 50_000_000, _data_cmd(100_000_000_000)) == (0xE, True)
    # R1b without data: busy_timeout 100 ms = 100000 us; 163 << 10 = 166912 -> 10.
    assert sdhci_calc_timeout(50_000, 50_000_000, MmcCommand(opcode=6, busy_timeout=100)) == (10, False)


@pytest.mark.parametrize("version, max_clk, clock, want_clk, want_hz", [
    # v3: even divisors; 200/4 = 50 MHz <= 52 MHz: div 4, N = 2 in bits 15:8.
    (R.SDHCI_SPEC_300, 200_000_000, 52_000_000, 0x0200, 50_000_000),
    # v3: 200 MHz / 500 = 400 kHz: N = 250 = 0xFA.
    (R.SDHCI_SPEC_300, 200_000_000, 400_000, 0xFA00, 400_000),
    # v3: 200 MHz / 2000 = 100 kHz: N = 1000 = 0x3E8 -> low 0xE8 in 15:8, high 0b11 in 7:6.
    (R.SDHCI_SPEC_300, 200_000_000, 100_000, 0xE8C0, 100_000),
    # v3: base not above the request: divisor 1, N = 0.
    (R.SDHCI_SPEC_300, 50_000_000, 52_000_000, 0x0000, 50_000_000),
    # v2: powers of two; 48 MHz / 128 = 375 kHz <= 400 kHz: N = 64.
    (R.SDHCI_SPEC_200, 48_000_000, 400_000, 0x4000, 375_000),
])
def test_sdhci_calc_clk(version: int, max_clk: int, clock: int, want_clk: int, want_hz: int) -> None:
    assert sdhci_calc_clk(version, max_clk, clock) == (want_clk, want_hz)


def test_adma2_table_for_one_64k_record() -> None:
    table = sdhci_adma_table(0x8010_0000, 65536)
    # TRAN|VALID (0x21), length field 0 = 65536 bytes, address; then NOP|END|VALID.
    assert table == bytes.fromhex("2100" "0000" "00001080") + bytes.fromhex("0300" "0000" "00000000")


def test_adma2_table_splits_above_64k() -> None:
    table = sdhci_adma_table(0x1000, 65536 + 512)
    assert len(table) == 3 * 8
    assert table[8:16] == bytes.fromhex("2100" "0002" "00100100")   # 512 bytes at 0x11000
