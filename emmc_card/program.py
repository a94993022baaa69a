"""Blocks on their way into the medium: the card's programming pipeline.

A block handed to the medium (cache off, reliable write, cache eviction or
flush) is programmed after the ones before it, one at a time. Its bytes
reach the Storage when its program time has elapsed; until then reads see it
from here. A power cut keeps finished blocks, may tear the one in progress
(a prefix of new data, the rest old; never for a reliable write) and loses
the queued ones.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from emmc_card.cache import BlockKey
from emmc_card.storage import Storage
from emmc_card.timing import CardTimer


@dataclass(slots=True)
class Program:
    """One block being (or waiting to be) programmed."""

    key: BlockKey
    data: bytes
    start_ps: int
    done_ps: int
    reliable: bool


@dataclass
class PowerCutReport:
    """What a power cut did to data the card had acknowledged but not yet made durable."""

    t_ps: int
    lost_cached: list[BlockKey]
    lost_queued: list[BlockKey]
    torn: list[tuple[BlockKey, int]]      # (block, bytes of new data that made it)
    interrupted_reliable: list[BlockKey]  # reliable block in progress: old data kept


class ProgramQueue:
    """FIFO of blocks being programmed; commits them to `storage` as time passes."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._queue: deque[Program] = deque()
        self._latest: dict[BlockKey, Program] = {}
        self.free_ps = 0   # when the programming engine has finished everything queued
        self.history: list[Program] | None = None   # every block scheduled, when asked (pictures of a run)

    def __len__(self) -> int:
        return len(self._queue)

    def schedule(self, key: BlockKey, data: bytes, ready_ps: int, duration_ps: int, reliable: bool) -> int:
        """Queue a block that may start at `ready_ps`; returns when it is programmed."""
        start = max(ready_ps, self.free_ps)
        program = Program(key, data, start, start + duration_ps, reliable)
        self._queue.append(program)
        if self.history is not None:
            self.history.append(program)
        self._latest[key] = program
        self.free_ps = program.done_ps
        return program.done_ps

    def room_ps(self, t_ps: int, buffer_blocks: int) -> int:
        """Earliest time >= t_ps at which fewer than `buffer_blocks` blocks await programming."""
        if len(self._queue) < buffer_blocks:      # the common case (cache on): no need to look
            return t_ps
        pending = [p.done_ps for p in self._queue if p.done_ps > t_ps]
        if len(pending) < buffer_blocks:
            return t_ps
        return pending[len(pending) - buffer_blocks]

    def pending(self, key: BlockKey) -> bytes | None:
        """Newest not-yet-programmed data for a block, or None."""
        program = self._latest.get(key)
        return program.data if program is not None else None

    def _commit(self, program: Program) -> None:
        partition, offset = program.key
        self._storage.write(partition, offset, program.data)
        if self._latest.get(program.key) is program:
            del self._latest[program.key]

    def settle(self, t_ps: int) -> None:
        """Commit every block whose programming has finished by `t_ps`."""
        queue = self._queue
        while queue and queue[0].done_ps <= t_ps:
            self._commit(queue.popleft())

    def finish(self) -> None:
        """Commit everything (orderly shutdown: the card completes its work)."""
        while self._queue:
            self._commit(self._queue.popleft())

    def power_cut(self, t_ps: int, timer: CardTimer, report: PowerCutReport) -> None:
        """Apply a power cut at `t_ps`: tear the block in progress, drop the rest."""
        self.settle(t_ps)
        for program in self._queue:
            if program.start_ps <= t_ps < program.done_ps:
                if program.reliable:
                    report.interrupted_reliable.append(program.key)
                    continue
                prefix = timer.tear_prefix(len(program.data))
                partition, offset = program.key
                self._storage.write(partition, offset, program.data[:prefix])
                report.torn.append((program.key, prefix))
            else:
                report.lost_queued.append(program.key)
        self._queue.clear()
        self._latest.clear()
