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


@dataclass
class _Plan:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: tuple[tuple[str, Any], ...]  # (parameter name, column default) filled when not given
    results: tuple[Callable[[Any], Any] | None, ...]
    literals: dict[str, Any]  # values written into the statement itself (status == "running")


class FastSQL:
    def __init__(self) -> None:
        self._plans: dict[tuple[int, tuple[str, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, session: Session, statement: ClauseElement, keys: tuple[str, ...]) -> _Plan:
        plan = self._plans.get((id(statement), keys))
        if plan is not None:
            return plan
        dialect = session.get_bind().dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"FastSQL runs DML and SELECT statements, not {type(statement).__name__}")
        names = tuple(compiled.positiontup or ())
        processors = tuple(compiled.binds[name].type._cached_bind_processor(dialect) for name in names)
        defaults = tuple(
            (column.key, column.default)
            for column in [*compiled.insert_prefetch, *compiled.update_prefetch]
            if column.default is not None and column.key not in keys
        )
        results = tuple(
            column[3].dialect_impl(dialect).result_processor(dialect, None) if column[3] is not None else None
            for column in getattr(compiled, "_result_columns", [])
        )
        literals = {name: bind.effective_value for name, bind in compiled.binds.items() if name not in keys}
        plan = _Plan(compiled.string, names, processors, defaults, results, literals)
        with self._lock:
            self._plans[(id(statement), keys)] = plan
        return plan

    def _execute(self, session: Session, statement: ClauseElement, params: dict[str, Any]) -> Any:
        plan = self._plan(session, statement, tuple(sorted(params)))
        if plan.defaults:
            params = dict(params)
            for name, default in plan.defaults:
                params[name] = default.arg(None) if default.is_callable else default.arg
        values = tuple(
            process(value) if process else value
            for value, process in zip(
                (params[name] if name in params else plan.literals[name] for name in plan.names),
                plan.processors,
                strict=True,
            )
        )
        cursor = driver_connection(session).cursor()
        cursor.execute(plan.sql, values)
        return cursor, plan

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
