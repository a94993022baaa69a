"""The controller's timeline: scheduled state changes, run in time order, frozen while the SD clock stops.

Event-driven and lazy: nothing runs until someone looks. A register access
at time t first runs every event due by t (`advance`); `next_event_ps` tells
a poller when the state may next change. Two rules hold whatever the
register sequence:

- time never goes backwards: events run in (time, scheduling order), none
  earlier than the last one run or the last time advanced to;
- no event runs twice: an event leaves the queue when it runs or is
  cancelled, and a clock restart moves events instead of copying them.

Bus events (phases on CMD and DAT) need the SD clock. While it is stopped,
a bus event that comes due is frozen; when the clock restarts, every frozen
or pending bus event moves later by the time the clock was stopped (counted
from when the event was scheduled, if later), an approximation of the card
pausing with the clock. Host-side events (latencies, internal clock
stable) run on time regardless.

Each event belongs to an engine ("cmd", "dat", "clk"); a software reset
cancels an engine's events at once.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable

ENGINES = ("cmd", "dat", "clk")

# One event: (time, sequence, engine, generation, bus, scheduled_at, fn, args). The unique
# sequence number orders events due at the same time by scheduling order and keeps tuple
# comparison from reaching the later fields. An event whose generation is no longer its
# engine's current one was cancelled.
_Event = tuple[int, int, str, int, bool, int, Callable[..., None], tuple]


class Scheduler:
    """Events in time order; bus events wait for a running SD clock."""

    def __init__(self) -> None:
        self.now = 0                       # the time the model has been advanced to
        self._queue: list[_Event] = []     # a heap
        self._frozen: list[_Event] = []    # bus events that came due while the SD clock was stopped
        self._seq = 0
        self._generation = dict.fromkeys(ENGINES, 0)
        self.clock_stopped_at: int | None = 0    # None while the SD clock runs
        self._watching = False                   # inside run_until_halt()
        self._halted_at: int | None = None

    def schedule(self, t: int, engine: str, bus: bool, fn: Callable[..., None], args: tuple = ()) -> None:
        """Run fn(t, *args) at time t (now, if t is in the past)."""
        now = self.now
        if t < now:
            t = now
        self._seq = seq = self._seq + 1
        heapq.heappush(self._queue, (t, seq, engine, self._generation[engine], bus, now, fn, args))

    def cancel(self, engines: tuple[str, ...]) -> None:
        """Drop every pending or frozen event of these engines (a software reset)."""
        generation = self._generation
        for engine in engines:
            generation[engine] += 1
        self._frozen = [ev for ev in self._frozen if ev[2] not in engines]

    def advance(self, t: int) -> None:
        """Run every event due by t, in order; then the model stands at t (never before now)."""
        queue = self._queue
        if not queue or queue[0][0] > t:         # most accesses: nothing due
            if t > self.now:
                self.now = t
            return
        self._run(t)
        if t > self.now:
            self.now = t

    def _run(self, t: int) -> None:
        """Run events due by t; stop early after one that called halt()."""
        queue = self._queue
        generation = self._generation
        heappop = heapq.heappop
        while queue and queue[0][0] <= t:
            ev = heappop(queue)
            if ev[3] != generation[ev[2]]:
                continue                          # cancelled
            if ev[4] and self.clock_stopped_at is not None:
                self._frozen.append(ev)
                continue
            self.now = ev[0]
            ev[6](ev[0], *ev[7])
            if self._halted_at is not None:
                return

    def run_until_halt(self, limit: int) -> int | None:
        """Run events due by `limit` until one of them calls halt(); that event's time, else None.

        For a poller that will look again no earlier than that time: the
        model stops right after the change it waits for, and stands at
        `limit` when there was none.
        """
        self._watching = True
        self._run(limit)
        self._watching = False
        halted, self._halted_at = self._halted_at, None
        if halted is None and limit > self.now:
            self.now = limit
        return halted

    def halt(self) -> None:
        """Called while an event runs: run_until_halt() stops after it (elsewhere a no-op)."""
        if self._watching:
            self._halted_at = self.now

    def next_event_ps(self) -> int | None:
        """The time of the earliest event that can run (None: nothing scheduled, or all waits for the clock)."""
        queue = self._queue
        generation = self._generation
        while queue and queue[0][3] != generation[queue[0][2]]:
            heapq.heappop(queue)                  # cancelled: forget it now
        if not queue:
            return None
        if self.clock_stopped_at is None or not queue[0][4]:
            return queue[0][0]
        return min((ev[0] for ev in queue if not ev[4] and ev[3] == generation[ev[2]]), default=None)

    def next_due_ps(self) -> int | None:
        """The time of the earliest queued event, cancelled or waiting for the clock alike (None: none).

        Nothing can change before it: a caller may take every access before it in one piece.
        """
        return self._queue[0][0] if self._queue else None

    def stop_clock(self, t: int) -> None:
        """The SD clock stopped at t: bus events freeze as they come due."""
        if self.clock_stopped_at is None:
            self.clock_stopped_at = t

    def start_clock(self, t: int) -> None:
        """The SD clock runs again from t: frozen and pending bus events move later by the pause."""
        stopped = self.clock_stopped_at
        if stopped is None:
            return
        self.clock_stopped_at = None
        generation = self._generation
        moved: list[_Event] = []
        for ev in self._queue + self._frozen:
            if ev[3] != generation[ev[2]]:
                continue
            if ev[4] and ev[0] >= stopped:
                ev = (ev[0] + t - max(stopped, ev[5]),) + ev[1:]
            moved.append(ev)
        self._frozen = []
        self._queue[:] = moved                    # the same list: a _run in progress sees the moved events
        heapq.heapify(self._queue)
