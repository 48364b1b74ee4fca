"""Daily roll-ups and retention: finished runs are counted into per-day roll-ups once their UTC day is
over, and deleted once older than HUB_RETENTION_DAYS; their figures stay.

Rolling up a batch is one short transaction that adds the runs and their steps to the roll-ups and
marks them `rolled_up`; hub/stats.py reads the roll-ups and the runs not so marked, so a run is
counted exactly once whenever the statistics are read, and the query reads today's runs, not
months of them. A run that finishes days late is rolled up at the next pass. Pruning rolls up what is
not yet (the same step) and deletes the runs with their steps, attempts and the events no kept run
refers to, batch by batch. A batch is found (and counted) in a read, outside the write lock, and
applied by primary key in a write sized to hold the lock about WRITE_S; the pass then rests in
proportion to the batch's work (Pace), so on SQLite a webhook waits for one short write at most and
the pass takes a bounded share of the CPU. Waiting and held runs are never deleted (only the final
statuses are), and neither is an event any remaining run points at.

Polling triggers' seen-item ids go once they are older than the trigger's re-read window plus a day;
a trigger that does not declare its window keeps them (dropping one it still re-reads would start a
second run for that item).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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
BATCH = 100  # the first batch of each step; the next ones are sized by Pace
MIN_BATCH, MAX_BATCH = 10, 2_000
WRITE_S = 0.005  # what a batch's write transaction aims to hold the write lock for
DUTY = 0.25  # the share of the time a pass works: it rests three times as long as each batch took
PAUSE_S = 0.005  # the least rest between batches
# A pass checkpoints SQLite's write-ahead log before the batches since the last one would have written
# this many pages (at as many pages a row as since the previous one), well before the auto-checkpoint's
# 1,000 pages.
CHECKPOINT_PAGES = 300
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


def _oldest_runs(cutoff: datetime, size: int) -> Any:
    """The `size` runs that finished first before the cutoff, read along ix_runs_finished. The status is
    compared as an expression no index serves: given the bare column, SQLite takes ix_runs_due and sorts
    every finished run of the history, for every batch."""
    status = func.coalesce(Run.status, "")
    old = select(Run.id).where(Run.finished_at < cutoff, status.in_(stats.FINISHED))
    return old.order_by(Run.finished_at).limit(size)


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


@functools.cache
def _tally_queries(dialect: str) -> tuple[Any, Any]:
    """The run and step bucket queries of a batch, built once: a pass runs them thousands of times."""
    batch: list[ColumnElement[bool]] = [Run.id.in_(bindparam("run_ids", expanding=True))]
    return stats.run_buckets(dialect, batch, by_day=True), stats.step_buckets(dialect, batch, by_day=True)


def tally(session: Session, run_ids: list[int]) -> Tally:
    """Count these finished runs and their steps by recipe, version and UTC day (reads only: finished
    runs and their steps no longer change, so this may run before the write that applies it)."""
    run_query, step_query = _tally_queries(session.get_bind().dialect.name)
    runs: dict[tuple[Any, ...], tuple[int, dict[int, int]]] = {}
    for day, recipe_id, version, status, bucket_, count in session.execute(run_query, {"run_ids": run_ids}):
        key = (recipe_id, version, stats.as_day(day), status)
        total, counts = runs.get(key, (0, {}))
        if bucket_ is not None and status in stats.FINISHED:
            sketch.merge(counts, [(bucket_, count)])
        runs[key] = (total + count, counts)
    steps: dict[tuple[Any, ...], stats.StepFigures] = {}
    step_ids: dict[tuple[Any, ...], str] = {}
    for day, recipe_id, version, path, step_id, status, out, bucket_, count, attempts in session.execute(
        step_query, {"run_ids": run_ids}
    ):
        key = (recipe_id, version, stats.as_day(day), str(path))
        steps.setdefault(key, stats.StepFigures()).add(status, out, bucket_, count, attempts)
        step_ids[key] = step_id
    return Tally(runs, steps, step_ids)


def _rows(session: Session, model: Any, last: Any, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
    """The roll-up rows (RunRollup or StepRollup, `last` their status or path) of these keys, locked, by
    key: one query for a batch, which falls on a recipe or two and a day or two."""
    if not keys:
        return {}
    found = session.scalars(
        select(model)
        .where(model.recipe_id.in_({k[0] for k in keys}), model.day.in_({k[2] for k in keys}))
        .with_for_update()
    )
    return {(row.recipe_id, row.recipe_version, row.day, getattr(row, last.key)): row for row in found}


def roll_up(session: Session, run_ids: list[int], counted: Tally | None = None) -> None:
    """Add these finished runs (counted beforehand, or now) to the roll-ups and mark them rolled up, in
    the caller's write transaction."""
    if not run_ids:
        return
    counted = counted or tally(session, run_ids)
    session.execute(update(Run).where(Run.id.in_(run_ids)).values(rolled_up=True))
    runs = _rows(session, RunRollup, RunRollup.status, list(counted.runs))
    for (recipe_id, version, day, status), (count, counts) in counted.runs.items():
        row = runs.get((recipe_id, version, day, status))
        if row is None:
            row = RunRollup(recipe_id=recipe_id, recipe_version=version, day=day, status=status, runs=0)
            session.add(row)
        row.runs = (row.runs or 0) + count
        row.sketch = sketch.stored(sketch.merge(sketch.merge({}, row.sketch or {}), counts))
    steps = _rows(session, StepRollup, StepRollup.path, list(counted.steps))
    for (recipe_id, version, day, path), figures in counted.steps.items():
        step = steps.get((recipe_id, version, day, path))
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
@dataclass
class Counted:
    """Runs not rolled up when a batch was read, and their tally."""

    run_ids: list[int]
    tally: Tally | None


def _find_old_runs(session: Session, cutoff: datetime, size: int) -> tuple[list[int], Counted]:
    """The oldest `size` finished runs past the cutoff, and those of them not rolled up yet, counted."""
    run_ids = list(session.scalars(_oldest_runs(cutoff, size)))
    fresh = list(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.rolled_up.is_(False))))
    return run_ids, Counted(fresh, tally(session, fresh) if fresh else None)


def _delete_runs(
    session: Session, run_ids: list[int], counted: Counted, cutoff: datetime, pruned: Pruned
) -> None:
    """Roll up what is not yet and delete these runs with their steps, attempts and loose events; the
    runs are found again by primary key, so one that changed since it was read stays."""
    run_ids = list(session.scalars(_old_runs(cutoff).where(Run.id.in_(run_ids))))
    fresh = list(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.rolled_up.is_(False))))
    # runs are never marked back, so the same number means the same runs: the tally holds
    roll_up(session, fresh, counted.tally if len(fresh) == len(counted.run_ids) else None)
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


def _find_closed_runs(session: Session, before: datetime, size: int) -> tuple[list[int], Tally | None]:
    """A batch of closed runs not rolled up, counted here, outside the write lock. Taken in the order of
    ix_runs_stats (recipe, then creation), so a batch falls on a day or two of one recipe and updates a
    few roll-up rows, not one per day of history."""
    ordered = _closed_runs(before).order_by(Run.recipe_id, Run.created_at)
    run_ids = list(session.scalars(ordered.limit(size)))
    return run_ids, (tally(session, run_ids) if run_ids else None)


def _roll_up_found(session: Session, run_ids: list[int], counted: Tally | None, pruned: Pruned) -> None:
    """Apply a counted batch, counting again inside only if another pass rolled some up meanwhile."""
    still = list(session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.rolled_up.is_(False))))
    roll_up(session, still, counted if len(still) == len(run_ids) else None)
    pruned.rolled_up += len(still)


def _delete_events(session: Session, event_ids: list[int], cutoff: datetime, pruned: Pruned) -> None:
    loose = _loose_events(cutoff).where(Event.id.in_(event_ids))
    pruned.events += affected(session.execute(delete(Event).where(Event.id.in_(loose))))


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


def _delete_seen(session: Session, ids: list[int], pruned: Pruned) -> None:
    pruned.seen_items += affected(session.execute(delete(SeenItem).where(SeenItem.id.in_(ids))))


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


def checkpoint(rt: Runtime) -> int:
    """On SQLite, copy the write-ahead log into the database between batches, outside the write lock:
    otherwise the log the batches grow is copied (and synced) by whichever commit crosses SQLite's
    auto-checkpoint size, inside the write lock, often a webhook's. The number of log pages it held."""
    if rt.db.dialect != "sqlite":
        return 0
    connection = rt.db.engine.raw_connection()
    try:
        row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return int(row[1]) if row and row[1] > 0 else 0


@dataclass
class Pace:
    """How a pass makes room for everything else. A batch's write transaction aims at `write_s`: the next
    batch is sized from how long the last one held the write lock (between MIN_BATCH and MAX_BATCH, at
    most doubling), so a slow disk or a busy machine gets smaller batches, not longer locks. After each
    batch the pass sleeps (1 - duty) / duty times the batch's work, at least `pause_s`, so it works at
    most `duty` of the time, on the CPU and on the lock. `holds` records each write transaction's
    seconds (tests and bench/stats.py read them)."""

    pause_s: float = PAUSE_S
    write_s: float = WRITE_S
    duty: float = DUTY
    holds: list[float] = field(default_factory=list)

    def resize(self, size: int, held_s: float) -> int:
        wanted = size * self.write_s / max(held_s, 1e-6)
        return max(MIN_BATCH, min(MAX_BATCH, 2 * size, int(wanted)))

    def rest_s(self, worked_s: float) -> float:
        return max(self.pause_s, worked_s * (1 - self.duty) / self.duty)


def _batches(
    rt: Runtime,
    pace: Pace,
    keep_going: Callable[[], bool],
    find: Callable[[Session, int], tuple[list[int], Any]],
    apply: Callable[[Session, list[int], Any], None],
) -> None:
    """Until `find` comes back short: find a batch in a read (outside the write lock), `apply` it in a
    write transaction, rest."""
    size = BATCH
    pages_per_row, unchecked = float(CHECKPOINT_PAGES), 0  # the first batch is checkpointed
    while keep_going():
        began = time.perf_counter()
        with rt.db.read() as session:
            ids, found = find(session, size)
        if not ids:
            return
        with rt.db.transaction() as session:
            locked = time.perf_counter()
            apply(session, ids, found)
        pace.holds.append(time.perf_counter() - locked)
        if len(ids) < size:
            return
        size = pace.resize(size, pace.holds[-1])
        unchecked += len(ids)
        if (unchecked + size) * pages_per_row >= CHECKPOINT_PAGES:  # before the next batch would pass it
            pages_per_row, unchecked = max(0.1, checkpoint(rt) / unchecked), 0
        time.sleep(pace.rest_s(time.perf_counter() - began))


def prune(
    rt: Runtime,
    now: datetime | None = None,
    *,
    pace: Pace | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> Pruned:
    """Roll up the finished runs of closed days, then delete what retention lets go, batch by batch,
    while `keep_going()` (the scheduler's leadership) holds. HUB_RETENTION_DAYS=0 keeps runs and
    events forever (they are still rolled up). Every batch commits on its own: a pass stopped or
    killed at any point leaves counted runs marked, and the next pass goes on from there."""
    now = now or utcnow()
    pace = pace or Pace()
    pruned = Pruned()
    before = start_of_day(now)
    _batches(
        rt,
        pace,
        keep_going,
        lambda session, size: _find_closed_runs(session, before, size),
        lambda session, ids, counted: _roll_up_found(session, ids, counted, pruned),
    )
    days = rt.settings.retention_days
    if days:
        cutoff = now - timedelta(days=days)
        _batches(
            rt,
            pace,
            keep_going,
            lambda session, size: _find_old_runs(session, cutoff, size),
            lambda session, ids, counted: _delete_runs(session, ids, counted, cutoff, pruned),
        )
        _batches(
            rt,
            pace,
            keep_going,
            lambda session, size: (list(session.scalars(_loose_events(cutoff).limit(size))), None),
            lambda session, ids, _: _delete_events(session, ids, cutoff, pruned),
        )
    for state_id, seen_before in seen_windows(rt, now).items():
        old = _old_seen(state_id, seen_before)
        _batches(
            rt,
            pace,
            keep_going,
            lambda session, size, old=old: (list(session.scalars(old.limit(size))), None),  # type: ignore[misc]
            lambda session, ids, _: _delete_seen(session, ids, pruned),
        )
    if any(pruned.as_dict().values()):
        log.info("event=pruned %s", " ".join(f"{k}={v}" for k, v in pruned.as_dict().items()))
    return pruned
