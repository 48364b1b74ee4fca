"""Shared fixtures: a fresh hub runtime per test on SQLite, and on PostgreSQL when configured.

`HUB_TEST_DATABASE_URL` (a PostgreSQL URL) adds a PostgreSQL run of every storage test, each in
its own schema. On CI (CI=true) a missing URL fails those tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from hub.config import Settings
from hub.engine.executor import InlineExecutor
from hub.registry import Registry
from hub.runtime import Runtime

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextmanager
def own_schema(database_url: str, prefix: str = "t") -> Iterator[str]:
    """`database_url` (PostgreSQL) with its search_path set to a new schema, dropped on exit: tests and
    benches never write into the shared `public` schema nor meet each other's rows."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _pg_schema_url() -> Iterator[str]:
    if not PG_URL:
        if ON_CI:
            pytest.fail("CI must set HUB_TEST_DATABASE_URL so storage tests run on PostgreSQL")
        pytest.skip("HUB_TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
    with own_schema(PG_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


def make_settings(home: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "database_url": database_url,
        "vault_keys": Fernet.generate_key().decode(),
        "allow_private_network": True,
        "base_url": "http://127.0.0.1:8000",
        "lease_s": 30.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url)


def installed_connectors() -> Registry:
    """A registry of the installed connectors of the test's own: a connector a test registers (a
    stand-in vendor) must not show up in the pages and lists of later tests."""
    registry = Registry()
    registry.load_entry_points()
    return registry


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A migrated database, a vault and the installed connectors; runs execute inline."""
    rt = Runtime.create(settings, registry=installed_connectors())
    rt.executor = InlineExecutor(rt)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime):
    from hub.app import create_app

    flask_app = create_app(runtime)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()
