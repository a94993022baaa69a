"""The CPU/interconnect side of a platform: what a register access costs, where buffers live.

The SD bus is timed exactly by the controller model; the host's own costs
are parameters, calibrated rather than derived (docs/kit.md). The presets are estimates of typical
systems, to be calibrated against measurements or RTL; every number says
what it stands for.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from emmc_card.configtools import ConfigError, from_dict, preset_table
from sdhci.controller.rtl_calibration import RTL_BASE_CLK_MHZ, clk_ps


@dataclass(frozen=True)
class PlatformConfig:
    """Host platform costs (integer ps) and the driver's host-side choices.

    mmio_read_ps: one uncached register read (readl/readw/readb), issue to
        data back in the CPU; the register is sampled at the start of it.
    mmio_write_ps: one register write as the CPU sees it (writel with its
        barrier; posted, so shorter than a read).
    burst_word_read_ps / burst_word_write_ps: one 32-bit access inside a
        back-to-back loop on the Buffer Data Port (PIO).
    poll_overhead_ps: the rest of one polling-loop iteration besides the read
        (ktime_get, compare, branch), added to every Poll iteration.
    poll_interval_ns: the udelay between two status reads in
        req_completion_poll (the panic path's busy-wait).
    runtime_pm_active: pm_runtime_active(mmc_dev(host)) at panic time; false
        makes mmc_claim_host_async fail with -EBUSY.
    quirk_multiblock_read_acmd12: SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12, which
        makes sdhci.c use Auto CMD12 (host->flags |= SDHCI_AUTO_CMD12);
        without it the driver sends CMD12 itself after the data.
    quirk_broken_64bit_dma: SDHCI_QUIRK2_BROKEN_64_BIT_DMA: sdhci_set_dma_mask()
        keeps a 32-bit DMA mask, so a controller advertising 64-bit System
        Bus Support still gets 32-bit ADMA2 descriptors and keeps SDMA.
        False: 64-bit ADMA2 (12-byte descriptors, DMA Select ADMA64, ADMA
        System Address high word) and, without v4 mode, no SDMA.
    dma_buffer_addr: host-RAM address of the panic record buffer (DMA modes;
        with SDMA it is sdhci's 64 KiB bounce buffer the record is copied to).
    adma_table_addr: host-RAM address of the ADMA2 descriptor table.
    """
    name: str = "arm64-soc"
    mmio_read_ps: int = 150_000
    mmio_write_ps: int = 40_000
    burst_word_read_ps: int = 120_000
    burst_word_write_ps: int = 30_000
    poll_overhead_ps: int = 50_000
    poll_interval_ns: int = 1_000
    runtime_pm_active: bool = True
    quirk_multiblock_read_acmd12: bool = False
    quirk_broken_64bit_dma: bool = True
    dma_buffer_addr: int = 0x8010_0000
    adma_table_addr: int = 0x8000_0000

    def validate(self) -> None:
        """Reject negative costs and misaligned or out-of-range DMA addresses."""
        for key in ("mmio_read_ps", "mmio_write_ps", "burst_word_read_ps",
                    "burst_word_write_ps", "poll_overhead_ps", "poll_interval_ns"):
            if getattr(self, key) < 0:
                raise ConfigError(key, f"must be >= 0, not {getattr(self, key)}")
        if self.mmio_read_ps + self.poll_overhead_ps + self.poll_interval_ns * 1000 == 0:
            raise ConfigError("poll_interval_ns", "a poll iteration must take some time")
        for key in ("dma_buffer_addr", "adma_table_addr"):
            addr = getattr(self, key)
            if not 0 <= addr <= 0xFFFF_FFFF or addr % 8:
                raise ConfigError(key, f"must be an 8-byte aligned 32-bit address, not {addr:#x}")


# The kit's RTL bench (tests/cocotb, rtl_model/sdhci_axil driven by a
# cocotbext-axi master on sdhci_top's clk): an AXI4-Lite access takes 3 clk
# from its start to its response (60 ns at 50 MHz), reads and writes alike,
# so a 128-word PIO burst lasts 384 clk (7.68 us). Measured with the kit's
# scoreboard (tests/cocotb/bench_kit_rtl.py); see rtl_model/README.md.
AXIL_ACCESS_CLKS = 3


def rtl_platform(base_mhz: int = RTL_BASE_CLK_MHZ, poll_interval_ns: int = 1_000,
                 auto_cmd12: bool = False) -> PlatformConfig:
    """Register costs of the kit's AXI4-Lite bench at BASE_CLK_MHZ = base_mhz; the CPU adds nothing.

    auto_cmd12: SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12, with which sdhci.c lets
    the controller send CMD12 itself (Linux's default is without: CMD12 by hand).
    """
    access = AXIL_ACCESS_CLKS * clk_ps(base_mhz)
    return PlatformConfig(name="cocotb-axil", mmio_read_ps=access, mmio_write_ps=access,
                          burst_word_read_ps=access, burst_word_write_ps=access, poll_overhead_ps=0,
                          poll_interval_ns=poll_interval_ns, quirk_multiblock_read_acmd12=auto_cmd12)


#: Named platforms. arm64-soc: SDHCI on the SoC's peripheral bus (APB/AXI
#: behind an interconnect), register read ~150 ns. x86-pci: SDHCI behind
#: PCIe, where an uncached read is a round trip of roughly 1 us and posted
#: writes are cheap to issue. cocotb-axil: the kit's AXI4-Lite bench around
#: rtl_model/sdhci_top at its default 50 MHz clk (with controller preset sdhci-top).
PLATFORM_PRESETS: dict[str, PlatformConfig] = {
    "arm64-soc": PlatformConfig(),
    "x86-pci": PlatformConfig(
        name="x86-pci",
        mmio_read_ps=900_000,
        mmio_write_ps=100_000,
        burst_word_read_ps=900_000,
        burst_word_write_ps=60_000,
        poll_overhead_ps=30_000,
        quirk_multiblock_read_acmd12=False,
    ),
    "arm64-soc-acmd12": PlatformConfig(name="arm64-soc-acmd12", quirk_multiblock_read_acmd12=True),
    "cocotb-axil": rtl_platform(),
}


def platform_preset(name: str) -> PlatformConfig:
    """A copy of the named platform preset, or the [platform] table of a preset file (NAME.toml:
    the register costs `sdhci-emu rtl calibrate` measured on the DUT's bus); ConfigError for an
    unknown name or a file without the table."""
    if name.endswith(".toml"):
        return from_dict(PlatformConfig, preset_table(Path(name), "platform"), "platform")
    try:
        return replace(PLATFORM_PRESETS[name])
    except KeyError:
        raise ConfigError("platform.preset",
                          f"unknown platform {name!r} (known: {', '.join(PLATFORM_PRESETS)}, "
                          f"or a FILE.toml)") from None
