"""Card-side timing: cycle counts, busy times, stalls and seeded reproducibility."""
import copy

from emmc_helpers import CLK_PS, CardHost

from emmc_card import CardConfig, CardTiming, EmmcCard, InjectedStall, TimeDistribution, card_preset
from emmc_card.bus import data_block_cycles
from emmc_card.crc import crc16_lines
from emmc_card.timing import CardTimer

US = 1_000_000   # ps
MS = 1000 * US


def run_writes(config: CardConfig, count: int = 64, cache: bool = False) -> list:
    """Outcomes of one CMD25 of `count` blocks + CMD12 + a flush, as a comparable list."""
    host = CardHost(EmmcCard(config))
    host.init(width=4)
    if cache:
        host.switch(33, 1)
    trace = [host.command(25, 1000)]
    trace += [host.write_block(bytes([i]) * 512) for i in range(count)]
    trace.append(host.command(12))
    host.wait_not_busy(trace[-1])
    trace.append(host.command(6, (3 << 24) | (32 << 16) | (1 << 8)))
    return trace


def test_same_seed_same_timeline_different_seed_different():
    slow = card_preset("emmc51-slow")
    a = run_writes(slow)
    assert a == run_writes(card_preset("emmc51-slow"))
    other = card_preset("emmc51-slow")
    other.seed = 2
    assert a != run_writes(other)
    cached = run_writes(card_preset("emmc51-slow"), cache=True)
    assert cached == run_writes(card_preset("emmc51-slow"), cache=True)


def test_ncr_in_configured_range():
    timing = CardTiming(ncr_cycles_min=2, ncr_cycles_max=64)
    host = CardHost(EmmcCard(CardConfig(timing=timing)))
    host.init()
    delays = {host.command(13, host.rca << 16).delay_cycles for _ in range(300)}
    assert min(delays) >= 2 and max(delays) <= 64 and len(delays) > 20
    fixed = CardHost(EmmcCard(CardConfig()))
    fixed.init()
    assert fixed.command(13, fixed.rca << 16).delay_cycles == 2


def test_nac_for_reads():
    host = CardHost(EmmcCard(CardConfig(timing=CardTiming(nac_cycles_min=40, nac_cycles_max=40))))
    host.init()
    host.r1(18, 0)
    assert [host.read_block().access_cycles for _ in range(3)] == [40, 40, 40]


def test_nac_is_bounded_by_taac_and_nsac_at_the_current_clock():
    # NAC max = 10 x (TAAC x f + 100 x NSAC) clocks (JESD84-B51 bus timing). TAAC 1 ms, NSAC 1:
    # at 400 kHz (2 500 000 ps): 10 x (1e-3 x 4e5 + 100) = 10 x 500 = 5000 clocks, below the
    # configured 100 000; at 50 MHz (20 000 ps): 10 x (5e4 + 100) = 501 000, above it.
    cfg = CardConfig(taac_ns=1_000_000, nsac=1,
                     timing=CardTiming(nac_cycles_min=100_000, nac_cycles_max=100_000))
    host = CardHost(EmmcCard(cfg))
    host.init()
    host.clk = 2_500_000
    host.r1(18, 0)
    assert host.read_block().access_cycles == 5000
    host.clk = CLK_PS
    assert host.read_block().access_cycles == 100_000


def test_injected_stall_adds_to_one_block():
    stall = InjectedStall(block=2, duration_ps=5 * MS)
    host = CardHost(EmmcCard(CardConfig(timing=CardTiming(injected_stalls=[stall]))))
    host.init(width=4)
    host.r1(25, 0)
    busy = []
    for i in range(4):
        host.t += (2 + data_block_cycles(512, 4)) * CLK_PS
        data = bytes([i]) * 512
        out = host.card.write_block(data, crc16_lines(data, 4), host.t, CLK_PS)
        token_end = host.t + (2 + 5) * CLK_PS            # CRC status: 2 clocks + 5-bit token
        busy.append(out.busy_until_ps - token_end)
        host.t = out.busy_until_ps
    # Program time fixed at 100 us; block 2 (0-based, lifetime count) adds 5 ms.
    assert busy == [100 * US, 100 * US, 100 * US + 5 * MS, 100 * US]


def test_gc_stalls_and_replayed_program_times():
    timing = CardTiming(program=TimeDistribution("replay", replay_us=[10.0, 20.0, 30.0]),
                        gc_stall_probability=1.0, gc_stall=TimeDistribution("fixed", value_us=1000.0))
    host = CardHost(EmmcCard(CardConfig(timing=timing)))
    host.init(width=4)
    host.r1(25, 0)
    busy = []
    for i in range(4):
        host.t += (2 + data_block_cycles(512, 4)) * CLK_PS
        out = host.card.write_block(bytes(512), crc16_lines(bytes(512), 4), host.t, CLK_PS)
        busy.append(out.busy_until_ps - (host.t + 7 * CLK_PS))
        host.t = out.busy_until_ps
    assert busy == [1010 * US, 1020 * US, 1030 * US, 1010 * US]


def test_lognormal_and_uniform_draws_stay_in_bounds():
    timing = CardTiming(program=TimeDistribution("lognormal", value_us=100.0, sigma=1.0, max_us=300.0),
                        cached_write=TimeDistribution("uniform", min_us=2.0, max_us=8.0))
    timer = CardTimer(CardConfig(timing=timing))
    programs = [timer.program_ps() for _ in range(2000)]
    cached = [timer.cached_write_ps() for _ in range(2000)]
    assert max(programs) == 300 * US and min(programs) > 0
    # Median of a log-normal is exp(mu) = value_us = 100 us; the sample median of 2000 draws has a
    # standard error of about 1.2533 x sigma / sqrt(2000) = 2.8 % in log terms, so 85..118 us is > 5 sigma.
    assert 85 * US < sorted(programs)[1000] < 118 * US
    assert 2 * US <= min(cached) and max(cached) <= 8 * US


def test_write_buffer_busy_only_when_full():
    host = CardHost(EmmcCard(CardConfig(timing=CardTiming(write_buffer_blocks=2))))
    host.init(width=4)
    host.r1(25, 0)
    host.t += (2 + data_block_cycles(512, 4)) * CLK_PS
    first = host.card.write_block(bytes(512), crc16_lines(bytes(512), 4), host.t, CLK_PS)
    assert first.busy_until_ps is None                    # one block waiting, room for another
    done0 = host.t + 7 * CLK_PS + 100 * US
    host.t += 7 * CLK_PS + (2 + data_block_cycles(512, 4)) * CLK_PS
    second = host.card.write_block(bytes(512), crc16_lines(bytes(512), 4), host.t, CLK_PS)
    assert second.busy_until_ps == done0                  # full until block 0 is programmed
    # CMD12: busy until block 1 is programmed (done0 + 100 us) plus stop_busy 10 us.
    host.t = second.busy_until_ps
    out = host.command(12)
    assert out.busy_until_ps == done0 + 100 * US + 10 * US


def test_partition_switch_busy_defaults_to_the_register_maximum():
    host = CardHost(EmmcCard(CardConfig()))          # PARTITION_SWITCH_TIME 3 = 30 ms
    host.init()
    out = host.command(6, (3 << 24) | (179 << 16) | (1 << 8))
    response_end = host.last_command_end + (out.delay_cycles + 48) * CLK_PS
    assert out.busy_until_ps == response_end + 30 * MS
    host.wait_not_busy(out)
    # Any other CMD6 (here HS_TIMING): GENERIC_CMD6_TIME 10 = 100 ms.
    out = host.command(6, (3 << 24) | (185 << 16) | (1 << 8))
    response_end = host.last_command_end + (out.delay_cycles + 48) * CLK_PS
    assert out.busy_until_ps == response_end + 100 * MS

def test_deep_copy_continues_the_same_timeline():
    """A copied card (e.g. for a what-if power cut) draws exactly what the original would."""
    timing = CardTiming(program=TimeDistribution("replay", replay_us=[10.0, 20.0, 30.0]))
    host = CardHost(EmmcCard(CardConfig(timing=timing)))
    host.init(width=4)
    host.write(24, 0, [bytes([1]) * 512], stop=False)       # replay value 10 us used
    twin = CardHost(copy.deepcopy(host.card), t_ps=host.t)
    twin.width = 4
    busy = []
    for h in (host, twin):
        h.r1(24, 1)
        h.t += (2 + data_block_cycles(512, 4)) * CLK_PS
        out = h.card.write_block(bytes(512), crc16_lines(bytes(512), 4), h.t, CLK_PS)
        busy.append(out.busy_until_ps - (h.t + 7 * CLK_PS))
    assert busy == [20 * US, 20 * US]                       # both continue the replay list
    twin.card.power_cut(twin.t)
    assert host.card.powered and host.card.read(0, 0, 512) == bytes([1]) * 512
