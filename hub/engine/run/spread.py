"""Spreading a fan-out over workers (HUB_EXECUTOR=celery): each parallel branch or for_each item is
a task of its own, executed under its own sub-lease (`sublease`, `branch_task`), never a thread of
the worker holding the run.

The run's lease holder writes one `run_branches` row per branch or item (the first `concurrency`
queued, the rest pending), sends the queued ones and gives the run up as a join: no worker slot
waits for another. A branch that settles starts the next pending sibling in the slot it frees (so
the concurrency holds without the holder), and the last one to settle queues the run. Taken up
again, the holder finds every row settled: it reads what each branch came to from the step rows
the branches wrote (walking their steps, all done, performs nothing), notes the parks of parked
branches for the run's joined release, and sends again the parked ones whose park is over (an
event came, a delay or a retry is due, a person resolved a hold), up to the concurrency.

Only the outermost fan-out is spread: one nested in a spread branch runs on that task's threads
(`fanout`), within its budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.db.models import utcnow
from hub.engine import store
from hub.engine.run import branch_rows
from hub.engine.run.fanout import Task
from hub.engine.run.outcomes import Outcome, Parked
from hub.engine.run.parks import JOINING, RANK, Park
from hub.engine.statements import Record

if TYPE_CHECKING:
    from hub.engine.run.execution import Execution
    from hub.engine.run.state import StepAt

PARKED_STATUSES = ("waiting", "held")  # a park that ends when its step's row changes


def spread(
    ex: Execution, at: StepAt, tasks: Sequence[Task], width: int, keep_going: bool
) -> list[Outcome | None]:
    """Each task's outcome as far as known: all `Parked(joining)` while any branch is in flight
    (the run is then given up as a join), else what each settled branch came to (None: never
    started, the fan-out stopped at a failure)."""
    sent: list[int] = []

    def look(session: Any) -> list[Record]:
        sent.clear()  # a grouped write may be applied again
        ex.lease.renew(session)
        rows = branch_rows.of_fanout(session, ex.run_id, at.phase, at.run_path)
        if not rows:
            branch_rows.create(session, ex.run_id, at.phase, at.run_path, len(tasks), width, keep_going)
            rows = branch_rows.of_fanout(session, ex.run_id, at.phase, at.run_path)
            sent.extend(row.id for row in rows if row.status == "queued")
            return rows
        for step in store.read_steps_under(session, ex.run_id, f"{at.run_path}."):
            ex.state.steps[(step.phase, step.path)] = step  # what the branches wrote
        startable = _startable(session, ex, rows, keep_going)
        room = width - sum(1 for row in rows if row.status in branch_rows.IN_FLIGHT)
        chosen = [row.id for row in startable[: max(0, room)]]
        branch_rows.queue(session, chosen)
        sent.extend(chosen)
        return rows

    rows = ex.db.write(look)
    ex.rt.dispatch_branches(sent)
    if sent or any(row.status in branch_rows.IN_FLIGHT for row in rows):
        ex.parks.note(at.run_path, JOINING)
        return [Parked(JOINING)] * len(tasks)
    outcomes: list[Outcome | None] = [None] * len(tasks)
    for row in rows:
        if row.status in ("done", "failed"):
            outcomes[row.label] = tasks[row.label]()  # its steps are done: nothing is performed
        elif row.status == "parked":
            parks = [Park.from_stored(kept) for kept in row.parks or []]
            ex.parks.add(parks)
            outcomes[row.label] = Parked(
                max((p.status for p in parks), key=RANK.__getitem__, default="waiting")
            )
    return outcomes


def _startable(session: Any, ex: Execution, rows: list[Record], keep_going: bool) -> list[Record]:
    """The rows to send, in order: parked ones whose park is over, and pending ones unless a
    failure stopped the fan-out."""
    stopped = not keep_going and any(row.status == "failed" for row in rows)
    parked = [row for row in rows if row.status == "parked"]
    paths = [kept["path"] for row in parked for kept in row.parks or []]
    now_rows = {step.path: step for step in store.read_steps_at(session, ex.run_id, paths)}
    now = utcnow()
    return [
        row
        for row in rows
        if (row.status == "pending" and not stopped)
        or (row.status == "parked" and _over(row.parks or [], now_rows, now))
    ]


def _over(parks: list[dict[str, Any]], steps: dict[str, Record], now: datetime) -> bool:
    """Whether a parked branch can go on: a wake-up passed, or a parked step's row changed."""
    if not parks:
        return True
    for kept in parks:
        wake = kept.get("wake_at")
        if wake and datetime.fromisoformat(wake) <= now:
            return True
        step = steps.get(kept["path"])
        if kept["status"] in PARKED_STATUSES and (step is None or step.status != kept["status"]):
            return True
    return False
