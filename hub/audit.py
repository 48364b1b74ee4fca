"""The audit log: who changed what, with secrets redacted from the details."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.db.models import AuditEntry
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
        )
    )
