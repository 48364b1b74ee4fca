"""A fresh PostgreSQL schema per bench round, dropped afterwards, so a bench never writes into the
database's shared `public` schema (nor meets another round's rows)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def own_schema(database_url: str) -> Iterator[str]:
    """`database_url` with its search_path set to a new schema, which is dropped on exit."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
