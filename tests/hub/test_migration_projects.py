"""Migration 0018 on a hub with data: everything lands in the default project and keeps working, on
SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from hub.app import create_app
from hub.db.migrate import upgrade
from hub.db.models import ID, JSONType, UTCDateTime, utcnow
from hub.db.session import make_engine
from hub.engine.executor import InlineExecutor
from hub.registry import Registry
from hub.runtime import Runtime
from tests.conftest import make_settings
from tests.hub.api.conftest import TestKit, two_step_recipe

BEFORE = "0015"  # the schema before projects

_meta = sa.MetaData()
_users = sa.Table(
    "users",
    _meta,
    sa.Column("id", ID),
    sa.Column("email", sa.String),
    sa.Column("role", sa.String),
    sa.Column("disabled", sa.Boolean),
    sa.Column("created_at", UTCDateTime),
)
_tokens = sa.Table(
    "api_tokens",
    _meta,
    sa.Column("id", ID),
    sa.Column("user_id", ID),
    sa.Column("name", sa.String),
    sa.Column("token_hash", sa.String),
    sa.Column("prefix", sa.String),
    sa.Column("created_at", UTCDateTime),
)
_connections = sa.Table(
    "connections",
    _meta,
    sa.Column("id", ID),
    sa.Column("name", sa.String),
    sa.Column("connector", sa.String),
    sa.Column("config", JSONType),
    sa.Column("revision", sa.Integer),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)
_recipes = sa.Table(
    "recipes",
    _meta,
    sa.Column("id", ID),
    sa.Column("name", sa.String),
    sa.Column("enabled", sa.Boolean),
    sa.Column("current_version", sa.Integer),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)
_versions = sa.Table(
    "recipe_versions",
    _meta,
    sa.Column("id", ID),
    sa.Column("recipe_id", ID),
    sa.Column("version", sa.Integer),
    sa.Column("document", JSONType),
    sa.Column("created_at", UTCDateTime),
)


def _fill_old_schema(database_url: str) -> None:
    """Users of each global role with a token each, a connection and a recipe, stored as the schema
    before projects holds them."""
    now = utcnow()
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            for user_id, role in ((1, "admin"), (2, "editor"), (3, "viewer")):
                connection.execute(
                    _users.insert().values(
                        id=user_id, email=f"{role}@example.com", role=role, disabled=False, created_at=now
                    )
                )
                digest = hashlib.sha256(f"hub_{role}-token".encode()).hexdigest()
                connection.execute(
                    _tokens.insert().values(
                        id=user_id,
                        user_id=user_id,
                        name="old",
                        token_hash=digest,
                        prefix="hub_",
                        created_at=now,
                    )
                )
            connection.execute(
                _connections.insert().values(
                    id=1,
                    name="kit1",
                    connector="testkit",
                    config={"username": "ada"},
                    revision=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            connection.execute(
                _recipes.insert().values(
                    id=1, name="two steps", enabled=False, current_version=1, created_at=now, updated_at=now
                )
            )
            connection.execute(
                _versions.insert().values(
                    id=1, recipe_id=1, version=1, document=two_step_recipe(), created_at=now
                )
            )
            if connection.dialect.name == "postgresql":  # ids were given: move the sequences past them
                for table in _meta.tables:
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
    finally:
        engine.dispose()


def test_existing_data_lands_in_the_default_project_and_keeps_working(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url, BEFORE)
    _fill_old_schema(database_url)
    registry = Registry()
    registry.load_entry_points()
    kit = TestKit()
    registry.register(kit, source="tests")
    rt = Runtime.create(make_settings(tmp_path / "home", database_url), registry=registry)  # migrates
    rt.executor = InlineExecutor(rt)
    try:
        engine = make_engine(database_url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT id, name FROM projects")).all() == [(1, "default")]
            for table in ("recipes", "connections"):
                assert connection.execute(sa.text(f"SELECT project_id FROM {table}")).scalars().all() == [1]
            members = connection.execute(
                sa.text("SELECT user_id, role FROM project_members ORDER BY user_id")
            )
            assert members.all() == [(2, "editor"), (3, "viewer")]
        engine.dispose()

        client = create_app(rt).test_client()
        editor, viewer, admin = (
            {"Authorization": f"Bearer hub_{role}-token"} for role in ("editor", "viewer", "admin")
        )
        assert client.get("/api/v1/recipes/1", headers=viewer).get_json()["project_id"] == 1
        assert client.put("/api/v1/recipes/1", json=two_step_recipe(), headers=viewer).status_code == 403
        assert client.put("/api/v1/recipes/1", json=two_step_recipe(), headers=editor).status_code == 200
        ran = client.post(
            "/api/v1/recipes/1/test", json={"event": {"v": "x"}, "dry_run": False}, headers=editor
        )
        assert ran.status_code == 200 and ran.get_json()["status"] == "succeeded", ran.get_json()
        assert [c["inputs"]["value"] for c in kit.calls] == ["x", "x+"]
        assert client.get("/api/v1/users", headers=admin).status_code == 200
        made = client.post("/api/v1/projects", json={"name": "sales"}, headers=admin)
        assert made.status_code == 201 and made.get_json()["id"] == 2  # the id sequence moved past 1
    finally:
        rt.close()
