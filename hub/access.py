"""Who may do what where: per-project roles, hub admins, and tokens scoped to one project.

A project role is one of viewer < operator < editor < owner. Hub admins (the global `admin` role)
act as owners of every project. A token scoped to a project acts in that project only, with at most
its own role; an unscoped token acts as its user. A principal without any role in a project does
not see it at all: callers answer 404 there, never 403, so a project's contents do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models import ApiToken, ProjectMember, User

PROJECT_ROLES = ("viewer", "operator", "editor", "owner")
DEFAULT_PROJECT_ID = 1
DEFAULT_PROJECT = "default"
# A global role given to a new user becomes this membership of the default project (admins need none).
DEFAULT_MEMBERSHIP = {"editor": "editor", "viewer": "viewer"}


def rank(role: str | None) -> int:
    """Position of `role` in PROJECT_ROLES; -1 for none or an unknown role."""
    return PROJECT_ROLES.index(role) if role in PROJECT_ROLES else -1


def at_most(role: str | None, cap: str | None) -> str | None:
    """`role`, lowered to `cap` when a cap is given."""
    if role is None or cap is None:
        return role
    return role if rank(role) <= rank(cap) else cap


@dataclass(frozen=True)
class Principal:
    """A signed-in user or a token's owner, with their roles per project."""

    user_id: int
    email: str
    hub_admin: bool
    roles: dict[int, str] = field(default_factory=dict)
    token_project: int | None = None
    token_role: str | None = None

    @property
    def is_admin(self) -> bool:
        """Hub administration (users, tokens, projects): admins, and not through a project's token."""
        return self.hub_admin and self.token_project is None

    def role_in(self, project_id: int) -> str | None:
        """The role this principal acts with in `project_id`, or None when it may not see it."""
        if self.token_project is not None and project_id != self.token_project:
            return None
        role = "owner" if self.hub_admin else self.roles.get(project_id)
        return at_most(role, self.token_role)

    def allows(self, project_id: int, needed: str) -> bool:
        return rank(self.role_in(project_id)) >= rank(needed) >= 0

    def projects(self, needed: str = "viewer") -> set[int] | None:
        """Ids of the projects where this principal has at least `needed`; None means every project."""
        if self.hub_admin and self.token_project is None:
            return None if rank(at_most("owner", self.token_role)) >= rank(needed) else set()
        candidates = [self.token_project] if self.token_project is not None else list(self.roles)
        return {p for p in candidates if self.allows(p, needed)}

    def anywhere(self, needed: str) -> bool:
        """Whether this principal has `needed` in at least one project."""
        found = self.projects(needed)
        return found is None or bool(found)


def memberships(session: Session, user_id: int) -> dict[int, str]:
    rows = session.execute(
        select(ProjectMember.project_id, ProjectMember.role).where(ProjectMember.user_id == user_id)
    )
    return {project_id: role for project_id, role in rows}


def principal_for(session: Session, user: User, token: ApiToken | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        email=user.email,
        hub_admin=user.role == "admin",
        roles=memberships(session, user.id),
        token_project=token.project_id if token is not None else None,
        token_role=token.role if token is not None else None,
    )


def join_default_project(session: Session, user: User) -> None:
    """Give a user with a global editor or viewer role the same role in the default project (how
    the three global roles of earlier versions carry over); admins need no membership."""
    role = DEFAULT_MEMBERSHIP.get(user.role)
    member = session.get(ProjectMember, (DEFAULT_PROJECT_ID, user.id))
    if role is None:
        return
    if member is None:
        session.add(ProjectMember(project_id=DEFAULT_PROJECT_ID, user_id=user.id, role=role))
    else:
        member.role = role
    session.flush()
