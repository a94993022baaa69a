"""Snapshots of a model's state: a deep copy of its attributes that leaves its configuration and peers shared.

A model that changes as it runs (the card, the host driver) keeps all of
that in its own attributes; what it was built with (its configuration, the
medium, the objects it talks to) does not change and must stay the very
same objects after a restore. ``copy_state`` copies the first and shares the
second, so a restored model is wired exactly as before, and methods bound to
the model stay bound to it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any


def _memo(owner: object, shared: Iterable[object]) -> dict[int, Any]:
    memo: dict[int, Any] = {id(obj): obj for obj in shared}
    memo[id(owner)] = owner
    return memo


def copy_state(owner: object, shared: Iterable[object]) -> dict[str, Any]:
    """A deep copy of ``owner``'s attributes in which ``owner`` and the ``shared`` objects are not copied."""
    return copy.deepcopy(vars(owner), _memo(owner, shared))


def restore_state(owner: object, state: dict[str, Any], shared: Iterable[object]) -> None:
    """Put ``owner``'s attributes back to ``state`` (copied again, so the snapshot can be restored many times)."""
    attributes = vars(owner)
    attributes.clear()
    attributes.update(copy.deepcopy(state, _memo(owner, shared)))
