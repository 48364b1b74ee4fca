"""Daily roll-ups and retention: finished runs are counted into per-day roll-ups once their UTC day is
over, and deleted once older than HUB_RETENTION_DAYS; their figures stay.

Rolling up a batch is one short transaction that adds the runs and their steps to the roll-ups and
marks them `rolled_up`; hub/stats.py reads the roll-ups and the runs not so marked, so a run is
counted exactly once whenever the statistics are read, and the query reads today's runs, not
months of them. A run that finishes days late is rolled up at the next pass. Pruning rolls up what is
not yet (the same step) and deletes the runs with their steps, attempts and the events no kept run
refers to, batch by batch. Batches are small and the pruner sleeps between them, so on SQLite a
webhook waits for one batch at most. Waiting and held runs are never deleted (only the final
statuses are), and neither is an event any remaining run points at.

Polling triggers' seen-item ids go once they are older than the trigger's re-read window plus a day;
a trigger that does not declare its window keeps them (dropping one it still re-reads would start a
second run for that item).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from hub import sketch, stats
from hub.db.core import affected
from hub.db.models import (
    Event,
    Recipe,
    Run,
    RunRollup,
    SeenItem,
    StepAttempt,
    StepRollup,
    StepRun,
    TriggerState,
    utcnow,
)
from hub.recipe_store import current_document
from hub.sdk.connector import PollingTrigger

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.retention")
BATCH = 100
PAUSE_S = 0.1
SEEN_GRACE = timedelta(days=1)


@dataclass
class Pruned:
    """What a prune rolled up and deleted (or, dry, would)."""

    rolled_up: int = 0
    runs: int = 0
    steps: int = 0
    attempts: int = 0
    events: int = 0
    seen_items: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _closed_runs(before: datetime) -> Any:
    """Finished runs created before `before` (the start of today) not yet in the roll-ups."""
    return select(Run.id).where(
        Run.rolled_up.is_(False), Run.status.in_(stats.FINISHED), Run.created_at < before
    )


def _old_runs(cutoff: datetime) -> Any:
    return select(Run.id).where(Run.finished_at < cutoff, Run.status.in_(stats.FINISHED))


def _loose_events(cutoff: datetime) -> Any:
    """Old events no run refers to (their runs pruned, or never started)."""
    referenced = exists().where(Run.event_id == Event.id)
    return select(Event.id).where(Event.received_at < cutoff, ~referenced)


# -- roll-ups ------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """What a batch of runs adds to the roll-ups, keyed by (recipe, version, day, status or path)."""

    runs: dict[tuple[Any, ...], tuple[int, dict[int, int]]]
    steps: dict[tuple[Any, ...], stats.StepFigures]
    step_ids: dict[tuple[Any, ...], str]


def tally(session: Session, run_ids: list[int]) -> Tally:
    """Count these finished runs and their steps by recipe, version and UTC day (reads only: finished
    runs and their steps no longer change, so this may run before the write that applies it)."""
    dialect = session.get_bind().dialect.name
    runs: dict[tuple[Any, ...], tuple[int, dict[int, int]]] = {}
    for day, recipe_id, version, status, bucket_, count in session.execute(
        stats.run_buckets(dialect, [Run.id.in_(run_ids)], by_day=True)
    ):
        key = (recipe_id, version, stats.as_day(day), status)
        total, counts = runs.get(key, (0, {}))
        if bucket_ is not None and status in stats.FINISHED:
            sketch.merge(counts, [(bucket_, count)])
        runs[key] = (total + count, counts)
    steps: dict[tuple[Any, ...], stats.StepFigures] = {}
    step_ids: dict[tuple[Any, ...], str] = {}
    for day, recipe_id, version, path, step_id, status, out, bucket_, count, attempts in session.execute(
        stats.step_buckets(dialect, [Run.id.in_(run_ids)], by_day=True)
    ):
        key = (recipe_id, version, stats.as_day(day), str(path))
        steps.setdefault(key, stats.StepFigures()).add(status, out, bucket_, count, attempts)
        step_ids[key] = step_id
    return Tally(runs, steps, step_ids)


def roll_up(session: Session, run_ids: list[int], counted: Tally | None = None) -> None:
    """Add these finished runs (counted beforehand, or now) to the roll-ups and mark them rolled up, in
    the caller's write transaction."""
    if not run_ids:
        return
    counted = counted or tally(session, run_ids)
    session.execute(update(Run).where(Run.id.in_(run_ids)).values(rolled_up=True))
    for (recipe_id, version, day, status), (count, counts) in counted.runs.items():
        row = session.scalars(
            select(RunRollup)
            .where(
                RunRollup.recipe_id == recipe_id,
                RunRollup.recipe_version == version,
                RunRollup.day == day,
                RunRollup.status == status,
            )
            .with_for_update()
        ).first()
        if row is None:
            row = RunRollup(recipe_id=recipe_id, recipe_version=version, day=day, status=status, runs=0)
            session.add(row)
        row.runs = (row.runs or 0) + count
        row.sketch = sketch.stored(sketch.merge(sketch.merge({}, row.sketch or {}), counts))
    for (recipe_id, version, day, path), figures in counted.steps.items():
        step = session.scalars(
            select(StepRollup)
            .where(
                StepRollup.recipe_id == recipe_id,
                StepRollup.recipe_version == version,
                StepRollup.day == day,
                StepRollup.path == path,
            )
            .with_for_update()
        ).first()
        if step is None:
            step = StepRollup(
                recipe_id=recipe_id,
                recipe_version=version,
                day=day,
                path=path,
                step_id=counted.step_ids[recipe_id, version, day, path],
                succeeded=0,
                failed=0,
                timed_out=0,
                attempts=0,
            )
            session.add(step)
        step.succeeded += figures.succeeded
        step.failed += figures.failed
        step.timed_out += figures.timed_out
        step.attempts += figures.attempts
        step.sketch = sketch.stored(sketch.merge(sketch.merge({}, step.sketch or {}), figures.sketch))


# -- deleting --------------------------------------------------------------------------------------------
def _prune_runs(session: Session, cutoff: datetime, pruned: Pruned) -> int:
    """Roll up and delete one batch of old finished runs; how many runs went."""
    run_ids = list(session.scalars(_old_runs(cutoff).order_by(Run.finished_at).limit(BATCH)))
    if not run_ids:
        return 0
    roll_up(
        session, list(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.rolled_up.is_(False))))
    )
    event_ids = [e for e in session.scalars(select(Run.event_id).where(Run.id.in_(run_ids))) if e]
    step_ids = select(StepRun.id).where(StepRun.run_id.in_(run_ids))
    pruned.attempts += affected(
        session.execute(delete(StepAttempt).where(StepAttempt.step_run_id.in_(step_ids)))
    )
    pruned.steps += affected(session.execute(delete(StepRun).where(StepRun.run_id.in_(run_ids))))
    pruned.runs += affected(session.execute(delete(Run).where(Run.id.in_(run_ids))))
    if event_ids:
        loose = _loose_events(cutoff).where(Event.id.in_(event_ids))
        pruned.events += affected(session.execute(delete(Event).where(Event.id.in_(loose))))
    return len(run_ids)


def _roll_up_batch(rt: Runtime, before: datetime, pruned: Pruned) -> int:
    """Count a batch of closed runs outside the write lock, then apply it in a short write (counting
    again inside only if another pass rolled some of them up meanwhile)."""
    with rt.db.read() as session:
        run_ids = list(session.scalars(_closed_runs(before).limit(BATCH)))
        counted = tally(session, run_ids) if run_ids else None
    if not run_ids:
        return 0
    with rt.db.transaction() as session:
        still = list(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.rolled_up.is_(False))))
        roll_up(session, still, counted if len(still) == len(run_ids) else None)
    pruned.rolled_up += len(still)
    return len(run_ids)


def _prune_events(session: Session, cutoff: datetime, pruned: Pruned) -> int:
    loose = list(session.scalars(_loose_events(cutoff).limit(BATCH)))
    if loose:
        pruned.events += affected(session.execute(delete(Event).where(Event.id.in_(loose))))
    return len(loose)


def seen_windows(rt: Runtime, now: datetime) -> dict[int, datetime]:
    """{trigger state id: seen ids before this time may go} for polling triggers that declare a window."""
    windows: dict[int, datetime] = {}
    with rt.db.read() as session:
        for state_id, recipe in session.execute(
            select(TriggerState.id, Recipe).join(Recipe, Recipe.id == TriggerState.recipe_id)
        ):
            spec = current_document(session, recipe)["trigger"]
            connector = rt.registry.get(spec["connector"])
            trigger = connector.trigger(spec["trigger"]) if connector else None
            if isinstance(trigger, PollingTrigger):
                window_s = trigger.reread_window_s(spec.get("config") or {})
                if window_s is not None:
                    windows[state_id] = now - timedelta(seconds=window_s) - SEEN_GRACE
    return windows


def _old_seen(state_id: int, before: datetime) -> Any:
    return select(SeenItem.id).where(SeenItem.trigger_state_id == state_id, SeenItem.seen_at < before)


def _prune_seen(session: Session, state_id: int, before: datetime, pruned: Pruned) -> int:
    ids = list(session.scalars(_old_seen(state_id, before).limit(BATCH)))
    if ids:
        pruned.seen_items += affected(session.execute(delete(SeenItem).where(SeenItem.id.in_(ids))))
    return len(ids)


def start_of_day(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day: runs created before it belong to closed days."""
    return datetime.combine(moment.astimezone(UTC).date(), clock_time(), UTC)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def preview(rt: Runtime, now: datetime | None = None) -> Pruned:
    """What `prune` would delete now, deleting nothing."""
    now = now or utcnow()
    result = Pruned()
    days = rt.settings.retention_days
    with rt.db.read() as session:
        result.rolled_up = _count(session, _closed_runs(start_of_day(now)))
        if days:
            cutoff = now - timedelta(days=days)
            old = _old_runs(cutoff)
            steps = select(StepRun.id).where(StepRun.run_id.in_(old))
            result.runs = _count(session, old)
            result.steps = _count(session, steps)
            result.attempts = _count(
                session, select(StepAttempt.id).where(StepAttempt.step_run_id.in_(steps))
            )
            # events left without a run once the old runs are gone
            kept = exists().where(Run.event_id == Event.id, ~Run.id.in_(old))
            result.events = _count(session, select(Event.id).where(Event.received_at < cutoff, ~kept))
        for state_id, before in seen_windows(rt, now).items():
            result.seen_items += _count(session, _old_seen(state_id, before))
    return result


def checkpoint(rt: Runtime) -> None:
    """On SQLite, copy the write-ahead log into the database between batches, outside the write lock:
    otherwise the log the batches grow is copied (and synced) by whichever commit crosses SQLite's
    auto-checkpoint size, inside the write lock, often a webhook's."""
    if rt.db.dialect != "sqlite":
        return
    connection = rt.db.engine.raw_connection()
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


def prune(
    rt: Runtime,
    now: datetime | None = None,
    *,
    pause_s: float = PAUSE_S,
    keep_going: Callable[[], bool] = lambda: True,
) -> Pruned:
    """Roll up the finished runs of closed days, then delete what retention lets go, batch by batch,
    while `keep_going()` (the scheduler's leadership) holds. HUB_RETENTION_DAYS=0 keeps runs and
    events forever (they are still rolled up)."""
    now = now or utcnow()
    pruned = Pruned()

    def pause() -> None:
        checkpoint(rt)
        time.sleep(pause_s)

    def batches(step: Callable[[Session], int]) -> None:
        while keep_going():
            with rt.db.transaction() as session:
                if step(session) < BATCH:
                    return
            pause()

    while keep_going() and _roll_up_batch(rt, start_of_day(now), pruned) == BATCH:
        pause()
    days = rt.settings.retention_days
    if days:
        cutoff = now - timedelta(days=days)
        batches(lambda session: _prune_runs(session, cutoff, pruned))
        batches(lambda session: _prune_events(session, cutoff, pruned))
    for state_id, before in seen_windows(rt, now).items():
        batches(lambda session, s=state_id, b=before: _prune_seen(session, s, b, pruned))  # type: ignore[misc]
    if any(pruned.as_dict().values()):
        log.info("event=pruned %s", " ".join(f"{k}={v}" for k, v in pruned.as_dict().items()))
    return pruned
