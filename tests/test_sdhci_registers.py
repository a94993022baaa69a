"""Register access semantics and controller behaviour: issue, inhibit, W1C, resets, clock, faults."""
from __future__ import annotations

from sdhci import regmap as rm
from sdhci.controller import Fault, SdhciController, controller_preset
from sdhci.controller.clock import sd_divisor
from sdhci.memory import HostMemory
from sdhci.trace import events
from sdhci_helpers import CMD_ERRORS, ERRORS, R1, R1B, RCA, fixed_card, make

P = 40_000


def _ready(preset="v3", width=4, config=None, **kw):
    ctl, h = make(preset, config=config, **kw)
    h.power_up()
    h.init_card(width=width)
    return ctl, h


def test_32bit_write_at_0x0c_issues_with_transfer_mode() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    n = len(events(ctl.trace, "command"))
    h.wr(rm.SDHCI_TRANSFER_MODE, 32, rm.SDHCI_TRNS_READ | rm.SDHCI_MAKE_CMD(13, R1) << 16)
    assert h.rd(rm.SDHCI_TRANSFER_MODE, 16) == rm.SDHCI_TRNS_READ
    assert h.rd(rm.SDHCI_COMMAND, 16) == rm.SDHCI_MAKE_CMD(13, R1)
    h.wait_int(rm.SDHCI_INT_RESPONSE)
    assert [e.cmd for e in events(ctl.trace, "command")[n:]] == [13]


def test_only_the_command_upper_byte_issues() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    n = len(events(ctl.trace, "command"))
    h.wr(rm.SDHCI_COMMAND, 8, R1)                      # lower byte: flags only
    h.t += 10**8
    assert len(events(ctl.trace, "command")) == n and not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    h.wr(rm.SDHCI_COMMAND + 1, 8, 13)                  # upper byte: index, issues
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    assert h.wait_int(rm.SDHCI_INT_RESPONSE) & rm.SDHCI_INT_RESPONSE
    assert events(ctl.trace, "command")[-1].cmd == 13


def test_command_while_inhibited_is_ignored() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(16, R1))     # CMD line busy: not issued
    h.wait_int(rm.SDHCI_INT_RESPONSE)
    h.t += 10**9
    h.rd(rm.SDHCI_PRESENT_STATE)
    assert events(ctl.trace, "command")[-1].cmd == 13 and not events(ctl.trace, "command", 16)
    # a busy command holds DAT: another DAT command is not issued until busy ends
    h.ack()
    h.wr(rm.SDHCI_ARGUMENT, 32, (3 << 24) | (183 << 16) | (1 << 8))
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(6, R1B))
    h.wait_int(rm.SDHCI_INT_RESPONSE)
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(6, R1B))
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    assert len(events(ctl.trace, "command", 6)) == 2                   # init's CMD6 and this one
    assert h.wait_int(rm.SDHCI_INT_DATA_END) & rm.SDHCI_INT_DATA_END
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT


def test_w1c_status_enable_error_summary_and_irq() -> None:
    ctl = SdhciController(controller_preset("v3"), fixed_card(), HostMemory())
    t = 1000
    ctl.write(rm.SDHCI_SET_INT_ERROR, 16, 0x0011, t)              # forced, but status enables are 0
    assert ctl.read(rm.SDHCI_INT_STATUS, 32, t) == 0
    ctl.write(rm.SDHCI_INT_ENABLE, 32, 0xFFFFFFFF, t)
    ctl.write(rm.SDHCI_SET_INT_ERROR, 16, 0x0011, t)              # command timeout + data timeout
    assert ctl.read(rm.SDHCI_INT_STATUS, 32, t) == rm.SDHCI_INT_ERROR | rm.SDHCI_INT_TIMEOUT \
        | rm.SDHCI_INT_DATA_TIMEOUT
    assert not ctl.irq(t)
    ctl.write(rm.SDHCI_SIGNAL_ENABLE + 2, 16, 0x0010, t)          # signal data timeout only
    assert ctl.irq(t) and ctl.read(rm.SDHCI_SLOT_INT_STATUS, 16, t) == 1
    ctl.write(rm.SDHCI_INT_STATUS, 32, 0, t)                      # writing 0 clears nothing
    ctl.write(rm.SDHCI_INT_STATUS, 16, rm.SDHCI_INT_ERROR, t)     # Error Interrupt is read-only
    assert ctl.read(rm.SDHCI_INT_STATUS + 2, 16, t) == 0x0011
    ctl.write(rm.SDHCI_INT_STATUS + 2, 8, 0x10, t)                # clear data timeout (byte write)
    assert ctl.read(rm.SDHCI_INT_STATUS, 32, t) == rm.SDHCI_INT_ERROR | rm.SDHCI_INT_TIMEOUT
    assert not ctl.irq(t)
    ctl.write(rm.SDHCI_INT_STATUS + 2, 16, 0x0001, t)
    assert ctl.read(rm.SDHCI_INT_STATUS, 32, t) == 0              # no error left: bit 15 drops


def test_access_widths_and_alignment() -> None:
    ctl = SdhciController(controller_preset("v3"), fixed_card(), HostMemory())
    ctl.write(rm.SDHCI_ARGUMENT, 32, 0x11223344, 0)
    assert [ctl.read(rm.SDHCI_ARGUMENT + i, 8, 0) for i in range(4)] == [0x44, 0x33, 0x22, 0x11]
    assert ctl.read(rm.SDHCI_ARGUMENT + 2, 16, 0) == 0x1122
    ctl.write(rm.SDHCI_ARGUMENT + 1, 8, 0xAA, 0)
    assert ctl.read(rm.SDHCI_ARGUMENT, 32, 0) == 0x1122AA44
    ctl.write(rm.SDHCI_ARGUMENT + 1, 16, 0xFFFF, 0)               # misaligned: ignored
    ctl.write(rm.SDHCI_ARGUMENT, 24, 0xFFFFFF, 0)                 # no such width: ignored
    assert ctl.read(rm.SDHCI_ARGUMENT, 32, 0) == 0x1122AA44
    assert ctl.read(rm.SDHCI_ARGUMENT + 2, 32, 0) == 0            # misaligned read: 0
    assert ctl.read(0x80, 32, 0) == 0 and ctl.read(0x1000, 8, 0) == 0   # reserved / outside
    # Host Version and Capabilities through 32-bit reads spanning two registers
    assert ctl.read(0xFC, 32, 0) >> 16 == 0x0002


def test_clock_dividers_and_stable_delay() -> None:
    # v3: 10-bit N; N = 0 -> base, else base / 2N
    assert sd_divisor(0x0000, rm.SDHCI_SPEC_300) == 1
    assert sd_divisor(0x0100, rm.SDHCI_SPEC_300) == 2
    assert sd_divisor(0xFFC0, rm.SDHCI_SPEC_300) == 2046                   # N = 0x3FF
    # v1/v2: 8-bit power-of-two field
    assert [sd_divisor(v << 8, rm.SDHCI_SPEC_200) for v in (0, 1, 2, 0x40, 0x80)] == [1, 2, 4, 128, 256]
    ctl = SdhciController(controller_preset("v1-pio"), fixed_card(), HostMemory())
    ctl.write(rm.SDHCI_CLOCK_CONTROL, 16, 0x8000 | rm.SDHCI_CLOCK_INT_EN, 1_000_000)
    # internal clock stable exactly 10 us (default internal_clock_stable_ps) after enable
    assert not ctl.read(rm.SDHCI_CLOCK_CONTROL, 16, 1_000_000 + 10_000_000 - 1) & rm.SDHCI_CLOCK_INT_STABLE
    assert ctl.read(rm.SDHCI_CLOCK_CONTROL, 16, 11_000_000) == 0x8000 | 0x3
    assert ctl.clock.period_ps == 20833 * 256                              # 48 MHz / 256


def test_software_resets() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_ARGUMENT, 32, RCA << 16)
    h.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(13, R1))
    h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_CMD)
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CMD_INHIBIT
    assert h.rd(rm.SDHCI_SOFTWARE_RESET, 8) == 0
    h.t += 10**9
    assert not h.rd(rm.SDHCI_INT_STATUS) & rm.SDHCI_INT_RESPONSE        # the reset command never completes
    # DAT reset mid-transfer: DAT inhibit, buffer state and data interrupts go
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.command(24, 5, R1 | rm.SDHCI_CMD_DATA, 0)
    h.wait_int(rm.SDHCI_INT_SPACE_AVAIL)
    assert h.rd(rm.SDHCI_PRESENT_STATE) & (rm.SDHCI_DATA_INHIBIT | rm.SDHCI_SPACE_AVAILABLE)
    h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_DATA)
    assert h.rd(rm.SDHCI_PRESENT_STATE) & 0xF0F == 0
    assert not h.rd(rm.SDHCI_INT_STATUS) & rm.SDHCI_INT_SPACE_AVAIL
    # Reset For All: registers to reset values; SD Bus Power off cuts the card's supply
    h.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_ALL)
    assert h.rd(rm.SDHCI_POWER_CONTROL, 8) == 0 and h.rd(rm.SDHCI_CLOCK_CONTROL, 16) == 0
    assert h.rd(rm.SDHCI_INT_ENABLE) == 0 and h.rd(rm.SDHCI_HOST_CONTROL, 8) == 0
    assert not ctl.card.powered


def test_transfer_mode_and_block_registers_are_protected_during_a_transaction() -> None:
    # SDHCI v3.00 2.2.2 Block Size, 2.2.3 Block Count, 2.2.5 Transfer Mode: writes are
    # ignored while a transaction runs (Command Inhibit (DAT) set).
    ctl, h = _ready()
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 1)
    h.command(24, 5, R1 | rm.SDHCI_CMD_DATA, 0)
    assert h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_INHIBIT
    h.wr(rm.SDHCI_TRANSFER_MODE, 16, rm.SDHCI_TRNS_READ)
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 64)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 7)
    assert h.rd(rm.SDHCI_TRANSFER_MODE, 16) == 0
    assert h.rd(rm.SDHCI_BLOCK_SIZE, 16) == 512
    assert h.rd(rm.SDHCI_BLOCK_COUNT, 16) == 1


def test_block_size_zero_moves_no_data() -> None:
    ctl, h = _ready()
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 0)
    h.command(24, 5, R1 | rm.SDHCI_CMD_DATA, 0)
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_END and not s & ERRORS
    assert not events(ctl.trace, "data", 24)


def test_bus_width_not_offered_is_not_selectable() -> None:
    ctl, h = make("v1-pio")
    h.wr(rm.SDHCI_HOST_CONTROL, 8, rm.SDHCI_CTRL_8BITBUS | rm.SDHCI_CTRL_4BITBUS | rm.SDHCI_CTRL_ADMA32)
    assert h.rd(rm.SDHCI_HOST_CONTROL, 8) == rm.SDHCI_CTRL_4BITBUS
    assert ctl.bus_mode() == (4, False)


def test_v1_pio_4bit_end_to_end() -> None:
    ctl, h = make("v1-pio")
    h.power_up()
    assert h.rd(rm.SDHCI_HOST_VERSION, 16) == 0 and not h.rd(rm.SDHCI_CAPABILITIES) & rm.SDHCI_CAN_DO_SDMA
    h.init_card(width=4, hz=24_000_000)
    p = ctl.clock.period_ps
    assert p == 20833 * 2                                    # 48 MHz / 2
    data = bytes((i * 13 + 5) & 0xFF for i in range(512 * 3))
    s = h.write_blocks(300, data)
    assert s & rm.SDHCI_INT_DATA_END and not s & ERRORS
    assert h.read_blocks(300, 3) == data
    blocks = events(ctl.trace, "data", 25)
    assert len(blocks) == 3 and all(b.cycles(p) == 1042 for b in blocks)   # 4-bit: 1 + 1024 + 16 + 1
    assert ctl.card.read(0, 300 * 512, len(data)) == data


def test_auto_cmd23() -> None:
    ctl, h = _ready()
    data = bytes(range(256)) * 8
    ctl.memory.write(0x8000, data)
    h.wr(rm.SDHCI_ARGUMENT2, 32, 4)                       # Argument 2: CMD23 block count
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.wr(rm.SDHCI_BLOCK_COUNT, 16, 4)
    # PIO (SDMA shares 0x00 with Argument 2)
    mode = rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD23
    h.command(25, 40, R1 | rm.SDHCI_CMD_DATA, mode)
    pos = 0
    while True:
        s = h.wait_int(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_SPACE_AVAIL)
        assert not s & ERRORS
        if s & rm.SDHCI_INT_SPACE_AVAIL:
            h.ack(rm.SDHCI_INT_SPACE_AVAIL)
            while pos < len(data) and h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_SPACE_AVAILABLE:
                for i in range(pos, pos + 512, 4):
                    h.wr(rm.SDHCI_BUFFER, 32, int.from_bytes(data[i:i + 4], "little"))
                pos += 512
        if s & rm.SDHCI_INT_DATA_END:
            break
    cmds = [(e.cmd, e.detail.get("auto", False)) for e in events(ctl.trace, "command")[-2:]]
    assert cmds == [(23, True), (25, False)]
    assert h.rd(rm.SDHCI_BLOCK_COUNT, 16) == 0                 # counted down per block
    assert ctl.card.read(0, 40 * 512, len(data)) == data
    assert ctl.card.state(h.t) == 4                             # the CMD23 count ended it: tran


def test_fault_drop_response_and_response_crc() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("drop_response", cmd=13, occurrence=1), Fault("response_crc", cmd=13, occurrence=2)]
    ctl, h = _ready(config=cfg)
    s = h.command(13, RCA << 16, R1)
    assert s & rm.SDHCI_INT_TIMEOUT and not s & rm.SDHCI_INT_RESPONSE
    s = h.command(13, RCA << 16, R1)
    assert s & rm.SDHCI_INT_CRC and s & rm.SDHCI_INT_RESPONSE
    assert not h.command(13, RCA << 16, R1) & CMD_ERRORS


def test_fault_data_crc_gets_crc_status_101() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("data_crc", block=1)]
    ctl, h = _ready(config=cfg)
    s = h.write_blocks(10, bytes(512 * 3), dma="adma")
    assert s & rm.SDHCI_INT_DATA_CRC and not s & rm.SDHCI_INT_DATA_END
    assert [e.detail["status"] for e in events(ctl.trace, "crc_status", 25)] == [0b010, 0b101]


def test_fault_drop_crc_status() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("drop_crc_status", block=0)]
    ctl, h = _ready(config=cfg)
    s = h.write_blocks(10, bytes(512), dma="sdma")
    assert s & rm.SDHCI_INT_DATA_CRC
    (to,) = events(ctl.trace, "timeout", 24)
    assert to.detail["what"] == "crc_status" and to.cycles(P) == 8      # crc_status_timeout_cycles


def test_fault_remove_card() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("remove_card", cmd=13, occurrence=1)]
    ctl, h = _ready(config=cfg)
    s = h.command(13, RCA << 16, R1)
    assert s & rm.SDHCI_INT_CARD_REMOVE and s & rm.SDHCI_INT_TIMEOUT
    assert not h.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_CARD_PRESENT


def test_host_and_card_bus_width_disagree() -> None:
    """Host at 4 bits, card left at 1 bit: the card's CRC check fails -> Data CRC Error."""
    ctl, h = _ready(width=1)
    h.set_bus(4)
    s = h.write_blocks(10, bytes(512), dma="sdma")
    assert s & rm.SDHCI_INT_DATA_CRC


def test_next_event_never_skips_a_state_change() -> None:
    """Polling only at next_event_ps() sees the same status sequence as polling every clock."""
    def run(step):
        ctl, h = _ready()
        ctl.memory.write(0, bytes(1024))
        h.wr(rm.SDHCI_DMA_ADDRESS, 32, 0)
        h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
        h.wr(rm.SDHCI_BLOCK_COUNT, 16, 2)
        mode = rm.SDHCI_TRNS_DMA | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
        h.wr(rm.SDHCI_ARGUMENT, 32, 8)
        h.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(25, R1 | rm.SDHCI_CMD_DATA) << 16)
        seen, t = [], h.t
        while True:
            v = (ctl.read(rm.SDHCI_INT_STATUS, 32, t), ctl.read(rm.SDHCI_PRESENT_STATE, 32, t) & 0x7)
            if not seen or seen[-1][1] != v:
                seen.append((t, v))
            if v[0] & rm.SDHCI_INT_DATA_END:
                return seen
            t = step(ctl, t)
    jump = run(lambda ctl, t: ctl.next_event_ps() or t + P)
    dense = run(lambda ctl, t: t + P // 4)
    assert [v for _, v in jump] == [v for _, v in dense]
    for (tj, _), (td, _) in zip(jump, dense):
        assert tj <= td < tj + P // 4 + 1 or tj == td


def test_r2_response_register_layout() -> None:
    """CMD2's CID lands in REP[119:0] (CRC dropped): MID 0x15 in bits 119:112, PNM in 95:48."""
    ctl, h = make()
    h.power_up()
    h.command(0, 0, 0)
    while True:
        h.command(1, 0x40FF8080, rm.SDHCI_CMD_RESP_SHORT)
        if h.rd(rm.SDHCI_RESPONSE) & 0x80000000:
            break
        h.t += 10**9
    h.command(2, 0, rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC)
    rep = b"".join(h.rd(rm.SDHCI_RESPONSE + 4 * i).to_bytes(4, "little") for i in range(4))
    assert rep[15] == 0 and rep[14] == 0x15                  # bits 127:120 unused, MID (CID 127:120)
    assert rep[6:12][::-1] == b"EMUMMC"                      # PNM, CID bits 103:56
    (resp,) = events(ctl.trace, "response", 2)
    assert resp.cycles(ctl.clock.period_ps) == 136


def test_read_data_timeout_covers_access_time() -> None:
    """A card whose access time (NAC) exceeds TMCLK x 2^13 gets Data Timeout, counted from the command end."""
    ctl, h = make(nac=10**6)                                 # 1e6 clocks x 40 ns = 40 ms
    h.power_up()
    h.init_card(width=4)
    h.wr(rm.SDHCI_TIMEOUT_CONTROL, 8, 0)                     # 2^13 x 20 ns = 163.84 us
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    h.command(17, 0, R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_READ)
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_TIMEOUT and not s & rm.SDHCI_INT_DATA_END
    cmd = events(ctl.trace, "command", 17)[-1]
    (to,) = events(ctl.trace, "timeout", 17)
    assert to.start_ps == cmd.end_ps and to.duration_ps == 2 ** 13 * 20_000


def test_auto_cmd12_error_status() -> None:
    cfg = controller_preset("v3")
    cfg.faults = [Fault("response_crc", cmd=12, occurrence=1)]
    ctl, h = _ready(config=cfg)
    s = h.write_blocks(10, bytes(1024), dma="sdma")
    assert s & rm.SDHCI_INT_AUTO_CMD_ERR and s & rm.SDHCI_INT_ERROR
    assert h.rd(rm.SDHCI_AUTO_CMD_STATUS, 16) == rm.SDHCI_AUTO_CMD_CRC
    assert not s & rm.SDHCI_INT_RESPONSE                     # no Command Complete for Auto CMD12


def test_read_block_longer_than_block_size_is_an_end_bit_error() -> None:
    """Host Block Size 256, card sends 512: the host's end-bit sample falls inside the data."""
    ctl, h = _ready()
    h.wr(rm.SDHCI_BLOCK_SIZE, 16, 256)
    h.command(17, 0, R1 | rm.SDHCI_CMD_DATA, rm.SDHCI_TRNS_READ)
    s = h.wait_int(rm.SDHCI_INT_DATA_END)
    assert s & rm.SDHCI_INT_DATA_END_BIT and s & rm.SDHCI_INT_DATA_CRC and not s & rm.SDHCI_INT_DATA_END
