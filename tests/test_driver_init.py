"""Card initialisation through the controller model, as Linux's mmc core does it."""
from __future__ import annotations

from sdhci import regmap as R
from sdhci.config import load_config
from sdhci.emulation import PanicSession

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
    # mmc_go_idle, CMD1 query, go idle, CMD1 until ready, CID, RCA, CSD, select, EXT_CSD,
    # HS_TIMING + status, BUS_WIDTH + status, EXT_CSD compare, CACHE_CTRL + status.
    cmds = _commands(s)
    assert cmds[:3] == [0, 1, 0]
    first_after_cmd1 = cmds.index(2)
    assert set(cmds[3:first_after_cmd1]) == {1}
    assert cmds[first_after_cmd1:] == [2, 3, 9, 7, 8, 6, 13, 6, 13, 8, 6, 13]


def test_byte_addressed_card_gets_cmd16_and_no_cache() -> None:
    s = _init("card_preset='emmc-2gb-byte'")
    card = s.mmc_card
    assert card is not None and not card.blockaddr and not card.cache_on
    assert _commands(s)[-1] == 16
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
