"""Background jobs (sweeps, polls, schedules) riding out a database outage: one log line, then a pause.

A job that meets a transient database error (`hub.db.errors.is_transient`) skips its next ticks for
a backoff that doubles while the outage lasts and resets on the first success, so an outage gives a
line per backoff instead of a traceback per tick. Other errors propagate as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from hub.db.errors import describe, is_transient

log = logging.getLogger("hub.jobs")
T = TypeVar("T")
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 15.0


class DatabaseBackoff:
    """Guards one job (APScheduler runs one instance of a job at a time): `run(fn)` calls `fn` unless
    the job is backing off from a database outage."""

    def __init__(self, job: str, first_s: float = FIRST_BACKOFF_S, max_s: float = MAX_BACKOFF_S) -> None:
        self.job = job
        self.first_s = first_s
        self.max_s = max_s
        self.delay_s = 0.0
        self._resume_at = 0.0

    def run(self, fn: Callable[[], T]) -> T | None:
        """`fn()`, or None when skipped now or interrupted by a transient database error."""
        if time.monotonic() < self._resume_at:
            return None
        try:
            result = fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.delay_s = min(self.max_s, self.delay_s * 2 or self.first_s)
            self._resume_at = time.monotonic() + self.delay_s
            log.warning(
                "event=job_deferred job=%s reason=database retry_in_s=%.1f error=%s",
                self.job,
                self.delay_s,
                describe(exc),
            )
            return None
        if self.delay_s:
            log.info("event=job_resumed job=%s", self.job)
            self.delay_s, self._resume_at = 0.0, 0.0
        return result
