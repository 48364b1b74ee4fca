"""The run's lease: who may write the run now, and for how long.

A run is claimed by compare-and-set on its `runs` row, so it is executed by one worker at a time
even when dispatched twice, and a run left by a crashed worker is taken up again once its lease
expires. A run never claimed before is claimed lazily, by its first write. Every write of a run
starts with `renew`, or ends with the release, which checks the lease itself; a write that finds the
lease gone raises `LostLease`, and nothing of it is committed.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hub.db.errors import is_transient
from hub.db.models import utcnow
from hub.engine import store

if TYPE_CHECKING:
    from hub.engine.calls import RunEnd
    from hub.runtime import Runtime

log = logging.getLogger("hub.runner")
FINAL = {"succeeded", "failed", "filtered", "cancelled"}
# Giving an interrupted run back: tries spaced so a dropped connection is replaced in between, all
# within a bound (a SQLite busy wait counts too), and how soon the run is due again (the sweeper
# dispatches it at its next pass after that).
GIVE_BACK_DELAYS_S = (0.0, 0.2, 0.5, 1.0)
GIVE_BACK_WITHIN_S = 3.0
RESUME_AFTER_S = 1.0


class LostLease(Exception):
    """The run was cancelled or taken over; this worker stops touching it."""


class Lease:
    """One worker's hold on one run: claim, renew inside each write, release with the new status."""

    def __init__(self, runtime: Runtime, run_id: int) -> None:
        self.rt = runtime
        self.run_id = run_id
        self.claim_lazily = False  # a fresh run: claimed by its first write, not by a claim of its own
        self.released = False
        self.end: RunEnd | None = None  # what a final release also writes (output, a caller's wake-up)
        self.ended_as: str | None = None  # the status a final release wrote, when `end` changed it
        self.woken: int | None = None  # a caller this run's end queued, dispatched once committed
        self.run: Any = None  # the run's record once read: its recipe and age label the metrics

    def _until(self) -> Any:
        return utcnow() + timedelta(seconds=self.rt.settings.lease_s)

    def claim(self) -> bool:
        params = {"b_id": self.run_id, "b_now": utcnow(), "b_owner": self.rt.owner, "b_until": self._until()}
        claimed: bool = self.rt.db.write(lambda session: store.claim(session, params))
        return claimed

    def renew(self, session: Any) -> None:
        """Extend the lease (first taking it, for a fresh run); every write of a run starts here."""
        params = {"b_id": self.run_id, "b_owner": self.rt.owner, "b_until": self._until()}
        if self.claim_lazily:
            params["b_now"] = utcnow()
        if not store.renew(session, params, claim_fresh=self.claim_lazily):
            raise LostLease()

    def release_params(
        self, status: str, *, wake_at: Any = None, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The RELEASE statement's parameters: the lease given up, the run's new status."""
        params: dict[str, Any] = {
            "b_id": self.run_id,
            "b_owner": self.rt.owner,
            "status": status,
            "lease_owner": None,
            "lease_expires_at": None,
            "wake_at": wake_at,
        }
        if status in FINAL:
            params["finished_at"] = utcnow()
        if error is not None:
            params["error"] = error
        if self.end is not None and status in FINAL:
            self.end.complete(params)
            self.ended_as = params["status"]
        return params

    def release(self, status: str, *, wake_at: Any = None, error: dict[str, Any] | None = None) -> None:
        """Give the run up as `status` in a write of its own."""
        params = self.release_params(status, wake_at=wake_at, error=error)
        self.rt.db.write(lambda session: self.release_in(session, params))
        self.released_as(status)

    def release_in(self, session: Any, params: dict[str, Any]) -> None:
        """Give the run up inside a caller's write (RELEASE's `params`). RELEASE checks the lease
        itself, so the write needs no renew of its own; a fresh run released by its first write
        (filtered, crashed) is claimed first."""
        released = store.release(session, params)
        if not released and self.claim_lazily:
            self.renew(session)
            released = store.release(session, params)
        if not released:
            raise LostLease()
        if self.end is not None:
            self.woken = self.end.write(session, self.run_id, params)

    def released_as(self, status: str) -> None:
        """Note a committed release (and count a run that finished or now waits for a person)."""
        self.released = True
        if status in FINAL and self.ended_as:
            status = self.ended_as
        if self.woken is not None:
            self.rt.dispatch([self.woken])
            self.woken = None
        if status in FINAL or status == "held":
            metrics = self.rt.metrics
            metrics.child(metrics.runs_finished, status).inc()
            if self.run is not None and not self.run.dry_run:
                age = (utcnow() - self.run.created_at).total_seconds() if status in FINAL else None
                metrics.recipe_run(self.run.recipe_id, status, age)

    def give_back(self) -> None:
        """Hand an interrupted run back, due again shortly, so the sweeper dispatches it; if the
        database stays away, the lease expires and the sweeper takes the run up then. An attempt
        left `started` is an unknown outcome when the run resumes (repeat-safe or held)."""
        deadline = time.monotonic() + GIVE_BACK_WITHIN_S
        for delay in GIVE_BACK_DELAYS_S:
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            try:
                self.release("queued", wake_at=utcnow() + timedelta(seconds=RESUME_AFTER_S))
                return
            except LostLease:  # finished after all (its commit went through), cancelled or taken over
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
        log.warning("event=run_left_for_lease_expiry run=%s", self.run_id)
