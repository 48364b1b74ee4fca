"""A real database outage seen by a hub runtime, caused from outside it.

SQLite: another connection holds the write lock (BEGIN EXCLUSIVE), so the hub's writers give up
after its busy timeout with "database is locked". PostgreSQL: while the outage lasts, the server
terminates the hub's connection (pg_terminate_backend) as it sends each statement.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from hub.db.session import Database


class Outage:
    def __init__(self, db: Database, only: Callable[[str, Any], bool] | None = None) -> None:
        """`only(statement, parameters)`, on PostgreSQL: terminate the connection at those alone."""
        self.db = db
        self.only = only
        self.active = False
        self.kills = 0
        self._holder: sqlite3.Connection | None = None
        self._admin: Any = None
        if db.dialect == "postgresql":
            self._admin = create_engine(db.url, poolclass=NullPool)
            event.listen(db.engine, "before_cursor_execute", self._terminate)

    def begin(self, *, lasting_s: float | None = None) -> None:
        """Start now; with `lasting_s`, end by itself that much later."""
        if self.db.dialect == "sqlite":
            holder = sqlite3.connect(
                self.db.engine.url.database, isolation_level=None, check_same_thread=False
            )
            holder.execute("BEGIN EXCLUSIVE")
            self._holder = holder
        self.active = True
        if lasting_s is not None:
            threading.Timer(lasting_s, self.end).start()

    def end(self) -> None:
        self.active = False
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()

    def close(self) -> None:
        self.end()
        if self._admin is not None:
            event.remove(self.db.engine, "before_cursor_execute", self._terminate)
            self._admin.dispose()

    def __enter__(self) -> Outage:
        self.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def _terminate(self, conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if not self.active or (self.only is not None and not self.only(statement, parameters)):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self._admin.connect() as admin:  # waits up to 5 s for the backend to be gone
            admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        self.kills += 1
