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

    The work queued is measured in the process's own runs: a run's wall time, averaged over the
    last few dozen, spread over the run threads (Little's law: with every thread busy, which is
    the only time answers wait, `threads / seconds per run` is the rate runs go out). Until a run
    has finished, and whenever the measure allows fewer, `floor` runs may wait."""

    def __init__(
        self,
        backlog: Callable[[], int],
        *,
        threads: int,
        ahead_s: float,
        hold_s: float,
        floor: int,
    ) -> None:
        self._backlog = backlog
        self.threads = threads
        self.ahead_s = ahead_s
        self.hold_s = hold_s
        self.floor = floor
        self._changed = threading.Condition()
        self._waiting = 0
        self._closed = False
        self.run_s: float | None = None  # a run's wall time, a moving average
        self._limit = floor

    def limit(self) -> int:
        """How many runs may be queued or running here before an answer waits."""
        return self._limit

    def ran(self, seconds: float) -> None:
        """One run (or one turn of it) took `seconds`. Lets the longest-held answer go if the backlog
        is now within the limit: one answer per run finished, so while answers are held they go out
        at the pace runs do."""
        with self._changed:
            self.run_s = seconds if self.run_s is None else self.run_s + (seconds - self.run_s) / 32
            rate = self.threads / max(self.run_s, 1e-6)
            self._limit = max(self.floor, int(rate * self.ahead_s))
            if self._waiting and self._backlog() <= self._limit:
                self._changed.notify()  # the longest waiting: Condition wakes its waiters in order

    def make_room(self) -> float:
        """Wait, after the answers already held, until a run's end makes room within the limit, or
        `hold_s` has passed; the seconds waited. Called once the event is stored and its run queued.
        An answer never overtakes one held before it: the ack latencies stay even, not a lucky few
        at once and the rest after many rounds."""
        if self.ahead_s <= 0 or self.hold_s <= 0 or (not self._waiting and self._backlog() <= self.limit()):
            return 0.0
        started = time.monotonic()
        with self._changed:
            if self._closed or (not self._waiting and self._backlog() <= self.limit()):
                return 0.0
            self._waiting += 1
            try:
                self._changed.wait(self.hold_s)  # one wake-up is this answer's turn: no re-check
            finally:
                self._waiting -= 1
        return time.monotonic() - started

    def close(self) -> None:
        """Answer every held acknowledgement now (the process is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
