"""Storing what arrives (webhook events, poll items, schedule ticks) with the runs they start.

One transaction holds an event, its dedupe record and its run, so a crash can neither lose an
accepted event nor start it twice. Events also wake runs parked on a matching `wait_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import Event, Run, SeenItem, StepRun, Wait, utcnow
from hub.engine import statements as sql
from hub.sdk.types import TriggerEvent


@dataclass
class Stored:
    event_id: int
    run_id: int | None
    duplicate: bool


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


def resolve_waits(
    session: Session, connector: str, trigger: str, connection_id: int | None, data: dict[str, Any]
) -> list[int]:
    """Finish every wait_for step this event satisfies; returns the runs to dispatch again."""
    candidates = sql.rows(session, sql.WAITS_FOR, {"b_connector": connector, "b_trigger": trigger})
    woken: list[int] = []
    for wait_id, wait_connection, match in candidates:
        if wait_connection is not None and connection_id is not None and wait_connection != connection_id:
            continue
        if not matches(match or {}, data):
            continue
        wait = session.get(Wait, wait_id)
        if wait is not None and (run_id := finish_wait(session, wait, data)) is not None:
            woken.append(run_id)
    return woken


def finish_wait(session: Session, wait: Wait, data: dict[str, Any]) -> int | None:
    """Complete a wait_for step with the event that satisfied it; the run to dispatch, if still waiting."""
    step = session.scalars(
        select(StepRun).where(StepRun.run_id == wait.run_id, StepRun.step_id == wait.step_id)
    ).first()
    run = session.get(Run, wait.run_id)
    session.delete(wait)
    if step is None or run is None or run.status != "waiting":
        return None
    step.status, step.output, step.finished_at = "succeeded", data, utcnow()
    run.status, run.wake_at = "queued", None
    return run.id


def store_events(
    session: Session,
    *,
    recipe_id: int,
    recipe_version: int,
    source: str,
    events: list[TriggerEvent],
    start_runs: bool = True,
) -> list[Stored]:
    """Insert events (skipping ones already accepted by vendor id) and a queued run for each new one."""
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
        run_id = None
        if start_runs:
            run = {"recipe_id": recipe_id, "recipe_version": recipe_version, "event_id": event_id}
            run_id = sql.returned_id(session, sql.INSERT_RUN, {**run, "status": "queued"})
        stored.append(Stored(event_id=event_id, run_id=run_id, duplicate=False))
    return stored


def mark_seen(session: Session, trigger_state_id: int, item_id: str) -> bool:
    """Record a poll item id; False when it was seen before."""
    values = {"trigger_state_id": trigger_state_id, "item_id": item_id[:255], "seen_at": utcnow()}
    return sql.insert_ignore(session, SeenItem.__table__, values) is not None
