"""User and API token operations: create users, change them, create and revoke tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import users
from hub.access import PROJECT_ROLES, join_default_project, principal_for, rank
from hub.audit import audit
from hub.connections import Conflict, NotFound
from hub.db.models import User
from hub.presentation import user_view
from hub.projects import get_project
from hub.runtime import Runtime
from hub.services import InvalidInput


class SelfDemotion(Conflict):
    """An admin may not take their own admin role away or disable themselves: nobody might be left."""

    def __init__(self) -> None:
        super().__init__("you cannot demote or disable yourself")


@dataclass(frozen=True)
class NewToken:
    """A token just made: `raw` is shown once and never stored."""

    id: int
    raw: str
    prefix: str
    name: str


def create_user(rt: Runtime, email: str, role: str, *, password: str | None, actor: str) -> dict[str, Any]:
    """Without a password the user can use API tokens but not sign in to the web UI."""
    with rt.db.transaction() as session:
        user = users.create_user(session, email, role, password=password)
        audit(session, actor, "user.create", "user", str(user.id), {"email": user.email, "role": user.role})
        return user_view(user)


def update_user(
    rt: Runtime,
    user_id: int,
    *,
    role: str | None,
    disabled: bool,
    password: str | None,
    actor: str,
    acting_user_id: int | None,
) -> None:
    """Set the role (ignored unless one of ROLES), disable or enable, and optionally a new password.

    A new password or disabling ends the user's browser sessions. Raises SelfDemotion when the
    acting user would demote or disable themselves.
    """
    with rt.db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        if user.id == acting_user_id and (disabled or role != "admin"):
            raise SelfDemotion()
        if role in users.ROLES:
            user.role = role
            join_default_project(session, user)
        users.set_disabled(user, disabled)
        if password:
            users.set_password(user, password)
        details = {"role": user.role, "disabled": disabled, "password_changed": bool(password)}
        audit(session, actor, "user.update", "user", str(user_id), details)


def _user(session: Session, user: int | str) -> User:
    """A user by id, or by email address."""
    found = (
        session.get(User, user)
        if isinstance(user, int)
        else session.scalar(select(User).where(User.email == user))
    )
    if found is None:
        raise NotFound(f"user {user} not found")
    return found


def _token_scope(
    session: Session, owner: User, project: int | str | None, role: Any
) -> tuple[int | None, str | None]:
    """(project id, role) of a scoped token: the role defaults to, and may not exceed, the role its
    owner holds in that project; no project, no scope (the token acts as its user)."""
    if project is None:
        if role is not None:
            raise InvalidInput("$.project: a token's role needs a project", path="$.project")
        return None, None
    try:
        project_id = get_project(session, project).id
    except NotFound as exc:
        raise InvalidInput(f"$.project: no project {project}", path="$.project") from exc
    held = principal_for(session, owner).role_in(project_id)
    if held is None:
        raise InvalidInput(f"$.project: {owner.email} has no role in project {project}", path="$.project")
    role = held if role is None else role
    if role not in PROJECT_ROLES:
        raise InvalidInput(f"$.role: must be one of {', '.join(PROJECT_ROLES)}", path="$.role")
    if rank(role) > rank(held):
        raise InvalidInput(f"$.role: {owner.email} is only {held} in project {project}", path="$.role")
    return project_id, role


def create_token(
    rt: Runtime,
    user: int | str,
    name: str,
    *,
    actor: str,
    project: int | str | None = None,
    role: Any = None,
) -> NewToken:
    """A new API token for the user (by id or email), optionally scoped to one project and a role."""
    with rt.db.transaction() as session:
        owner = _user(session, user)
        project_id, scoped_role = _token_scope(session, owner, project, role)
        token, raw = users.create_token(session, owner, name)
        token.project_id, token.role = project_id, scoped_role
        details: dict[str, Any] = {"user": owner.email, "name": name}
        if project_id is not None:
            details.update(project_id=project_id, role=scoped_role)
        audit(session, actor, "token.create", "token", str(token.id), details)
        return NewToken(token.id, raw, token.prefix, token.name)


def revoke_token(rt: Runtime, token_id: int, *, actor: str) -> None:
    with rt.db.transaction() as session:
        users.revoke_token(session, token_id)
        audit(session, actor, "token.revoke", "token", str(token_id))
