"""Today's controller against the one before the scheduler/state-machine rework: same everything.

Each case of the matrix in equivalence_helpers (the emulator's default run
over transfer modes, bus widths, cards, seeds and faults; register-level
scenarios over PIO, SDMA and ADMA2 writes and reads, Auto CMD12/CMD23, SDMA
boundaries, ADMA2 links/NOPs/Int, clock gating, an abort and controller
faults) is run and fingerprinted: the bus trace, the driver's operations
with their times and values, the run's figures and the bytes on the card
and in host memory. The expected fingerprints were captured from commit
c570c4a (how: equivalence_helpers' docstring).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from equivalence_helpers import all_cases, fingerprint

GOLDEN = json.loads((Path(__file__).parent / "golden" / "controller_equivalence.json").read_text())
CASES = all_cases()


def test_the_matrix_is_the_captured_one() -> None:
    assert sorted(CASES) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_before_the_rework(name: str) -> None:
    got = fingerprint(CASES[name]())
    differs = sorted(part for part in GOLDEN[name] if got.get(part) != GOLDEN[name][part])
    assert not differs, f"{name}: {', '.join(differs)} differ from the captured run"
