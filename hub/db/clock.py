"""The database's clock: times compared by processes on several machines (leases, redispatch,
schedule slots) are read from the one server they share, not from each machine's own clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def database_now(session: Session) -> datetime:
    """The database server's current time, UTC-aware (SQLite: this machine's, to the millisecond)."""
    if session.get_bind().dialect.name == "sqlite":
        text = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return session.execute(select(func.clock_timestamp())).scalar_one().astimezone(UTC)
