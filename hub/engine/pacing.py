"""Acknowledgements paced to delivery: a process that takes webhooks faster than its runs execute
holds each answer (the event already stored) until the runs queued ahead of it are at most
`ahead_s` seconds of its own measured work, and never longer than `hold_s`.

Without it a burst from many connections is acknowledged at the ingress's speed, faster than the
runs go out, and leaves a backlog that keeps running long after the burst (30 s of work after a
60 s burst at 32 connections in bench/). Held, a sender with a connection waiting for its answer
sends at the pace the hub delivers: the backlog stays at about `ahead_s`, the runs held in memory
stay few, and a sender that cannot wait still gets its answer after `hold_s`, far inside the
timeouts vendors give a webhook (3-30 s)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class AckPacer:
    """The pace of one process's acknowledgements, fed by its executor as runs finish.

    The work a run is worth is measured, not configured: runs finished per second over windows of
    `window_s` in which the queue never ran short of the run threads, averaged with the previous
    measure. Until one is measured, and whenever the measure allows fewer, `floor` runs may wait."""

    def __init__(
        self,
        backlog: Callable[[], int],
        *,
        ahead_s: float,
        hold_s: float,
        floor: int,
        window_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backlog = backlog
        self.ahead_s = ahead_s
        self.hold_s = hold_s
        self.floor = floor
        self.window_s = window_s
        self._clock = clock
        self._changed = threading.Condition()
        self._waiting = 0
        self._closed = False
        self.rate: float | None = None  # runs per second while the run threads were all busy
        self._window_at = clock()
        self._window_runs = 0
        self._window_short = False  # the queue ran short of the run threads in this window

    def limit(self) -> int:
        """How many runs may be queued or running here before an answer waits."""
        if self.rate is None:
            return self.floor
        return max(self.floor, int(self.rate * self.ahead_s))

    def ran(self, backlog: int, busy_threads: int) -> None:
        """One run finished; `backlog` runs are left queued or running, for `busy_threads` threads.
        Lets the longest-held answer go if the backlog is now within the limit: one answer per run
        finished, so while answers are held they go out at the pace runs do."""
        with self._changed:
            self._window_runs += 1
            if backlog < busy_threads:
                self._window_short = True
            now = self._clock()
            elapsed = now - self._window_at
            if elapsed >= self.window_s:
                if not self._window_short:
                    measured = self._window_runs / elapsed
                    self.rate = measured if self.rate is None else (self.rate + measured) / 2
                self._window_at, self._window_runs, self._window_short = now, 0, False
            if self._waiting and backlog <= self.limit():
                self._changed.notify()  # the longest waiting: Condition wakes its waiters in order

    def make_room(self) -> float:
        """Wait, after the answers already held, until a run's end makes room within the limit, or
        `hold_s` has passed; the seconds waited. Called once the event is stored and its run queued.
        An answer never overtakes one held before it: the ack latencies stay even, not a lucky few
        at once and the rest after many rounds."""
        if self.ahead_s <= 0 or (not self._waiting and self._backlog() <= self.limit()):
            return 0.0
        started = self._clock()
        with self._changed:
            if self._closed or (not self._waiting and self._backlog() <= self.limit()):
                return 0.0
            self._waiting += 1
            try:
                self._changed.wait(self.hold_s)  # one wake-up is this answer's turn: no re-check
            finally:
                self._waiting -= 1
        return self._clock() - started

    def close(self) -> None:
        """Answer every held acknowledgement now (the process is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
