"""Card initialisation through the controller model, as Linux's mmc core does it."""
from __future__ import annotations

import pytest

from emmc_card import PRESETS as CARD_PRESETS
from sdhci import regmap as R
from sdhci.config import load_config
from sdhci.driver.ops import Delay, Poll, Read, ReadBurst, Write
from sdhci.driver.sdhci_host import sdhci_dma_flags, transfer_name
from sdhci.emulation import EmulationError, PanicSession

TRAN = 4


def _init(*overrides: str) -> PanicSession:
    session = PanicSession(load_config(None, list(overrides)))
    session.initialise()
    return session


def _commands(session: PanicSession) -> list[int]:
    return [e.cmd for e in session.controller.trace if e.kind == "command"]


def test_default_init_reaches_tran_with_8bit_high_speed() -> None:
    s = _init()
    t = s.runner.t_ps
    assert s.card.state(t) == TRAN
    assert s.card.bus_width == 8
    hc1 = s.controller.read(R.SDHCI_HOST_CONTROL, 8, t)
    assert hc1 & R.SDHCI_CTRL_8BITBUS and hc1 & R.SDHCI_CTRL_HISPD
    assert s.host.actual_clock == 50_000_000          # 200 MHz base / 4, the fastest <= 52 MHz
    card = s.mmc_card
    assert card is not None and card.blockaddr and card.hs and card.cache_on
    assert card.ext_csd is not None and card.ext_csd.sectors == 8 * 1024 ** 3 // 512
    assert (card.csd.taac_ns, card.csd.r2w_factor) == (1_000_000, 4)
    # mmc_go_idle; mmc_attach_mmc's mmc_send_op_cond(host, 0): CMD1 until OCR bit 31; mmc_init_card: go idle,
    # CMD1 until ready again, CID, RCA, CSD, select, EXT_CSD, HS_TIMING + status, BUS_WIDTH + status,
    # EXT_CSD compare, CACHE_CTRL + status.
    cmds = _commands(s)
    second_idle = cmds.index(0, 1)
    first_after_cmd1 = cmds.index(2)
    assert cmds[0] == 0 and set(cmds[1:second_idle]) == {1} and set(cmds[second_idle + 1:first_after_cmd1]) == {1}
    assert cmds[first_after_cmd1:] == [2, 3, 9, 7, 8, 6, 13, 6, 13, 8, 6, 13]
    args = _cmd1_args(s)
    # The query starts with argument 0; while the card is busy each retry sends the card's OCR with bit 30:
    # emmc51 OCR 0x40FF8080 (2.7-3.6 V, 1.7-1.95 V, sector mode) | bit 30 = 0x40FF8080.
    n_query = second_idle - 1
    assert n_query >= 2
    assert args[0] == 0 and set(args[1:n_query]) == {0x40FF8080}
    # mmc_init_card: mmc_select_voltage(): OCR & ~0x7F & ocr_avail (bits 21, 20 for 3.3 V, 7 for 1.8 V) =
    # bits 21, 20, 7; fls -> bit 21; & (3 << 21) keeps bit 21 alone -> 0x00200000; | bit 30 = 0x40200000.
    assert set(args[n_query:]) == {0x40200000}


def _cmd1_args(session: PanicSession) -> list[int]:
    return [e.detail["argument"] for e in session.controller.trace if e.kind == "command" and e.cmd == 1]


def test_byte_addressed_card_gets_no_cmd16_and_no_cache() -> None:
    # v5.10 mmc_init_card()/mmc_blk_probe() never send SET_BLOCKLEN (mmc_blk_set_blksize() is long gone);
    # OCR access mode 00 and 2 GiB (not above 2 GiB) leave the card byte addressed.
    s = _init("card_preset='emmc-2gb-byte'")
    card = s.mmc_card
    assert card is not None and not card.blockaddr and not card.cache_on
    assert 16 not in _commands(s)
    assert s.card.state(s.runner.t_ps) == TRAN
    assert card.capacity_sectors == 2 * 1024 ** 3 // 512


def test_v1_host_initialises_pio_4bit() -> None:
    s = _init("controller_preset='v1-pio'", "run.bus_width=8")
    assert s.host.transfer == "pio"
    assert s.card.bus_width == 4                      # no 8-bit capability: mmc falls back to 4 bits
    assert s.host.actual_clock == 48_000_000          # v1 power-of-two divider: 48 MHz / 1
    assert s.card.state(s.runner.t_ps) == TRAN


def test_transfer_mode_choice_follows_capabilities() -> None:
    assert _init().host.transfer == "adma2"
    assert _init("controller.capabilities.adma2=false").host.transfer == "sdma"
    assert _init("run.transfer='pio'").host.transfer == "pio"


def test_dma_choice_from_version_and_capabilities_alone() -> None:
    # Capabilities bits (SD Host Controller spec v3.00, 2.2.26): SDMA 22, ADMA2 19, 64-bit system bus 28.
    sdma, adma2, bus64 = 1 << 22, 1 << 19, 1 << 28
    v1, v3 = 0, 2                                       # Specification Version Number 00h, 02h

    def choice(version: int, caps: int, request: str = "auto", broken_64bit_dma: bool = False) -> str:
        return transfer_name(sdhci_dma_flags(version, caps, request, broken_64bit_dma))

    assert choice(v3, sdma | adma2) == "adma2"
    assert choice(v1, sdma | adma2) == "sdma"           # ADMA2 only from v2.00 on
    assert choice(v3, sdma | adma2, "sdma") == choice(v3, sdma, "auto") == "sdma"
    assert choice(v3, sdma | adma2, "pio") == choice(v3, 0) == "pio"
    assert choice(v3, sdma | bus64) == "pio"            # 64-bit DMA without v4 mode: no SDMA
    assert choice(v3, sdma | bus64, broken_64bit_dma=True) == "sdma"    # a 32-bit DMA mask


def test_ddr52_when_board_card_and_host_allow_it() -> None:
    s = _init("run.ddr=true")
    assert s.card.ddr and s.card.bus_width == 8 and s.host.ddr
    ctrl2 = s.controller.read(R.SDHCI_HOST_CONTROL2, 16, s.runner.t_ps)
    assert ctrl2 & R.SDHCI_CTRL_UHS_MASK == R.SDHCI_CTRL_UHS_DDR50
    # CMD6 BUS_WIDTH 8 (2), EXT_CSD compare, then CMD6 BUS_WIDTH 8-bit DDR (6).
    switches = [e.detail.get("argument") for e in s.controller.trace if e.kind == "command" and e.cmd == 6]
    assert [(a >> 16) & 0xFF for a in switches] == [185, 183, 183, 33]
    assert [(a >> 8) & 0xFF for a in switches] == [1, 2, 6, 1]
    assert not _init("run.ddr=true", "controller.capabilities.ddr50=false").card.ddr


def _ops(session: PanicSession) -> list:
    return [r.op for r in session.runner.log]


def test_setup_resets_before_reading_capabilities_and_reads_max_current() -> None:
    ops = _ops(_init())
    # __sdhci_read_caps(): Software Reset For All (0x01 at 0x2F), wait for it, then Host Version.
    assert ops[0] == Write(R.SDHCI_SOFTWARE_RESET, 8, R.SDHCI_RESET_ALL)
    assert isinstance(ops[1], Poll) and ops[1].offset == R.SDHCI_SOFTWARE_RESET
    assert ops[2] == Read(R.SDHCI_HOST_VERSION, 16)
    # sdhci_setup_host() reads Maximum Current Capabilities once, before sdhci_init's reset.
    assert ops.index(Read(R.SDHCI_MAX_CURRENT, 32)) < ops.index(Write(R.SDHCI_SOFTWARE_RESET, 8, 1), 1)


def test_host_without_voltages_is_refused() -> None:
    with pytest.raises(EmulationError, match="support voltages"):
        _init("controller.capabilities.voltage_3v3=false", "controller.capabilities.voltage_1v8=false")


def test_every_set_ios_restarts_the_sd_clock_on_a_v3_host() -> None:
    s = _init()
    ops = _ops(s)
    # v5.10 sdhci_set_ios() on v3.00 ends with set_clock(host->clock). mmc_set_ios calls during init:
    # power up (clock 0), power on, go idle x2, attach open drain, init_card open drain, go idle x2,
    # push pull, HS timing, bus speed, bus width = 12; all but the first have a clock, and two change it
    # (400 kHz, then 52 MHz) so set_clock runs once more at their start: 11 + 2 = 13 Internal Clock Enables.
    # (Internal Clock Stable is read-only: only sdhci_enable_clk's first write has INT_EN without it.)
    enables = [op for op in ops if isinstance(op, Write) and op.offset == R.SDHCI_CLOCK_CONTROL
               and op.value & (R.SDHCI_CLOCK_INT_EN | R.SDHCI_CLOCK_INT_STABLE | R.SDHCI_CLOCK_CARD_EN)
               == R.SDHCI_CLOCK_INT_EN]
    assert len(enables) == 13
    # mmc_set_initial_signal_voltage(): 1.8V Signaling Enable cleared, then usleep_range(5000, 5500).
    i = ops.index(Delay(5_000_000))
    assert ops[i - 1] == Write(R.SDHCI_HOST_CONTROL2, 16, 0) and ops[i + 1] == Read(R.SDHCI_HOST_CONTROL2, 16)


def _command_writes(session: PanicSession, opcode: int) -> list[tuple[int, int | None]]:
    """(Command register value, Timeout Control written since the previous command) for each CMD<opcode>."""
    out, timeout = [], None
    for op in _ops(session):
        if isinstance(op, Write) and op.offset == R.SDHCI_TIMEOUT_CONTROL:
            timeout = op.value
        elif isinstance(op, Write) and op.offset == R.SDHCI_COMMAND:
            if op.value >> 8 == opcode:
                out.append((op.value, timeout))
            timeout = None
    return out


R1_FLAGS = R.SDHCI_CMD_RESP_SHORT | R.SDHCI_CMD_CRC | R.SDHCI_CMD_INDEX
R1B_FLAGS = R.SDHCI_CMD_RESP_SHORT_BUSY | R.SDHCI_CMD_CRC | R.SDHCI_CMD_INDEX


def test_cmd6_is_r1b_with_timeout_control_from_generic_cmd6_time() -> None:
    # emmc51: GENERIC_CMD6_TIME 10 x 10 ms = 100 ms -> 100000 us; TMCLK 50 MHz: 2^13 / 50000 = 163 us;
    # 163 << 10 = 166912 >= 100000 > 163 << 9 -> 0xA. Cache: max(100, 1600) = 1600 ms -> 163 << 14 =
    # 2670592 >= 1600000 > 163 << 13 -> 0xE. All within max_busy_timeout 2^27 / 50000 = 2684 ms: R1b.
    writes = _command_writes(_init(), 6)
    assert writes == [(R.SDHCI_MAKE_CMD(6, R1B_FLAGS), 0xA)] * 2 + [(R.SDHCI_MAKE_CMD(6, R1B_FLAGS), 0xE)]


def test_ext_csd_rev5_card_uses_the_default_cmd6_timeout() -> None:
    # emmc-2gb-byte: EXT_CSD_REV 5, so generic_cmd6_time = DEFAULT_CMD6_TIMEOUT_MS 500 ms = 500000 us:
    # 163 << 12 = 667648 >= 500000 > 163 << 11 -> 12 (0xC).
    writes = _command_writes(_init("card_preset='emmc-2gb-byte'"), 6)
    assert writes and all(w == (R.SDHCI_MAKE_CMD(6, R1B_FLAGS), 0xC) for w in writes)


def test_cmd6_longer_than_max_busy_timeout_is_r1_with_dat0_polling() -> None:
    # TMCLK 63 MHz: max_busy_timeout = 2^27 / 63000 = 2130 ms; GENERIC_CMD6_TIME 255 x 10 ms = 2550 ms is
    # longer, so __mmc_switch() sends CMD6 as R1 (no busy, no Timeout Control) and mmc_poll_for_busy()
    # reads Present State (DAT0 level) until the card releases DAT0. The card is busy 5 ms per CMD6.
    s = _init("controller.capabilities.timeout_clock=63", "card.generic_cmd6_time_10ms=255",
              "card.timing.cmd6_busy_us=5000")
    writes = _command_writes(s, 6)
    assert len(writes) == 3 and all(w == (R.SDHCI_MAKE_CMD(6, R1_FLAGS), None) for w in writes)
    log = s.runner.log
    cmd6, cmd13 = Write(R.SDHCI_COMMAND, 16, R.SDHCI_MAKE_CMD(6, R1_FLAGS)), \
        Write(R.SDHCI_COMMAND, 16, R.SDHCI_MAKE_CMD(13, R1_FLAGS))
    for i in [j for j, r in enumerate(log) if r.op == cmd6]:
        k = next(j for j in range(i, len(log)) if log[j].op == cmd13)
        between = [r.op for r in log[i:k]]
        assert any(getattr(op, "offset", None) == R.SDHCI_PRESENT_STATE for op in between)  # sdhci_card_busy()
        # The CMD13 only goes out once DAT0 is released: at least the card's 5 ms after the CMD6.
        assert log[k].start_ps - log[i].start_ps >= 5_000_000_000
    assert s.card.state(s.runner.t_ps) == TRAN and s.card.bus_width == 8 and s.mmc_card.cache_on


def test_ddr52_needs_the_cards_1v8_3v_ddr_type() -> None:
    # DEVICE_TYPE 0x0B: HS26, HS52 and DDR52 at 1.2 V only; MMC_CAP_3_3V_DDR does not cover 1.2 V I/O.
    s = _init("run.ddr=true", "card.device_type=11")
    assert not s.card.ddr and not s.host.ddr and s.card.bus_width == 8


def test_pio_read_checks_for_a_tuning_command_on_buffer_read_ready() -> None:
    # v5.10 sdhci_data_irq(): on Buffer Read Ready it reads the Command register (tuning CMD19/CMD21 check)
    # before sdhci_transfer_pio() reads Present State and the 128 words of the EXT_CSD block.
    ops = _ops(_init("run.transfer='pio'"))
    bursts = [i for i, op in enumerate(ops) if isinstance(op, ReadBurst)]
    assert len(bursts) == 2                                        # EXT_CSD, then the bus-width compare
    for i in bursts:
        assert ops[i - 2:i + 1] == [Read(R.SDHCI_COMMAND, 16), Read(R.SDHCI_PRESENT_STATE, 32),
                                    ReadBurst(R.SDHCI_BUFFER, 128)]


@pytest.mark.parametrize("preset", sorted(CARD_PRESETS))
@pytest.mark.parametrize("seed", range(1, 6))
def test_every_card_preset_initialises_for_any_seed(preset: str, seed: int) -> None:
    # A preset is a compliant card: whatever its seeded timing draws, Linux's bring-up reaches tran.
    # (emmc51-slow once drew read access times beyond NAC max at 400 kHz and failed CMD8.)
    s = _init(f"card_preset='{preset}'", f"run.boot_seed={seed}")
    assert s.card.state(s.runner.t_ps) == TRAN
