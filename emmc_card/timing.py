"""The card's seeded timing generator: every random duration the card draws.

All draws come from one random.Random(seed) in call order, so the same
configuration and the same host traffic give the same timeline bit for bit.
Cycle counts are ints; physical durations are integer picoseconds.
"""
from __future__ import annotations

import dataclasses
import math
import random

from emmc_card.config import US, CardConfig, TimeDistribution, us_to_ps


class CardTimer:
    """Draws NCR/NAC cycles, busy times, GC stalls and tear points for one card."""

    def __init__(self, config: CardConfig) -> None:
        self._config = config
        self._timing = config.timing
        self.rng = random.Random(config.seed)
        self._replay_pos: dict[str, int] = {}   # by knob name: part of the card's snapshot
        self._stalls: dict[int, int] = {}
        for stall in self._timing.injected_stalls:
            self._stalls[stall.block] = self._stalls.get(stall.block, 0) + stall.duration_ps
        # A fixed distribution draws nothing: its value, converted once (a block asks for one or two).
        self._fixed_ps = {f.name: us_to_ps(dist.value_us) for f in dataclasses.fields(self._timing)
                          if isinstance(dist := getattr(self._timing, f.name), TimeDistribution)
                          and dist.kind == "fixed"}

    def reseed(self, seed: int) -> None:
        """Draw from here on as a timer created with this seed would (replayed sequences start over)."""
        self.rng.seed(seed)
        self._replay_pos.clear()

    def _cycles(self, low: int, high: int) -> int:
        return low if low == high else self.rng.randint(low, high)

    def ncr_cycles(self) -> int:
        """Command end bit to response start bit."""
        return self._cycles(self._timing.ncr_cycles_min, self._timing.ncr_cycles_max)

    def nid_cycles(self) -> int:
        """CMD1/CMD2 end bit to response start bit."""
        return self._timing.nid_cycles

    def nac_cycles(self) -> int:
        """Read command end bit (or previous block end bit) to data start bit."""
        return self._cycles(self._timing.nac_cycles_min, self._timing.nac_cycles_max)

    def draw_ps(self, knob: str) -> int:
        """One duration, in picoseconds, from the distribution CardTiming.<knob>."""
        fixed = self._fixed_ps.get(knob)
        if fixed is not None:
            return fixed
        dist: TimeDistribution = getattr(self._timing, knob)
        if dist.kind == "uniform":     # us_to_ps(rng.uniform(min, max)), as both compute it, without their calls
            return round((dist.min_us + (dist.max_us - dist.min_us) * self.rng.random()) * US)
        if dist.kind == "lognormal":
            value = self.rng.lognormvariate(math.log(dist.value_us), dist.sigma)
            return us_to_ps(min(value, dist.max_us) if dist.max_us > 0 else value)
        pos = self._replay_pos.get(knob, 0)
        self._replay_pos[knob] = pos + 1
        return us_to_ps(dist.replay_us[pos % len(dist.replay_us)])

    def block_stall_ps(self, block: int) -> int:
        """Extra busy of lifetime block `block`: GC stall (random) plus injected stall."""
        stall = self._stalls.get(block, 0)
        probability = self._timing.gc_stall_probability
        if probability and self.rng.random() < probability:
            stall += self.draw_ps("gc_stall")
        return stall

    def program_ps(self) -> int:
        """Time to program one block into the medium."""
        return self.draw_ps("program")

    def cached_write_ps(self) -> int:
        """Time to take one block into the volatile cache."""
        return self.draw_ps("cached_write")

    def stop_busy_ps(self) -> int:
        """Busy after CMD12 beyond the end of programming."""
        return self.draw_ps("stop_busy")

    def init_busy_ps(self) -> int:
        """How long OCR bit 31 reads 0 after the first CMD1."""
        return us_to_ps(self._timing.init_busy_us)

    def cmd6_busy_ps(self) -> int:
        """R1b busy of a CMD6 (not a partition switch or flush): bounded by GENERIC_CMD6_TIME."""
        actual = self._timing.cmd6_busy_us
        return us_to_ps(actual) if actual is not None else self._config.generic_cmd6_time_10ms * 10_000 * 1_000_000

    def partition_switch_busy_ps(self) -> int:
        """R1b busy of a PARTITION_CONFIG switch: bounded by PARTITION_SWITCH_TIME."""
        actual = self._timing.partition_switch_busy_us
        if actual is not None:
            return us_to_ps(actual)
        return self._config.partition_switch_time_10ms * 10_000 * 1_000_000

    def flush_overhead_ps(self) -> int:
        """Fixed part of a cache flush, on top of programming the dirty blocks."""
        return us_to_ps(self._timing.flush_overhead_us)

    def tear_prefix(self, length: int) -> int:
        """How many leading bytes of a block being programmed survive a power cut."""
        return self.rng.randrange(length + 1)
