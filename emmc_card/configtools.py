"""Build configuration dataclasses from plain dicts (TOML) and back.

Configuration is plain dataclasses, loadable from TOML. This module turns a
nested dict into them, naming the dotted key of anything wrong, so a bad
config fails with one clear line before anything runs. Numbers must be
finite: an infinite or NaN duration has no meaning in integer picoseconds.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message

    def under(self, prefix: str) -> ConfigError:
        """The same error with its key nested under `prefix`: a sub-table's validate() names only its own keys."""
        return ConfigError(f"{prefix}.{self.key}" if self.key else prefix, self.message)


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(key, f"{value!r} is none of {tp}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {value!r}")
        return from_dict(tp, value, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(key, f"expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        seq = [_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(seq) if origin is tuple else seq
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {value!r}")
        kt, vt = args if args else (Any, Any)
        out = {}
        for k, v in value.items():
            if kt is int and isinstance(k, str):
                try:
                    k = int(k, 0)
                except ValueError:
                    raise ConfigError(f"{key}.{k}", "key must be an integer") from None
            out[k] = _convert(vt, v, f"{key}.{k}")
        return out
    if typing.get_origin(tp) is typing.Literal:
        if value not in args:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, args))}, not {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(key, f"expected a finite number, got {value!r}")
        try:
            return float(value)
        except OverflowError:
            raise ConfigError(key, f"{value} is too large for a number") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(key, f"expected {tp.__name__}, got {value!r}")
    return value


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A dataclass's resolved type hints and its init fields: worked out once per class (get_type_hints is slow)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls) if f.init}


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` from `data`; unknown keys and bad types raise ConfigError.

    Missing keys take the dataclass defaults. After construction the
    dataclass's own `validate()` (if any) runs; it should raise ConfigError.
    """
    hints, fields = _schema(cls)
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(key, f"unknown key (known: {known})")
        kwargs[name] = _convert(hints[name], value, key)
    try:
        obj = cls(**kwargs)
    except TypeError as err:
        raise ConfigError(prefix, str(err)) from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as err:
            if prefix and err.key and not err.key.startswith(prefix):
                raise err.under(prefix) from None
            raise
    return obj


def preset_table(path: Path, table: str) -> dict[str, Any]:
    """The [table] of a preset file (such as `sdhci-emu rtl calibrate` writes); ConfigError keyed
    `table` when the file cannot be read, is no TOML or lacks the table."""
    try:
        data = tomllib.loads(path.read_text()).get(table)
    except OSError as err:
        raise ConfigError(table, f"cannot read preset file {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(table, f"{path} is not valid TOML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(table, f"{path} has no [{table}] table")
    return data


def to_dict(obj: Any) -> Any:
    """A dataclass as a plain dict fit for TOML (None values dropped)."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            value = to_dict(getattr(obj, f.name))
            if value is not None:
                out[f.name] = value
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: `override` wins, tables merge."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def depth(data: Any) -> int:
    """How deeply tables and lists nest in `data` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in children)
    return deepest


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c = value` in a nested dict, creating tables on the way."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(dotted, f"{part} is not a table")
    node[parts[-1]] = value
