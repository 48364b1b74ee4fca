"""Reading and writing a run's rows (run, steps, attempts) for the worker executing it.

Every statement is a prebuilt one from `hub.engine.statements` (the fast path on SQLite); rows come
back as plain attribute records. Lease checks live here too: every write of a worker starts with
`renew`, which fails once the run was cancelled or taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.engine import statements as sql
from hub.engine.statements import Record


def read_run(session: Session, run_id: int) -> Record | None:
    found = sql.rows(session, sql.LOAD_RUN, {"b_id": run_id})
    return sql.record(sql.runs, found[0]) if found else None


def read_event_payload(session: Session, event_id: int | None) -> dict[str, Any]:
    found = sql.rows(session, sql.LOAD_EVENT, {"b_id": event_id}) if event_id else []
    return (found[0][0] if found else None) or {}


def read_steps(session: Session, run_id: int) -> list[Record]:
    return [sql.record(sql.step_runs, step) for step in sql.rows(session, sql.LOAD_STEPS, {"b_id": run_id})]


def read_steps_at(session: Session, run_id: int, paths: Sequence[str]) -> list[Record]:
    """The run's step rows at `paths` (any phase), read again: intake may have ended their waits."""
    if not paths:
        return []
    found = session.execute(sql.LOAD_STEPS_AT, {"b_id": run_id, "b_paths": list(paths)}).all()
    return [sql.record(sql.step_runs, tuple(step)) for step in found]


def read_steps_under(session: Session, run_id: int, prefix: str) -> list[Record]:
    """The run's step rows whose path starts with `prefix` (the steps of a fan-out's branches)."""
    found = session.execute(sql.LOAD_STEPS_UNDER, {"b_id": run_id, "b_prefix": prefix}).all()
    return [sql.record(sql.step_runs, tuple(step)) for step in found]


def read_version(session: Session, recipe_id: int, version: int) -> tuple[str, dict[str, Any]]:
    """(recipe name, document) of one version of a recipe."""
    name, document, _project_id = read_version_in_project(session, recipe_id, version)
    return name, document


def read_version_in_project(
    session: Session, recipe_id: int, version: int
) -> tuple[str, dict[str, Any], int | None]:
    """(recipe name, document, the recipe's project id) of one version of a recipe."""
    found = sql.rows(session, sql.LOAD_VERSION, {"b_id": recipe_id, "b_version": version})
    name, document, project_id = found[0]
    return name, document, project_id


def claim(session: Session, params: dict[str, Any]) -> bool:
    """Take the run's lease if it is due or its lease expired (CLAIM's parameters)."""
    return sql.rowcount(session, sql.CLAIM, params) == 1


def renew(session: Session, params: dict[str, Any], *, claim_fresh: bool) -> bool:
    """Extend the lease, first taking it for a run never claimed (`claim_fresh`, with `b_now`)."""
    statement = sql.CLAIM_FRESH_OR_RENEW if claim_fresh else sql.RENEW
    return sql.rowcount(session, statement, params) == 1


def release(session: Session, params: dict[str, Any]) -> bool:
    """Give the lease up and write the run's new status (RELEASE's parameters)."""
    return sql.rowcount(session, sql.RELEASE, params) == 1


def enter_on_failure(session: Session, run_id: int, error: dict[str, Any]) -> None:
    """The main steps failed: the run goes on with its on_failure steps."""
    sql.rowcount(session, sql.UPDATE_RUN, {"b_id": run_id, "phase": "on_failure", "error": error})


def insert_step(session: Session, keys: dict[str, Any], values: dict[str, Any]) -> Record:
    """A new step row (`keys`: run_id, step_id, phase, position) holding `values`."""
    row = {"status": "pending", "attempts": 0, **values}
    state_id = sql.returned_id(session, sql.INSERT_STEP, {**keys, **row})
    return sql.record(sql.step_runs, id=state_id, **keys, **row)


def update_step(session: Session, step: Record, values: dict[str, Any]) -> None:
    sql.rowcount(session, sql.UPDATE_STEP, {"b_id": step.id, **values})
    for key, value in values.items():
        setattr(step, key, value)


def insert_attempt(session: Session, step_run_id: int, number: int, idempotency_key: str) -> int:
    """An attempt row, written `started` before the call it records."""
    row = {"step_run_id": step_run_id, "number": number, "idempotency_key": idempotency_key}
    return sql.returned_id(session, sql.INSERT_ATTEMPT, {**row, "status": "started"})


def end_attempts(session: Session, attempts: Sequence[dict[str, Any]]) -> None:
    """Write the ends of attempts (UPDATE_ATTEMPT parameters: `b_id` and the values)."""
    for attempt in attempts:
        sql.rowcount(session, sql.UPDATE_ATTEMPT, attempt)


def started_attempts(session: Session, step_run_id: int) -> list[int]:
    """Ids of the step's attempts still `started` (their worker stopped during the call)."""
    return [row[0] for row in sql.rows(session, sql.STARTED_ATTEMPTS, {"b_id": step_run_id})]
