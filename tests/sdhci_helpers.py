"""Register-level helpers for the SDHCI controller tests: a tiny driver over the model.

`RegHost` keeps the host's time (ps), does register accesses the way a simple
polled driver does (each access costs MMIO_PS), and jumps over idle time with
next_event_ps() while polling. It brings up power and clock, initialises an
eMMC (CMD0/1/2/3/7, bus width) and runs single/multi-block transfers by PIO,
SDMA or ADMA2.
"""
from __future__ import annotations

from emmc_helpers import HOST_OCR, RCA

from emmc_card import CardConfig, CardTiming, EmmcCard, TimeDistribution
from sdhci import regmap as rm
from sdhci.controller import ControllerConfig, SdhciController, controller_preset
from sdhci.memory import HostMemory

MMIO_PS = 10_000           # one register access, 10 ns
R1 = rm.SDHCI_CMD_RESP_SHORT | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R1B = rm.SDHCI_CMD_RESP_SHORT_BUSY | rm.SDHCI_CMD_CRC | rm.SDHCI_CMD_INDEX
R2 = rm.SDHCI_CMD_RESP_LONG | rm.SDHCI_CMD_CRC
R3 = rm.SDHCI_CMD_RESP_SHORT
ERRORS = rm.SDHCI_INT_ERROR_MASK
CMD_ERRORS = rm.SDHCI_INT_TIMEOUT | rm.SDHCI_INT_CRC | rm.SDHCI_INT_END_BIT | rm.SDHCI_INT_INDEX


def fixed_card(ncr: int = 2, nac: int = 2, program_us: float = 100.0, cache_kib: int = 0,
               image_path=None, **timing) -> EmmcCard:
    """An eMMC with fixed timing so cycle counts are deterministic."""
    t = CardTiming(ncr_cycles_min=ncr, ncr_cycles_max=ncr, nac_cycles_min=nac, nac_cycles_max=nac,
                   program=TimeDistribution("fixed", value_us=program_us),
                   cached_write=TimeDistribution("fixed", value_us=program_us),
                   stop_busy=TimeDistribution("fixed", value_us=0.0),
                   init_busy_us=0.0, cmd6_busy_us=1.0, **timing)
    return EmmcCard(CardConfig(cache_size_kib=cache_kib, timing=t), image_path=image_path)


class RegHost:
    """A polled register-level driver for tests."""

    def __init__(self, ctl: SdhciController, t_ps: int = 0) -> None:
        self.ctl = ctl
        self.t = t_ps

    # ---- raw access ----
    def rd(self, offset: int, width: int = 32) -> int:
        self.t += MMIO_PS
        return self.ctl.read(offset, width, self.t)

    def wr(self, offset: int, width: int, value: int) -> None:
        self.t += MMIO_PS
        self.ctl.write(offset, width, value, self.t)

    def poll(self, offset: int, width: int, mask: int, want: int, limit_ps: int = 10**13) -> int:
        """Read until (value & mask) == want, jumping to the next model event between reads."""
        end = self.t + limit_ps
        while True:
            v = self.rd(offset, width)
            if v & mask == want:
                return v
            nxt = self.ctl.next_event_ps()
            if nxt is None or self.t > end:
                raise AssertionError(f"stuck polling 0x{offset:02X}: 0x{v:X} (mask 0x{mask:X})")
            self.t = max(self.t, nxt)

    def wait_int(self, mask: int, errors: int = ERRORS) -> int:
        """Wait for any of `mask` or of `errors` in the interrupt status; returns the status."""
        end = self.t + 10**13
        while True:
            v = self.rd(rm.SDHCI_INT_STATUS)
            if v & (mask | errors):
                return v
            nxt = self.ctl.next_event_ps()
            if nxt is None or self.t > end:
                raise AssertionError(f"no interrupt 0x{mask:X}; status 0x{v:X}")
            self.t = max(self.t, nxt)

    def ack(self, bits: int = 0xFFFFFFFF) -> None:
        self.wr(rm.SDHCI_INT_STATUS, 32, bits)

    # ---- bring-up ----
    def set_clock(self, hz: int) -> int:
        """Program the SD clock to at most `hz`; returns the period in ps."""
        ctl = self.ctl
        base = ctl.config.capabilities.base_clock_mhz * 1_000_000
        if ctl.version >= rm.SDHCI_SPEC_300:
            n = 0 if hz >= base else -(-base // (2 * hz))
            div = ((n & 0xFF) << 8) | ((n >> 8) & 3) << 6
        else:
            d = 1
            while base // d > hz and d < 256:
                d *= 2
            div = (d // 2) << 8
        self.wr(rm.SDHCI_CLOCK_CONTROL, 16, 0)
        self.wr(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN)
        self.poll(rm.SDHCI_CLOCK_CONTROL, 16, rm.SDHCI_CLOCK_INT_STABLE, rm.SDHCI_CLOCK_INT_STABLE)
        self.wr(rm.SDHCI_CLOCK_CONTROL, 16, div | rm.SDHCI_CLOCK_INT_EN | rm.SDHCI_CLOCK_CARD_EN)
        return ctl.clock.period_ps

    def power_up(self, hz: int = 400_000) -> None:
        self.wr(rm.SDHCI_SOFTWARE_RESET, 8, rm.SDHCI_RESET_ALL)
        self.wr(rm.SDHCI_POWER_CONTROL, 8, rm.SDHCI_POWER_330 | rm.SDHCI_POWER_ON)
        self.wr(rm.SDHCI_INT_ENABLE, 32, 0xFFFFFFFF & ~rm.SDHCI_INT_CARD_INT)
        self.wr(rm.SDHCI_TIMEOUT_CONTROL, 8, 0xE)
        self.set_clock(hz)

    # ---- commands ----
    def command(self, index: int, arg: int, flags: int, mode: int | None = None) -> int:
        """Issue a command (Transfer Mode too if `mode`), wait for its response; returns status bits."""
        uses_dat = flags & rm.SDHCI_CMD_DATA or flags & rm.SDHCI_CMD_RESP_MASK == rm.SDHCI_CMD_RESP_SHORT_BUSY
        abort = flags & rm.SDHCI_CMD_ABORTCMD == rm.SDHCI_CMD_ABORTCMD
        inhibit = rm.SDHCI_CMD_INHIBIT | (rm.SDHCI_DATA_INHIBIT if uses_dat and not abort else 0)
        self.poll(rm.SDHCI_PRESENT_STATE, 32, inhibit, 0)
        self.wr(rm.SDHCI_ARGUMENT, 32, arg)
        if mode is None:
            self.wr(rm.SDHCI_COMMAND, 16, rm.SDHCI_MAKE_CMD(index, flags))
        else:
            self.wr(rm.SDHCI_TRANSFER_MODE, 32, mode | rm.SDHCI_MAKE_CMD(index, flags) << 16)
        status = self.wait_int(rm.SDHCI_INT_RESPONSE, CMD_ERRORS)
        self.ack(rm.SDHCI_INT_RESPONSE | (status & CMD_ERRORS))
        return status

    def r1(self, index: int, arg: int = 0, busy: bool = False) -> int:
        """R1/R1b command; waits out busy; returns the card status."""
        status = self.command(index, arg, R1B if busy else R1)
        assert not status & ERRORS, f"CMD{index}: 0x{status:08X}"
        if busy:
            s = self.wait_int(rm.SDHCI_INT_DATA_END)
            self.ack(s & (rm.SDHCI_INT_DATA_END | ERRORS))
        return self.rd(rm.SDHCI_RESPONSE)

    def init_card(self, width: int = 4, ddr: bool = False, hz: int = 25_000_000) -> None:
        """CMD0, CMD1 until ready, CMD2, CMD3, CMD7, then bus width (CMD6) and clock."""
        self.command(0, 0, 0)
        while True:
            st = self.command(1, HOST_OCR, R3)
            assert not st & ERRORS
            if self.rd(rm.SDHCI_RESPONSE) & 0x80000000:
                break
            self.t += 1_000_000_000
        assert not self.command(2, 0, R2) & ERRORS
        self.r1(3, RCA << 16)
        self.set_clock(hz)
        self.r1(7, RCA << 16, busy=True)
        if ddr:
            self.r1(6, (3 << 24) | (185 << 16) | (1 << 8), busy=True)      # HS_TIMING = 1
        if width != 1 or ddr:
            code = {1: 0, 4: 1, 8: 2}[width] + (4 if ddr else 0)
            self.r1(6, (3 << 24) | (183 << 16) | (code << 8), busy=True)   # BUS_WIDTH
        self.set_bus(width, ddr)

    def set_bus(self, width: int, ddr: bool = False) -> None:
        hc1 = self.rd(rm.SDHCI_HOST_CONTROL, 8) & ~(rm.SDHCI_CTRL_4BITBUS | rm.SDHCI_CTRL_8BITBUS)
        hc1 |= {1: 0, 4: rm.SDHCI_CTRL_4BITBUS, 8: rm.SDHCI_CTRL_8BITBUS}[width]
        self.wr(rm.SDHCI_HOST_CONTROL, 8, hc1)
        if ddr:
            self.wr(rm.SDHCI_HOST_CONTROL2, 16, rm.SDHCI_CTRL_UHS_DDR50)

    # ---- data ----
    def write_blocks(self, lba: int, data: bytes, dma: str = "pio", auto12: bool = True,
                     boundary_code: int = 0, adma_table: int = 0x100000, adma_chunk: int = 8192,
                     buffer_addr: int = 0x200000) -> int:
        """CMD24/CMD25 of `data` (multiple of 512) by PIO, SDMA or ADMA2; returns the final status."""
        n = len(data) // 512
        mem: HostMemory = self.ctl.memory
        mode = rm.SDHCI_TRNS_BLK_CNT_EN if n > 1 else 0
        if n > 1:
            mode |= rm.SDHCI_TRNS_MULTI | (rm.SDHCI_TRNS_AUTO_CMD12 if auto12 else 0)
        hc1 = self.rd(rm.SDHCI_HOST_CONTROL, 8) & ~rm.SDHCI_CTRL_DMA_MASK
        if dma == "sdma":
            mem.write(buffer_addr, data)
            self.wr(rm.SDHCI_DMA_ADDRESS, 32, buffer_addr)
            mode |= rm.SDHCI_TRNS_DMA
        elif dma == "adma":
            build_adma_table(mem, adma_table, buffer_addr, data, adma_chunk)
            self.wr(rm.SDHCI_HOST_CONTROL, 8, hc1 | rm.SDHCI_CTRL_ADMA32)
            self.wr(rm.SDHCI_ADMA_ADDRESS, 32, adma_table)
            mode |= rm.SDHCI_TRNS_DMA
        self.wr(rm.SDHCI_BLOCK_SIZE, 16, rm.SDHCI_MAKE_BLKSZ(boundary_code, 512))
        self.wr(rm.SDHCI_BLOCK_COUNT, 16, n)
        status = self.command(25 if n > 1 else 24, lba, R1 | rm.SDHCI_CMD_DATA, mode)
        assert not status & CMD_ERRORS, f"0x{status:08X}"
        pos = 0
        while True:
            s = self.wait_int(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_SPACE_AVAIL | rm.SDHCI_INT_DMA_END)
            if s & ERRORS:
                return s
            if s & rm.SDHCI_INT_SPACE_AVAIL:
                self.ack(rm.SDHCI_INT_SPACE_AVAIL)
                while pos < len(data) and self.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_SPACE_AVAILABLE:
                    for i in range(0, 512, 4):
                        self.wr(rm.SDHCI_BUFFER, 32, int.from_bytes(data[pos + i:pos + i + 4], "little"))
                    pos += 512
            if s & rm.SDHCI_INT_DMA_END and not s & rm.SDHCI_INT_DATA_END:
                self.ack(rm.SDHCI_INT_DMA_END)
                if dma == "sdma":      # resume at the address the controller reports (address update)
                    self.wr(rm.SDHCI_DMA_ADDRESS, 32, self.rd(rm.SDHCI_DMA_ADDRESS))
            if s & rm.SDHCI_INT_DATA_END:
                self.ack(0xFFFFFFFF)
                self.wr(rm.SDHCI_HOST_CONTROL, 8, hc1)
                return s

    def read_blocks(self, lba: int, n: int) -> bytes:
        """CMD17/CMD18 (Auto CMD12) of n blocks by PIO."""
        mode = rm.SDHCI_TRNS_READ | (rm.SDHCI_TRNS_BLK_CNT_EN | rm.SDHCI_TRNS_MULTI
                                     | rm.SDHCI_TRNS_AUTO_CMD12 if n > 1 else 0)
        self.wr(rm.SDHCI_BLOCK_SIZE, 16, 512)
        self.wr(rm.SDHCI_BLOCK_COUNT, 16, n)
        status = self.command(18 if n > 1 else 17, lba, R1 | rm.SDHCI_CMD_DATA, mode)
        assert not status & ERRORS, f"0x{status:08X}"
        out = bytearray()
        while True:
            s = self.wait_int(rm.SDHCI_INT_DATA_END | rm.SDHCI_INT_DATA_AVAIL)
            assert not s & ERRORS, f"0x{s:08X}"
            if s & rm.SDHCI_INT_DATA_AVAIL:
                self.ack(rm.SDHCI_INT_DATA_AVAIL)
                while self.rd(rm.SDHCI_PRESENT_STATE) & rm.SDHCI_DATA_AVAILABLE:
                    for _ in range(128):
                        out += self.rd(rm.SDHCI_BUFFER).to_bytes(4, "little")
            if s & rm.SDHCI_INT_DATA_END:
                self.ack(0xFFFFFFFF)
                return bytes(out)


def build_adma_table(mem: HostMemory, table: int, buffer_addr: int, data: bytes, chunk: int) -> None:
    """Descriptors of `chunk` bytes over a buffer, with a link in the middle and a NOP; End on the last."""
    mem.write(buffer_addr, data)
    pieces = [(buffer_addr + off, min(chunk, len(data) - off)) for off in range(0, len(data), chunk)]
    addr = table
    second = table + 0x1000                  # the link jumps here half-way
    for i, (a, n) in enumerate(pieces):
        if i == len(pieces) // 2 and i:
            adma2_desc(mem, addr, rm.ADMA2_VALID | rm.ADMA2_ACT_LINK, 0, second)
            addr = second
            adma2_desc(mem, addr, rm.ADMA2_VALID | rm.ADMA2_ACT_NOP, 0, 0)
            addr += 8
        last = i == len(pieces) - 1
        adma2_desc(mem, addr, rm.ADMA2_TRAN_VALID | (rm.ADMA2_END if last else 0), n & 0xFFFF, a)
        addr += 8


def adma2_desc(mem: HostMemory, addr: int, attr: int, length: int, target: int) -> None:
    """One 32-bit ADMA2 descriptor (attribute, length, address; little-endian) at `addr`."""
    mem.write(addr, attr.to_bytes(2, "little") + length.to_bytes(2, "little") + target.to_bytes(4, "little"))


def make(preset: str = "v3", card: EmmcCard | None = None, config: ControllerConfig | None = None,
         **card_kw) -> tuple[SdhciController, RegHost]:
    """A controller (preset or config) over a fixed-timing card, and a RegHost for it."""
    cfg = config if config is not None else controller_preset(preset)
    card = card if card is not None else fixed_card(**card_kw)
    ctl = SdhciController(cfg, card, HostMemory())
    return ctl, RegHost(ctl)
