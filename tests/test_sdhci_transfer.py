"""The transfer state machine: the drawing in docs/controller.md is the code's table, and the table is enforced."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdhci.controller.command import Command
from sdhci.controller.transfer import TRANSITIONS, Cause, Phase, Transfer, TransitionError

DOC = Path(__file__).resolve().parent.parent / "docs" / "controller.md"


def _drawn_transitions() -> set[tuple[str, str, str]]:
    text = DOC.read_text()
    section = text[text.index("## The transfer state machine"):]
    diagram = section[section.index("```mermaid"):section.index("```", section.index("```mermaid") + 3)]
    edges = re.findall(r"^\s*(\w+) --> (\w+) : (\w+)\s*$", diagram, re.M)
    return {(source, cause, target) for source, target, cause in edges}


def test_the_drawing_is_the_table() -> None:
    table = {(phase.name, cause.name, target.name) for (phase, cause), target in TRANSITIONS.items()}
    assert _drawn_transitions() == table


def test_every_phase_but_the_first_is_reachable_and_only_done_is_final() -> None:
    targets = {target for target in TRANSITIONS.values()}
    sources = {phase for phase, _ in TRANSITIONS}
    assert targets == set(Phase) - {Phase.COMMAND}
    assert sources == set(Phase) - {Phase.DONE}


def _write() -> Transfer:
    return Transfer(cmd=Command(25, 0, 0x3A), read=False, block_size=512, total=2, auto12=True, mode="pio")


def test_a_write_walks_the_table() -> None:
    x = _write()
    for cause, phase in [(Cause.RESPONSE, Phase.IDLE), (Cause.BLOCK_START, Phase.WRITE_BLOCK),
                         (Cause.BLOCK_END, Phase.WRITE_BUSY), (Cause.BUSY_END, Phase.IDLE),
                         (Cause.BLOCK_START, Phase.WRITE_BLOCK), (Cause.BLOCK_END, Phase.WRITE_BUSY),
                         (Cause.LAST_BLOCK, Phase.AUTO_CMD12_WRITE), (Cause.AUTO_CMD12_DONE, Phase.WRITE_BUSY),
                         (Cause.BUSY_END, Phase.IDLE), (Cause.COMPLETE, Phase.DONE)]:
        x.go(cause)
        assert x.phase is phase


def test_a_change_not_in_the_table_raises() -> None:
    x = _write()
    with pytest.raises(TransitionError, match="COMMAND has no transition on BLOCK_END"):
        x.go(Cause.BLOCK_END)
    assert x.phase is Phase.COMMAND
