"""Named secret operations (admin only at the edges): set, replace, delete, list names. Values go
straight into the vault; audit entries name the secret, never its value."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.access import DEFAULT_PROJECT_ID
from hub.audit import audit
from hub.connections import Conflict, NotFound
from hub.db.models import NamedSecret, utcnow
from hub.redaction import MIN_SECRET_LENGTH
from hub.runtime import Runtime
from hub.services import InvalidInput
from hub.utilities import secrets


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not secrets.NAME_PATTERN.match(name):
        raise InvalidInput(
            "$.name: a secret name is 1-64 letters, digits or '_', starting with a letter "
            "(it is used as {{ secrets.NAME }})",
            path="$.name",
        )
    return name


def check_value(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"$.value: give the secret as a string of at least {MIN_SECRET_LENGTH} characters "
            "(shorter ones could not be redacted from run records)",
            path="$.value",
        )
    if len(value) > secrets.MAX_VALUE_CHARS:
        raise InvalidInput(f"$.value: at most {secrets.MAX_VALUE_CHARS} characters", path="$.value")
    return value


def view(row: NamedSecret) -> dict[str, Any]:
    """What anyone may see of a secret: its name and when it was set, never the value."""
    return {
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def list_secrets(rt: Runtime, projects: set[int] | None = None) -> list[dict[str, Any]]:
    """The secrets of `projects` (None: all)."""
    query = select(NamedSecret).order_by(NamedSecret.name)
    if projects is not None:
        query = query.where(NamedSecret.project_id.in_(sorted(projects)))
    with rt.db.read() as session:
        return [view(row) for row in session.scalars(query)]


def set_secret(
    rt: Runtime,
    *,
    actor: str,
    name: Any,
    value: Any,
    create: bool | None = None,
    project_id: int = DEFAULT_PROJECT_ID,
) -> dict[str, Any]:
    """Store a secret (a new one in `project_id`). `create=True` refuses an existing name (POST),
    `False` a missing one (PUT), `None` either (the CLI's `set`)."""
    name, value = check_name(name), check_value(value)
    with rt.db.transaction() as session:
        row = session.get(NamedSecret, name)
        if row is not None and create is True:
            raise Conflict(f"secret '{name}' already exists; PUT /api/v1/secrets/{name} replaces it")
        if row is None and create is False:
            raise NotFound(f"secret '{name}' not found")
        sealed = secrets.seal(rt.vault, name, value)
        if row is None:
            row = NamedSecret(name=name, value=sealed, project_id=project_id)
            session.add(row)
            action = "secret.create"
        else:
            row.value, row.updated_at = sealed, utcnow()
            action = "secret.update"
        session.flush()
        audit(session, actor, action, "secret", name)
        return view(row)


def delete_secret(rt: Runtime, *, actor: str, name: str) -> None:
    with rt.db.transaction() as session:
        row = session.get(NamedSecret, name)
        if row is None:
            raise NotFound(f"secret '{name}' not found")
        session.delete(row)
        audit(session, actor, "secret.delete", "secret", name)
