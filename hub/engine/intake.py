"""Storing what arrives (webhook events, poll items, schedule ticks) with the runs they start.

One transaction holds an event, its dedupe record and its run, so a crash can neither lose an
accepted event nor start it twice. Events also wake runs parked on a matching `wait_for`.

An event sent to a wait_for step's own hook URL can beat its run to the wait (a vendor calling back
before the run has parked): one that wakes no run is kept for a bounded window, and a run parking on
a matching wait takes it instead of waiting. On PostgreSQL a parking run and such an arriving event
take one transaction lock per connector and trigger, so neither can miss the other; SQLite has one
writer at a time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from hub.db.core import affected
from hub.db.models import Event, PendingWaitEvent, Run, SeenItem, StepRun, Wait, utcnow
from hub.engine import statements as sql
from hub.engine.statements import Record
from hub.recipe_split import choose_version, event_key
from hub.sdk.types import TriggerEvent

log = logging.getLogger("hub.intake")
FINAL = ("succeeded", "failed", "filtered", "cancelled")


@dataclass
class Stored:
    event_id: int
    run_id: int | None
    duplicate: bool
    run: Record | None = None  # the run's row as inserted


def lookup_path(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _same(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    return str(actual) == str(expected)


def matches(match: dict[str, Any], data: dict[str, Any]) -> bool:
    return all(_same(lookup_path(data, path), expected) for path, expected in match.items())


@dataclass(frozen=True)
class WaitEndpoint:
    """The wait_for step whose hook URL an event came in at, and how long (and how many) to keep such
    events that wake no run yet."""

    recipe_id: int
    step_id: str
    window_s: float
    max_kept: int


def _same_connection(wait_connection: int | None, event_connection: int | None) -> bool:
    return wait_connection is None or event_connection is None or wait_connection == event_connection


def serialize_waits(session: Session, connector: str, trigger: str) -> None:
    """Order this transaction after any other parking or keeping wait events of this trigger (PostgreSQL;
    SQLite writers are one at a time already). Take it before writing a run row: both sides lock in
    this order."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"wait:{connector}.{trigger}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def resolve_waits(
    session: Session,
    connector: str,
    trigger: str,
    connection_id: int | None,
    data: dict[str, Any],
    kept_for: WaitEndpoint | None = None,
) -> list[int]:
    """Finish every wait_for step this event satisfies; returns the runs to dispatch again. An event that
    came in at a wait step's hook URL (`kept_for`) and wakes no run is kept for a run yet to park."""
    if kept_for is not None:
        serialize_waits(session, connector, trigger)
    candidates = sql.rows(session, sql.WAITS_FOR, {"b_connector": connector, "b_trigger": trigger})
    woken: list[int] = []
    for wait_id, wait_connection, match in candidates:
        if not _same_connection(wait_connection, connection_id):
            continue
        if not matches(match or {}, data):
            continue
        wait = session.get(Wait, wait_id)
        if wait is not None and (run_id := finish_wait(session, wait, data)) is not None:
            woken.append(run_id)
    if kept_for is not None and not woken:
        _keep(session, kept_for, connector, trigger, connection_id, data)
    return woken


def _keep(
    session: Session,
    endpoint: WaitEndpoint,
    connector: str,
    trigger: str,
    connection_id: int | None,
    data: dict[str, Any],
) -> None:
    now = utcnow()
    held = session.scalar(select(func.count()).select_from(PendingWaitEvent)) or 0
    if held >= endpoint.max_kept:
        oldest = select(PendingWaitEvent.id).order_by(PendingWaitEvent.id).limit(held - endpoint.max_kept + 1)
        session.execute(
            delete(PendingWaitEvent).where(PendingWaitEvent.id.in_(oldest.scalar_subquery())),
            execution_options={"synchronize_session": False},
        )
        log.warning("event=wait_events_full kept=%s dropped_oldest=%s", held, held - endpoint.max_kept + 1)
    session.add(
        PendingWaitEvent(
            connector=connector,
            trigger=trigger,
            connection_id=connection_id,
            recipe_id=endpoint.recipe_id,
            step_id=endpoint.step_id,
            data=data,
            received_at=now,
            expires_at=now + timedelta(seconds=endpoint.window_s),
        )
    )


def take_kept_event(
    session: Session,
    connector: str,
    trigger: str,
    connection_id: int | None,
    match: dict[str, Any],
    run_id: int,
    path: str,
) -> dict[str, Any] | None:
    """For a run about to park: the oldest kept event its wait matches (by the rules an arriving event
    is matched by), taken for `run_id` so no other run can take it; None when there is none."""
    kept = session.execute(
        select(PendingWaitEvent.id, PendingWaitEvent.connection_id, PendingWaitEvent.data)
        .where(
            PendingWaitEvent.connector == connector,
            PendingWaitEvent.trigger == trigger,
            PendingWaitEvent.consumed_by.is_(None),
            PendingWaitEvent.expires_at > utcnow(),
        )
        .order_by(PendingWaitEvent.id)
    ).all()
    for event_id, event_connection, data in kept:
        if not _same_connection(connection_id, event_connection) or not matches(match, data):
            continue
        taken = session.execute(
            update(PendingWaitEvent)
            .where(PendingWaitEvent.id == event_id, PendingWaitEvent.consumed_by.is_(None))
            .values(consumed_by=run_id, consumed_path=path)
        )
        if affected(taken) == 1:
            return dict(data)
    return None


def purge_kept_events(session: Session) -> int:
    """Forget kept wait events whose window has passed, taken or not; how many went."""
    expired = delete(PendingWaitEvent).where(PendingWaitEvent.expires_at <= utcnow())
    return affected(session.execute(expired, execution_options={"synchronize_session": False}))


def waiting_step(session: Session, wait: Wait) -> tuple[Run | None, StepRun | None]:
    """The run of a wait (its row locked: a run still held by its worker, with other parallel branches
    or items going on, checks its ended waits under the same lock before it parks) and the waiting step."""
    run = session.scalars(select(Run).where(Run.id == wait.run_id).with_for_update()).first()
    step = session.scalars(
        select(StepRun).where(StepRun.run_id == wait.run_id, StepRun.path == wait.path)
    ).first()
    session.delete(wait)
    if run is None or run.status in FINAL or step is None or step.status != "waiting":
        return None, None
    return run, step


def wake(run: Run) -> int | None:
    """Queue a parked run whose wait ended; a run still held by its worker sees the ended step itself."""
    if run.status != "waiting":
        return None
    run.status, run.wake_at, run.dispatched_at = "queued", None, utcnow()  # sent now: no resend
    return run.id


def finish_wait(session: Session, wait: Wait, data: dict[str, Any]) -> int | None:
    """Complete a wait_for step with the event that satisfied it; the run to dispatch, if parked."""
    run, step = waiting_step(session, wait)
    if run is None or step is None:
        return None
    step.status, step.output, step.finished_at = "succeeded", data, utcnow()
    return wake(run)


def store_events(
    session: Session,
    *,
    recipe_id: int,
    recipe_version: int,
    source: str,
    events: list[TriggerEvent],
    start_runs: bool = True,
    split: Mapping[str, int] | None = None,
) -> list[Stored]:
    """Insert events (skipping ones already accepted by vendor id) and a queued run for each new one,
    of `recipe_version` (the current one) or, under the recipe's A/B `split`, the version it picks."""
    stored: list[Stored] = []
    for item in events:
        dedupe_key = f"{source}:{item.id}" if item.id else None
        values = {
            "recipe_id": recipe_id,
            "source": source,
            "dedupe_key": dedupe_key,
            "payload": item.data,
            "received_at": utcnow(),
        }
        event_id = sql.insert_ignore(session, sql.events, values) if dedupe_key else None
        if dedupe_key and event_id is None:
            existing = session.scalar(
                select(Event.id).where(Event.recipe_id == recipe_id, Event.dedupe_key == dedupe_key)
            )
            stored.append(Stored(event_id=int(existing or 0), run_id=None, duplicate=True))
            continue
        if event_id is None:
            event_id = sql.returned_id(session, sql.INSERT_EVENT, values)
        run = None
        if start_runs:
            version = choose_version(recipe_id, split, recipe_version, event_key(dedupe_key, event_id))
            row = sql.inserted(
                session,
                sql.INSERT_RUN,
                {"recipe_id": recipe_id, "recipe_version": version, "event_id": event_id, "status": "queued"},
            )
            run = sql.record(sql.runs, row)
        stored.append(Stored(event_id, run.id if run else None, duplicate=False, run=run))
    return stored


def mark_seen(session: Session, trigger_state_id: int, item_id: str) -> bool:
    """Record a poll item id; False when it was seen before."""
    values = {"trigger_state_id": trigger_state_id, "item_id": item_id[:255], "seen_at": utcnow()}
    return sql.insert_ignore(session, SeenItem.__table__, values) is not None
