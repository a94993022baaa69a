"""The card slot: the card behind the controller's pins, its supply, and the faults injected there.

The engines talk to the card only through the slot: a command token, a
written block, the next read block. The slot answers None when nothing
answers on the bus (no card, card removed, SD Bus Power off), and applies
the configured faults (ControllerConfig.faults): a fault fires once, at its
command occurrence or at its block; remove_card takes the card away for
good and raises Card Removal.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from emmc_card import EmmcCard
from emmc_card.bus import CommandOutcome, CorrectCrcs, ReadOutcome, WriteOutcome
from sdhci.controller.config import Fault


class CardSlot:
    """One slot: the card (or none), SD Bus Power, fault injection."""

    def __init__(self, card: EmmcCard | None, faults: list[Fault], power_controls_card: bool,
                 on_removal: Callable[[], None]) -> None:
        self.card = card
        self.removed = card is None
        self.bus_power = False               # SD Bus Power (Power Control bit 0)
        self._power_controls_card = power_controls_card
        self._on_removal = on_removal
        self._faults = faults
        self._fired: set[int] = set()
        self._cmd_counts: Counter[int] = Counter()

    @property
    def ready(self) -> bool:
        """The card is there and powered: it sees commands and data."""
        return self.bus_power and not self.removed

    def set_bus_power(self, on: bool, t: int) -> None:
        """SD Bus Power switches the card's supply: off loses its volatile state, on resets it."""
        if on == self.bus_power:
            return
        self.bus_power = on
        if self.card is None or self.removed or not self._power_controls_card:
            return
        if not on:
            self.card.power_cut(t)
        elif not self.card.powered:
            self.card.power_on(t)

    # ---- the bus ----------------------------------------------------------
    def command(self, token: bytes, t: int, period_ps: int) -> CommandOutcome | None:
        return self.card.command(token, t, period_ps) if self.ready else None

    def write_block(self, data: bytes, crcs: tuple[int, ...] | CorrectCrcs, t: int,
                    period_ps: int) -> WriteOutcome | None:
        return self.card.write_block(data, crcs, t, period_ps) if self.ready else None

    def block_writer(self) -> Callable[[bytes, tuple[int, ...] | CorrectCrcs, int, int], WriteOutcome | None]:
        """write_block for a run of blocks over which the slot stays as it is now.

        Only a register write (SD Bus Power) or a fault (remove_card) changes
        whether the card is there; a caller running blocks without either
        takes the card's own write_block once instead of asking per block.
        """
        return self.card.write_block if self.ready else self.write_block

    def read_block(self, t: int, period_ps: int) -> ReadOutcome | None:
        return self.card.read_block(t, period_ps) if self.ready else None

    # ---- faults -------------------------------------------------------------
    @property
    def faults_armed(self) -> bool:
        """Some configured fault has not fired yet (block paths skip their questions otherwise)."""
        return len(self._fired) < len(self._faults)

    def first_block_fault(self, block: int) -> int | None:
        """The lowest block number from `block` on that a fault not fired yet names (None: none does)."""
        return min((f.block for i, f in enumerate(self._faults)
                    if f.block is not None and f.block >= block and i not in self._fired), default=None)

    def command_sent(self, index: int) -> None:
        """Count a command's occurrence (faults pick one by index and occurrence)."""
        self._cmd_counts[index] += 1

    def fault(self, kind: str, *, cmd: int | None = None, block: int | None = None) -> Fault | None:
        """The configured fault of `kind` at this command occurrence or block, once; remove_card acts."""
        if not self.faults_armed:
            return None
        for i, f in enumerate(self._faults):
            if f.kind != kind or i in self._fired:
                continue
            hit = (cmd is not None and f.cmd == cmd and self._cmd_counts[cmd] == f.occurrence) or \
                  (block is not None and f.block == block)
            if hit:
                self._fired.add(i)
                if kind == "remove_card":
                    self.removed = True
                    self.bus_power = False            # cleared in the No Card state (spec 2.2.11)
                    self._on_removal()
                return f
        return None
