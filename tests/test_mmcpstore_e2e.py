"""End to end: the default panic write, its bytes on the medium, its timing bounds, determinism."""
from __future__ import annotations

import random

import pytest

from emmc_card.bus import COMMAND_BITS, CRC_STATUS_BITS, CRC_STATUS_DELAY, NCR_MIN, NWR, SHORT_RESPONSE_BITS, \
    data_block_cycles
from sdhci import regmap as R
from sdhci.config import load_config
from sdhci.controller import Fault
from sdhci.driver.ops import MemWrite, Read, Write
from sdhci.emulation import EmulationError, run_panic_write, run_panic_writes
from sdhci.pstore import build_kmsg_zone, panic_text

P5_START = 135168           # default table: mmcblk0p5 starts at sector 135168
PERIOD_PS = 20_000          # 200 MHz base / 4 = 50 MHz SD clock


def _expected_record(seed: int = 1) -> bytes:
    config = load_config(None, [])
    text = panic_text(random.Random(seed), 64 * 1024, config.run.uptime_s)
    # First panic on a blank partition: zone 0, panic counter 1.
    return build_kmsg_zone(text, zone_size=64 * 1024, reason=1, counter=1, tv_sec=config.run.panic_time_s,
                           tv_nsec=0, oopscount=1)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory):
    image = tmp_path_factory.mktemp("img") / "emmc.img"
    result = run_panic_write(load_config(None, [f"run.image={str(image)!r}"]))
    return result, image


def _zone_in_image(image, length: int) -> bytes:
    with open(image, "rb") as f:
        f.seek(P5_START * 512)
        return f.read(length)


def test_default_record_is_lost_from_the_image_as_the_verdict_says(default_run) -> None:
    # Cache on, power cut at return: the 128 cached blocks die with the power; the kept image is that medium.
    result, image = default_run
    assert result.verdict == "lost" and result.returned == 0 and result.silent_loss
    assert _zone_in_image(image, 64 * 1024) == bytes(64 * 1024)     # a blank partition, still blank
    assert result.writes == [(0, 128, 0, False)]
    assert (result.start_sector, result.sectors) == (P5_START, 128)


def test_record_bytes_are_in_the_image_without_cache(tmp_path) -> None:
    image = tmp_path / "emmc.img"
    result = run_panic_write(load_config(None, [f"run.image={str(image)!r}", "run.enable_cache=false"]))
    record = _expected_record()
    assert _zone_in_image(image, len(record)) == record
    assert result.verdict == "durable" and (result.medium.intact_bytes, result.medium.wrong_bytes) == (65536, 0)


def test_default_shape(default_run) -> None:
    result, _ = default_run
    assert result.transfer == "adma2"
    assert (result.bus_width, result.ddr, result.sd_clock_hz) == (8, False, 50_000_000)
    # no Auto CMD12 without the quirk: sdhci.c sends CMD12 itself (argument 0, an ordinary stop)
    assert result.commands == [(25, P5_START, False), (12, 0, False)]
    assert result.data_timeout_ns == 160_000_000
    assert result.poll_timeout_ms == 160
    # TMCLK 50 MHz: 8192 * 1000 // 50000 = 163 us; 163 << 10 = 166912 us >= 160000 -> 0xA.
    assert result.timeout_control == 0xA
    assert result.init_ps > 0


def test_phases_partition_the_total(default_run) -> None:
    result, _ = default_run
    # the report's phases (README, "What the report means"), written out rather than read from the code
    assert set(result.phases_ps) == {"command_response", "data", "crc_status", "busy", "dma", "host_access", "other"}
    assert sum(result.phases_ps.values()) == result.total_ps
    # 128 blocks of 512 bytes on 8 lines: 1 + 512 + 16 + 1 = 530 cycles each.
    assert data_block_cycles(512, 8) == 530
    assert result.phases_ps["data"] == 128 * 530 * PERIOD_PS
    assert result.phases_ps["crc_status"] == 128 * CRC_STATUS_BITS * PERIOD_PS


def test_total_is_at_least_the_bus_limit(default_run) -> None:
    result, _ = default_run
    # CMD25 + NCR + R1 + NWR, 128 x (block + CRC status delay + token), CMD12 + NCR + R1b.
    cycles = (COMMAND_BITS + NCR_MIN + SHORT_RESPONSE_BITS + NWR
              + 128 * (530 + CRC_STATUS_DELAY + CRC_STATUS_BITS)
              + COMMAND_BITS + NCR_MIN + SHORT_RESPONSE_BITS)
    assert cycles == 68_934
    assert result.total_ps >= cycles * PERIOD_PS


def test_same_seed_same_result_other_seed_other_timing() -> None:
    a = run_panic_write(load_config(None, ["run.seed=7"]))
    b = run_panic_write(load_config(None, ["run.seed=7"]))
    c = run_panic_write(load_config(None, ["run.seed=8"]))
    assert (a.total_ps, a.phases_ps, a.trace, a.poll_iterations) == (b.total_ps, b.phases_ps, b.trace, b.poll_iterations)
    assert [(r.op, r.start_ps, r.value) for r in a.op_log] == [(r.op, r.start_ps, r.value) for r in b.op_log]
    assert a.total_ps != c.total_ps


def test_v1_pio_only_host_writes_the_record() -> None:
    result = run_panic_write(load_config(None, ["controller_preset='v1-pio'", "run.bus_width=4",
                                                "run.enable_cache=false"]))
    assert result.transfer == "pio"
    assert result.durable and result.returned == 0 and not result.findings
    assert result.register_accesses["burst_words"] == 128 * 128     # 128 blocks of 128 words
    assert result.bus_width == 4 and result.sd_clock_hz == 48_000_000
    # 4 lines: 1 + 1024 + 16 + 1 = 1042 cycles per block at 48 MHz (20833 ps).
    assert result.phases_ps["data"] == 128 * 1042 * 20_833


@pytest.mark.parametrize("transfer", ["pio", "sdma", "adma2"])
def test_every_transfer_mode_is_durable_without_cache(transfer: str) -> None:
    result = run_panic_write(load_config(None, [f"run.transfer={transfer!r}", "run.enable_cache=false"]))
    assert result.transfer == transfer
    assert result.durable and not result.silent_loss and result.findings == []


def test_auto_cmd12_quirk_uses_auto_cmd12() -> None:
    result = run_panic_write(load_config(None, ["platform_preset='arm64-soc-acmd12'", "run.enable_cache=false"]))
    auto = [e for e in result.trace if e.kind == "command" and e.detail.get("auto")]
    assert [e.cmd for e in auto] == [12]
    assert [(c.index, c.auto) for c in result.commands] == [(25, False), (12, True)] and result.durable


def test_slower_mmio_costs_more_host_time() -> None:
    arm = run_panic_write(load_config(None, ["run.transfer='pio'"]))
    x86 = run_panic_write(load_config(None, ["run.transfer='pio'", "platform_preset='x86-pci'"]))
    assert x86.phases_ps["host_access"] > arm.phases_ps["host_access"]


def test_ddr52_halves_the_data_phase() -> None:
    result = run_panic_write(load_config(None, ["run.ddr=true", "run.enable_cache=false"]))
    assert result.ddr and result.bus_width == 8 and result.durable
    # DDR on 8 lines: 512 bytes in 256 clocks; 1 + 256 + 16 + 1 = 274 cycles per block.
    assert data_block_cycles(512, 8, ddr=True) == 274
    assert result.phases_ps["data"] == 128 * 274 * PERIOD_PS


def test_sdma_restarts_at_the_512k_boundary() -> None:
    # Buffer 16 KiB below a 512 KiB boundary: the controller stops with DMA Interrupt there and
    # sdhci_data_irq() writes the next address (boundary-aligned) to SDMA System Address.
    result = run_panic_write(load_config(None, ["run.transfer='sdma'", "run.enable_cache=false",
                                                f"platform.dma_buffer_addr={0x8018_0000 - 0x4000}"]))
    assert result.durable
    sdma_writes = [r.op.value for r in result.op_log if type(r.op).__name__ == "Write" and r.op.offset == 0x00]
    assert sdma_writes == [0x8018_0000 - 0x4000, 0x8018_0000]


def test_record_above_64k_gets_32k_adma_descriptors() -> None:
    # 128 KiB record through ADMA2: sdhci_adma_table_pre() cuts the single 128 KiB segment into
    # 32 KiB, 32 KiB and a 64 KiB tail (length field 0), then NOP|END.
    result = run_panic_writes(load_config(None, ["run.enable_cache=false"]), [(bytes(range(256)) * 512, 0, 256)])
    assert result.durable
    tables = [r.op.data for r in result.op_log if isinstance(r.op, MemWrite) and r.op.addr == 0x8000_0000]
    assert [(d[0], int.from_bytes(d[2:4], "little")) for d in (tables[0][i:i + 8] for i in range(0, 32, 8))] == \
        [(0x21, 0x8000), (0x21, 0x8000), (0x21, 0), (0x03, 0)]


def test_64bit_adma_when_the_platform_allows_64bit_dma() -> None:
    # v3 controller with 64-bit System Bus Support and no SDHCI_QUIRK2_BROKEN_64_BIT_DMA: ADMA64 in DMA
    # Select (0x18), 12-byte descriptors, ADMA System Address high word written (0), and no SDMA.
    config = load_config(None, ["run.enable_cache=false", "platform.quirk_broken_64bit_dma=false"])
    result = run_panic_write(config)
    assert result.durable and result.transfer == "adma2"
    writes = [r.op for r in result.op_log if isinstance(r.op, Write)]
    assert any(w.offset == R.SDHCI_HOST_CONTROL and w.value & R.SDHCI_CTRL_DMA_MASK == R.SDHCI_CTRL_ADMA64
               for w in writes)
    assert Write(R.SDHCI_ADMA_ADDRESS_HI, 32, 0) in writes
    table = next(r.op.data for r in result.op_log if isinstance(r.op, MemWrite) and r.op.addr == 0x8000_0000)
    assert len(table) == 2 * 12 and table[:4] == bytes.fromhex("2100" "0000")   # the 64 KiB record, then END
    with pytest.raises(EmulationError, match="SDMA"):
        run_panic_write(load_config(None, ["run.transfer='sdma'", "platform.quirk_broken_64bit_dma=false"]))


def test_data_crc_error_reads_the_command_register() -> None:
    # sdhci_data_irq(): a Data CRC Error is only an error if SDHCI_GET_CMD(Command) is not CMD14 (bus test),
    # so the driver reads the Command register (16 bits) before failing the data and resetting the lines.
    config = load_config(None, ["run.enable_cache=false"])
    config.controller.faults.append(Fault("data_crc", block=2))     # blocks 0, 1: the two EXT_CSD reads
    result = run_panic_write(config)
    ops = [r.op for r in result.op_log]
    i = ops.index(Read(R.SDHCI_COMMAND, 16))
    assert ops[i + 1] == Write(R.SDHCI_SOFTWARE_RESET, 8, R.SDHCI_RESET_CMD)
    assert result.returned == 0 and "errors-swallowed" in [f.code for f in result.findings]
