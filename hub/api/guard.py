"""Which project a request touches, found from the route's URL arguments, and the role check there.

Each URL argument that names an object (`recipe_id`, `run_id`, ...) has a resolver giving the
object's project(s): the first is the owning project, the rest may only read it (a connection
shared with them). A missing object and an object of a project the caller cannot see answer the
same 404, so ids do not reveal what other teams keep. Another module adds a resolver for its own
argument with `PROJECT_OF["table_id"] = ...`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import DEFAULT_PROJECT_ID, Principal, rank
from hub.api.common import ApiError
from hub.current import runtime
from hub.db.models import Connection, ConnectionShare, Project, Recipe, Run
from hub.sdk.errors import HubError

MAX_ID_DIGITS = 18  # as values.STORAGE_SCOPE_PATTERN allows

Resolver = Callable[[Session, Any], list[int]]


def _recipe(session: Session, recipe_id: int) -> list[int]:
    found = session.scalar(
        select(Recipe.project_id).where(Recipe.id == recipe_id, Recipe.deleted_at.is_(None))
    )
    return [found] if found is not None else []


def _run(session: Session, run_id: int) -> list[int]:
    query = select(Recipe.project_id).join(Run, Run.recipe_id == Recipe.id).where(Run.id == run_id)
    found = session.scalar(query)
    return [found] if found is not None else []


def _connection(session: Session, connection_id: int) -> list[int]:
    owner = session.scalar(select(Connection.project_id).where(Connection.id == connection_id))
    if owner is None:
        return []
    shares = session.scalars(
        select(ConnectionShare.project_id).where(ConnectionShare.connection_id == connection_id)
    )
    return [owner, *shares]


def _project(session: Session, project_id: int) -> list[int]:
    return [project_id] if session.get(Project, project_id) is not None else []


def _storage_scope(session: Session, scope: str) -> list[int]:
    """`recipe:<id>` keys follow their recipe; the hub-wide `global` scope belongs to the default
    project (as do keys of recipes deleted since)."""
    kind, _, number = scope.partition(":")
    if kind != "recipe" or not number.isdigit() or len(number) > MAX_ID_DIGITS:
        return [DEFAULT_PROJECT_ID]  # `global`, or a malformed scope the view refuses with its own error
    found = session.scalar(select(Recipe.project_id).where(Recipe.id == int(number)))
    return [found if found is not None else DEFAULT_PROJECT_ID]


PROJECT_OF: dict[str, tuple[str, Resolver]] = {
    "recipe_id": ("recipe", _recipe),
    "run_id": ("run", _run),
    "connection_id": ("connection", _connection),
    "project_id": ("project", _project),
    "scope": ("scope", _storage_scope),
}


def check_route(session: Session, access: Principal, needed: str, view_args: dict[str, Any]) -> None:
    """Let the request through when `access` holds `needed` where its URL arguments point; 404 when
    the object is missing or out of sight, 403 when seen with too low a role."""
    for argument, (label, resolve) in PROJECT_OF.items():
        if argument not in view_args:
            continue
        value = view_args[argument]
        projects = resolve(session, value)
        hidden = ApiError(404, "not_found", f"{label} {value} not found")
        if not projects:
            raise hidden
        owner, readers = projects[0], projects[1:]
        if access.allows(owner, needed):
            continue
        if needed == "viewer" and any(access.allows(p, "viewer") for p in readers):
            continue
        if not any(access.allows(p, "viewer") for p in projects):
            raise hidden
        raise _forbidden(needed, access.role_in(owner))
    if not any(argument in view_args for argument in PROJECT_OF) and not access.anywhere(needed):
        raise _forbidden(needed, None)


def _forbidden(needed: str, role: str | None) -> ApiError:
    return ApiError(
        403, "forbidden", f"this needs the {needed} role in the project; you are {role or 'none'}"
    )


def target_project(session: Session, access: Principal, ref: Any, needed: str) -> int:
    """The project a new object goes to: `ref` (id or name) when given, else the token's project,
    else the default one; 404 when the caller cannot see it, 403 below `needed`, 409 if archived."""
    from hub.connections import NotFound
    from hub.projects import get_project, live_project

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
        raise _forbidden(needed, access.role_in(project.id))
    return live_project(session, project.id).id


def in_projects(query: Any, column: Any) -> Any:
    """`query` narrowed to the projects the caller can see (and to `?project=` when given)."""
    from hub.projects import get_project

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
