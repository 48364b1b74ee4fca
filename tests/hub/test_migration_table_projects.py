"""Migration 0019 on a hub with lookup tables: they land in the default project, keep their rows and
are read there (and only there), on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.access import DEFAULT_PROJECT_ID
from hub.connections import NotFound
from hub.db.migrate import upgrade
from hub.db.models import ID, JSONType, UTCDateTime, utcnow
from hub.db.session import make_engine
from hub.utilities import tables

BEFORE = "0018"  # projects exist, lookup tables are still hub-wide

_meta = sa.MetaData()
_tables = sa.Table(
    "lookup_tables",
    _meta,
    sa.Column("id", ID),
    sa.Column("name", sa.String),
    sa.Column("columns", JSONType),
    sa.Column("key_column", sa.String),
    sa.Column("row_count", sa.Integer),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)
_rows = sa.Table(
    "lookup_rows",
    _meta,
    sa.Column("table_id", ID),
    sa.Column("position", sa.Integer),
    sa.Column("key", sa.String),
    sa.Column("data", JSONType),
)


def test_existing_tables_land_in_the_default_project(database_url: str) -> None:
    upgrade(database_url, BEFORE)
    engine = make_engine(database_url)
    try:
        now = utcnow()
        with engine.begin() as connection:
            connection.execute(
                _tables.insert().values(
                    id=1,
                    name="territories",
                    columns=["province", "owner"],
                    key_column="province",
                    row_count=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            row = {"province": "浙江", "owner": "wang.fang@example.com"}
            connection.execute(_rows.insert().values(table_id=1, position=0, key="浙江", data=row))
        upgrade(database_url)
        with engine.connect() as connection:
            found = connection.execute(sa.text("SELECT name, project_id FROM lookup_tables")).all()
            assert found == [("territories", DEFAULT_PROJECT_ID)]
        with Session(engine) as session:
            assert tables.get(session, "territories", DEFAULT_PROJECT_ID).project_id == DEFAULT_PROJECT_ID
            assert tables.by_key(session, "territories", "浙江", DEFAULT_PROJECT_ID) == row
            assert [t.name for t in tables.list_all(session, [DEFAULT_PROJECT_ID])] == ["territories"]
            assert tables.list_all(session, [2]) == []
            with pytest.raises(NotFound, match="no table named 'territories' in this project"):
                tables.by_key(session, "territories", "浙江", 2)
    finally:
        engine.dispose()
