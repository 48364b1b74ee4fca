"""Prebuilt Core statements executed straight on the DBAPI cursor, for the per-event hot path.

SQLAlchemy spends ~60 µs turning a Core statement and its parameters into a driver call; sqlite3
itself needs ~8 µs. Each statement is compiled once per set of parameter names; parameters still go
through the column types' own bind processors (JSON, UTC datetimes) and Python-side column defaults
are filled as SQLAlchemy would, so rows are identical to those written the ordinary way. PostgreSQL
keeps the ordinary path: there the round trip to the server, not Python, dominates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DRIVER = "hub_driver_connection"


def forget_transaction_info(session: Session) -> None:
    """Empty `session.info` of what a transaction's work left there (a listener's flag, say), for a
    session kept across transactions; the driver connection found for it stays."""
    known = session.info.get(_DRIVER)
    session.info.clear()
    if known is not None:
        session.info[_DRIVER] = known


def driver_connection(session: Session) -> Any:
    """The DBAPI connection under the session's current transaction, looked up once per transaction:
    Session.connection() walks SQLAlchemy's transaction states each time (~30 µs), and a run's writes
    execute nine statements. Kept beside the root transaction it belongs to, so a session that
    committed and began again (another pooled connection, perhaps) looks it up afresh."""
    transaction = session.get_transaction()
    known = session.info.get(_DRIVER)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1]
    driver = session.connection().connection.driver_connection
    session.info[_DRIVER] = (session.get_transaction(), driver)
    return driver


_PARAM, _LITERAL, _DEFAULT = range(3)


@dataclass
class _Plan:
    sql: str
    # Where each placeholder's value comes from: (_PARAM, name) a given parameter, (_LITERAL, value)
    # written into the statement itself (status == "running"), (_DEFAULT, column default) not given.
    sources: tuple[tuple[int, Any], ...]
    direct: tuple[str, ...] | None  # every placeholder a given parameter: their names, in order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (placeholder, its type's bind processor)
    results: tuple[Callable[[Any], Any] | None, ...]


def _default(default: Any) -> Any:
    return default.arg(None) if default.is_callable else default.arg


class FastSQL:
    def __init__(self) -> None:
        # Keyed by the parameters in the order given: callers build them the same way every time, so
        # the key needs no sorting; each order of the same names maps to the same statement.
        self._plans: dict[tuple[int, tuple[str, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, session: Session, statement: ClauseElement, given: tuple[str, ...]) -> _Plan:
        keys = set(given)
        dialect = session.get_bind().dialect
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"FastSQL runs DML and SELECT statements, not {type(statement).__name__}")
        names = tuple(compiled.positiontup or ())
        defaults = {
            column.key: column.default
            for column in [*compiled.insert_prefetch, *compiled.update_prefetch]
            if column.default is not None and column.key not in keys
        }
        sources = tuple(
            (_PARAM, name)
            if name in keys
            else (_DEFAULT, defaults[name])
            if name in defaults
            else (_LITERAL, compiled.binds[name].effective_value)
            for name in names
        )
        processors = tuple(
            (position, process)
            for position, name in enumerate(names)
            if (process := compiled.binds[name].type._cached_bind_processor(dialect)) is not None
        )
        results = tuple(
            column[3].dialect_impl(dialect).result_processor(dialect, None) if column[3] is not None else None
            for column in getattr(compiled, "_result_columns", [])
        )
        direct = names if all(kind == _PARAM for kind, _ in sources) else None
        plan = _Plan(compiled.string, sources, direct, processors, results)
        with self._lock:
            self._plans[(id(statement), given)] = plan
        return plan

    def _execute(self, session: Session, statement: ClauseElement, params: dict[str, Any]) -> Any:
        given = tuple(params)
        plan = self._plans.get((id(statement), given)) or self._plan(session, statement, given)
        if plan.direct is not None:
            values = [params[name] for name in plan.direct]
        else:
            values = [
                params[source] if kind == _PARAM else source if kind == _LITERAL else _default(source)
                for kind, source in plan.sources
            ]
        for position, process in plan.processors:
            values[position] = process(values[position])
        return driver_connection(session).execute(plan.sql, values), plan

    def rowcount(self, session: Session, statement: ClauseElement, params: dict[str, Any]) -> int:
        cursor, _plan = self._execute(session, statement, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def returned_id(self, session: Session, statement: ClauseElement, params: dict[str, Any]) -> int | None:
        cursor, _plan = self._execute(session, statement, params)
        row = cursor.fetchone()
        cursor.close()
        return row[0] if row else None

    def rows(
        self, session: Session, statement: ClauseElement, params: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        cursor, plan = self._execute(session, statement, params)
        fetched = cursor.fetchall()
        cursor.close()
        return [
            tuple(
                process(value) if process else value for value, process in zip(row, plan.results, strict=True)
            )
            for row in fetched
        ]
