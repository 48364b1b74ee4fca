"""Grouped SQLite writes: every unit committed before its caller returns, a failing unit undone alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from hub.db.migrate import upgrade
from hub.db.models import User
from hub.db.session import Database


@pytest.fixture
def db(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def add_user(email: str):
    def unit(session) -> int:
        user = User(email=email, password_hash="x", role="viewer")
        session.add(user)
        session.flush()
        return user.id

    return unit


def count_users(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_concurrent_units_share_commits_and_are_stored_when_write_returns(db: Database) -> None:
    seen_after_return: list[bool] = []

    def writer(n: int) -> None:
        for i in range(25):
            email = f"u{n}-{i}@example.com"
            db.write(add_user(email))
            # visible through another connection as soon as write() returned: committed, not pending
            with db.engine.connect() as other:
                seen_after_return.append(
                    other.execute(text("SELECT 1 FROM users WHERE email = :e"), {"e": email}).first()
                    is not None
                )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count_users(db) == 200
    assert all(seen_after_return) and len(seen_after_return) == 200


def test_a_failing_unit_is_undone_alone_with_its_pending_objects(db: Database) -> None:
    gate = threading.Event()
    results: dict[str, object] = {}

    def blocker(session) -> None:
        gate.wait(5)  # hold the committer so the next units queue into one batch

    def failing(session) -> None:
        session.add(User(email="pending@example.com", password_hash="x", role="viewer"))
        session.flush()
        session.add(User(email="never-flushed@example.com", password_hash="x", role="viewer"))
        raise RuntimeError("unit failed")

    def run(name: str, fn) -> None:
        try:
            results[name] = db.write(fn)
        except Exception as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=("block", blocker))]
    threads[0].start()
    for name, fn in [("a", add_user("a@example.com")), ("bad", failing), ("b", add_user("b@example.com"))]:
        threads.append(threading.Thread(target=run, args=(name, fn)))
        threads[-1].start()
    gate.set()
    for t in threads:
        t.join()
    assert isinstance(results["bad"], RuntimeError)
    assert isinstance(results["a"], int) and isinstance(results["b"], int)
    with db.read() as session:
        emails = set(session.scalars(select(User.email)))
    assert emails == {"a@example.com", "b@example.com"}


def test_a_failing_unit_alone_in_its_batch_raises_and_leaves_nothing(db: Database) -> None:
    """A batch of one runs without a savepoint: its failure rolls the whole transaction back."""

    def failing(session) -> None:
        session.add(User(email="alone@example.com", password_hash="x", role="viewer"))
        session.flush()
        raise RuntimeError("alone and failed")

    with pytest.raises(RuntimeError, match="alone and failed"):
        db.write(failing)
    assert count_users(db) == 0
    assert isinstance(db.write(add_user("next@example.com")), int)  # the committer goes on
    assert count_users(db) == 1


def test_a_unit_that_writes_again_from_the_committer_thread_does_not_deadlock(db: Database) -> None:
    def outer(session) -> int:
        return db.write(add_user("inner@example.com"))

    assert isinstance(db.write(outer), int)
    assert count_users(db) == 1


def hold_committer(db: Database, units: list) -> dict[str, object]:
    """Run `units` (name, fn) in one batch: a first unit holds the committer until all are queued."""
    inside, gate = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def run(name: str, fn) -> None:
        try:
            results[name] = db.write(fn)
        except Exception as exc:
            results[name] = exc

    def blocker(session) -> None:
        inside.set()
        gate.wait(5)

    threads = [threading.Thread(target=run, args=("block", blocker))]
    threads[0].start()
    assert inside.wait(5)  # the committer is in the blocker's batch: the units below queue behind it
    for name, fn in units:
        threads.append(threading.Thread(target=run, args=(name, fn)))
        threads[-1].start()
    deadline = time.monotonic() + 5
    while db._committer is not None and db._committer._queue.qsize() < len(units):
        assert time.monotonic() < deadline, "the units were never queued"
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join()
    return results


def test_commit_listeners_hear_each_committed_batch_and_no_rolled_back_one(db: Database) -> None:
    heard: list[object] = []
    db.on_commit(lambda session: heard.append(session.info.get("flag")))

    def flagging(session) -> int:
        session.info["flag"] = "set"
        return add_user("flag@example.com")(session)

    def failing(session) -> None:
        session.info["flag"] = "from a rolled back batch"
        raise RuntimeError("alone and failed")

    db.write(flagging)
    assert heard == ["set"]
    with pytest.raises(RuntimeError):
        db.write(failing)
    assert heard == ["set"]  # nothing committed, nothing heard
    db.write(add_user("plain@example.com"))
    assert heard == ["set", None]  # what the failed batch left in session.info is gone


def test_a_failed_flush_fails_its_whole_batch_and_the_committer_goes_on(db: Database) -> None:
    """After an ORM flush error SQLAlchemy keeps nothing of the transaction: every unit of the batch
    fails (none reports a write that was not stored), and the next batch is written as usual."""
    db.write(add_user("taken@example.com"))
    results = hold_committer(
        db,
        [("before", add_user("before@example.com")), ("duplicate", add_user("taken@example.com"))],
    )
    assert isinstance(results["duplicate"], IntegrityError)
    assert isinstance(results["before"], Exception)
    assert count_users(db) == 1
    assert isinstance(db.write(add_user("after@example.com")), int)
    assert count_users(db) == 2


def test_dispose_closes_the_committers_connection_and_a_later_write_still_works(db: Database) -> None:
    db.write(add_user("first@example.com"))
    committer = db._committer
    assert committer is not None and committer._session is not None
    db.dispose()
    assert committer._thread is None and committer._session is None
    assert db.engine.pool.checkedout() == 0
    assert isinstance(db.write(add_user("second@example.com")), int)
    assert count_users(db) == 2
