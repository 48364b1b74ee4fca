"""One classifier says which database errors pass (delay the work) and which are the work's own."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from hub.db.errors import describe, is_transient
from hub.db.session import Database
from tests.hub.db.outage import Outage


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, busy_timeout_s=0.1)
    with database.transaction() as session:
        session.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    yield database
    database.dispose()


def error_of(db: Database, statement: str) -> BaseException:
    with pytest.raises(Exception) as caught:  # any error: which one is under test
        db.write(lambda session: session.execute(text(statement)))
    return caught.value


def test_an_outage_is_transient_on_either_database(db: Database) -> None:
    """SQLite locked past the busy timeout; PostgreSQL's connection terminated by the server."""
    outage = Outage(db)
    try:
        with outage:
            error = error_of(db, "INSERT INTO things (id) VALUES (1)")
    finally:
        outage.close()
    assert is_transient(error), repr(error)
    db.write(lambda session: session.execute(text("INSERT INTO things (id) VALUES (1)")))  # back again


def test_errors_of_the_work_itself_are_permanent(db: Database) -> None:
    db.write(lambda session: session.execute(text("INSERT INTO things (id) VALUES (1)")))
    assert not is_transient(error_of(db, "INSERT INTO things (id) VALUES (1)"))  # unique violation
    assert not is_transient(error_of(db, "SELECT * FROM no_such_table"))  # an OperationalError on SQLite
    assert not is_transient(ValueError("database is locked"))  # the words alone are not enough


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown(),  # 57P01
        psycopg.errors.CrashShutdown(),  # 57P02
        psycopg.errors.CannotConnectNow(),  # 57P03
        psycopg.errors.ConnectionFailure(),  # 08006
        psycopg.errors.SerializationFailure(),  # 40001
        psycopg.errors.DeadlockDetected(),  # 40P01
        psycopg.errors.LockNotAvailable(),  # 55P03
        psycopg.OperationalError("server closed the connection unexpectedly"),  # no SQLSTATE: no answer
    ],
    ids=lambda error: type(error).__name__,
)
def test_postgresql_states_that_pass(error: psycopg.Error) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [psycopg.errors.UndefinedTable(), psycopg.errors.CheckViolation(), psycopg.errors.DiskFull()],
    ids=lambda error: type(error).__name__,
)
def test_postgresql_states_that_do_not(error: psycopg.Error) -> None:
    assert not is_transient(error)


def test_describe_is_one_short_line() -> None:
    line = describe(psycopg.OperationalError("terminating connection\nDETAIL: " + "x" * 500))
    assert line == "OperationalError: terminating connection"
