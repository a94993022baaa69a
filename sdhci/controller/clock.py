"""Clock Control: internal clock, SD clock divider and enable, timeout clock.

The SD clock period is the base clock period times the SDHCI divisor, all
in integer picoseconds, so model and RTL count identical cycles
(docs/interfaces.md). SD clock edges fall on `edge0_ps + k * period_ps`.
"""
from __future__ import annotations

import functools

from sdhci import regmap as rm


def period_ps(hz: int) -> int:
    """Clock period in integer picoseconds."""
    return round(1e12 / hz)


_DIVIDER = rm.field("CLOCK_CONTROL", "SDCLK_FREQUENCY_SELECT")
_DIVIDER_UPPER = rm.field("CLOCK_CONTROL", "UPPER_SDCLK_FREQUENCY_SELECT")


@functools.cache      # a pure function of two small ints, asked on every Clock Control write
def sd_divisor(clock_control: int, version: int) -> int:
    """Base clock -> SD clock divisor from a Clock Control value.

    v3.00+: 10-bit divided clock mode, N = bits 7:6 (upper) and 15:8;
    N = 0 gives the base clock, else base / 2N. v1.00/v2.00: 8-bit field
    with one bit set, 0 = base, 0x01 = /2, 0x02 = /4 ... 0x80 = /256 (with
    several bits set, the highest one counts).
    """
    low = _DIVIDER.get(clock_control)
    if version >= rm.SDHCI_SPEC_300:
        n = low | _DIVIDER_UPPER.get(clock_control) << _DIVIDER.width
        return 1 if n == 0 else 2 * n
    return 1 if low == 0 else 2 << (low.bit_length() - 1)


@functools.cache      # a pure function of two small ints, asked once per data block
def data_timeout_ps(counter_value: int, timeout_clock_hz: int) -> int:
    """Data timeout: TMCLK x 2^(13 + n) for Data Timeout Counter Value n; 15 is reserved and counts as 14."""
    return (1 << (13 + min(counter_value, 14))) * period_ps(timeout_clock_hz)


class SdClock:
    """State of the Clock Control register and when the SD clock runs."""

    def __init__(self, base_clock_hz: int, version: int, stable_delay_ps: int) -> None:
        self.base_period_ps = period_ps(base_clock_hz)
        self.version = version
        self.stable_delay_ps = stable_delay_ps
        self.control = 0                 # RW bits of Clock Control (sets period_ps)
        self.stable_at_ps: int | None = None
        self.edge0_ps = 0                # an SD clock edge (rising) of the running clock

    def reset(self) -> None:
        self.control = 0
        self.stable_at_ps = None

    @property
    def control(self) -> int:
        return self._control

    @control.setter
    def control(self, value: int) -> None:
        # The SD clock period is asked several times per data block: work it out
        # once per Clock Control change instead.
        self._control = value
        self.period_ps = self.base_period_ps * sd_divisor(value, self.version)

    def internal_stable(self, t_ps: int) -> bool:
        stable_at = self.stable_at_ps
        return stable_at is not None and t_ps >= stable_at

    def running(self, t_ps: int) -> bool:
        """The SD clock toggles: SD Clock Enable with a stable internal clock."""
        return bool(self._control & rm.SDHCI_CLOCK_CARD_EN) and self.internal_stable(t_ps)

    def write(self, value: int, t_ps: int) -> None:
        """A write of the RW bits; the internal clock starts or stops."""
        was_enabled = self._control & rm.SDHCI_CLOCK_INT_EN
        self.control = value
        if not value & rm.SDHCI_CLOCK_INT_EN:
            self.stable_at_ps = None
        elif not was_enabled:
            self.stable_at_ps = t_ps + self.stable_delay_ps

    def read(self, t_ps: int) -> int:
        return self._control | (rm.SDHCI_CLOCK_INT_STABLE if self.internal_stable(t_ps) else 0)

    def next_edge(self, t_ps: int) -> int:
        """The first SD clock edge at or after `t_ps`."""
        edge0 = self.edge0_ps
        if t_ps <= edge0:
            return edge0
        p = self.period_ps
        return edge0 - ((edge0 - t_ps) // p) * p   # edge0 + ceil((t - edge0) / p) * p
