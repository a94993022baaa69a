"""What a sweep runs: a base configuration, seeds, a grid of values and random distributions.

A sweep file is a configuration as `sdhci-emu config` prints it plus a
``[sweep]`` table::

    card_preset = "emmc51"
    [sweep]
    seeds = 1000                     # seeds 1..1000; or [100, 199]; or "100..199"
    [sweep.grid]                     # every combination of these values
    card = ["emmc51", "emmc51-slow"]
    "run.enable_cache" = [true, false]
    [sweep.random]                   # a fresh draw per run
    "run.entry.busy_us" = { uniform = [0, 20000] }

Grid and random keys are dotted configuration keys, or the short names
``card``, ``controller``, ``platform`` (the presets) and ``patch``
(run.patch). Distributions: ``uniform = [low, high]``, ``loguniform =
[low, high]`` (low > 0), ``integers = [low, high]`` (both included),
``choice = [value, ...]``.

The runs are numbered: every grid combination in order (the first key
changes slowest), and within it every seed. A run's random values come from
a generator seeded with its seed and the key only, so every grid
combination sees the same draws for the same seed and the combinations
compare on equal terms. Nothing here depends on how or where the runs go.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from emmc_card.configtools import ConfigError, set_dotted
from sdhci.config import INT64_MAX, EmulatorConfig, apply_overrides, build_config, parse_value, read_toml

#: Short names of keys a sweep may vary.
ALIASES = {"card": "card_preset", "controller": "controller_preset", "platform": "platform_preset",
           "patch": "run.patch"}
#: Keys a sweep varies by other means, or must not vary.
REFUSED = {"run.seed": "the seeds are [sweep] seeds (--seeds), not a grid key",
           "run.image": "a sweep keeps no image (every run would overwrite it)"}
DISTRIBUTIONS = ("uniform", "loguniform", "integers", "choice")
#: Most grid combinations a sweep may have (each is checked before any run starts).
MAX_COMBINATIONS = 10_000


def resolve(key: str) -> str:
    """The configuration key a grid or random key stands for."""
    return ALIASES.get(key, key)


@dataclass(frozen=True)
class Distribution:
    """A random input: drawn per run from a generator seeded with the run's seed and the key."""
    kind: str
    args: tuple[Any, ...]

    @classmethod
    def parse(cls, key: str, raw: Any) -> Distribution:
        """``{uniform = [0, 5]}`` and the like; ConfigError naming the key otherwise."""
        if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in DISTRIBUTIONS:
            raise ConfigError(f"sweep.random.{key}", f"expected one of {', '.join(DISTRIBUTIONS)} as "
                              f"{{uniform = [low, high]}} or {{choice = [a, b, ...]}}, got {raw!r}")
        kind, args = next(iter(raw.items()))
        where = f"sweep.random.{key}"
        if not isinstance(args, list) or not args:
            raise ConfigError(where, f"{kind} needs a list of values, got {args!r}")
        if kind == "choice":
            return cls(kind, tuple(args))
        if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
            raise ConfigError(where, f"{kind} needs [low, high] as two numbers, got {args!r}")
        low, high = args
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ConfigError(where, f"{kind} needs finite low <= high, got [{low}, {high}]")
        if kind == "loguniform" and low <= 0:
            raise ConfigError(where, f"loguniform needs low > 0, got {low}")
        if kind == "integers" and not (isinstance(low, int) and isinstance(high, int)):
            raise ConfigError(where, f"integers needs two integers, got [{low}, {high}]")
        return cls(kind, (low, high))

    def draw(self, rng: random.Random) -> Any:
        if self.kind == "choice":
            return self.args[rng.randrange(len(self.args))]
        low, high = self.args
        if self.kind == "integers":
            return rng.randint(low, high)
        if self.kind == "loguniform":
            return math.exp(rng.uniform(math.log(low), math.log(high)))
        return rng.uniform(low, high)

    def extremes(self) -> tuple[Any, ...]:
        """The values that bound every draw: checked against the configuration before any run."""
        return self.args if self.kind == "choice" else (self.args[0], self.args[1])

    def as_json(self) -> dict[str, list[Any]]:
        return {self.kind: list(self.args)}


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its number, seed, and the value of each varied input (grid, then random)."""
    index: int
    seed: int
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep, checked: see the module docstring."""
    base: dict[str, Any]                           # the base configuration document (presets filled later)
    seeds: tuple[int, int]                         # first and last seed, both included
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    random: tuple[tuple[str, Distribution], ...] = ()

    @property
    def seed_count(self) -> int:
        return self.seeds[1] - self.seeds[0] + 1

    @property
    def combinations(self) -> int:
        return math.prod(len(values) for _, values in self.grid)

    @property
    def runs(self) -> int:
        return self.combinations * self.seed_count

    @property
    def varied(self) -> tuple[str, ...]:
        """The input columns of the table, in order: grid keys, then random keys."""
        return tuple(k for k, _ in self.grid) + tuple(k for k, _ in self.random)

    def combination(self, number: int) -> tuple[tuple[str, Any], ...]:
        """Grid combination `number` (the last key changes fastest)."""
        out = []
        for key, values in reversed(self.grid):
            number, i = divmod(number, len(values))
            out.append((key, values[i]))
        return tuple(reversed(out))

    def run(self, index: int) -> RunSpec:
        """Run number `index` (0 .. runs - 1)."""
        combo, offset = divmod(index, self.seed_count)
        seed = self.seeds[0] + offset
        drawn = tuple((key, dist.draw(random.Random(f"sdhci-emu sweep {seed} {key}"))) for key, dist in self.random)
        return RunSpec(index, seed, self.combination(combo) + drawn)

    def runs_from(self, start: int) -> Iterator[RunSpec]:
        """Runs start, start + 1, ... in order, made one at a time."""
        return (self.run(i) for i in range(start, self.runs))

    def document(self, run: RunSpec) -> dict[str, Any]:
        """The configuration document of one run: the base with the run's values and seed set."""
        raw = copy.deepcopy(self.base)
        for key, value in run.values:
            set_dotted(raw, resolve(key), value)
        set_dotted(raw, "run.seed", run.seed)
        return raw

    def config(self, run: RunSpec) -> EmulatorConfig:
        """The configuration of one run."""
        return build_config(self.document(run))

    def as_json(self) -> dict[str, Any]:
        """The sweep as plain data (its identity: two sweeps with the same JSON give the same table)."""
        return {"base": self.base, "seeds": list(self.seeds), "grid": [[k, list(v)] for k, v in self.grid],
                "random": [[k, d.as_json()] for k, d in self.random]}

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: what an output directory's table is checked against."""
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_seeds(raw: Any, where: str = "sweep.seeds") -> tuple[int, int]:
    """``N`` (1..N), ``[first, last]`` or ``"first..last"`` -> (first, last)."""
    if isinstance(raw, str):
        first, sep, last = raw.partition("..")
        try:
            pair = (int(first), int(last)) if sep else (1, int(raw))
        except ValueError:
            raise ConfigError(where, f"expected a count N or a range FIRST..LAST, got {raw!r}") from None
    elif isinstance(raw, int) and not isinstance(raw, bool):
        pair = (1, raw)
    elif isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        pair = (raw[0], raw[1])
    else:
        raise ConfigError(where, f"expected a count N, [first, last] or \"first..last\", got {raw!r}")
    first, last = pair
    if not 0 <= first <= last <= INT64_MAX:
        given = f"{first}..{last}" if isinstance(raw, list) or ".." in str(raw) else str(last)   # as written
        raise ConfigError(where, f"seeds must run from a first to a last seed within 0 .. 2^63-1, first <= last "
                          f"(a count of at least 1), got {given}")
    return first, last


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """``--grid KEY=V1,V2,...``: each value a TOML scalar, or a bare word taken as a string."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(text, "--grid must look like KEY=V1,V2,...")
    if not values.strip():
        raise ConfigError(f"sweep.grid.{key.strip()}", "no values given (an empty grid axis)")
    return key.strip(), [parse_value(v.strip()) for v in values.split(",")]


def load_sweep(path: str | None, overrides: list[str], grid: list[str], seeds: str | None) -> SweepSpec:
    """The sweep of a file (optional) with command-line overrides, --grid and --seeds, checked whole.

    Every grid combination's configuration is built, with each random
    input at the ends of its range, so a bad key or value fails here, in one
    line naming it, before any run starts.
    """
    raw = read_toml(path) if path is not None else {}
    section = raw.pop("sweep", {})
    if not isinstance(section, dict):
        raise ConfigError("sweep", f"expected a table, got {section!r}")
    unknown = set(section) - {"seeds", "grid", "random"}
    if unknown:
        raise ConfigError(f"sweep.{sorted(unknown)[0]}", "unknown key (known: grid, random, seeds)")
    apply_overrides(raw, overrides)
    file_grid = section.get("grid", {})
    if not isinstance(file_grid, dict):
        raise ConfigError("sweep.grid", f"expected a table of key = [values], got {file_grid!r}")
    if "grid" in section and not file_grid:
        raise ConfigError("sweep.grid", "the grid is empty: give each key a list of values")
    axes: dict[str, list[Any]] = dict(file_grid)
    for option in grid:
        key, values = parse_grid_option(option)
        axes[key] = values
    random_raw = section.get("random", {})
    if not isinstance(random_raw, dict):
        raise ConfigError("sweep.random", f"expected a table of key = {{distribution}}, got {random_raw!r}")
    spec = SweepSpec(
        base=raw,
        seeds=parse_seeds(seeds if seeds is not None else section.get("seeds", 1),
                          "--seeds" if seeds is not None else "sweep.seeds"),
        grid=tuple((key, _axis(key, values)) for key, values in axes.items()),
        random=tuple((key, Distribution.parse(key, dist)) for key, dist in random_raw.items()),
    )
    _check_keys(spec)
    _check_configurations(spec)
    return spec


def _axis(key: str, values: Any) -> tuple[Any, ...]:
    where = f"sweep.grid.{key}"
    if not isinstance(values, list) or not values:
        raise ConfigError(where, f"expected a non-empty list of values, got {values!r}")
    seen = []
    for value in values:
        if value in seen:
            raise ConfigError(where, f"{value!r} is listed twice")
        seen.append(value)
    return tuple(values)


def _check_keys(spec: SweepSpec) -> None:
    grid_keys = [k for k, _ in spec.grid]
    for key in grid_keys + [k for k, _ in spec.random]:
        target = resolve(key)
        if target in REFUSED or key == "seed":
            raise ConfigError(f"sweep.{key}", REFUSED.get(target, REFUSED["run.seed"]))
    resolved = [resolve(k) for k in grid_keys + [k for k, _ in spec.random]]
    for key in resolved:
        if resolved.count(key) > 1:
            raise ConfigError(f"sweep.{key}", "varied twice (grid and random, or a key and its short name)")
    if spec.combinations > MAX_COMBINATIONS:
        raise ConfigError("sweep.grid", f"{spec.combinations} combinations; at most {MAX_COMBINATIONS} "
                          "(vary the rest with [sweep.random])")


def _check_configurations(spec: SweepSpec) -> None:
    """Build each grid combination's configuration, with every random input at each end of its range."""
    ends = [[(key, value) for value in dist.extremes()] for key, dist in spec.random]
    if spec.config(spec.run(0)).run.image is not None:
        raise ConfigError("run.image", REFUSED["run.image"])
    for number in range(spec.combinations):
        combo = spec.combination(number)
        for drawn in itertools.product(*ends) if ends else [()]:
            run = RunSpec(0, spec.seeds[0], combo + tuple(drawn))
            try:
                spec.config(run)
            except ConfigError as err:
                where = ", ".join(f"{k}={v!r}" for k, v in run.values)
                raise ConfigError(err.key, f"{err.message}" + (f" (in the sweep's run with {where})" if where
                                                                  else "")) from None
