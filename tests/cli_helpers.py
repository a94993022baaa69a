"""Helpers for the CLI tests: read back a VCD with pyvcd's tokenizer."""
from __future__ import annotations

import io
from bisect import bisect_right
from typing import Any

from vcd.reader import TokenKind, tokenize


def parse_vcd(text: str) -> dict[str, list[tuple[int, Any]]]:
    """{scope.name: [(time, value), ...]} from a VCD, with the pyvcd tokenizer."""
    ids: dict[str, str] = {}
    scope: list[str] = []
    changes: dict[str, list[tuple[int, Any]]] = {}
    now = 0
    for tok in tokenize(io.BytesIO(text.encode())):
        if tok.kind is TokenKind.SCOPE:
            scope.append(tok.scope.ident)
        elif tok.kind is TokenKind.UPSCOPE:
            scope.pop()
        elif tok.kind is TokenKind.VAR:
            ids[tok.var.id_code] = ".".join(scope + [tok.var.reference])
            changes[ids[tok.var.id_code]] = []
        elif tok.kind is TokenKind.CHANGE_TIME:
            now = tok.time_change
        elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR, TokenKind.CHANGE_STRING):
            changes[ids[tok.data.id_code]].append((now, tok.data.value))
    return changes


def value_at(changes: list[tuple[int, Any]], t: int) -> Any:
    """The value a signal holds at time t (its last change at or before t)."""
    times = [c[0] for c in changes]
    return changes[bisect_right(times, t) - 1][1]
