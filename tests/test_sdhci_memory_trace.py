"""HostMemory (sparse RAM) and the bus trace helpers."""
from __future__ import annotations

import pytest

from sdhci.memory import HostMemory
from sdhci.trace import BusEvent, events, format_trace


def test_host_memory_sparse_across_pages() -> None:
    mem = HostMemory()
    assert mem.read(0x1234_5678, 8) == bytes(8)                  # never written: zero
    blob = bytes(range(256)) * 40                                 # 10 KiB across three pages
    mem.write(0xFFF00, blob)
    assert mem.read(0xFFF00, len(blob)) == blob
    assert mem.read(0xFFEFF, 2) == b"\x00\x00"
    mem.write(2**64 - 4, b"\x01\x02\x03\x04")                      # the top of a 64-bit space
    assert mem.read(2**64 - 4, 4) == b"\x01\x02\x03\x04"
    with pytest.raises(ValueError):
        mem.read(2**64 - 2, 4)
    with pytest.raises(ValueError):
        mem.write(-1, b"x")


def test_trace_helpers() -> None:
    trace = [BusEvent("command", 0, 48 * 40_000, 13, {"argument": 0x20000}),
             BusEvent("response", 50 * 40_000, 98 * 40_000, 13),
             BusEvent("data", 100, 200, 24, {"block": 0, "direction": "write"})]
    assert events(trace, "response") == [trace[1]] and events(trace, cmd=13) == trace[:2]
    assert trace[0].cycles(40_000) == 48 and trace[2].duration_ps == 100
    with pytest.raises(ValueError):
        trace[2].cycles(40_000)                                  # not whole clocks
    text = format_trace(trace).splitlines()
    assert len(text) == 3 and "CMD13" in text[0] and "argument=131072" in text[0]
    assert text[1].split()[:2] == ["2000.000", "3920.000"]
