"""Which project a request touches, found from the route's URL arguments, and the role check there;
used by the API (hub.api.guard) and the web UI (hub.web.auth) alike.

Each URL argument that names an object (`recipe_id`, `run_id`, ...) has a resolver giving the
object's project(s): the first is the owning project, the rest may only read it (a connection
shared with them). A missing object and an object of a project the caller cannot see raise the same
NotFound, so ids do not reveal what other teams keep. Another module adds a resolver for its own
argument with `PROJECT_OF["table_id"] = ("table", resolver)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import DEFAULT_PROJECT_ID, Principal
from hub.connections import NotFound
from hub.db.models import Connection, ConnectionShare, LookupTable, Project, Recipe, Run
from hub.sdk.errors import HubError

MAX_ID_DIGITS = 18  # as hub.utilities.values.STORAGE_SCOPE_PATTERN allows


class Forbidden(HubError):
    """The caller sees the object but its role there is too low."""

    code = "forbidden"


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


def _table(session: Session, name: str) -> list[int]:
    found = session.scalar(select(LookupTable.project_id).where(LookupTable.name == name))
    return [found] if found is not None else []


PROJECT_OF: dict[str, tuple[str, Resolver]] = {
    "recipe_id": ("recipe", _recipe),
    "run_id": ("run", _run),
    "connection_id": ("connection", _connection),
    "project_id": ("project", _project),
    "scope": ("scope", _storage_scope),
    "table_name": ("table", _table),
}


def check_objects(session: Session, access: Principal, needed: str, view_args: dict[str, Any]) -> int | None:
    """Let the request through when `access` holds `needed` where its URL arguments point; 404 when
    the object is missing or out of sight, 403 when seen with too low a role. Answers the project
    owning the last object named (None when the route names none).

    A caller without `needed` in any project is refused (403) before any object is looked at, so
    that answer says nothing about whether the object exists either."""
    if not access.anywhere(needed):
        raise forbidden(needed, None)
    owner = None
    for argument, (label, resolve) in PROJECT_OF.items():
        if argument not in view_args:
            continue
        value = view_args[argument]
        projects = resolve(session, value)
        hidden = NotFound(f"{label} {value} not found")
        if not projects:
            raise hidden
        owner, readers = projects[0], projects[1:]
        if access.allows(owner, needed):
            continue
        if needed == "viewer" and any(access.allows(p, "viewer") for p in readers):
            continue
        if not any(access.allows(p, "viewer") for p in projects):
            raise hidden
        raise forbidden(needed, access.role_in(owner))
    return owner


def forbidden(needed: str, role: str | None) -> Forbidden:
    return Forbidden(f"this needs the {needed} role in the project; you are {role or 'none'}")
