"""Kernel arithmetic ported in the driver: data timeout, Timeout Control, clock divider, CSD, ADMA2 table."""
from __future__ import annotations

import pytest

from emmc_card import card_preset
from emmc_card.registers import csd as encode_csd
from sdhci import regmap as R
from sdhci.driver.mmc_core import (
    MMC_DATA_READ, MMC_DATA_WRITE, MmcCard, MmcCommand, MmcData, mmc_decode_csd, mmc_decode_ext_csd,
    mmc_set_data_timeout,
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


@pytest.mark.parametrize("tran_speed, max_dtr", [
    (0x32, 25_000_000),     # value 6, unit 10 Mbit/s: JEDEC's 2.6 is 2.5 in Linux's tran_mant[]
    (0x5A, 50_000_000),     # value 11: JEDEC's 5.2 is 5.0 in Linux
    (0x2A, 20_000_000),     # value 5 (2.0): the tables agree
    (0x09, 1_000_000),      # value 1 (1.0), unit 1 Mbit/s
])
def test_csd_max_dtr_as_linux_decodes_tran_speed(tran_speed: int, max_dtr: int) -> None:
    config = card_preset("emmc51")
    config.tran_speed = tran_speed
    assert mmc_decode_csd(int.from_bytes(encode_csd(config), "big")).max_dtr == max_dtr


@pytest.mark.parametrize("taac_ns, nsac, r2w, flags, want_ns, want_clks", [
    # mmc_set_data_timeout() (drivers/mmc/core/core.c): 1 ms x 10 x 2^4 = 160 ms for a write.
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


def _kernel_v3_divisor(max_clk: int, clock: int) -> int:
    """sdhci_calc_clk()'s v3 divisor search as drivers/mmc/host/sdhci.c writes it, step by step."""
    if max_clk <= clock:
        return 1
    div = 2
    while div < R.SDHCI_MAX_DIV_SPEC_300:
        if max_clk // div <= clock:
            break
        div += 2
    return div


@pytest.mark.parametrize("max_clk", [200_000_000, 100_000_000, 52_000_000, 48_000_000, 10_000_000])
def test_sdhci_calc_clk_v3_divisor_is_the_kernels_search(max_clk: int) -> None:
    clocks = [0, 1, 2, 1000, 48_000, 97_656, 97_657, 100_000, 399_999, 400_000, 25_000_000, 26_000_000,
              50_000_000, 52_000_000, 199_999_999, 200_000_000]
    clocks += [max_clk // d + k for d in range(1, 2100, 7) for k in (-1, 0, 1)]
    for clock in clocks:
        div = _kernel_v3_divisor(max_clk, clock)
        n = div >> 1
        want = (((n & R.SDHCI_DIV_MASK) << R.SDHCI_DIVIDER_SHIFT)
                | ((n & R.SDHCI_DIV_HI_MASK) >> R.SDHCI_DIV_MASK_LEN) << R.SDHCI_DIVIDER_HI_SHIFT)
        assert sdhci_calc_clk(R.SDHCI_SPEC_300, max_clk, clock) == (want, max_clk // div), clock


def test_adma2_table_for_one_64k_record() -> None:
    table = sdhci_adma_table(0x8010_0000, 65536)
    # TRAN|VALID (0x21), length field 0 = 65536 bytes, address; then NOP|END|VALID.
    assert table == bytes.fromhex("2100" "0000" "00001080") + bytes.fromhex("0300" "0000" "00000000")


def test_adma2_table_splits_above_64k() -> None:
    # sdhci_adma_table_pre(): while len > max_adma (65536) write 32 KiB descriptors, then the rest:
    # 66048 -> 32768 at 0x1000, then 33280 (0x8200) at 0x9000, then NOP|END|VALID.
    table = sdhci_adma_table(0x1000, 65536 + 512)
    assert table == (bytes.fromhex("2100" "0080" "00100000") + bytes.fromhex("2100" "0082" "00900000")
                     + bytes.fromhex("0300" "0000" "00000000"))


def test_adma2_table_for_128k_keeps_a_64k_tail() -> None:
    # 131072: 32 KiB (98304 left), 32 KiB (65536 left, no longer > max_adma), then one 64 KiB descriptor
    # whose length field is 0.
    table = sdhci_adma_table(0x8010_0000, 131072)
    descs = [table[i:i + 8] for i in range(0, len(table), 8)]
    assert [(d[0], int.from_bytes(d[2:4], "little"), int.from_bytes(d[4:8], "little")) for d in descs] == [
        (0x21, 0x8000, 0x8010_0000), (0x21, 0x8000, 0x8010_8000), (0x21, 0, 0x8011_0000), (0x03, 0, 0)]


def test_adma2_64bit_descriptors_are_12_bytes() -> None:
    # struct sdhci_adma2_64_desc without v4 mode: le16 cmd, le16 len, le32 addr_lo, le32 addr_hi.
    table = sdhci_adma_table(0x8010_0000, 4096, desc_sz=12)
    assert table == bytes.fromhex("2100" "0010" "00001080" "00000000") + bytes.fromhex("0300" "0000" + "00" * 8)


def test_write_timeout_wraps_like_an_unsigned_int() -> None:
    # TAAC 80 ms (unit 10 ms x 8.0), R2W_FACTOR 5: 80e6 ns x 10 x 32 = 25.6e9 ns, which does not fit
    # data->timeout_ns (unsigned int): 25_600_000_000 - 5 x 2^32 = 4_125_163_520 ns.
    data = MmcData(flags=MMC_DATA_WRITE)
    mmc_set_data_timeout(data, _card(80_000_000, 0, 5))
    assert data.timeout_ns == 4_125_163_520


def test_ext_csd_before_rev_6_has_default_cmd6_time_and_no_cache() -> None:
    raw = bytearray(512)
    raw[192], raw[248], raw[249] = 5, 7, 1          # EXT_CSD_REV 5, GENERIC_CMD6_TIME 70 ms, CACHE_SIZE 1 KiB
    raw[212:216] = (8 << 21).to_bytes(4, "little")
    ext = mmc_decode_ext_csd(bytes(raw))
    assert (ext.generic_cmd6_time_ms, ext.cache_size_kib, ext.sectors) == (500, 0, 8 << 21)   # DEFAULT_CMD6_TIMEOUT_MS
    raw[192] = 6
    rev6 = mmc_decode_ext_csd(bytes(raw))
    assert (rev6.generic_cmd6_time_ms, rev6.cache_size_kib) == (70, 1)
    raw[192] = 1                                    # SEC_COUNT only from revision 2 on
    assert mmc_decode_ext_csd(bytes(raw)).sectors == 0
