"""The audit log: who changed what, with secrets redacted from the details."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import AuditEntry, Connection, LookupTable, Recipe
from hub.redaction import redact


def audit(
    session: Session, actor: str, action: str, target_type: str, target_id: str | None, details: Any = None
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=redact(details) if details is not None else None,
            project_id=_project_of(session, target_type, target_id),
        )
    )


def _project_of(session: Session, target_type: str, target_id: str | None) -> int | None:
    """The project an entry concerns, so the log can be read per project; None for hub-wide changes."""
    if target_type == "table" and target_id is not None:  # tables are named, not numbered
        return session.scalar(select(LookupTable.project_id).where(LookupTable.name == target_id))
    if target_id is None or not target_id.isdigit():
        return None
    if target_type == "project":
        return int(target_id)
    if target_type == "recipe":
        return session.scalar(select(Recipe.project_id).where(Recipe.id == int(target_id)))
    if target_type == "connection":
        return session.scalar(select(Connection.project_id).where(Connection.id == int(target_id)))
    return None
