"""The `run_branches` rows of a spread fan-out: one per parallel branch or for_each item, each its
own task's sub-lease and, once settled, what it came to.

Statuses: `pending` (over the concurrency, started by a sibling that settles), `queued` (sent to a
worker), `running` (held by a worker's sub-lease), then `done`, `failed` or `parked` (its parks kept
for the run's joined release), or `cancelled`. Every write that decides about a run's branches locks
the run's row first (the lease holder's writes do, by renewing its lease), so a branch settling and
the holder parking the run as a join never miss each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from hub.db.core import affected, table
from hub.db.models import Run, RunBranch, utcnow
from hub.engine.run.lease import FINAL
from hub.engine.statements import Record

branches, runs = table(RunBranch), table(Run)
IN_FLIGHT = ("queued", "running")
OPEN = ("pending", "queued", "running", "parked")


def of_fanout(session: Session, run_id: int, phase: str, fanout: str) -> list[Record]:
    """The fan-out's rows, by label."""
    query = select(*branches.c).where(
        branches.c.run_id == run_id, branches.c.phase == phase, branches.c.fanout == fanout
    )
    return [Record(**row._mapping) for row in session.execute(query.order_by(branches.c.label))]


def create(
    session: Session, run_id: int, phase: str, fanout: str, count: int, width: int, keep_going: bool
) -> None:
    """The fan-out's rows, the first `width` queued (sent now) and the rest pending."""
    now = utcnow()
    rows = [
        {
            "run_id": run_id,
            "phase": phase,
            "fanout": fanout,
            "label": label,
            "status": "queued" if label < width else "pending",
            "width": width,
            "keep_going": keep_going,
            "created_at": now,
            "dispatched_at": now if label < width else None,
        }
        for label in range(count)
    ]
    session.execute(insert(branches), rows)


def queue(session: Session, ids: list[int]) -> None:
    """Send branches not started, or parked ones whose park is over; in flight from now."""
    if ids:
        session.execute(
            update(branches)
            .where(branches.c.id.in_(ids), branches.c.status.in_(("pending", "parked")))
            .values(status="queued", dispatched_at=utcnow(), lease_expires_at=None)
        )


def in_flight(session: Session, run_id: int) -> int:
    query = select(func.count()).where(branches.c.run_id == run_id, branches.c.status.in_(IN_FLIGHT))
    return int(session.scalar(query) or 0)


def lock_run(session: Session, run_id: int, *, share: bool) -> Any:
    """The run's status and lease owner, its row locked (shared: a branch's write, which a cancel
    waits for and which sees a committed cancel)."""
    query = select(runs.c.status, runs.c.lease_owner).where(runs.c.id == run_id)
    return session.execute(query.with_for_update(read=share)).first()


def claim(session: Session, branch_id: int, owner: str, until: datetime) -> Record | None:
    """Take the branch's sub-lease if it is queued or its holder's lease expired; the row if taken."""
    now = utcnow()
    taken = (
        update(branches)
        .where(
            branches.c.id == branch_id,
            (branches.c.status == "queued")
            | ((branches.c.status == "running") & (branches.c.lease_expires_at < now)),
        )
        .values(
            status="running",
            lease_owner=owner,
            lease_expires_at=until,
            started_at=func.coalesce(branches.c.started_at, now),
        )
    )
    if affected(session.execute(taken)) != 1:
        return None
    row = session.execute(select(*branches.c).where(branches.c.id == branch_id)).first()
    return Record(**row._mapping) if row is not None else None


def _mine(branch_id: int, owner: str) -> Any:
    return (branches.c.id == branch_id) & (branches.c.lease_owner == owner) & (branches.c.status == "running")


def renew(session: Session, branch_id: int, owner: str, until: datetime) -> bool:
    statement = update(branches).where(_mine(branch_id, owner)).values(lease_expires_at=until)
    return affected(session.execute(statement)) == 1


def settle(session: Session, branch_id: int, owner: str, status: str, parks: Any = None) -> bool:
    """End the branch's sub-lease as `status` (its holder stays on the row: who ran it)."""
    values = {"status": status, "parks": parks, "lease_expires_at": None, "finished_at": utcnow()}
    return affected(session.execute(update(branches).where(_mine(branch_id, owner)).values(**values))) == 1


def start_next(session: Session, row: Record, status: str) -> int | None:
    """The next pending sibling, queued in the slot `row` frees, unless the fan-out stops here: a
    failure without `keep_going`, or a park with a concurrency of one."""
    fanout = (
        (branches.c.run_id == row.run_id)
        & (branches.c.phase == row.phase)
        & (branches.c.fanout == row.fanout)
    )
    if status == "parked" and row.width == 1:
        return None
    if not row.keep_going:
        failed = session.scalar(select(branches.c.id).where(fanout, branches.c.status == "failed").limit(1))
        if status == "failed" or failed is not None:
            return None
    pending = select(branches.c.id).where(fanout, branches.c.status == "pending")
    nxt = session.scalar(pending.order_by(branches.c.label).limit(1))
    if nxt is None:
        return None
    session.execute(
        update(branches)
        .where(branches.c.id == nxt, branches.c.status == "pending")
        .values(status="queued", dispatched_at=utcnow())
    )
    return int(nxt)


def wake_joined(session: Session, run_id: int) -> bool:
    """Queue a run parked as a join (running, nobody's lease) once none of its branches is in flight."""
    if in_flight(session, run_id):
        return False
    joined = (runs.c.id == run_id) & (runs.c.status == "running") & runs.c.lease_owner.is_(None)
    woken = {"status": "queued", "wake_at": None, "lease_expires_at": None, "dispatched_at": utcnow()}
    return affected(session.execute(update(runs).where(joined).values(**woken))) == 1


def give_back(session: Session, branch_id: int, owner: str) -> None:
    """An interrupted branch, queued again for the sweeper to send."""
    session.execute(
        update(branches)
        .where(_mine(branch_id, owner))
        .values(status="queued", lease_expires_at=None, dispatched_at=None)
    )


def cancel(session: Session, run_id: int) -> None:
    """An ended run's open branches (cancelled, or ended by a `stop` in one of them): their holders
    stop at their next write, nobody sends them again."""
    session.execute(
        update(branches)
        .where(branches.c.run_id == run_id, branches.c.status.in_(OPEN))
        .values(status="cancelled", lease_expires_at=None)
    )


def due(session: Session, now: datetime, stale: datetime) -> list[int]:
    """Branches to send again: queued and not sent within the redispatch period (a lost message), or
    held by a worker whose sub-lease expired (it died) and not sent since, of runs not ended;
    stamped sent now."""
    condition = (
        (branches.c.status == "queued")
        & (func.coalesce(branches.c.dispatched_at, branches.c.created_at) <= stale)
    ) | (
        (branches.c.status == "running")
        & (branches.c.lease_expires_at < now)
        & (
            branches.c.dispatched_at.is_(None)
            | (branches.c.dispatched_at < branches.c.lease_expires_at)
            | (branches.c.dispatched_at <= stale)
        )
    )
    condition = condition & branches.c.run_id.in_(select(runs.c.id).where(runs.c.status.not_in(FINAL)))
    ids = list(session.scalars(select(branches.c.id).where(condition).order_by(branches.c.id).limit(500)))
    if not ids:
        return []
    taken = session.scalars(
        update(branches)
        .where(branches.c.id.in_(ids), condition)
        .values(dispatched_at=now)
        .returning(branches.c.id)
    )
    return sorted(taken)
