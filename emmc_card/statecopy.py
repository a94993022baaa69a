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
from collections.abc import Iterable, Sequence
from typing import Any


def _memo(owners: Iterable[object], shared: Iterable[object]) -> dict[int, Any]:
    return {id(obj): obj for obj in (*owners, *shared)}


def copy_states(owners: Sequence[object], shared: Iterable[object]) -> list[dict[str, Any]]:
    """Deep copies of several objects' attributes in one pass.

    An object two owners both refer to (a transfer the data engine holds and
    a scheduled event names) is copied once, so the copies refer to one
    object as the originals do; the owners and the ``shared`` objects
    themselves are not copied.
    """
    return copy.deepcopy([vars(owner) for owner in owners], _memo(owners, shared))


def restore_states(owners: Sequence[object], states: list[dict[str, Any]], shared: Iterable[object]) -> None:
    """Put each owner's attributes back to its state, in place (copied again: a snapshot restores many times).

    In place, so every reference to an owner (a bound method in a scheduled
    event, a closure in a dispatch table) still reaches the live object.
    """
    fresh = copy.deepcopy(states, _memo(owners, shared))
    for owner, state in zip(owners, fresh):
        attributes = vars(owner)
        attributes.clear()
        attributes.update(state)


def copy_state(owner: object, shared: Iterable[object]) -> dict[str, Any]:
    """A deep copy of ``owner``'s attributes in which ``owner`` and the ``shared`` objects are not copied."""
    return copy_states((owner,), shared)[0]


def restore_state(owner: object, state: dict[str, Any], shared: Iterable[object]) -> None:
    """Put ``owner``'s attributes back to ``state`` (copied again, so the snapshot can be restored many times)."""
    restore_states((owner,), [state], shared)
