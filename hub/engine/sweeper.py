"""Finds work nobody is doing: due wake-ups, runs left by crashed workers, expired waits."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from hub.db.models import Run, StepRun, Wait, utcnow
from hub.engine.intake import purge_kept_events

if TYPE_CHECKING:
    from hub.runtime import Runtime

BATCH = 500
# A queued run younger than this is assumed to be on its way to a worker already.
FRESH_S = 10.0


def expire_waits(runtime: Runtime) -> list[int]:
    """Fail the wait_for steps whose timeout passed; their runs go on to error handling."""
    now = utcnow()
    woken: list[int] = []
    with runtime.db.transaction() as session:
        waits = session.scalars(select(Wait).where(Wait.expires_at <= now).limit(BATCH)).all()
        for wait in waits:
            run = session.get(Run, wait.run_id)
            step = session.scalar(
                select(StepRun).where(StepRun.run_id == wait.run_id, StepRun.step_id == wait.step_id)
            )
            session.delete(wait)
            if run is None or run.status != "waiting" or step is None:
                continue
            step.status, step.finished_at = "failed", now
            step.error = {
                "message": "timed out waiting for a matching event",
                "code": "timeout",
                "step": wait.step_id,
            }
            run.status, run.wake_at = "queued", None
            woken.append(run.id)
    return woken


def due_runs(runtime: Runtime, fresh_s: float = FRESH_S) -> list[int]:
    now = utcnow()
    fresh = now - timedelta(seconds=fresh_s)
    condition = or_(
        and_(Run.status == "queued", Run.wake_at.is_not(None), Run.wake_at <= now),
        and_(Run.status == "queued", Run.wake_at.is_(None), Run.created_at <= fresh),
        and_(Run.status == "waiting", Run.wake_at.is_not(None), Run.wake_at <= now),
        and_(Run.status == "running", Run.lease_expires_at < now),
    )
    with runtime.db.read() as session:
        return list(session.scalars(select(Run.id).where(condition).order_by(Run.id).limit(BATCH)))


def sweep(runtime: Runtime, fresh_s: float = FRESH_S) -> int:
    runtime.db.write(purge_kept_events)
    run_ids = expire_waits(runtime) + due_runs(runtime, fresh_s)
    runtime.dispatch(run_ids)
    return len(run_ids)
