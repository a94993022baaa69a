"""Generated panic text looks like a kmsg dump and is a pure function of the seed."""
import random
import re

import pytest

from sdhci.pstore import build_kmsg_zone, panic_text, parse_kmsg_zone

LINE_RE = re.compile(rb"<([0-7])>\[ *(\d+)\.(\d{6})\] (.*)\n")


def lines_of(text: bytes) -> list[re.Match]:
    out = []
    for raw in text.splitlines(keepends=True):
        m = LINE_RE.fullmatch(raw)
        assert m, raw
        assert raw.index(b"]") - raw.index(b"[") - 1 >= 12    # "%5lu.%06lu": at least 12 characters
        out.append(m)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_dmesg_format_monotonic_and_ends_in_panic(seed):
    text = panic_text(random.Random(seed), 16384, 1234.5)
    lines = lines_of(text)
    times = [int(m[2]) * 1_000_000 + int(m[3]) for m in lines]
    assert times == sorted(times)
    assert times[-1] == 1_234_500_000                          # the dump happens at uptime
    msgs = [m[4] for m in lines]
    assert any(m.startswith(b"Kernel panic - not syncing: ") for m in msgs)
    assert any(re.match(rb"CPU: \d PID: \d+ Comm: ", m) for m in msgs)
    assert b"Call trace:" in msgs
    assert msgs[-1] == b"Memory Limit: none"
    assert 16384 - 200 < len(text) <= 16384                    # filled to within one line


def test_deterministic_per_seed():
    a = panic_text(random.Random(7), 8192, 99.0)
    assert a == panic_text(random.Random(7), 8192, 99.0)
    assert a != panic_text(random.Random(8), 8192, 99.0)


def test_small_size_keeps_newest_whole_lines():
    text = panic_text(random.Random(3), 300, 5.0)
    assert len(text) <= 300
    assert text.endswith(b"] Memory Limit: none\n")
    lines_of(text)


def test_zero_uptime_and_bad_arguments():
    lines_of(panic_text(random.Random(1), 4096, 0.0))
    with pytest.raises(ValueError):
        panic_text(random.Random(1), -1, 1.0)
    with pytest.raises(ValueError):
        panic_text(random.Random(1), 10, float("nan"))


def test_fills_a_default_zone():
    text = panic_text(random.Random(11), 200_000, 86_400.25)
    rec = parse_kmsg_zone(build_kmsg_zone(text, zone_size=65536, reason=1, counter=1, tv_sec=0, tv_nsec=0))
    assert rec.datalen > 65536 - 12 - 300                     # nearly full, whole lines
    assert rec.text.endswith(b"Memory Limit: none\n")


@pytest.mark.parametrize("n", [1, 2, 3, 9, 23, 1000, 31_901, 200_000_001, 2**32 + 5])
def test_filler_draws_are_the_ones_random_makes(n):
    """The filler loop's draws (a template, then its fields) are random.Random's own randrange/choice values,
    and leave the generator where those leave it: the text for a seed is what those calls would make."""
    from sdhci.pstore.panic_text import _below
    for seed in range(50):
        ours, python = random.Random(seed), random.Random(seed)
        assert [_below(ours.getrandbits, n) for _ in range(20)] == [python.randrange(n) for _ in range(20)]
        assert ours.getstate() == python.getstate()
        seq = range(100, 100 + n) if n < 10**6 else None
        if seq is not None:
            assert seq[_below(ours.getrandbits, n)] == python.choice(seq)
