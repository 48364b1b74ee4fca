"""FastSQL's statements run inside the session's own transaction, whichever it is at the time."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.db.fastsql import driver_connection
from hub.db.migrate import upgrade
from hub.db.models import User
from hub.db.session import Database
from hub.engine.statements import rowcount, rows


@pytest.fixture
def db(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        session.add(User(email="a@example.com", password_hash="x", role="viewer"))
    yield database
    database.dispose()


RENAME = update(User).where(User.email == "a@example.com").values(role="editor")


def role(db: Database) -> str:
    with db.read() as session:
        return session.scalar(select(User.role))


def test_a_statement_after_a_commit_belongs_to_the_next_transaction(db: Database) -> None:
    """The driver connection is remembered per transaction: after a commit the session's next
    statement must not run on the connection it gave back (there, in autocommit, a rollback
    would not undo it)."""
    with db.engine.connect():  # another connection checked out, so the pool has two to hand around
        pass
    session = db.session()
    try:
        session.connection()  # begin
        assert rowcount(session, RENAME, {}) == 1
        session.commit()
        assert role(db) == "editor"
        reset = update(User).values(role="viewer")
        assert rowcount(session, reset, {}) == 1
        session.rollback()
    finally:
        session.close()
    assert role(db) == "editor"


def test_the_connection_is_looked_up_once_per_transaction(db: Database) -> None:
    session = db.session()
    try:
        first = driver_connection(session)
        assert driver_connection(session) is first
        assert first is session.connection().connection.driver_connection
        session.rollback()
        with db.read() as other:
            assert other.scalar(select(func.count()).select_from(User)) == 1
        assert driver_connection(session) is session.connection().connection.driver_connection
    finally:
        session.close()


def test_a_session_on_demand_is_opened_by_its_first_use_and_closed_with_the_block(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[None] = []
    read = db.read

    def counted() -> AbstractContextManager[Session]:
        opened.append(None)
        return read()

    monkeypatch.setattr(db, "read", counted)
    with db.read_on_demand():
        pass
    assert opened == []
    with db.read_on_demand() as on_demand:
        session = cast(Session, on_demand)  # it stands in for one
        assert rows(session, select(User.role), {}) == [("viewer",)]
        assert driver_connection(session) is session.connection().connection.driver_connection
        assert session.scalar(select(func.count()).select_from(User)) == 1
    assert len(opened) == 1 and session.get_transaction() is None  # committed and closed
