"""HUB_SQLITE_BUSY_TIMEOUT_S: how long a SQLite writer waits for the lock before its unit fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hub.config import Settings
from hub.db.session import Database


def test_the_setting_is_read_and_bad_values_are_named() -> None:
    assert Settings.from_env({"HUB_HOME": "/tmp/x"}).sqlite_busy_timeout_s == 30.0
    assert Settings.from_env({"HUB_SQLITE_BUSY_TIMEOUT_S": "2.5"}).sqlite_busy_timeout_s == 2.5
    with pytest.raises(ValueError, match="HUB_SQLITE_BUSY_TIMEOUT_S"):
        Settings.from_env({"HUB_SQLITE_BUSY_TIMEOUT_S": "soon"})
    with pytest.raises(ValueError, match="HUB_SQLITE_BUSY_TIMEOUT_S must be more than 0"):
        Settings.from_env({"HUB_SQLITE_BUSY_TIMEOUT_S": "0"})


def test_sqlite_connections_wait_that_long(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}", busy_timeout_s=2.5)
    try:
        with db.read() as session:
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == 2500
    finally:
        db.dispose()
