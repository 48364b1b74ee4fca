"""Projects: a team's recipes and connections, kept apart from other teams'.

A recipe may use the connections of its own project and those another project shared with it by
name (hub.db.models.ConnectionShare). The check runs when a recipe is saved or moved and again when
a step opens its connection, so a document stored by other means cannot borrow a foreign credential.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from hub.access import DEFAULT_PROJECT_ID, PROJECT_ROLES
from hub.connections import Conflict, NotFound, find_connection
from hub.db.models import Connection, ConnectionShare, Project, ProjectMember, Recipe, User, utcnow
from hub.ids import MAX_ID
from hub.recipe_calls import find_recipe, literal_calls
from hub.recipe_tree import iter_steps
from hub.sdk.errors import RecipeError
from hub.services import InvalidInput

NAME_MAX = 100
NAME_PATTERN = r"^(?!\d+$)\w[\w .-]*$"  # not only digits, which would read as an id
_NAME = re.compile(NAME_PATTERN)


def check_name(name: Any) -> str:
    """A project name: letters (any script), digits, space, '.', '_' or '-', not only digits."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("$.name: required string", path="$.name")
    name = name.strip()
    if len(name) > NAME_MAX or not _NAME.match(name):
        raise InvalidInput(
            f"$.name: up to {NAME_MAX} letters, digits, spaces, '.', '_' or '-', not only digits",
            path="$.name",
        )
    return name


def get_project(session: Session, ref: int | str) -> Project:
    """The project with id `ref`, or named `ref` ("3" and 3 are ids)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdecimal()):
        number = int(ref)
        project = session.get(Project, number) if 1 <= number <= MAX_ID else None
    else:
        project = session.scalar(select(Project).where(Project.name == str(ref).strip()))
    if project is None:
        raise NotFound(f"project {ref} not found")
    return project


def live_project(session: Session, ref: int | str) -> Project:
    """The project, refusing an archived one: nothing new is put into or changed there."""
    project = get_project(session, ref)
    if project.archived_at is not None:
        raise Conflict(f"project '{project.name}' is archived")
    return project


def create_project(session: Session, name: Any) -> Project:
    name = check_name(name)
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"a project named '{name}' already exists")
    project = Project(name=name)
    session.add(project)
    session.flush()
    return project


def rename_project(session: Session, project: Project, name: Any) -> None:
    name = check_name(name)
    taken = session.scalar(select(Project.id).where(Project.name == name, Project.id != project.id))
    if taken is not None:
        raise Conflict(f"a project named '{name}' already exists")
    project.name = name


def archive_project(session: Session, project: Project) -> None:
    """Archive a project whose recipes are all disabled; the default project stays."""
    if project.id == DEFAULT_PROJECT_ID:
        raise Conflict("the default project cannot be archived")
    enabled = list(
        session.scalars(
            select(Recipe.id).where(
                Recipe.project_id == project.id, Recipe.enabled.is_(True), Recipe.deleted_at.is_(None)
            )
        )
    )
    if enabled:
        raise Conflict(f"project '{project.name}' has enabled recipe(s) {enabled}; disable them first")
    project.archived_at = project.archived_at or utcnow()


def set_member(session: Session, project: Project, user: User, role: Any) -> ProjectMember:
    if role not in PROJECT_ROLES:
        raise InvalidInput(f"$.role: must be one of {', '.join(PROJECT_ROLES)}", path="$.role")
    member = session.get(ProjectMember, (project.id, user.id))
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
        session.add(member)
    else:
        member.role = role
    session.flush()
    return member


def remove_member(session: Session, project: Project, user: User) -> None:
    member = session.get(ProjectMember, (project.id, user.id))
    if member is None:
        raise NotFound(f"{user.email} is not a member of project '{project.name}'")
    session.delete(member)


def members(session: Session, project: Project) -> list[dict[str, Any]]:
    rows = session.execute(
        select(User.id, User.email, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(User.email)
    )
    return [{"user_id": user_id, "email": email, "role": role} for user_id, email, role in rows]


def project_view(session: Session, project: Project) -> dict[str, Any]:
    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "id": project.id,
        "name": project.name,
        "archived": project.archived_at is not None,
        "archived_at": project.archived_at.isoformat() if project.archived_at else None,
        "created_at": project.created_at.isoformat(),
        "recipes": count(Recipe, Recipe.project_id == project.id, Recipe.deleted_at.is_(None)),
        "connections": count(Connection, Connection.project_id == project.id),
    }


def shared_with(session: Session, connection: Connection) -> list[str]:
    """Names of the projects the connection is lent to."""
    query = (
        select(Project.name)
        .join(ConnectionShare, ConnectionShare.project_id == Project.id)
        .where(ConnectionShare.connection_id == connection.id)
        .order_by(Project.name)
    )
    return list(session.scalars(query))


def share_connection(session: Session, connection: Connection, project: Project) -> None:
    if project.id == connection.project_id:
        raise Conflict(f"connection '{connection.name}' already belongs to project '{project.name}'")
    if session.get(ConnectionShare, (connection.id, project.id)) is None:
        session.add(ConnectionShare(connection_id=connection.id, project_id=project.id))
        session.flush()


def unshare_connection(session: Session, connection: Connection, project: Project) -> None:
    share = session.get(ConnectionShare, (connection.id, project.id))
    if share is None:
        raise NotFound(f"connection '{connection.name}' is not shared with project '{project.name}'")
    session.delete(share)


def reachable(session: Session, connection: Connection, project_id: int) -> bool:
    """Whether recipes of `project_id` may use `connection`: their own, or shared with them."""
    if connection.project_id == project_id:
        return True
    shared = exists().where(
        ConnectionShare.connection_id == connection.id, ConnectionShare.project_id == project_id
    )
    return bool(session.scalar(select(shared)))


def ensure_reachable(
    session: Session, recipe_id: int, name: str, path: str, connection: Connection | None = None
) -> None:
    """Refuse (RecipeError at `path`) a run of the recipe opening connection `name` of a project its
    own does not reach: checked again when a step or a poll opens it, whatever the document says.
    `connection`: the row already read in `session`, if the caller has it."""
    if connection is None:
        connection = find_connection(session, name)
    project_id = session.scalar(select(Recipe.project_id).where(Recipe.id == recipe_id))
    if connection is None or project_id is None or reachable(session, connection, project_id):
        return
    message = f"connection '{name}' belongs to another project and is not shared with this recipe's project"
    raise RecipeError(f"{path}: {message}", path=path)


def connection_uses(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON path, connection name) of the trigger and every step that names a connection."""
    uses = []
    trigger = document.get("trigger") or {}
    if isinstance(trigger, dict) and isinstance(trigger.get("connection"), str):
        uses.append(("$.trigger.connection", trigger["connection"]))
    for _phase, path, step in iter_steps(document):
        if isinstance(step.get("connection"), str):
            uses.append((f"{path}.connection", step["connection"]))
    return uses


def foreign_uses(session: Session, document: dict[str, Any], project_id: int) -> list[tuple[str, str]]:
    """The (path, name) uses of connections that exist but are not reachable from `project_id`."""
    foreign = []
    for path, name in connection_uses(document):
        connection = find_connection(session, name)
        if connection is not None and not reachable(session, connection, project_id):
            foreign.append((path, name))
    return foreign


def check_reachable(session: Session, document: dict[str, Any], project_id: int) -> None:
    """Refuse a recipe naming a connection of another project (RecipeError, 422, with its path)."""
    foreign = foreign_uses(session, document, project_id)
    if foreign:
        path, name = foreign[0]
        raise RecipeError(
            f"{path}: connection '{name}' belongs to another project and is not shared with this one",
            path=path,
        )
    for path, ref in literal_calls(document):  # a callee runs with its own project's connections
        callee = find_recipe(session, ref)
        if callee is not None and callee.project_id != project_id:
            raise RecipeError(f"{path}: recipe '{ref}' belongs to another project", path=path)


def move_recipe(session: Session, recipe: Recipe, document: dict[str, Any], target: Project) -> None:
    """Put the recipe in `target`; refused (409, naming them) while it uses connections the target
    cannot reach."""
    foreign = foreign_uses(session, document, target.id)
    if foreign:
        names = sorted({name for _path, name in foreign})
        raise Conflict(
            f"project '{target.name}' cannot use connection(s) {', '.join(names)}; share them first"
        )
    recipe.project_id = target.id


def reachable_connections(query: Any, project_id: int | None) -> Any:
    """`query` over connections narrowed to those recipes of `project_id` may use."""
    lent = select(ConnectionShare.connection_id).where(ConnectionShare.project_id == project_id)
    return query.where((Connection.project_id == project_id) | Connection.id.in_(lent))
