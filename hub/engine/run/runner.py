"""Executes one run: take the lease, load the run, walk the main steps (then on_failure), end it.

Every state change is written before it is acted on (see `lease`, `execution`, `attempt`). A
database error that passes (connection lost, failover, lock timeout) interrupts the run without
failing it: the run is handed back, due again shortly, or left to its lease's expiry.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub import templating
from hub.db.errors import describe, is_transient
from hub.db.models import utcnow
from hub.engine import store
from hub.engine.calls import RunEnd
from hub.engine.run.execution import Execution
from hub.engine.run.fresh import FreshRun
from hub.engine.run.lease import Lease, LostLease
from hub.engine.run.nesting import limits_exceeded
from hub.engine.run.outcomes import Done, Failed, Parked, error_info
from hub.engine.run.state import RunState
from hub.engine.run.walker import walk
from hub.engine.statements import Record

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.runner")


class Runner:
    """Executes runs for one runtime; `execute` is called once per dispatch of a run id."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.db = runtime.db

    @property
    def claim_lazily(self) -> bool:
        """Whether the run was read as fresh, to be claimed by its first write."""
        return self.lease.claim_lazily

    def execute(self, run_id: int, fresh: FreshRun | None = None) -> None:
        """Run (or continue) `run_id` if it is due and nobody else holds it. A database error that
        passes (connection lost, failover, lock timeout) interrupts the run without failing it.
        `fresh`: the run as this process just stored it, so it is not read back."""
        self.run_id = run_id
        self.lease = Lease(self.rt, run_id)
        self.engaged = False  # set once this worker may have written (and so hold the lease)
        try:
            self._execute(run_id, fresh)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("event=run_interrupted run=%s reason=database error=%s", run_id, describe(exc))
            if self.engaged and not self.lease.released:
                self.lease.give_back()

    def _execute(self, run_id: int, fresh: FreshRun | None) -> None:
        # A fresh run's row and event are in memory and its recipe version is usually cached: its
        # session is opened only if something reads (a version not cached, the marker due, hook URLs).
        reading: contextlib.AbstractContextManager[Any] = (
            self.db.read() if fresh is None else self.db.read_on_demand()
        )
        with reading as session:
            run = store.read_run(session, run_id) if fresh is None else fresh.run
            self.lease.claim_lazily = run is not None and self._fresh(run)
            if run is not None and self.claim_lazily:
                self._load(session, run, fresh)
        if run is None:
            return
        self.engaged = True
        if not self.claim_lazily:
            if not self.lease.claim():
                return
            with self.db.read() as session:
                run = store.read_run(session, run_id)
                assert run is not None
                self._load(session, run)
        try:
            self._drive()
        except LostLease:
            log.info("event=run_stopped run=%s reason=cancelled_or_taken_over", run_id)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("event=run_crashed run=%s", run_id)
            with contextlib.suppress(LostLease):
                self.lease.release("failed", error=error_info(exc))

    @staticmethod
    def _fresh(run: Record) -> bool:
        """Never claimed and due: nothing of it can change until a worker claims it."""
        due = run.wake_at is None or run.wake_at <= utcnow()
        return run.status == "queued" and run.started_at is None and due

    def _load(self, session: Any, run: Record, fresh: FreshRun | None = None) -> None:
        self.lease.run = run
        state = RunState(session, self.rt, run, fresh.stored_event() if fresh else None)
        spreads = getattr(self.rt.executor, "spreads", False)  # Celery: branches are tasks of their own
        self.execution = Execution(self.rt, self.lease, state, spreads=spreads)
        if RunEnd.wanted(state, run):  # a recipe with an `output`, or a run started by a call
            self.lease.end = RunEnd(state, run)

    def _drive(self) -> None:
        ex = self.execution
        run, doc = ex.state.run, ex.state.document
        if run.phase == "main":
            fresh = not ex.state.steps and not run.from_step
            if (
                fresh
                and doc.get("filter")
                and not templating.evaluate_condition(doc["filter"], ex.state.context, "$.filter")
            ):
                self.lease.release("filtered")
                return
            too_many = limits_exceeded(doc)
            if too_many is not None:
                self.lease.release("failed", error=too_many)
                return
            outcome = self._walk("main")
            if isinstance(outcome, Parked):
                return
            if isinstance(outcome, Done):
                if not self.lease.released:  # else the last step's own write finished the run
                    self.lease.release("succeeded")
                return
            run.error = outcome.error
            if not doc.get("on_failure"):
                self.lease.release("failed", error=outcome.error)
                return
            with self.db.transaction() as session:
                self.lease.renew(session)
                store.enter_on_failure(session, self.run_id, outcome.error)
        ex.state.context["error"] = run.error or {}
        if isinstance(self._walk("on_failure"), Parked):
            return
        self.lease.release("failed", error=run.error)

    def _walk(self, phase: str) -> Done | Parked | Failed:
        """Walk the phase's steps; when nested steps parked, give the run up as their joined parks,
        or walk again when one of their waits ended meanwhile."""
        ex = self.execution
        steps = ex.state.document.get("steps" if phase == "main" else "on_failure") or []
        while True:
            outcome = walk(ex, phase, steps)
            if not isinstance(outcome, Parked) or self.lease.released or not ex.parks:
                return outcome
            if ex.parks.release(self.db, self.lease, ex.state):
                return outcome
