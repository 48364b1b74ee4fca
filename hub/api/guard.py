"""The API's side of project scoping: the role check of a route (hub.project_scope) as API errors,
the project a new object goes to, and lists narrowed to the projects the caller can see."""

from __future__ import annotations

from typing import Any

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import DEFAULT_PROJECT_ID, Principal, rank
from hub.api.common import ApiError
from hub.connections import NotFound
from hub.current import runtime
from hub.db.models import Connection, ConnectionShare, Project
from hub.project_scope import Forbidden, check_objects, forbidden
from hub.projects import get_project, live_project
from hub.sdk.errors import HubError


def check_route(session: Session, access: Principal, needed: str, view_args: dict[str, Any]) -> None:
    """hub.project_scope.check_objects, answering 404 / 403."""
    try:
        check_objects(session, access, needed, view_args)
    except NotFound as exc:
        raise ApiError(404, "not_found", exc.message) from exc
    except Forbidden as exc:
        raise ApiError(403, "forbidden", exc.message) from exc


def target_project(session: Session, access: Principal, ref: Any, needed: str) -> int:
    """The project a new object goes to: `ref` (id or name) when given, else the token's project,
    else the default one; 404 when the caller cannot see it, 403 below `needed`, 409 if archived."""
    if ref is None:
        ref = request.args.get("project")
    if ref is None:
        ref = access.token_project or DEFAULT_PROJECT_ID
    if not isinstance(ref, int | str) or isinstance(ref, bool):
        raise ApiError(422, "invalid", "$.project: must be a project id or name", {"path": "$.project"})
    try:
        project = get_project(session, ref)
    except NotFound as exc:
        raise ApiError(404, "not_found", f"project {ref} not found") from exc
    if not access.allows(project.id, "viewer"):
        raise ApiError(404, "not_found", f"project {ref} not found")
    if rank(access.role_in(project.id)) < rank(needed):
        raise ApiError(403, "forbidden", forbidden(needed, access.role_in(project.id)).message)
    return live_project(session, project.id).id


def in_projects(query: Any, column: Any) -> Any:
    """`query` narrowed to the projects the caller can see (and to `?project=` when given)."""
    visible = g.access.projects("viewer")
    wanted = request.args.get("project")
    if wanted is not None:
        with runtime().db.read() as session:
            try:
                project_id = get_project(session, wanted).id
            except HubError as exc:
                raise ApiError(404, "not_found", f"project {wanted} not found") from exc
        if visible is not None and project_id not in visible:
            raise ApiError(404, "not_found", f"project {wanted} not found")
        return query.where(column == project_id)
    return query if visible is None else query.where(column.in_(sorted(visible)))


def visible_connections(query: Any) -> Any:
    """`query` over connections narrowed to those of visible projects and those shared with them."""
    narrowed = in_projects(select(Project.id), Project.id)
    lent = select(ConnectionShare.connection_id).where(ConnectionShare.project_id.in_(narrowed))
    return query.where(Connection.project_id.in_(narrowed) | Connection.id.in_(lent))
