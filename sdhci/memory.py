"""HostMemory: the host's RAM as the DMA engines see it, sparse and byte-addressed.

Only the pages touched exist; unwritten bytes read as zero, like a freshly
zeroed buffer. Addresses are system bus addresses (up to 64 bits).
"""
from __future__ import annotations

PAGE = 4096
ADDRESS_LIMIT = 1 << 64


class HostMemory:
    """Sparse RAM of 4 KiB pages."""

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}

    def snapshot(self) -> dict[int, bytes]:
        """The pages written so far, for restore()."""
        return {page: bytes(buf) for page, buf in self._pages.items()}

    def restore(self, snapshot: dict[int, bytes]) -> None:
        """Back to the content snapshot() saw."""
        self._pages = {page: bytearray(buf) for page, buf in snapshot.items()}

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > ADDRESS_LIMIT:
            raise ValueError(f"host memory access 0x{addr:X}+{length} outside the 64-bit address space")

    def write(self, addr: int, data: bytes) -> None:
        """Store `data` at `addr`."""
        self._check(addr, len(data))
        view = memoryview(data)
        while view:
            page, off = divmod(addr, PAGE)
            chunk = min(PAGE - off, len(view))
            buf = self._pages.get(page)
            if buf is None:
                buf = self._pages[page] = bytearray(PAGE)
            buf[off:off + chunk] = view[:chunk]
            view = view[chunk:]
            addr += chunk

    def read(self, addr: int, length: int) -> bytes:
        """`length` bytes from `addr` (zero where never written)."""
        if addr < 0 or length < 0 or addr + length > ADDRESS_LIMIT:      # _check, inlined: once per DMA block
            self._check(addr, length)
        page, off = divmod(addr, PAGE)
        if off + length <= PAGE:        # within one page (a DMA block, a descriptor): one slice
            buf = self._pages.get(page)
            return bytes(buf[off:off + length]) if buf is not None else bytes(length)
        out = bytearray()
        while length > 0:
            page, off = divmod(addr, PAGE)
            chunk = min(PAGE - off, length)
            buf = self._pages.get(page)
            out += buf[off:off + chunk] if buf is not None else bytes(chunk)
            addr += chunk
            length -= chunk
        return bytes(out)
