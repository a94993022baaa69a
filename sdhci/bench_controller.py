"""Benchmark: wall time of a register-level 64 KiB CMD25 write through the controller model.

    python -m sdhci.bench_controller [--runs N] [--blocks N]

For PIO, SDMA and ADMA2 it brings a card up through the registers (not
timed), then times one CMD25 + Auto CMD12 of `blocks` x 512 bytes done the
way a polled driver does it (a status poll jumps to the model's next change
of Interrupt Status with run_until_change()), and prints the median wall
time beside the simulated bus time of the transfer.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

from emmc_card import EmmcCard, card_preset
from sdhci import regmap as rm
from sdhci.controller import SdhciController, controller_preset
from sdhci.memory import HostMemory

MMIO_PS = 10_000
POLL_LIMIT_PS = 10 * 10**12      # a status poll gives up after 10 s of simulated time
R1 = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R1B = rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
BUFFER, TABLE = 0x100000, 0x80000


class _Bus:
    """Register accesses with a moving host clock; status polls jump to the model's next status change."""

    def __init__(self, ctl: SdhciController) -> None:
        self.ctl, self.t = ctl, 0

    def rd(self, offset: int, width: int = 32) -> int:
        self.t += MMIO_PS
        return self.ctl.read(offset, width, self.t)

    def wr(self, offset: int, width: int, value: int) -> None:
        self.t += MMIO_PS
        self.ctl.write(offset, width, value, self.t)

    def wait(self, mask: int) -> int:
        while True:
            status = self.rd(rm.SDHCI_INT_STATUS)
            if status & (mask | rm.SDHCI_INT_ERROR_MASK):
                if status & rm.SDHCI_INT_ERROR_MASK:
                    raise RuntimeError(f"controller error status 0x{status:08X}")
                return status
            change = self.ctl.run_until_change(rm.SDHCI_INT_STATUS, 32, self.t + POLL_LIMIT_PS)
            if change is None:
                raise RuntimeError(f"no status change within 10 s, status 0x{status:08X}")
            self.t = max(self.t, change)

    def command(self, index: int, arg: int, flags: int, mode: int = 0) -> None:
        self.wr(rm.SDHCI_ARGUMENT, 32, arg)
        self.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(index, flags) << 16)
        self.wait(rm.SDHCI_INT_RESPONSE)
        self.wr(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_RESPONSE)
        if flags & rm.SDHCI_CMD_RESP_MASK == rm.SDHCI_CMD_RESP_SHORT_BUSY:
            self.wait(rm.SDHCI_INT_DATA_END)
            self.wr(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_DATA_END)

    def clock(self, divider_n: int) -> None:
        div = (divider_n & 0xFF) << 8 | ((divider_n >> 8) & 3) << 6
        self.wr(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN)
        while not self.rd(rm.SDHCI_CLOCK_CONTROL, 16) & rm.SDHCI_CLOCK_INT_STABLE:
            self.t = self.ctl.next_event_ps() or self.t
        self.wr(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN)


def bring_up(ctl: SdhciController) -> _Bus:
    """Power, 400 kHz, CMD0/1/2/3/7, 8-bit bus, 50 MHz (200 MHz base / 4)."""
    bus = _Bus(ctl)
    bus.wr(rm.SDHCI_POWER_CONTROL, 8, rm.SDHCI_POWER_330 | rm.SDHCI_POWER_ON)
    bus.wr(rm.SDHCI_INT_ENABLE, 32, 0xFFFFFEFF)
    bus.wr(rm.SDHCI_TIMEOUT_CONTROL, 8, 0xE)
    bus.clock(250)
    bus.command(0, 0, 0)
    while True:
        bus.command(1, 0x40FF8080, rm.SDHCI_CMD_RESP_SHORT)
        if bus.rd(rm.SDHCI_RESPONSE) >> 31:
            break
        bus.t += 1_000_000_000
    bus.command(2, 0, rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC)
    bus.command(3, 2 << 16, R1)
    bus.command(7, 2 << 16, R1B)
    bus.command(6, (3 << 24) | (183 << 16) | (2 << 8), R1B)
    bus.wr(rm.SDHCI_HOST_CONTROL, 8, rm.SDHCI_CTRL_8BITBUS)
    bus.clock(2)
    return bus


def write_64k(bus: _Bus, mode: str, blocks: int) -> None:
    """One CMD25 with Auto CMD12 of `blocks` blocks by PIO, SDMA (512 KiB boundary) or ADMA2."""
    mem = bus.ctl.memory
    data = random.Random(blocks).randbytes(512 * blocks)      # every block different
    tm = rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI | rm.SDHCI_TRNS_AUTO_CMD12
    if mode == "sdma":
        mem.write(BUFFER, data)
        bus.wr(rm.SDHCI_DMA_ADDRESS, 32, BUFFER)
        tm |= rm.SDHCI_TRNS_DMA
    elif mode == "adma":
        mem.write(BUFFER, data)
        chunk = 4096
        for i, off in enumerate(range(0, len(data), chunk)):
            attr = rm.ADMA2_TRAN_VALID | (rm.ADMA2_END if off + chunk >= len(data) else 0)
            length = min(chunk, len(data) - off)
            mem.write(TABLE + 8 * i, attr.to_bytes(2, "little") + length.to_bytes(2, "little")
                      + (BUFFER + off).to_bytes(4, "little"))
        bus.wr(rm.SDHCI_HOST_CONTROL, 8, rm.SDHCI_CTRL_8BITBUS | rm.SDHCI_CTRL_ADMA32)
        bus.wr(rm.SDHCI_ADMA_ADDRESS, 32, TABLE)
        tm |= rm.SDHCI_TRNS_DMA
    bus.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(7, 512))
    bus.wr(rm.SDHCI_BLOCK_COUNT, 16, blocks)
    bus.command(25, 0x1000, R1 | rm.SDHCI_CMD_DATA, tm)
    pos = 0
    while True:
        status = bus.wait(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_SPACE_AVAIL)
        if status & rm.SDHCI_INT_SPACE_AVAIL:
            bus.wr(rm.SDHCI_INT_STATUS, 32, rm.SDHCI_INT_SPACE_AVAIL)
            while pos < len(data) and bus.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_SPACE_AVAILABLE:
                for i in range(pos, pos + 512, 4):
                    bus.wr(rm.SDHCI_BUFFER, 32, int.from_bytes(data[i:i + 4], "little"))
                pos += 512
        if status & rm.SDHCI_INT_DATA_END:
            bus.wr(rm.SDHCI_INT_STATUS, 32, 0xFFFFFFFF)
            return


def run(mode: str, blocks: int) -> tuple[float, float, int]:
    """(wall s, CPU s of the timed write, simulated ps from CMD25 issue to Transfer Complete seen)."""
    ctl = SdhciController(controller_preset("v3"), EmmcCard(card_preset("emmc51")), HostMemory())
    bus = bring_up(ctl)
    t0 = bus.t
    gc.collect()              # keep earlier runs' garbage out of the timed region
    w0, c0 = time.perf_counter(), time.process_time()
    write_64k(bus, mode, blocks)
    return time.perf_counter() - w0, time.process_time() - c0, bus.t - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per mode (median reported)")
    parser.add_argument("--blocks", type=int, default=128, help="512-byte blocks per CMD25")
    args = parser.parse_args(argv)
    if args.runs < 1 or not 1 <= args.blocks <= 0xFFFF:
        parser.error("--runs must be >= 1 and --blocks in 1..65535")
    print(f"CMD25 + Auto CMD12, {args.blocks} x 512 B, 8-bit SDR 50 MHz, card emmc51, median of {args.runs}")
    print(f"{'mode':<6} {'wall ms':>9} {'cpu ms':>9} {'simulated us':>14}")
    for mode in ("pio", "sdma", "adma"):
        results = [run(mode, args.blocks) for _ in range(args.runs)]
        wall, cpu, sim = (statistics.median(r[i] for r in results) for i in range(3))
        print(f"{mode:<6} {wall * 1e3:9.2f} {cpu * 1e3:9.2f} {sim / 1e6:14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
