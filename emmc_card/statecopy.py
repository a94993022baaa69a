"""Snapshots of a model's state: its attributes frozen at one moment, its configuration and peers left shared.

A model that changes as it runs (the card, the host driver) keeps all of
that in its own attributes; what it was built with (its configuration, the
medium, the objects it talks to) does not change and must stay the very
same objects after a restore. ``copy_state`` freezes the first and shares
the second, so a restored model is wired exactly as before, and methods
bound to the model stay bound to it.

The attributes are frozen with pickle, the shared objects named by
reference: a restore is one unpickling, in C, where copy.deepcopy walked
every object in Python (a sweep restores a board for every run). It gives
what a deep copy with the shared objects in its memo gives: every other
object anew, each one once however often it is referred to, functions (a
lambda in a dispatch table) and classes shared, as deepcopy shares them; a
bound method is bound again to the new copy of its object, or to the very
model or shared object it was bound to.
"""
from __future__ import annotations

import io
import pickle
import random
import sys
import types
from collections.abc import Iterable, Sequence
from typing import Any


def _generator(kind: type[random.Random], state: tuple) -> random.Random:
    """A generator of `kind` in `state` (seeded first: a generator built unseeded reads the OS's entropy)."""
    generator = kind(0)
    generator.setstate(state)
    return generator


class _Freezer(pickle.Pickler):
    """Pickles attributes, naming the shared objects and functions by their place in `kept` (which it extends).

    A random generator's state (a tuple, never changed) is kept too: a
    restore sets it instead of unpickling its 625 integers.
    """

    def __init__(self, file: io.BytesIO, kept: list[object]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._kept = kept
        self._places = {id(obj): place for place, obj in enumerate(kept)}

    def _keep(self, obj: object) -> int:
        place = self._places[id(obj)] = len(self._kept)
        self._kept.append(obj)
        return place

    def persistent_id(self, obj: object) -> int | None:
        place = self._places.get(id(obj))
        if place is None and isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            place = self._keep(obj)
        return place

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, random.Random):
            state = obj.getstate()
            self._keep(state)
            return _generator, (type(obj), state)
        return NotImplemented


class _Thawer(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, kept: list[object]) -> None:
        super().__init__(file)
        self._kept = kept

    def persistent_load(self, pid: Any) -> object:
        return self._kept[pid]


class FrozenState:
    """Some objects' attributes at one moment (restore_states puts them back into the same objects)."""

    def __init__(self, owners: Sequence[object], shared: Iterable[object]) -> None:
        self.owners = tuple(owners)
        self._kept: list[object] = [*self.owners, *shared]
        buffer = io.BytesIO()
        _Freezer(buffer, self._kept).dump([vars(owner) for owner in self.owners])
        self._frozen = buffer.getvalue()

    def thaw(self) -> list[dict[str, Any]]:
        """A fresh copy of each owner's attributes, as they were."""
        return _Thawer(io.BytesIO(self._frozen), self._kept).load()


def copy_states(owners: Sequence[object], shared: Iterable[object]) -> FrozenState:
    """Several objects' attributes in one snapshot.

    An object two owners both refer to (a transfer the data engine holds and
    a scheduled event names) comes back as one object, as it is now; the
    owners and the ``shared`` objects themselves are not copied.
    """
    return FrozenState(owners, shared)


def restore_states(owners: Sequence[object], state: FrozenState) -> None:
    """Put each owner's attributes back to `state`, in place (the snapshot can be restored many times).

    In place, so every reference to an owner (a bound method in a scheduled
    event, a closure in a dispatch table) still reaches the live object.
    """
    if len(owners) != len(state.owners) or any(a is not b for a, b in zip(owners, state.owners)):
        raise ValueError("a snapshot restores only the objects it was taken from")
    for owner, attributes in zip(owners, state.thaw()):
        live = vars(owner)
        live.clear()
        for name, value in attributes.items():
            live[sys.intern(name)] = value      # interned, as attribute names are: lookups compare pointers


def copy_state(owner: object, shared: Iterable[object]) -> FrozenState:
    """A snapshot of ``owner``'s attributes in which ``owner`` and the ``shared`` objects are not copied."""
    return FrozenState((owner,), shared)


def restore_state(owner: object, state: FrozenState) -> None:
    """Put ``owner``'s attributes back to ``state`` (the snapshot can be restored many times)."""
    restore_states((owner,), state)
