"""The Alembic migrations build exactly the schema the models describe, and run twice without harm."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.db.migrate import upgrade
from hub.db.models import Base
from hub.db.session import make_engine
from tests.conftest import _pg_schema_url


def test_migrations_match_models_and_are_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert {
            "users",
            "api_tokens",
            "connections",
            "recipes",
            "recipe_versions",
            "trigger_states",
            "seen_items",
            "events",
            "runs",
            "step_runs",
            "step_attempts",
            "waits",
            "audit_log",
        } <= tables
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _pg_schema_url()


def test_processes_starting_together_on_postgresql_migrate_once(postgres_url: str) -> None:
    """Without the advisory lock, concurrent upgrades of a fresh schema race on CREATE TABLE."""
    errors: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(postgres_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
