"""emmc_card.statecopy: a snapshot puts back what a deep copy of the attributes would, sharing what it is told to."""
from __future__ import annotations

import random

import pytest

from emmc_card.statecopy import copy_state, copy_states, restore_state, restore_states


class Peer:
    """Something a model talks to: never copied."""


class Part:
    def __init__(self) -> None:
        self.items = [1, 2]

    def poke(self) -> str:
        return "poked"


class Model:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.part = Part()
        self.same_part = self.part                 # one object referred to twice
        self.handler = lambda: self                # a closure: shared, as deepcopy shares functions
        self.own_method = self.tick                # bound to the model itself
        self.part_method = self.part.poke          # bound to an object the snapshot copies
        self.rng = random.Random(5)
        self.kind = Part
        self.count = 0
        self.table = {"a": bytearray(b"xy")}

    def tick(self) -> int:
        self.count += 1
        return self.count


def test_restore_puts_back_the_values_and_the_wiring() -> None:
    peer = Peer()
    model = Model(peer)
    model.rng.random()
    next_draw = random.Random(5)
    next_draw.random()
    next_draw = next_draw.random()                  # what the model's generator draws next
    snap = copy_state(model, (peer,))
    handler = model.handler
    for _ in range(2):                              # the snapshot itself is never changed by a restore
        model.tick()
        model.part.items.append(3)
        model.table["a"][0] = 0
        model.rng.random()
        model.extra = "added after the snapshot"
        restore_state(model, snap)
        assert model.count == 0 and model.part.items == [1, 2] and model.table == {"a": bytearray(b"xy")}
        assert not hasattr(model, "extra")
        assert model.peer is peer and model.kind is Part and model.handler is handler
        assert model.same_part is model.part        # still one object
        assert model.own_method() == 1 and model.count == 1      # bound to the live model
        assert model.part_method.__self__ is model.part and model.part_method() == "poked"
        assert model.rng.random() == next_draw


def test_owners_refer_to_each_other_and_share_objects() -> None:
    peer = Peer()
    a, b = Model(peer), Model(peer)
    a.other, b.other = b, a
    b.part = a.part                                 # an object both owners hold
    snap = copy_states((a, b), (peer,))
    a.part.items.append(9)
    restore_states((a, b), snap)
    assert a.other is b and b.other is a
    assert a.part is b.part and a.part.items == [1, 2]


def test_a_snapshot_restores_only_its_own_objects() -> None:
    peer = Peer()
    snap = copy_state(Model(peer), (peer,))
    with pytest.raises(ValueError, match="only the objects it was taken from"):
        restore_state(Model(peer), snap)
