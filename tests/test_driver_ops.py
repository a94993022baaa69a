"""Driver operations are checked where they are built (sdhci.driver.ops), so every backend
refuses the same bad access the same way: the Python model used to read 0 for a
misaligned or odd-width access while the RTL's bus adapter raised."""
from __future__ import annotations

import pytest

from sdhci.config import load_config
from sdhci.driver.ops import OpError, Poll, Read, ReadBurst, Write, WriteBurst
from sdhci.emulation import PanicSession


@pytest.mark.parametrize("make", [
    lambda: Read(0x31, 16),            # misaligned halfword (Present State + 1)
    lambda: Read(0x30, 24),            # no 24-bit accesses
    lambda: Read(0x2E, 32),            # misaligned word
    lambda: Read(-4, 32),
    lambda: Read(0x100, 8),            # past the slot's 256-byte register block
    lambda: Write(0x2D, 16, 0),
    lambda: Write(0x2C, 16, 0x1_0000),  # value wider than the register
    lambda: Write(0x29, 8, -1),
    lambda: Poll(0x31, 16, 1, 1, interval_ns=1000, timeout_ns=1000),
    lambda: Poll(0x30, 16, 0x1_0000, 0, interval_ns=1000, timeout_ns=1000),
    lambda: ReadBurst(0x22, 1),
    lambda: ReadBurst(0x20, -1),
    lambda: WriteBurst(0x21, (0,)),
], ids=["read-0x31-16", "read-0x30-24", "read-0x2e-32", "read-negative", "read-0x100", "write-0x2d-16",
        "write-wide-value", "write-negative", "poll-0x31-16", "poll-wide-mask", "readburst-0x22",
        "readburst-negative", "writeburst-0x21"])
def test_bad_operation_is_refused_when_built(make) -> None:
    with pytest.raises(OpError):
        make()


@pytest.mark.parametrize("offset, width", [(0x30, 8), (0x31, 8), (0x32, 16), (0x30, 32), (0xFC, 32), (0xFE, 16)])
def test_every_natural_access_is_accepted(offset: int, width: int) -> None:
    assert Read(offset, width) == Read(offset, width)


def test_model_runner_refuses_what_the_rtl_adapter_refused() -> None:
    # The same routine on the Python controller: before, Read(0x31, 16) returned 0 here.
    session = PanicSession(load_config(None, []))

    def routine():
        ok = yield Read(0x30, 16)
        bad = yield Read(0x31, 16)
        return ok, bad

    with pytest.raises(OpError, match="not naturally aligned"):
        session.runner.run(routine())
    assert [type(r.op) for r in session.runner.log] == [Read]   # the good read ran, the bad one never did
