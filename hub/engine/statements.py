"""Hot-path SQL built once: executing a prebuilt Core statement with a parameter dict skips the
statement construction and cache-key work SQLAlchemy otherwise repeats for every event."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.core import affected, table
from hub.db.fastsql import FastSQL
from hub.db.models import Event, Recipe, RecipeVersion, Run, StepAttempt, StepRun, Wait

events, runs, step_runs, attempts = table(Event), table(Run), table(StepRun), table(StepAttempt)
waits = table(Wait)
recipes, versions = table(Recipe), table(RecipeVersion)

# What a worker reads to take up a run (recipe documents are immutable per version and cached).
LOAD_RUN = select(*runs.c).where(runs.c.id == bindparam("b_id"))
LOAD_EVENT = select(events.c.payload).where(events.c.id == bindparam("b_id"))
LOAD_STEPS = select(*step_runs.c).where(step_runs.c.run_id == bindparam("b_id"))
LOAD_STEPS_AT = select(*step_runs.c).where(
    step_runs.c.run_id == bindparam("b_id"), step_runs.c.path.in_(bindparam("b_paths", expanding=True))
)
# `_` in a prefix matches any character: an extra row read is still one of the run's own
LOAD_STEPS_UNDER = select(*step_runs.c).where(
    step_runs.c.run_id == bindparam("b_id"), step_runs.c.path.startswith(bindparam("b_prefix"))
)
LOAD_VERSION = (
    select(recipes.c.name, versions.c.document, recipes.c.project_id)
    .join(versions, versions.c.recipe_id == recipes.c.id)
    .where(recipes.c.id == bindparam("b_id"), versions.c.version == bindparam("b_version"))
)

# Asked for every incoming event, and nearly always empty: a light Core select, not ORM entities.
WAITS_FOR = select(waits.c.id, waits.c.connection_id, waits.c.match).where(
    waits.c.connector == bindparam("b_connector"), waits.c.trigger == bindparam("b_trigger")
)

INSERT_EVENT = insert(events).returning(events.c.id)
INSERT_RUN = insert(runs).returning(*runs.c)  # the whole row: a run thread here starts from it
INSERT_STEP = insert(step_runs).returning(step_runs.c.id)
INSERT_ATTEMPT = insert(attempts).returning(attempts.c.id)
# SET columns come from the keys of the parameters passed with each execution.
UPDATE_STEP = update(step_runs).where(step_runs.c.id == bindparam("b_id"))
UPDATE_ATTEMPT = update(attempts).where(attempts.c.id == bindparam("b_id"))
UPDATE_RUN = update(runs).where(runs.c.id == bindparam("b_id"))
STARTED_ATTEMPTS = select(attempts.c.id).where(
    attempts.c.step_run_id == bindparam("b_id"), attempts.c.status == "started"
)

_mine = and_(
    runs.c.id == bindparam("b_id"), runs.c.lease_owner == bindparam("b_owner"), runs.c.status == "running"
)
# Every write of a worker checks it still holds the run's lease (a cancel or a takeover ends it).
RENEW = update(runs).where(_mine).values(lease_expires_at=bindparam("b_until"))
RELEASE = update(runs).where(_mine)

_now: BindParameter[Any] = bindparam("b_now")
_TAKE_LEASE: dict[str, Any] = {
    "status": "running",
    "lease_owner": bindparam("b_owner"),
    "lease_expires_at": bindparam("b_until"),
    "wake_at": None,
    "started_at": func.coalesce(runs.c.started_at, _now),
}
CLAIM = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        or_(
            and_(runs.c.status == "queued", or_(runs.c.wake_at.is_(None), runs.c.wake_at <= _now)),
            and_(runs.c.status == "waiting", runs.c.wake_at.is_not(None), runs.c.wake_at <= _now),
            and_(runs.c.status == "running", runs.c.lease_expires_at < _now),
        ),
    )
    .values(**_TAKE_LEASE)
)

# A run no worker has claimed yet has nothing but its stored event (and, for a replay from a step,
# the copied steps before it): a worker reads it first and claims it in the same write as its first
# step, one commit fewer per run. The same statement renews the lease on later writes.
CLAIM_FRESH_OR_RENEW = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        or_(
            and_(
                runs.c.status == "queued",
                runs.c.started_at.is_(None),
                or_(runs.c.wake_at.is_(None), runs.c.wake_at <= _now),
            ),
            and_(runs.c.status == "running", runs.c.lease_owner == bindparam("b_owner")),
        ),
    )
    .values(**_TAKE_LEASE)
)

_fast = FastSQL()

# A row as a plain attribute record: runners read and update their run and step rows by attribute,
# and a transient ORM instance costs twenty times more to build.
Record = SimpleNamespace


def record(table: Any, row: Any = (), **values: Any) -> Record:
    """A record of `table` from a selected `row` (all columns), or from `values` (others None)."""
    columns = table.c.keys()
    fields = dict(zip(columns, row, strict=True)) if row else dict.fromkeys(columns)
    fields.update(values)
    return Record(**fields)


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def rowcount(session: Session, statement: Any, params: dict[str, Any]) -> int:
    """Execute an UPDATE; the number of rows it changed."""
    if _sqlite(session):
        return _fast.rowcount(session, statement, params)
    return affected(session.execute(statement, params))


def returned_id(session: Session, statement: Any, params: dict[str, Any]) -> int:
    """Execute an INSERT ... RETURNING id; the new id."""
    if _sqlite(session):
        new_id = _fast.returned_id(session, statement, params)
        assert new_id is not None
        return new_id
    return int(session.execute(statement, params).scalar_one())


def inserted(session: Session, statement: Any, params: dict[str, Any]) -> tuple[Any, ...]:
    """Execute an INSERT ... RETURNING columns; the new row."""
    return rows(session, statement, params)[0]


def rows(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    if _sqlite(session):
        return _fast.rows(session, statement, params)
    return [tuple(row) for row in session.execute(statement, params).all()]


_insert_ignore: dict[tuple[str, str], Any] = {}


def insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None if it existed."""
    dialect = session.get_bind().dialect.name
    statement = _insert_ignore.get((dialect, table.name))
    if statement is None:
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(table).on_conflict_do_nothing().returning(table.c.id)
        _insert_ignore[(dialect, table.name)] = statement
    if dialect == "sqlite":
        return _fast.returned_id(session, statement, values)
    return session.execute(statement, values).scalar()
