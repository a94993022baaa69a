"""Exact SD clock cycle counts of bus phases, asserted against the bus trace.

Card with fixed timing: NCR = 2, CRC status delay 2, program time 100 us, no
cache. SD clock 25 MHz from the 200 MHz base: N = 4, 200/(2*4) = 25 MHz,
period P = 40 000 ps. 100 us of busy = 100e6 / 40e3 = 2500 clocks.
"""
from __future__ import annotations

import pytest

from sdhci import regmap as rm
from sdhci.controller import Fault, controller_preset
from sdhci.trace import events
from sdhci_helpers import ERRORS, R1, RCA, make

P = 40_000
BUSY = 2500            # 100 us program time in clocks
NCR = 2
NWR = 2                # write_gap_cycles default: response end -> first data start bit
CRC_DELAY, CRC_BITS = 2, 5


def _ready(preset="v3", width=4, ddr=False, **kw):
    ctl, h = make(preset, **kw)
    h.power_up()
    h.init_card(width=width, ddr=ddr)
    assert ctl.clock.period_ps == P
    return ctl, h


def test_cmd13_r1_cycles() -> None:
    ctl, h = _ready()
    h.poll(rm.SDHCI_PRESENT_STATE, 32, rm.SDHCI_CMD_INHIBIT, 0)
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    t_write = h.t
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    ctl.read(rm.SDHCI_INT_STATUS, 32, t_write + 100 * P)      # let it all happen
    cmd = events(ctl.trace, "command", 13)[-1]
    resp = events(ctl.trace, "response", 13)[-1]
    # command: 48 clocks; issue latency: next edge after the write + 2 clocks (command_issue_cycles).
    assert cmd.cycles(P) == 48
    assert (cmd.start_ps - ctl.clock.edge0_ps) % P == 0 and 2 * P <= cmd.start_ps - t_write < 3 * P
    # response: NCR = 2 clocks after the command end bit, 48 clocks long.
    assert resp.start_ps - cmd.end_ps == NCR * P and resp.cycles(P) == 48
    # whole exchange: 48 + 2 + 48 = 98 clocks
    assert resp.end_ps - cmd.start_ps == 98 * P


def test_command_complete_at_response_end() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    ctl.next_event_ps()
    t_end = h.t + 200 * P
    ctl.read(rm.SDHCI_PRESENT_STATE, 32, h.t + P)
    resp_end = None
    # next_event_ps lets a poller jump exactly to the response end
    while resp_end is None:
        nxt = ctl.next_event_ps()
        assert nxt is not None and nxt < t_end
        before = ctl.read(rm.SDHCI_INT_STATUS, 32, nxt - 1)
        assert not before & rm.SDHCI_INT_RESPONSE
        if ctl.read(rm.SDHCI_INT_STATUS, 32, nxt) & rm.SDHCI_INT_RESPONSE:
            resp_end = nxt
    assert resp_end == events(ctl.trace, "response", 13)[-1].end_ps
    assert not ctl.read(rm.SDHCI_PRESENT_STATE, 32, resp_end) & rm.SDHCI_CMD_INHIBIT
    assert ctl.read(rm.SDHCI_RESPONSE, 32, resp_end) >> 9 & 0xF == 4      # CURRENT_STATE tran


@pytest.mark.parametrize("width,ddr,data_clocks", [
    (1, False, 4096),     # 512 bytes x 8 bits on one line
    (4, False, 1024),     # 4096 bits / 4 lines
    (8, False, 512),      # 4096 bits / 8 lines
    (8, True, 256),       # 8 lines, two bits per clock
])
def test_cmd24_block_cycles(width: int, ddr: bool, data_clocks: int) -> None:
    ctl, h = _ready(width=width, ddr=ddr)
    status = h.write_blocks(2048, bytes(range(256)) * 2, dma="sdma")
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    resp = events(ctl.trace, "response", 24)[-1]
    (data,) = events(ctl.trace, "data", 24)
    (crc,) = events(ctl.trace, "crc_status", 24)
    (busy,) = events(ctl.trace, "busy", 24)
    # block = start bit + data + 16 CRC + end bit
    assert data.cycles(P) == 1 + data_clocks + 16 + 1
    assert data.start_ps - resp.end_ps == NWR * P
    assert crc.start_ps - data.end_ps == CRC_DELAY * P and crc.cycles(P) == CRC_BITS
    assert crc.detail["status"] == 0b010
    assert busy.start_ps == crc.end_ps and busy.cycles(P) == BUSY
    assert ctl.card.read(0, 2048 * 512, 512) == bytes(range(256)) * 2


def test_cmd25_auto_cmd12_cycles() -> None:
    n = 4
    ctl, h = _ready(width=4)
    data = bytes((i * 7) & 0xFF for i in range(512 * n))
    t0 = h.t
    status = h.write_blocks(4096, data, dma="adma")
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    blocks = events(ctl.trace, "data", 25)
    crcs = events(ctl.trace, "crc_status", 25)
    busies = events(ctl.trace, "busy", 25)
    assert len(blocks) == n and len(crcs) == n and len(busies) == n
    for i in range(n):
        assert blocks[i].cycles(P) == 1042                      # 1 + 1024 + 16 + 1
        assert crcs[i].start_ps - blocks[i].end_ps == CRC_DELAY * P
        assert busies[i].start_ps == crcs[i].end_ps
    for i in range(n - 1):
        assert busies[i].cycles(P) == BUSY
        assert blocks[i + 1].start_ps - busies[i].end_ps == NWR * P
    # Auto CMD12 right after the last CRC status: next edge + 2 clocks, 48 + NCR 2 + 48.
    (stop,) = [e for e in events(ctl.trace, "command", 12) if e.end_ps > t0]
    (stop_resp,) = [e for e in events(ctl.trace, "response", 12) if e.end_ps > t0]
    assert stop.detail.get("auto") is True and stop.start_ps - crcs[-1].end_ps == 2 * P
    assert stop_resp.start_ps - stop.end_ps == NCR * P and stop_resp.cycles(P) == 48
    # the last block programs for 100 us after its CRC status; CMD12 adds no busy (stop_busy 0)
    assert busies[-1].cycles(P) == BUSY
    # first start bit to busy end: 4 x (1042 + 2 + 5) + 3 x (2500 + 2) + 2500 = 16202 clocks
    assert busies[-1].end_ps - blocks[0].start_ps == (4 * (1042 + 2 + 5) + 3 * (2500 + 2) + 2500) * P
    assert ctl.read(rm.SDHCI_RESPONSE + 12, 32, h.t + 1) >> 9 & 0xF == 6      # Auto CMD12 response: rcv
    assert ctl.card.read(0, 4096 * 512, len(data)) == data


def test_command_timeout_exactly_64_clocks() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, (RCA + 1) << 16)              # nobody answers this RCA
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    ctl.read(rm.SDHCI_PRESENT_STATE, 32, h.t + 60 * P)
    cmd = events(ctl.trace, "command", 13)[-1]
    t_to = cmd.end_ps + 64 * P
    assert not ctl.read(rm.SDHCI_INT_STATUS, 32, t_to - 1) & ERRORS
    assert ctl.read(rm.SDHCI_PRESENT_STATE, 32, t_to - 1) & rm.SDHCI_CMD_INHIBIT
    status = ctl.read(rm.SDHCI_INT_STATUS, 32, t_to)
    assert status & rm.SDHCI_INT_TIMEOUT and status & rm.SDHCI_INT_ERROR
    assert not status & rm.SDHCI_INT_RESPONSE
    assert not ctl.read(rm.SDHCI_PRESENT_STATE, 32, t_to) & rm.SDHCI_CMD_INHIBIT
    (to,) = events(ctl.trace, "timeout", 13)
    assert to.detail["what"] == "command" and to.cycles(P) == 64


def test_data_timeout_when_busy_stretched() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("stretch_busy", block=0, stretch_ps=10**12)]
    ctl, h = make(config=cfg)
    h.power_up()
    h.init_card(width=4)
    h.wr(rm.SDHCI_TIMEOUT_CONTROL, 8, 2)
    ctl.memory.write(0x200000, bytes(512))
    h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0x200000)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.command(24, 100, R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_DMA)
    while not events(ctl.trace, "crc_status", 24):    # jump event to event until busy starts
        h.t = ctl.next_event_ps()
        h.rd(rm.SDHCI_PRESENT_STATE)
    (crc,) = events(ctl.trace, "crc_status", 24)
    # TMCLK 50 MHz = 20 000 ps; n = 2: 2^(13+2) x 20 000 ps = 655 360 000 ps after busy starts
    t_to = crc.end_ps + 2 ** 15 * 20_000
    assert not ctl.read(rm.SDHCI_INT_STATUS, 32, t_to - 1) & rm.SDHCI_INT_DATA_TIMEOUT
    assert ctl.read(rm.SDHCI_PRESENT_STATE, 32, t_to - 1) & rm.SDHCI_DATA_LVL_MASK == 0x00E00000  # DAT0 low
    status = ctl.read(rm.SDHCI_INT_STATUS, 32, t_to)
    assert status & rm.SDHCI_INT_DATA_TIMEOUT and not status & rm.SDHCI_INT_DATA_END
    (to,) = events(ctl.trace, "timeout", 24)
    assert (to.start_ps, to.end_ps, to.detail["what"]) == (crc.end_ps, t_to, "data")


def test_sd_clock_off_freezes_the_bus() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    t_issue = h.t
    clk = h.rd(rm.SDHCI_CLOCK_CONTROL, 16)
    h.wr(rm.SDHCI_CLOCK_CONTROL, 16, clk & ~rm.SDHCI_CLOCK_CARD_EN)   # stop SD clock
    t_off = h.t
    assert ctl.next_event_ps() is None or ctl.next_event_ps() > t_off + 10**9
    gap = 10**9                                                     # 1 ms without clock
    assert not ctl.read(rm.SDHCI_INT_STATUS, 32, t_off + gap) & rm.SDHCI_INT_RESPONSE
    h.t = t_off + gap
    h.wr(rm.SDHCI_CLOCK_CONTROL, 16, clk)
    t_on = h.t
    h.wait_int(rm.SDHCI_INT_RESPONSE)
    cmd = events(ctl.trace, "command", 13)[-1]
    resp = events(ctl.trace, "response", 13)[-1]
    # the command phase is shifted by the time the clock was off; the framing is unchanged
    assert cmd.start_ps >= t_issue and resp.end_ps - cmd.end_ps == (NCR + 48) * P
    assert resp.end_ps - t_issue >= t_on - t_off


def test_pio_block_start_latency() -> None:
    # Latencies.pio_block_start_ps: the block may start on DAT only that long after its last
    # Buffer Data Port word is written; it then starts at the first SD clock edge at or after.
    # 300 clocks + 1234 ps is far beyond NWR after the response, so it alone decides the start.
    lat = 300 * P + 1234
    cfg = controller_preset("v3")
    cfg.latencies.pio_block_start_ps = lat
    ctl, h = _ready(config=cfg)
    port_writes: list[int] = []
    write = ctl.write

    def spy(offset: int, width: int, value: int, t_ps: int) -> None:
        if offset == rm.SDHCI_BUFFER:
            port_writes.append(t_ps)
        write(offset, width, value, t_ps)

    ctl.write = spy
    status = h.write_blocks(2048, bytes(range(256)) * 2, dma="pio")
    assert status & rm.SDHCI_INT_DATA_END and not status & ERRORS
    (data,) = events(ctl.trace, "data", 24)
    sendable = port_writes[-1] + lat
    assert len(port_writes) == 128
    assert (data.start_ps - ctl.clock.edge0_ps) % P == 0 and 0 <= data.start_ps - sendable < P


def test_polling_dat0_after_an_r1_switch_ends_when_the_card_lets_go() -> None:
    # Linux may send CMD6 as R1 and poll DAT[0] in Present State itself; the controller does not watch
    # that busy, yet the level must change when the card releases DAT0, and a poll must see it then
    # (not jump to its timeout).
    from sdhci.driver.ops import Poll
    from sdhci.driver.platform import platform_preset
    from sdhci.driver.runner import SyncRunner
    ctl, h = _ready()
    h.command(6, 0x03210100, R1)                 # SWITCH, write byte 33 (CACHE_CTRL) = 1, as R1: no busy wait
    resp = events(ctl.trace, "response", 6)[-1]      # init_card sent one for the bus width
    busy_end = ctl.slot.card.busy_until_ps        # the card's own release time
    assert busy_end > resp.end_ps + 10 * P
    runner = SyncRunner(ctl, ctl.memory, platform_preset("arm64-soc"), t_ps=h.t)
    dat0 = rm.SDHCI_DATA_0_LVL_MASK
    result = runner.execute(Poll(rm.SDHCI_PRESENT_STATE, 32, dat0, dat0, interval_ns=1_000, timeout_ns=10**9))
    assert not result.timed_out and result.value & dat0
    # The first read at or after the release (next SD clock edge) sees DAT0 high: within one interval of it.
    edge = ctl.clock.next_edge(busy_end)
    assert edge <= runner.log[-1].end_ps - runner.platform.mmio_read_ps < edge + 1_000_000 + runner.platform.mmio_read_ps
