"""Installing a template: the person's values checked, put in place, and the recipe created as a
draft (disabled) in a project, through the same save, validation and audit as any new recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.audit import audit
from hub.connections import find_connection as connection_named
from hub.db.models import Connection
from hub.ids import MAX_ID
from hub.projects import live_project, reachable
from hub.sdk.errors import RecipeProblems
from hub.services import InvalidInput
from hub.services import recipes as recipe_service
from hub.templates import catalogue
from hub.templates.params import ConnectionCheck, Parameter, check_values, substitute

if TYPE_CHECKING:
    from hub.runtime import Runtime


def find_connection(session: Session, ref: Any) -> Connection | None:
    """The connection with id `ref` (a number, or digits), else the one named `ref`."""
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        return None
    if isinstance(ref, int) or ref.isdecimal():
        number = int(ref)
        if 1 <= number <= MAX_ID:
            return session.get(Connection, number)
        return None
    return connection_named(session, ref)


def connection_check(session: Session, project_id: int) -> ConnectionCheck:
    """A connection parameter's value: a connection id or name of the parameter's connector that
    recipes of `project_id` may use (their own or one shared with them). The recipe names it."""

    def check(parameter: Parameter, ref: Any, path: str) -> str:
        if isinstance(ref, bool) or not isinstance(ref, int | str):
            raise InvalidInput(f"{path}: must be a connection id or name", path=path)
        connection = find_connection(session, ref)
        if connection is None or not reachable(session, connection, project_id):
            # one answer for both, so names of other teams' connections do not leak
            raise InvalidInput(f"{path}: no connection {ref!r} in this project or shared with it", path=path)
        if connection.connector != parameter.connector:
            raise InvalidInput(
                f"{path}: connection '{connection.name}' is a {connection.connector} connection; "
                f"this parameter needs a {parameter.connector} connection",
                path=path,
            )
        return connection.name

    return check


def install(
    rt: Runtime,
    template_name: str,
    values: Any,
    *,
    project: int | str,
    actor: str,
    recipe_name: str | None = None,
) -> int:
    """Create a draft recipe from the template in `project` (id or name); answers its id.

    Raises NotFound for an unknown template or project, RecipeProblems listing every bad, missing or
    unknown parameter at `parameters.<name>`, and the recipe save's own RecipeProblems (paths in
    the recipe document) when the filled recipe is not valid."""
    template = catalogue.get(template_name)
    if recipe_name is not None and not isinstance(recipe_name, str):
        raise RecipeProblems([InvalidInput("name: must be a string", path="name")])
    with rt.db.read() as session:  # the save checks reachability again, in its own transaction
        project_id = live_project(session, project).id
        checked = check_values(template.parameters, values, connection_check(session, project_id))
    document = substitute(template.recipe, checked)
    if recipe_name is not None:
        document["name"] = recipe_name
    document["enabled"] = False
    saved = recipe_service.save_recipe(rt, document, actor=actor, project_id=project_id)
    with rt.db.transaction() as session:
        audit(session, actor, "template.install", "recipe", str(saved.id), {"template": template.name})
    return saved.id
