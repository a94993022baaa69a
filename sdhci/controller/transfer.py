"""One data command's transfer: what is on the DAT line (a state machine), and the buffer side beside it.

`Phase` says what the DAT line is doing for the transfer; `TRANSITIONS` is
every change the data engine may make, drawn in docs/controller.md (a test
checks the drawing against this table). A change not in the table raises:
the table is the contract, not a comment.

Beside the phase, three small states that move independently of it:
`Stop` (an abort CMD12's progress), `Port` (the PIO Buffer Data Port's
Buffer Write/Read Enable and its pending Buffer Ready), `Dma` (the DMA
engine: idle, moving a block, paused at an SDMA boundary). `failed` marks a
data error: the transfer starts nothing new and waits for Software Reset
for DAT.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from sdhci.controller.command import Command
from sdhci.controller.dma import Adma2, Sdma


class Phase(Enum):
    """What the DAT line is doing for the transfer."""

    __hash__ = object.__hash__      # members are singletons: identity hashing, in C (the table is hot)

    COMMAND = "command"                    # the data command is on CMD; nothing on DAT yet
    IDLE = "idle"                          # DAT idle between blocks (write: no block ready, or NWR)
    WRITE_BLOCK = "write_block"            # a write block on DAT
    WRITE_BUSY = "write_busy"              # the card's CRC status token, then DAT0 busy while it takes the block
    READ_BLOCK = "read_block"              # the card's access time, then a read block on DAT
    READ_HELD = "read_held"                # the buffer is full: the card is held before its next block
    AUTO_CMD12_WRITE = "auto_cmd12_write"  # Auto CMD12 on CMD while DAT0 is still busy from the last block
    AUTO_CMD12_READ = "auto_cmd12_read"    # Auto CMD12 on CMD after the last read block
    DONE = "done"                          # Transfer Complete


class Cause(Enum):
    """Why the phase changes."""

    __hash__ = object.__hash__

    RESPONSE = "response"                # write: the command's response ended without error
    CARD_SENDS = "card_sends"            # read: the card's next block is on its way
    BUFFER_FULL = "buffer_full"          # read: no room for the card's next block
    BLOCK_START = "block_start"          # write: a buffered block goes on DAT
    BLOCK_END = "block_end"              # a block's end bit
    CUT_OFF = "cut_off"                  # write: the abort CMD12 reached the card first: no CRC status
    BUSY_END = "busy_end"                # write: the card released DAT0
    LAST_BLOCK = "last_block"            # the block count is reached: Auto CMD12 goes out
    AUTO_CMD12_DONE = "auto_cmd12_done"  # its response (or timeout) ended
    LINE_ERROR = "line_error"            # CRC status error or none, data timeout: the line is given up
    COMPLETE = "complete"                # every block done (or the abort finished) and DAT idle


P, C = Phase, Cause
TRANSITIONS: dict[tuple[Phase, Cause], Phase] = {
    (P.COMMAND, C.RESPONSE): P.IDLE,
    (P.COMMAND, C.CARD_SENDS): P.READ_BLOCK,
    (P.COMMAND, C.COMPLETE): P.DONE,                 # no data to move (Block Size or Block Count 0)
    (P.IDLE, C.BLOCK_START): P.WRITE_BLOCK,
    (P.IDLE, C.CARD_SENDS): P.READ_BLOCK,
    (P.IDLE, C.BUFFER_FULL): P.READ_HELD,
    (P.IDLE, C.LAST_BLOCK): P.AUTO_CMD12_READ,
    (P.IDLE, C.COMPLETE): P.DONE,
    (P.WRITE_BLOCK, C.BLOCK_END): P.WRITE_BUSY,
    (P.WRITE_BLOCK, C.CUT_OFF): P.IDLE,
    (P.WRITE_BUSY, C.BUSY_END): P.IDLE,
    (P.WRITE_BUSY, C.LAST_BLOCK): P.AUTO_CMD12_WRITE,
    (P.WRITE_BUSY, C.LINE_ERROR): P.IDLE,
    (P.READ_BLOCK, C.BLOCK_END): P.IDLE,
    (P.READ_BLOCK, C.LINE_ERROR): P.IDLE,
    (P.READ_HELD, C.CARD_SENDS): P.READ_BLOCK,
    (P.READ_HELD, C.COMPLETE): P.DONE,               # an abort finished while the card was held
    (P.AUTO_CMD12_WRITE, C.AUTO_CMD12_DONE): P.WRITE_BUSY,
    (P.AUTO_CMD12_READ, C.AUTO_CMD12_DONE): P.IDLE,
    (P.AUTO_CMD12_READ, C.COMPLETE): P.DONE,         # an abort finished meanwhile
}
_NEXT: dict[Phase, dict[Cause, Phase]] = {phase: {} for phase in Phase}
for (_phase, _cause), _target in TRANSITIONS.items():
    _NEXT[_phase][_cause] = _target
# Phases in which the transfer holds the DAT line for a block (no abort may finish then).
LINE_BUSY = frozenset({P.WRITE_BLOCK, P.WRITE_BUSY, P.AUTO_CMD12_WRITE, P.READ_BLOCK})


class Stop(Enum):
    """An abort command (CMD12) against the transfer, as it progresses."""

    NONE = "none"
    REQUESTED = "requested"    # issued: no new block starts
    SENT = "sent"              # its end bit reached the card: a write block still on DAT is cut off
    FINISHED = "finished"      # its response (and busy) ended: Transfer Complete once DAT is idle


class Port(Enum):
    """The Buffer Data Port (PIO): Buffer Write/Read Enable, and the Buffer Ready that sets it."""

    CLOSED = "closed"
    PENDING = "pending"        # Buffer Write/Read Ready is due (buffer_ready_ps)
    OPEN = "open"              # Buffer Write/Read Enable: the driver may move one block


class Dma(Enum):
    """The DMA engine of an SDMA or ADMA2 transfer."""

    IDLE = "idle"
    MOVING = "moving"          # a block between host memory and the buffer (and its descriptor fetches)
    PAUSED = "paused"          # SDMA at a buffer boundary: waits for the next SDMA System Address


class TransitionError(RuntimeError):
    """The data engine asked for a phase change the table does not have (a modelling bug)."""


@dataclass(eq=False, slots=True)
class Transfer:
    """State of one data command's transfer."""

    cmd: Command
    read: bool
    block_size: int
    total: int | None                     # None: open-ended (no block count)
    auto12: bool
    mode: str                             # "pio", "sdma", "adma"
    sdma: Sdma | None = None
    adma: Adma2 | None = None
    phase: Phase = Phase.COMMAND
    stop: Stop = Stop.NONE
    port: Port = Port.CLOSED
    dma: Dma = Dma.IDLE
    failed: bool = False                  # a data error: waits for Software Reset for DAT
    buffer: deque = field(default_factory=deque)        # whole blocks held in the buffer
    sendable_ps: deque = field(default_factory=deque)   # write: earliest start bit of each buffered block
    port_bytes: bytearray = field(default_factory=bytearray)  # PIO write: the block being filled
    port_pos: int = 0                     # PIO read: bytes read from buffer[0]
    gate_ps: int | None = None            # write: earliest start of the next block; None before the response
    in_flight: int = 0                    # write: blocks on the bus still holding a buffer slot
    fetched: int = 0                      # write: blocks brought into the buffer
    received: int = 0                     # read: blocks received from the card
    done: int = 0                         # blocks completed on the bus
    busy_start_ps: int = 0                # write, last block: CRC status end, where busy starts
    busy_end_ps: int = 0                  # write, last block: where the card releases busy

    def go(self, cause: Cause) -> None:
        """Change phase as TRANSITIONS says for `cause`."""
        try:
            self.phase = _NEXT[self.phase][cause]
        except KeyError:
            raise TransitionError(f"{self.phase.name} has no transition on {cause.name}") from None

    @property
    def running(self) -> bool:
        """Neither stopped nor failed: new blocks may start."""
        return self.stop is Stop.NONE and not self.failed

    def more_to_fetch(self) -> bool:
        return self.running and (self.total is None or self.fetched < self.total)

    def more_to_receive(self) -> bool:
        return self.running and (self.total is None or self.received < self.total)

    def fail(self) -> None:
        """A data error: nothing new starts; the port closes."""
        self.failed = True
        if self.port is Port.OPEN:
            self.port = Port.CLOSED
