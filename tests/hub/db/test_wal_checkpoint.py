"""WAL checkpoints happen on their own thread, never inside the group committer's COMMIT."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from hub.db.checkpoint import WalCheckpointer
from hub.db.migrate import upgrade
from hub.db.session import Database
from tests.hub.db.test_group_commit import add_user


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    upgrade(f"sqlite:///{path}")
    return path


def _autocheckpoint(driver: Any) -> int:
    return driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


def test_the_committer_leaves_checkpoints_to_the_checkpointer_thread(db_path: Path) -> None:
    db = Database(f"sqlite:///{db_path}")
    try:
        drivers: list[Any] = []

        def remember(session: Any) -> None:
            drivers.append(session.connection().connection.driver_connection)

        db.write(remember)
        assert _autocheckpoint(drivers[0]) == 0, "the committer's COMMIT would still checkpoint"
        size = db_path.stat().st_size
        for n in range(300):  # a few hundred pages of WAL, under the 1,000 of an automatic checkpoint
            db.write(add_user(f"user-{n}-{'x' * 200}@example.com"))
        checkpointer = db._committer.checkpointer  # type: ignore[union-attr]
        deadline = time.monotonic() + 5
        while db_path.stat().st_size <= size and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db_path.stat().st_size > size, "the WAL was never copied into the database file"
        assert checkpointer.checkpoints >= 1
        db._committer.close()  # type: ignore[union-attr]
        # its connection went back to the pool checkpointing its own commits, as the others do
        assert _autocheckpoint(drivers[0]) == 1000
    finally:
        db.dispose()


def test_a_checkpoint_that_fails_is_logged_and_the_next_write_tries_again(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def raw_connection(self) -> Any:
            raise sqlite3.OperationalError("disk I/O error")

    checkpointer = WalCheckpointer(Broken(), interval_s=0.01)  # type: ignore[arg-type]
    checkpointer.start()
    try:
        checkpointer.wrote()
        deadline = time.monotonic() + 2
        while "wal_checkpoint_failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "event=wal_checkpoint_failed error=disk I/O error" in caplog.text
        assert checkpointer._thread is not None and checkpointer._thread.is_alive()
    finally:
        checkpointer.stop()
    assert checkpointer._thread is None and checkpointer.checkpoints == 0
