"""The DMA engines over HostMemory: SDMA with buffer boundaries, ADMA2 descriptor walking.

They decide which host memory a block's bytes come from or go to, and what
stops them (an SDMA buffer boundary, an ADMA2 invalid descriptor or a short
descriptor table). Time is the controller's business: they report how many
descriptors they fetched so it can charge the fetch latency.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sdhci import regmap as rm
from sdhci.memory import HostMemory

MAX_DESCRIPTOR_FETCHES = 65_536    # per block: a NOP/link loop becomes an ADMA error


class Sdma:
    """SDMA: one contiguous buffer, paused at every buffer boundary until a new address."""

    def __init__(self, address: int, boundary: int) -> None:
        self.address = address
        self.boundary = boundary

    def segments(self, length: int) -> list[tuple[int, int]]:
        """Where the next `length` bytes go; the address advances."""
        seg = [(self.address, length)]
        self.address = (self.address + length) & 0xFFFFFFFF
        return seg

    def at_boundary(self, previous: int) -> bool:
        """The last block crossed or reached a buffer boundary (DMA Interrupt, pause)."""
        return previous // self.boundary != self.address // self.boundary


@dataclass(slots=True)
class AdmaStep:
    """What the ADMA2 engine did to supply one block.

    segments: (address, length) pieces of host memory, in order.
    fetched: descriptors read (each costs the descriptor fetch latency).
    interrupt: a descriptor with the Int attribute was completed.
    error: ADMA Error Status value (state | length mismatch) or None.
    """

    segments: list[tuple[int, int]] = field(default_factory=list)
    fetched: int = 0
    interrupt: bool = False
    error: int | None = None


class Adma2:
    """ADMA2 descriptor walker: 32-bit (8-byte), 64-bit (12-byte) or v4 (16-byte) descriptors."""

    def __init__(self, memory: HostMemory, table: int, descriptor_bytes: int) -> None:
        self.memory = memory
        self.descriptor = table        # address of the next descriptor to fetch
        self.descriptor_bytes = descriptor_bytes
        self.address = 0               # current data address within a tran descriptor
        self.remaining = 0             # bytes left in the current tran descriptor
        self.end = False               # the current descriptor had the End attribute
        self.int_pending = False

    def _fetch(self) -> tuple[int, int, int]:
        raw = self.memory.read(self.descriptor, self.descriptor_bytes)
        attr = int.from_bytes(raw[0:2], "little")
        length = int.from_bytes(raw[2:4], "little") or 65536
        addr_bytes = 4 if self.descriptor_bytes == 8 else 8
        address = int.from_bytes(raw[4:4 + addr_bytes], "little")
        return attr, length, address

    def take(self, length: int) -> AdmaStep:
        """Walk descriptors until `length` bytes are mapped, or an error stops the engine."""
        step = AdmaStep()
        need = length
        while need:
            if self.remaining:
                chunk = min(self.remaining, need)
                step.segments.append((self.address, chunk))
                self.address += chunk
                self.remaining -= chunk
                need -= chunk
                if not self.remaining and self.int_pending:
                    step.interrupt = True
                    self.int_pending = False
                continue
            if self.end:      # table ended before the block count: length mismatch
                step.error = rm.ADMA_ERROR_STATE_ST_TFR | rm.ADMA_ERROR_LENGTH_MISMATCH
                return step
            if step.fetched >= MAX_DESCRIPTOR_FETCHES:
                step.error = rm.ADMA_ERROR_STATE_ST_FDS
                return step
            attr, dlen, addr = self._fetch()
            step.fetched += 1
            if not attr & rm.ADMA2_VALID:
                step.error = rm.ADMA_ERROR_STATE_ST_FDS
                return step
            act = attr & rm.ADMA2_ACT_MASK
            if act == rm.ADMA2_ACT_LINK:
                self.descriptor = addr
                continue
            self.descriptor += self.descriptor_bytes
            self.end = bool(attr & rm.ADMA2_END)
            if act == rm.ADMA2_ACT_TRAN:
                self.address, self.remaining = addr, dlen
                self.int_pending = bool(attr & rm.ADMA2_INT)
            elif attr & rm.ADMA2_INT:      # NOP/reserved with Int: interrupt when passed
                step.interrupt = True
        return step


def gather(memory: HostMemory, segments: list[tuple[int, int]]) -> bytes:
    if len(segments) == 1:      # SDMA, and ADMA2 with a block inside one descriptor
        return memory.read(*segments[0])
    return b"".join(memory.read(a, n) for a, n in segments)


def scatter(memory: HostMemory, segments: list[tuple[int, int]], data: bytes) -> None:
    pos = 0
    for addr, n in segments:
        memory.write(addr, data[pos:pos + n])
        pos += n
