"""Alembic migrations, run programmatically by `hub init` and `hub serve`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


# Any constant shared by every hub process: PostgreSQL serialises their migrations on it.
MIGRATION_LOCK = 748_209_113


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; idempotent. Processes starting together on PostgreSQL take
    turns on an advisory lock, so a fresh database is migrated once instead of raced."""
    if not database_url.startswith("postgresql"):
        command.upgrade(alembic_config(database_url), revision)
        return
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(database_url), revision)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()
