"""Which database errors pass on their own (try again later) and which are the caller's to report.

A failover, a restart for a minor upgrade, a dropped connection or a SQLite writer holding the lock
past the busy timeout must delay work, never fail it: callers that see `is_transient(exc)` leave the
work to be taken up again instead of recording it as failed.
"""

from __future__ import annotations

import sqlite3
import sys

from sqlalchemy import exc as sa_exc

# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html)
TRANSIENT_SQLSTATE_CLASSES = ("08",)  # connection exceptions
TRANSIENT_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown (pg_terminate_backend, a fast shutdown)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, in recovery)
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "53300",  # too_many_connections
    }
)
# What a 503 for a database that is unavailable for now asks the caller to wait, in seconds.
RETRY_AFTER_S = 5
# SQLite primary result codes: the lock was not had within the busy timeout.
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


def is_transient(exc: BaseException) -> bool:
    """True for an error that says the database was unreachable or busy, not that the work is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_here(current):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def _transient_here(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):  # pool: gone, or exhausted
        return True
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
        message = str(exc).lower()
        return "database is locked" in message or "database is busy" in message
    return _psycopg_transient(exc)


def _psycopg_transient(exc: BaseException) -> bool:
    # Looked up, not imported: only a process that talks to PostgreSQL has psycopg loaded (and can
    # meet its errors); importing it on SQLite would cost every process several MiB for nothing.
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return False
    sqlstate = exc.sqlstate
    if sqlstate is None:  # no answer from the server at all: the connection broke or never opened
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES) or sqlstate in TRANSIENT_SQLSTATES


def describe(exc: BaseException) -> str:
    """One short line for logs: the error's type and the first line of its message."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
