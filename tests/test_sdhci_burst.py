"""Burst fast paths: SdhciController.write_burst/read_burst and the runner's use of them.

Each burst must have exactly the effects of one write()/read() per word at
t + i * word_ps: the same bytes in the buffer, the same bus trace, the same
interrupt status, the same words read, also when an event falls inside the
burst, when the port ignores some words, when a block size is not a multiple
of 4 bytes and when a value has bits above 31. Every test runs the same
scenario twice, burst and word by word, and compares.
"""
from __future__ import annotations

import random

from emmc_card.storage import USER
from sdhci import regmap as rm
from sdhci.config import load_config
from sdhci.controller import SdhciController
from sdhci.driver.ops import ReadBurst, WriteBurst
from sdhci.driver.runner import SyncRunner
from sdhci.emulation import PanicSession
from sdhci_helpers import R1, make

WORD_PS = 120_000     # arm64-soc burst_word_write_ps


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def _state(ctl: SdhciController) -> tuple:
    x = ctl.data.xfer
    xfer = None if x is None else (list(x.buffer), bytes(x.port_bytes), x.port_pos, x.fetched, x.done, x.port,
                                   x.phase)
    now = ctl.scheduler.now
    registers = {r.name: ctl.read(r.offset, r.width, now) for r in rm.REGISTERS if r.name != "BUFFER_DATA_PORT"}
    return ctl.trace, registers, now, xfer, ctl.next_event_ps()


def _start_write(block_size: int, blocks: int):
    """A controller with a 4-bit card in tran, a PIO CMD25 issued, Buffer Write Ready seen."""
    ctl, host = make()
    host.power_up()
    host.init_card(width=4)
    host.wr(rm.SDHCI_BLOCK_SIZE, 16, block_size)
    host.wr(rm.SDHCI_BLOCK_COUNT, 16, blocks)
    mode = rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    host.command(25, 0, R1 | rm.SDHCI_CMD_DATA, mode)
    host.wait_int(rm.SDHCI_INT_SPACE_AVAIL)
    host.ack(rm.SDHCI_INT_SPACE_AVAIL)
    return ctl, host


def _write_both_ways(block_size: int, blocks: int, words: list[int], word_ps: int = WORD_PS) -> int:
    """The burst on one controller, single writes on another; both must agree all along.

    Returns how many blocks the burst side had fetched right after the burst.
    """
    fast, host_f = _start_write(block_size, blocks)
    slow, _ = _start_write(block_size, blocks)
    assert _state(fast) == _state(slow)
    t = host_f.t + 1_000
    fast.write_burst(rm.SDHCI_BUFFER, words, t, word_ps)
    for i, word in enumerate(words):
        slow.write(rm.SDHCI_BUFFER, 32, word, t + i * word_ps)
    assert _state(fast) == _state(slow)
    fetched = fast.data.xfer.fetched
    # Let both finish (or stall) the same way: advance well past the transfer.
    later = t + len(words) * word_ps + 50_000_000_000
    assert fast.read(rm.SDHCI_INT_STATUS, 32, later) == slow.read(rm.SDHCI_INT_STATUS, 32, later)
    assert _state(fast) == _state(slow)
    return fetched


def test_two_blocks_in_one_burst() -> None:
    # Word 127 completes block 0; Buffer Write Ready is due 20 ns (buffer_ready_ps) later,
    # before word 128 (120 ns later): block 1 is taken whole.
    assert _write_both_ways(512, 4, _words(random.Random(1).randbytes(1024))) == 2


def test_burst_across_bus_events_and_a_full_buffer() -> None:
    # 512 words, one every 120 ns (61.4 us). Block 0 (words 0-127) goes on the 4-bit
    # 25 MHz bus: 1 + 1024 + 16 + 1 = 1042 clocks = 41.68 us, then 100 us programming
    # busy; it holds its buffer slot all that time. Block 1 (words 128-255) fills the
    # second slot, so Buffer Write Enable stays 0 and words 256-511 are ignored.
    assert _write_both_ways(512, 4, _words(random.Random(2).randbytes(4 * 512))) == 2


def test_zero_word_spacing() -> None:
    # All 512 words at one instant: after block 0, Buffer Write Ready is 20 ns away and
    # no time passes, so the other 384 words are ignored.
    assert _write_both_ways(512, 4, _words(random.Random(3).randbytes(4 * 512)), word_ps=0) == 1


def test_block_size_not_a_multiple_of_four() -> None:
    # 6-byte blocks: the second word completes a block with 2 bytes to spare, which the
    # port drops; the third starts the next block.
    # Blocks end at words 1 and 3 (8 bytes each, 2 dropped). Block 0 is then on the bus
    # or busy (100 us programming) and block 1 fills the other slot: words 4-5 are ignored.
    assert _write_both_ways(6, 3, [0x03020100, 0x07060504, 0x0B0A0908, 0x0F0E0D0C, 0x13121110, 0x17161514]) == 2


def test_values_beyond_32_bits_keep_their_low_bits() -> None:
    words = [-1, 1 << 40 | 0x1234, 0xFFFFFFFF] + [5] * 125
    fast, host = _start_write(512, 1)
    fast.write_burst(rm.SDHCI_BUFFER, words, host.t + 1_000, WORD_PS)
    host.t += len(words) * WORD_PS
    assert host.wait_int(rm.SDHCI_INT_DATA_END) == rm.SDHCI_INT_DATA_END
    assert fast.card.read(USER, 0, 16) == b"\xff" * 4 + bytes.fromhex("34120000") + b"\xff" * 4 + bytes([5, 0, 0, 0])
    assert _write_both_ways(512, 1, words) == 1


def test_non_port_offset_bursts_are_single_writes() -> None:
    fast, host_f = _start_write(512, 1)
    slow, _ = _start_write(512, 1)
    t = host_f.t + 1_000
    fast.write_burst(rm.SDHCI_ARGUMENT, [1, 2, 3], t, WORD_PS)
    for i, word in enumerate([1, 2, 3]):
        slow.write(rm.SDHCI_ARGUMENT, 32, word, t + i * WORD_PS)
    assert fast.regs.get("ARGUMENT") == slow.regs.get("ARGUMENT") == 3
    assert _state(fast) == _state(slow)


def _start_read(blocks: int, data: bytes):
    ctl, host = make()
    host.power_up()
    host.init_card(width=4)
    host.write_blocks(0, data)
    host.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
    host.wr(rm.SDHCI_BLOCK_COUNT, 16, blocks)
    mode = rm.SDHCI_TRNS_READ | rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    host.command(18, 0, R1 | rm.SDHCI_CMD_DATA, mode)
    host.wait_int(rm.SDHCI_INT_DATA_AVAIL)
    host.ack(rm.SDHCI_INT_DATA_AVAIL)
    return ctl, host


def test_read_burst_over_two_blocks_equals_word_reads() -> None:
    # 256 reads: block 0 comes out of the buffer; then Buffer Read Enable is off until
    # the next block is in and 20 ns passed: those reads give 0, as single reads would.
    data = random.Random(4).randbytes(4 * 512)
    fast, host_f = _start_read(4, data)
    slow, _ = _start_read(4, data)
    t = host_f.t + 1_000
    got = fast.read_burst(rm.SDHCI_BUFFER, 256, t, WORD_PS)
    want = [slow.read(rm.SDHCI_BUFFER, 32, t + i * WORD_PS) for i in range(256)]
    assert got == want
    assert b"".join(w.to_bytes(4, "little") for w in got[:128]) == data[:512]
    assert _state(fast) == _state(slow)


class WordRunner(SyncRunner):
    """The runner without the controller's burst paths: one read()/write() per word."""

    def _read_burst(self, op: ReadBurst) -> list[int]:
        words = []
        for _ in range(op.count):
            words.append(self.controller.read(op.offset, 32, self.t_ps))
            self.t_ps += self.platform.burst_word_read_ps
        self.counts.burst_words += op.count
        return words

    def _write_burst(self, op: WriteBurst) -> None:
        for word in op.words:
            self.controller.write(op.offset, 32, word, self.t_ps)
            self.t_ps += self.platform.burst_word_write_ps
        self.counts.burst_words += len(op.words)


def _pio_panic(runner_cls: type[SyncRunner], *overrides: str) -> PanicSession:
    config = load_config(None, ["run.transfer='pio'", *overrides])
    session = PanicSession(config)
    session.runner = runner_cls(session.controller, session.memory, config.platform)
    session.initialise()            # EXT_CSD comes in by ReadBurst
    session.register()
    assert session.panic_write(bytes(range(256)) * 64, 0, 128) == 0
    return session


def test_pio_panic_write_with_bursts_equals_word_by_word() -> None:
    for overrides in ((), ("run.stall_ms=3", "run.enable_cache=false"), ("run.bus_width=4",)):
        fast = _pio_panic(SyncRunner, *overrides)
        slow = _pio_panic(WordRunner, *overrides)
        assert fast.runner.t_ps == slow.runner.t_ps
        assert [(r.op, r.start_ps, r.end_ps, r.value) for r in fast.runner.log] == \
               [(r.op, r.start_ps, r.end_ps, r.value) for r in slow.runner.log]
        assert fast.runner.counts == slow.runner.counts
        assert fast.controller.trace == slow.controller.trace
        assert any(isinstance(r.op, ReadBurst) for r in fast.runner.log)
        assert sum(isinstance(r.op, WriteBurst) for r in fast.runner.log) == 128
