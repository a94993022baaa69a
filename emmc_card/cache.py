"""The card's volatile write cache (EXT_CSD CACHE_CTRL / CACHE_SIZE).

Blocks written while the cache is on are acknowledged once they sit here;
they reach the medium only when flushed (FLUSH_CACHE) or evicted, least
recently written first, when the cache is full. A power cut empties it.
"""
from __future__ import annotations

from collections import OrderedDict

BlockKey = tuple[int, int]   # (partition, byte offset of a 512-byte block)


class WriteCache:
    """LRU store of dirty 512-byte blocks, at most `capacity_blocks` of them."""

    def __init__(self, capacity_blocks: int) -> None:
        self.capacity_blocks = capacity_blocks
        self._blocks: OrderedDict[BlockKey, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def get(self, key: BlockKey) -> bytes | None:
        """Cached data for a block (reads must see it), or None."""
        return self._blocks.get(key)

    def put(self, key: BlockKey, data: bytes) -> list[tuple[BlockKey, bytes]] | tuple[()]:
        """Cache a block; returns the blocks evicted to make room (oldest first)."""
        blocks = self._blocks
        blocks.pop(key, None)
        if len(blocks) < self.capacity_blocks:      # room: the common case, nothing to build
            blocks[key] = data
            return ()
        evicted = []
        while len(blocks) >= self.capacity_blocks:
            evicted.append(blocks.popitem(last=False))
        blocks[key] = data
        return evicted

    def discard(self, key: BlockKey) -> None:
        """Forget a block superseded by a write that bypassed the cache."""
        self._blocks.pop(key, None)

    def drain(self) -> list[tuple[BlockKey, bytes]]:
        """Remove and return every dirty block, oldest first (a flush)."""
        blocks = list(self._blocks.items())
        self._blocks.clear()
        return blocks
