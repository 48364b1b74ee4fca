"""Executes one spread branch (a parallel branch or a for_each item, see `spread`): a task of its own.

It takes the branch's sub-lease by compare-and-set, so a branch sent twice runs once and one left by
a dead worker is taken up again once its sub-lease expires, skipping its done steps (an attempt left
`started` is repeated with the same idempotency key when repeat-safe, else held). It walks the run
down to its branch only (`Execution.focus`), then settles the row in one write with the run's row
locked: what it came to (its parks, if parked), the next pending sibling queued in its slot, and the
run queued if it was the last branch in flight.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hub.db.errors import describe, is_transient
from hub.db.models import utcnow
from hub.engine import store
from hub.engine.calls import RunEnd
from hub.engine.run import branch_rows
from hub.engine.run.execution import Execution
from hub.engine.run.lease import FINAL, LostLease
from hub.engine.run.outcomes import Failed, Outcome, Parked, error_info
from hub.engine.run.parks import Parks
from hub.engine.run.state import RunState
from hub.engine.run.sublease import SubLease
from hub.engine.run.walker import walk
from hub.engine.statements import Record

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.runner")


class BranchRunner:
    """Executes branches for one runtime; `execute` is called once per dispatch of a branch id."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.db = runtime.db

    def execute(self, branch_id: int) -> None:
        """Run (or continue) the branch if nobody else holds it. A database error that passes hands
        it back to be sent again, or leaves it to its sub-lease's expiry."""
        self.lease: SubLease | None = None
        try:
            self._execute(branch_id)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "event=branch_interrupted branch=%s reason=database error=%s", branch_id, describe(exc)
            )
            if self.lease is not None and not self.lease.released:
                self.lease.give_back()

    def _execute(self, branch_id: int) -> None:
        until = utcnow() + timedelta(seconds=self.rt.settings.lease_s)
        row = self.db.write(lambda session: branch_rows.claim(session, branch_id, self.rt.owner, until))
        if row is None:
            return
        lease = self.lease = SubLease(self.rt, row.run_id, branch_id)
        with self.db.read() as session:
            run = store.read_run(session, row.run_id)
            if run is None or run.status in FINAL:
                return
            state = RunState(session, self.rt, run)
        lease.run = run
        if RunEnd.wanted(state, run):  # a `stop` in the branch ends the run with its output
            lease.end = RunEnd(state, run)
        ex = Execution(self.rt, lease, state, focus=f"{row.fanout}.{row.label}.")
        if row.phase == "on_failure":
            state.context["error"] = run.error or {}
        log.debug("event=branch_started run=%s path=%s.%s", row.run_id, row.fanout, row.label)
        try:
            outcome = walk(
                ex, row.phase, state.document.get("steps" if row.phase == "main" else "on_failure") or []
            )
            if not lease.released:  # else a `stop` in it ended the run
                self._settle(lease, row, outcome, ex.parks)
        except LostLease:
            log.info(
                "event=branch_stopped run=%s path=%s.%s reason=cancelled_or_taken_over",
                row.run_id,
                row.fanout,
                row.label,
            )
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("event=branch_crashed run=%s path=%s.%s", row.run_id, row.fanout, row.label)
            with contextlib.suppress(LostLease):
                lease.release("failed", error=error_info(exc))

    def _settle(self, lease: SubLease, row: Record, outcome: Outcome, parks: Parks) -> None:
        status = (
            "parked" if isinstance(outcome, Parked) else "failed" if isinstance(outcome, Failed) else "done"
        )
        kept = parks.stored() if status == "parked" else None

        def settle(session: Any) -> tuple[int | None, bool]:
            run = branch_rows.lock_run(session, row.run_id, share=False)
            if run is None or run.status in FINAL:
                raise LostLease()
            if not branch_rows.settle(session, row.id, self.rt.owner, status, kept):
                raise LostLease()
            return branch_rows.start_next(session, row, status), branch_rows.wake_joined(session, row.run_id)

        following, woken = self.db.write(settle)
        lease.released = True
        log.debug(
            "event=branch_settled run=%s path=%s.%s status=%s", row.run_id, row.fanout, row.label, status
        )
        self.rt.dispatch_branches([following] if following is not None else [])
        if woken:
            self.rt.dispatch([row.run_id])
