"""The storage utility's SQL: every write is one atomic statement, or a row held for its transaction.

- `put`, `increment` and `compare_and_set` on an absent key are `INSERT ... ON CONFLICT DO UPDATE
  ... RETURNING`; `compare_and_set` on a present one is a conditional `UPDATE ... RETURNING`;
  `remove` is `DELETE ... RETURNING`. The database applies each against the row as it is at that
  moment, so concurrent writers never lose an update (no read-modify-write in Python).
- `append` trims the list to `max_length`, which SQL cannot say portably, so it reads and writes
  the row under a lock: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite every write transaction
  already holds the database's one write lock from its first statement (BEGIN IMMEDIATE).

An expired key reads as absent everywhere and is replaced by the next write; `purge` deletes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Text, and_, case, cast, delete, func, or_, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.core import table
from hub.db.models import StorageEntry, StoredJSON, UtilityWrite, utcnow
from hub.db.session import Database
from hub.utilities.values import MAX_VALUE_BYTES, canonical

T = table(StorageEntry).c
WRITE_LOG_DAYS = 7  # how long a write's idempotency key is remembered (retries come within minutes)
PURGE_EVERY = 500  # writes of one process between two purges of expired keys and old write records
_writes = itertools.count(1)


class WrongType(Exception):
    """The stored value is not of the type the action needs (a number to add to, a list to extend)."""


@dataclass(frozen=True)
class Entry:
    key: str
    value: Any
    expires_at: datetime | None
    updated_at: datetime


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StorageEntry)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _live(now: datetime) -> ColumnElement[bool]:
    return or_(T.expires_at.is_(None), T.expires_at > now)


def _expired(now: datetime) -> ColumnElement[bool]:
    return and_(T.expires_at.is_not(None), T.expires_at <= now)


def _this(scope: str, key: str) -> ColumnElement[bool]:
    return and_(T.scope == scope, T.key == key)


def _json(value: Any) -> Any:
    return type_coerce(value, StoredJSON)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def get(session: Session, scope: str, key: str, now: datetime | None = None) -> Entry | None:
    row = session.execute(
        select(T.key, T.value, T.expires_at, T.updated_at).where(_this(scope, key), _live(now or utcnow()))
    ).first()
    return Entry(*row) if row else None


def put(session: Session, scope: str, key: str, value: Any, ttl_s: float | None = None) -> Entry:
    """Store `value` under the key, replacing its value and its expiry; the entry as written."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_s) if ttl_s else None
    statement = _insert(session).values(scope=scope, key=key, value=value, expires_at=expires, updated_at=now)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[T.scope, T.key],
        set_={"value": excluded.value, "expires_at": excluded.expires_at, "updated_at": now},
    )
    session.execute(statement)
    return Entry(key, value, expires, now)


def remove(session: Session, scope: str, key: str) -> bool:
    """Delete the key; whether a live value was there (an expired one is deleted too, silently)."""
    row = session.execute(delete(StorageEntry).where(_this(scope, key)).returning(T.expires_at)).first()
    return row is not None and (row.expires_at is None or row.expires_at > utcnow())


def increment(session: Session, scope: str, key: str, by: int | Decimal) -> Any:
    """Add `by` to a stored number (an absent or expired key counts from 0); WrongType otherwise."""
    now = utcnow()
    if _postgres(session):
        is_number = func.jsonb_typeof(T.value) == "number"
        total: Any = func.to_jsonb(cast(T.value, Numeric) + cast(by, Numeric))
    else:  # JSON text: SQLite reads a numeric text as its number; the sum is written back as text
        is_number = func.json_type(T.value).in_(("integer", "real"))
        total = cast(cast(T.value, Numeric) + cast(type_coerce(str(by), Text), Numeric), Text)
    statement = _insert(session).values(scope=scope, key=key, value=by, expires_at=None, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[T.scope, T.key],
        set_={
            "value": case_expired(now, statement.excluded.value, total),
            "expires_at": case_expired(now, None, T.expires_at),
            "updated_at": now,
        },
        where=or_(_expired(now), is_number),
    ).returning(T.value)
    row = session.execute(statement).first()
    if row is None:
        held = get(session, scope, key, now)
        kind = json_type(held.value if held else None)
        raise WrongType(f"storage key '{key}' holds a {kind}, not a number: increment adds only to numbers")
    return row.value


def case_expired(now: datetime, fresh: Any, kept: Any) -> Any:
    """`fresh` where the stored row has expired (it counts as absent), else `kept`."""
    return case((_expired(now), fresh), else_=kept)


def compare_and_set(session: Session, scope: str, key: str, expected: Any, value: Any) -> tuple[bool, Any]:
    """Write `value` only if the key holds `expected` (null: absent or null); (swapped, previous)."""
    now = utcnow()
    if expected is None:
        is_null = func.jsonb_typeof(T.value) == "null" if _postgres(session) else T.value == "null"
        statement = _insert(session).values(
            scope=scope, key=key, value=value, expires_at=None, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[T.scope, T.key],
            set_={"value": statement.excluded.value, "expires_at": None, "updated_at": now},
            where=or_(_expired(now), is_null),
        ).returning(T.key)
    else:
        statement = (
            table(StorageEntry)
            .update()
            .where(_this(scope, key), _live(now), T.value == _json(expected))
            .values(value=_json(value), updated_at=now)
            .returning(T.key)
        )
    if session.execute(statement).first() is not None:
        return True, expected
    held = get(session, scope, key, now)
    return False, held.value if held else None


def append(session: Session, scope: str, key: str, item: Any, max_length: int | None) -> int:
    """Add `item` at the end of a stored list (an absent key starts one), keeping the last
    `max_length` items; the list's length after. WrongType when the key holds something else."""
    now = utcnow()
    session.execute(
        _insert(session)
        .values(scope=scope, key=key, value=[], expires_at=None, updated_at=now)
        .on_conflict_do_nothing()
    )
    row = session.execute(
        select(T.value, T.expires_at).where(_this(scope, key)).with_for_update()
    ).one()  # the row is held from here to the commit (PostgreSQL); SQLite's writer lock is already held
    live = row.expires_at is None or row.expires_at > now
    current = row.value if live else []
    if not isinstance(current, list):
        raise WrongType(
            f"storage key '{key}' holds a {json_type(current)}, not a list: append extends only lists"
        )
    items = [*current, item]
    if max_length is not None and len(items) > max_length:
        items = items[len(items) - max_length :]
    items = canonical(items, f"value (the list at '{key}' would exceed {MAX_VALUE_BYTES} bytes)")
    session.execute(
        table(StorageEntry)
        .update()
        .where(_this(scope, key))
        .values(value=_json(items), expires_at=row.expires_at if live else None, updated_at=now)
    )
    return len(items)


def page(
    session: Session, scope: str, prefix: str = "", after: str | None = None, limit: int = 50
) -> tuple[list[Entry], str | None]:
    """Live keys of `scope` starting with `prefix`, in key order after `after`; (page, next cursor)."""
    query = select(T.key, T.value, T.expires_at, T.updated_at).where(T.scope == scope, _live(utcnow()))
    if prefix:
        query = query.where(T.key.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(T.key > after)
    rows = [Entry(*row) for row in session.execute(query.order_by(T.key).limit(limit + 1))]
    return rows[:limit], rows[limit - 1].key if len(rows) > limit else None


def scopes(session: Session) -> Sequence[str]:
    """Every scope holding at least one key."""
    return list(session.scalars(select(T.scope).distinct().order_by(T.scope)))


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete expired keys and write records past WRITE_LOG_DAYS; how many keys went."""
    now = now or utcnow()
    gone = session.execute(delete(StorageEntry).where(_expired(now)).returning(T.key)).all()
    cutoff = now - timedelta(days=WRITE_LOG_DAYS)
    session.execute(delete(UtilityWrite).where(UtilityWrite.created_at < cutoff))
    return len(gone)


def maybe_purge(db: Database) -> None:
    """Purge every PURGE_EVERY writes of this process (and on its first), off the writers' path."""
    if next(_writes) % PURGE_EVERY == 1:
        db.write(purge)
