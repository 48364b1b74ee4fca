"""Project operations for the API, the web UI and the CLI: create, rename, archive, members, moving
a recipe, lending a connection. Each writes its audit entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import projects
from hub.audit import audit
from hub.connections import NotFound
from hub.db.models import AuditEntry, Connection, Project, User
from hub.recipe_index import current_document, mark_changed
from hub.recipe_store import get_recipe
from hub.runtime import Runtime


def _user(session: Any, ref: int | str) -> User:
    user = (
        session.get(User, ref)
        if isinstance(ref, int)
        else session.scalar(select(User).where(User.email == str(ref).strip().lower()))
    )
    if user is None:
        raise NotFound(f"user {ref} not found")
    return user


def list_projects(rt: Runtime, visible: set[int] | None, *, archived: bool = False) -> list[dict[str, Any]]:
    """The projects in `visible` (None: all), archived ones only when asked."""
    with rt.db.transaction() as session:
        query = select(Project).order_by(Project.id)
        if visible is not None:
            query = query.where(Project.id.in_(sorted(visible)))
        if not archived:
            query = query.where(Project.archived_at.is_(None))
        return [projects.project_view(session, p) for p in session.scalars(query)]


def get_project(rt: Runtime, ref: int | str) -> dict[str, Any]:
    with rt.db.transaction() as session:
        return projects.project_view(session, projects.get_project(session, ref))


def create_project(rt: Runtime, name: Any, *, actor: str) -> dict[str, Any]:
    with rt.db.transaction() as session:
        project = projects.create_project(session, name)
        audit(session, actor, "project.create", "project", str(project.id), {"name": project.name})
        return projects.project_view(session, project)


def rename_project(rt: Runtime, ref: int | str, name: Any, *, actor: str) -> dict[str, Any]:
    with rt.db.transaction() as session:
        project = projects.get_project(session, ref)
        old = project.name
        projects.rename_project(session, project, name)
        audit(session, actor, "project.rename", "project", str(project.id), {"from": old, "to": project.name})
        return projects.project_view(session, project)


def archive_project(rt: Runtime, ref: int | str, *, actor: str) -> dict[str, Any]:
    with rt.db.transaction() as session:
        project = projects.get_project(session, ref)
        projects.archive_project(session, project)
        audit(session, actor, "project.archive", "project", str(project.id), {"name": project.name})
        return projects.project_view(session, project)


def list_members(rt: Runtime, ref: int | str) -> list[dict[str, Any]]:
    with rt.db.transaction() as session:
        return projects.members(session, projects.get_project(session, ref))


def set_member(rt: Runtime, ref: int | str, user: int | str, role: Any, *, actor: str) -> dict[str, Any]:
    """Give `user` (id or email) `role` in the project, adding them when they are not a member."""
    with rt.db.transaction() as session:
        project = projects.get_project(session, ref)
        member = _user(session, user)
        projects.set_member(session, project, member, role)
        details = {"user": member.email, "role": role}
        audit(session, actor, "project.member.set", "project", str(project.id), details)
        return {"user_id": member.id, "email": member.email, "role": role}


def remove_member(rt: Runtime, ref: int | str, user: int | str, *, actor: str) -> None:
    with rt.db.transaction() as session:
        project = projects.get_project(session, ref)
        member = _user(session, user)
        projects.remove_member(session, project, member)
        audit(session, actor, "project.member.remove", "project", str(project.id), {"user": member.email})


def move_recipe(rt: Runtime, recipe_id: int, target: int | str, *, actor: str) -> dict[str, Any]:
    """Move a recipe (and so its runs and recipe-scoped storage) to another project; refused while
    it uses connections the target cannot reach."""
    with rt.db.transaction() as session:
        recipe = get_recipe(session, recipe_id)
        project = projects.live_project(session, target)
        source = recipe.project_id
        projects.move_recipe(session, recipe, current_document(session, recipe), project)
        mark_changed(session)
        details = {"from": source, "to": project.id}
        audit(session, actor, "recipe.move", "recipe", str(recipe_id), details)
        return {"id": recipe.id, "name": recipe.name, "project_id": project.id}


def _connection(session: Any, connection_id: int) -> Connection:
    connection = session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection


def share_connection(rt: Runtime, connection_id: int, target: int | str, *, actor: str) -> list[str]:
    """Let recipes of `target` use the connection; answers the projects it is now shared with."""
    with rt.db.transaction() as session:
        connection = _connection(session, connection_id)
        project = projects.live_project(session, target)
        projects.share_connection(session, connection, project)
        details = {"project": project.name}
        audit(session, actor, "connection.share", "connection", str(connection_id), details)
        return projects.shared_with(session, connection)


def unshare_connection(rt: Runtime, connection_id: int, target: int | str, *, actor: str) -> list[str]:
    with rt.db.transaction() as session:
        connection = _connection(session, connection_id)
        project = projects.get_project(session, target)
        projects.unshare_connection(session, connection, project)
        details = {"project": project.name}
        audit(session, actor, "connection.unshare", "connection", str(connection_id), details)
        return projects.shared_with(session, connection)


def audit_entries(rt: Runtime, project_id: int | None, *, limit: int) -> list[dict[str, Any]]:
    """The newest audit entries, of one project when `project_id` is given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(AuditEntry.project_id == project_id)
    with rt.db.transaction() as session:
        return [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "target": f"{e.target_type} {e.target_id or ''}".strip(),
                "project_id": e.project_id,
            }
            for e in session.scalars(query)
        ]
