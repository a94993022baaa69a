"""Each weakness of the mmcpstore patch: reproduced by the port, detected and named by the emulator."""
from __future__ import annotations

from emmc_card.storage import USER
from sdhci.config import load_config
from sdhci.driver.mmc_core import EBUSY, KernelOops
from sdhci.driver.ops import MemWrite
from sdhci.emulation import PanicSession, run_panic_write, run_panic_writes

P5_START = 135168
NO_CACHE = "run.enable_cache=false"


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_stall_longer_than_poll_timeout_is_silent_loss() -> None:
    result = run_panic_write(load_config(None, ["run.stall_ms=5000", NO_CACHE]))
    assert result.returned == 0
    assert not result.durable and result.silent_loss
    assert "errors-swallowed" in _codes(result)
    assert "-110" in result.findings[_codes(result).index("errors-swallowed")].message
    # The poll gives up after 160 ms (+ at most one iteration of 1.2 us), long before the 5 s stall ends.
    assert 160_000_000_000 <= result.total_ps < 160_010_000_000
    # 160 ms / (150 ns read + 50 ns overhead + 1000 ns interval) = 133333.3 iterations, plus a handful
    # of other polls (inhibit, buffer) before it.
    assert 133_334 <= result.poll_iterations <= 133_400
    # The card holds DAT0 busy for the whole wait (the controller's data timeout is running).
    assert result.phases_ps["busy"] > 159_000_000_000


def test_timeout_below_one_ms_truncates_to_zero() -> None:
    # TAAC 10 us, R2W_FACTOR 0: 10 us x 10 = 100 us -> 100000 ns / 1000000 = 0 ms.
    result = run_panic_write(load_config(None, ["card.taac_ns=10000", "card.r2w_factor=0",
                                                "card.timing.nac_cycles_min=2", "card.timing.nac_cycles_max=2", NO_CACHE]))
    assert (result.data_timeout_ns, result.poll_timeout_ms) == (100_000, 0)
    assert result.returned == 0 and result.silent_loss
    assert {"timeout-truncated", "errors-swallowed"} <= set(_codes(result))
    assert result.commands == []                 # it returned before CMD25 even reached the bus


def test_byte_addressed_card_lands_at_byte_offset_equal_to_sector_number() -> None:
    session_config = load_config(None, ["card_preset='emmc-2gb-byte'"])
    result = run_panic_write(session_config)
    assert result.returned == 0 and not result.durable and result.silent_loss
    finding = result.findings[_codes(result).index("byte-addressing")]
    assert f"byte {P5_START}" in finding.message and f"byte {P5_START * 512}" in finding.message


def test_byte_addressed_bytes_on_the_medium() -> None:
    config = load_config(None, ["card_preset='emmc-2gb-byte'"])
    session = PanicSession(config)
    session.initialise()
    session.register()
    record = bytes([0x5A]) * 65536
    assert session.panic_write(record, 0, 128) == 0
    t = session.runner.t_ps + 1_000_000_000_000        # long after programming ended
    session.card.state(t)
    assert session.card.read(USER, P5_START, len(record)) == record          # byte 135168 = sector 264
    assert session.card.read(USER, P5_START * 512, 512) != record[:512]      # not in p5


def test_cache_on_is_not_durable_cache_off_is() -> None:
    cached = run_panic_write(load_config(None, []))
    assert cached.returned == 0 and not cached.durable and cached.silent_loss
    assert "cache-not-flushed" in _codes(cached)
    uncached = run_panic_write(load_config(None, [NO_CACHE]))
    assert uncached.durable and not uncached.silent_loss and uncached.findings == []


def test_single_then_multi_sector_write_hits_null_stop() -> None:
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x11" * 512, 0, 1), (b"\x22" * 1024, 4, 2)])
    assert [c.index for c in result.commands] == [24]
    assert result.durable                                   # the first (single-sector) write is fine
    assert result.writes == [(0, 1, 0, False), (4, 2, None, False)]
    assert "stop-null" in _codes(result)
    assert "mrq->stop" in result.findings[_codes(result).index("stop-null")].message


def test_no_bound_check_past_the_partition() -> None:
    # p5 has 2048 sectors; 2040 + 16 runs 8 sectors into whatever follows.
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x33" * 8192, 2040, 16)])
    assert result.returned == 0 and result.durable
    message = result.findings[_codes(result).index("no-bound-check")].message
    assert "2056" in message and f"{P5_START + 2040}..{P5_START + 2055}" in message


def test_second_write_in_the_same_panic_gets_ebusy() -> None:
    record = b"\x44" * 65536
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(record, 0, 128), (record, 128, 128)])
    assert result.writes == [(0, 128, 0, False), (128, 128, -EBUSY, False)]
    assert "claim-never-released" in _codes(result)


def test_partition_zero_starts_at_sector_zero_and_is_refused() -> None:
    result = run_panic_write(load_config(None, ["pstore.blkdev='/dev/mmcblk0p0'"]))
    assert result.writes == [] and result.returned != 0 and not result.silent_loss
    assert "start-sector-zero" in _codes(result)


def test_unregister_without_registration_dereferences_null() -> None:
    result = run_panic_writes(load_config(None, ["pstore.blkdev='/dev/mmcblk0p0'"]), [], unregister=True)
    assert "unregister-null" in _codes(result)
    registered = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x55" * 512, 0, 1)], unregister=True)
    assert "unregister-null" not in _codes(registered)


def test_host_without_poll_ops_does_not_register() -> None:
    session = PanicSession(load_config(None, []))
    session.initialise()
    session.host.mmc.ops.req_completion_poll = None
    session.register()
    assert not session.mmcpstore.registered
    assert session.panic_write(b"\0" * 512, 0, 1) is None


def test_request_above_max_req_size_is_swallowed_too() -> None:
    # 2048 sectors = 1 MiB > sdhci's 512 KiB max_req_size: mmc_start_request() returns -EINVAL
    # without touching the bus, the poll waits out its 160 ms, and the write "succeeds".
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x66" * (2048 * 512), 0, 2048)])
    assert result.returned == 0 and result.silent_loss and result.commands == []
    message = result.findings[_codes(result).index("errors-swallowed")].message
    assert "mmc_start_request() = -22" in message and "req_completion_poll() = -110" in message
    rejected = result.findings[_codes(result).index("request-rejected")].message
    assert "2048 blocks x 512 bytes = 1048576 bytes exceed the host's max_req_size 524288" in rejected
    assert "no command reached the bus" in rejected and "polled 160 ms" in rejected


def test_sector_offset_is_truncated_to_32_bits() -> None:
    # (135168 + 2^32) as an unsigned int is 135168: the write lands on the partition's first sector.
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x77" * 512, 2 ** 32, 1)])
    assert result.start_sector == P5_START and not result.durable
    message = result.findings[_codes(result).index("no-bound-check")].message
    assert f"truncated to 32 bits: absolute sectors {P5_START}..{P5_START}" in message


def test_sdma_bounce_buffer_limits_a_request_to_64k() -> None:
    # An SDMA-only host has max_segs 1, so sdhci_allocate_bounce_buffer() sets max_req_size to its 64 KiB:
    # 129 sectors (66048 bytes) make mmc_mrq_prep() return -EINVAL, swallowed like every other error.
    config = load_config(None, ["run.transfer='sdma'", NO_CACHE])
    result = run_panic_writes(config, [(b"\x42" * (129 * 512), 0, 129)])
    assert result.returned == 0 and result.silent_loss and result.commands == []
    assert "mmc_start_request() = -22" in result.findings[_codes(result).index("errors-swallowed")].message
    rejected = result.findings[_codes(result).index("request-rejected")].message
    assert "129 blocks x 512 bytes = 66048 bytes exceed the host's max_req_size 65536" in rejected
    assert "64 KiB bounce buffer" in rejected
    # 128 sectors = 64 KiB exactly still goes.
    assert run_panic_writes(config, [(b"\x42" * (128 * 512), 0, 128)]).durable


def test_sg_length_past_the_callers_buffer_is_not_checked() -> None:
    # sg_init_one(&sg, buf, nsects << 9) trusts nsects: 4 sectors from a 1-sector buffer go out in full
    # (the C code would DMA whatever follows the buffer; the port sends zeros).
    result = run_panic_writes(load_config(None, [NO_CACHE]), [(b"\x99" * 512, 0, 4)])
    assert result.returned == 0 and [c.index for c in result.commands] == [25, 12] and result.sectors == 4
    dma = [r.op.data for r in result.op_log if isinstance(r.op, MemWrite) and len(r.op.data) == 4 * 512]
    assert dma == [b"\x99" * 512 + bytes(3 * 512)]


def test_panic_write_after_unregister_dereferences_the_card_first() -> None:
    # mmcpstore_panic_write_req() starts with host = card->host; unregister_mmcpstore() left cxt->card NULL
    # (and cxt->mrq dangling), so the card is the first NULL dereference.
    session = PanicSession(load_config(None, [NO_CACHE]))
    session.initialise()
    session.register()
    session.unregister()
    gen = session.mmcpstore.mmcpstore_panic_write(b"\0" * 512, 0, 1)
    try:
        session.runner.run(gen)
    except KernelOops as oops:
        assert oops.code == "card-null" and "cxt->card" in str(oops)
    else:
        raise AssertionError("no NULL dereference")


def _truncated(*overrides: str) -> str:
    result = run_panic_write(load_config(None, list(overrides)))
    return result.findings[_codes(result).index("timeout-truncated")].message


def test_timeout_truncation_says_whether_it_cost_the_write() -> None:
    # TAAC 20 us x 10 = 200 us, truncated to a 0 ms poll; an 8-block (4 KiB) write into the cache completes
    # about 130 us after the poll began: within the 200 us the kernel meant. It bit.
    bit = _truncated("card.taac_ns=20000", "card.r2w_factor=0", "pstore.kmsg_size=4")
    assert "it bit: the poll gave up after 0 ms" in bit and "within the untruncated 200.000 us" in bit
    # TAAC 10 us x 10 = 100 us; the 64 KiB write needs about 2 ms (128 blocks of 530 clocks at 50 MHz
    # alone take 1.357 ms): the full timeout would not have saved it either.
    not_cause = _truncated("card.taac_ns=10000", "card.r2w_factor=0")
    assert "not the cause here: Transfer Complete came only" in not_cause
    assert "beyond the untruncated 100.000 us as well" in not_cause
    # TAAC 35 us x 10 x 2^4 = 5.6 ms, truncated to 5 ms: the 2 ms write completes well within it. Harmless.
    harmless = _truncated("card.taac_ns=35000")
    assert "5600000 ns became 5 ms" in harmless and "harmless here" in harmless
