"""Finds work nobody is doing: due wake-ups, runs left by crashed workers, expired waits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from hub.db.clock import database_now
from hub.db.core import table
from hub.db.models import Run, Wait, utcnow
from hub.engine.intake import purge_kept_events, waiting_step, wake
from hub.engine.run import branch_rows

if TYPE_CHECKING:
    from hub.runtime import Runtime

BATCH = 500
# A run dispatched (at creation or by a sweeper) less than this ago is assumed to be on its way.
FRESH_S = 10.0


def expire_waits(runtime: Runtime) -> list[int]:
    """Fail the wait_for steps whose timeout passed; their runs go on to error handling."""
    now = utcnow()
    woken: list[int] = []
    with runtime.db.transaction() as session:
        waits = session.scalars(select(Wait).where(Wait.expires_at <= now).limit(BATCH)).all()
        for wait in waits:
            run, step = waiting_step(session, wait)
            if run is None or step is None:
                continue
            step.status, step.finished_at = "failed", now
            step.error = {
                "message": "timed out waiting for a matching event",
                "code": "timeout",
                "step": wait.step_id,
            }
            if (run_id := wake(run)) is not None:
                woken.append(run_id)
    return woken


def _due(now: datetime, stale: datetime) -> ColumnElement[bool]:
    """Runs someone should take up and no sweeper has sent since they became due, or not within the
    redispatch period: a run still in a saturated broker's queue is not sent again at every sweep."""

    def not_sent_since(became_due: Any) -> ColumnElement[bool]:
        return or_(Run.dispatched_at.is_(None), Run.dispatched_at < became_due, Run.dispatched_at <= stale)

    return or_(
        and_(
            Run.status == "queued",
            Run.wake_at.is_(None),
            func.coalesce(Run.dispatched_at, Run.created_at) <= stale,
        ),
        and_(
            Run.status.in_(("queued", "waiting")),
            Run.wake_at.is_not(None),
            Run.wake_at <= now,
            not_sent_since(Run.wake_at),
        ),
        and_(Run.status == "running", Run.lease_expires_at < now, not_sent_since(Run.lease_expires_at)),
    )


def due_runs(runtime: Runtime, fresh_s: float = FRESH_S) -> list[int]:
    """Take the runs due for (re)dispatch, stamping `dispatched_at` by the database's clock. The stamp
    is a conditional UPDATE of rows still due, so of two sweepers racing only one sends each run."""
    with runtime.db.read() as session:
        now = database_now(session)
        condition = _due(now, now - timedelta(seconds=fresh_s))
        candidates = list(session.scalars(select(Run.id).where(condition).order_by(Run.id).limit(BATCH)))
    if not candidates:
        return []
    with runtime.db.transaction() as session:
        taken = session.scalars(
            update(table(Run))
            .where(Run.id.in_(candidates), condition)
            .values(dispatched_at=now)
            .returning(Run.id)
        )
        return sorted(taken)


def due_branches(runtime: Runtime, fresh_s: float = FRESH_S) -> list[int]:
    """Spread branches to send again (a lost message, a dead worker's), stamped sent."""
    with runtime.db.transaction() as session:
        now = database_now(session)
        return branch_rows.due(session, now, now - timedelta(seconds=fresh_s))


def sweep(runtime: Runtime, fresh_s: float = FRESH_S) -> int:
    """Dispatch the runs of expired waits, the due ones and the spread branches left behind;
    `fresh_s` is the redispatch period."""
    runtime.db.write(purge_kept_events)
    run_ids = expire_waits(runtime) + due_runs(runtime, fresh_s)
    runtime.dispatch(run_ids)
    branch_ids = due_branches(runtime, fresh_s)
    runtime.dispatch_branches(branch_ids)
    return len(run_ids) + len(branch_ids)
