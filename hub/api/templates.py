"""Recipe templates: the catalogue, installing one as a draft recipe, and any recipe as a template."""

from __future__ import annotations

import logging

from flask import Response, g, request

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, reply
from hub.api.errors import error_body
from hub.api.guard import target_project
from hub.current import runtime
from hub.presentation import recipe_detail
from hub.recipe_store import get_recipe
from hub.sdk.errors import RecipeProblems
from hub.services import InvalidInput
from hub.templates import catalogue
from hub.templates.export import DEFAULT_CATEGORY, export_recipe
from hub.templates.install import install

log = logging.getLogger("hub.api")

INSTALL_FIELDS = ("values", "project", "name")


@api_blueprint.errorhandler(catalogue.TemplateError)
def broken_catalogue(exc: catalogue.TemplateError) -> Response:
    """A template file on this hub breaks the format: the hub's fault, named for its operator."""
    log.error("event=template_catalogue_invalid problems=%s", exc.problems)
    return error_body(500, exc.code, exc.message, exc.problems)


@api_blueprint.get("/templates")
@requires("viewer")
def template_list_all() -> Response:
    """The catalogue without the recipes; `category`, `system` (a connector) and `q` (text in the
    name, titles or descriptions) narrow it."""
    category = request.args.get("category") or None
    if category is not None and category not in catalogue.CATEGORIES:
        raise ApiError(
            400, "bad_request", f"query parameter 'category' must be one of {', '.join(catalogue.CATEGORIES)}"
        )
    found = catalogue.find(
        category=category,
        system=request.args.get("system") or None,
        q=request.args.get("q") or None,
    )
    return reply({"templates": [template.summary() for template in found]})


@api_blueprint.get("/templates/<template_name>")
@requires("viewer")
def template_get_one(template_name: str) -> Response:
    return reply(catalogue.get(template_name).document)


@api_blueprint.post("/templates/<template_name>/install")
@requires("editor")
def template_install(template_name: str) -> Response:
    """Create a draft recipe from the template in `project` (default: the token's project, else
    `default`), where the caller must be an editor."""
    catalogue.get(template_name)  # an unknown template is a 404 before anything else
    data = body_object()
    unknown = sorted(set(data) - set(INSTALL_FIELDS))
    if unknown:
        fields = ", ".join(INSTALL_FIELDS)
        raise RecipeProblems(
            [InvalidInput(f"$.{key}: unknown field (fields: {fields})", path=f"$.{key}") for key in unknown]
        )
    rt = runtime()
    with rt.db.read() as session:
        project_id = target_project(session, g.access, data.get("project"), "editor")
    recipe_id = install(
        rt,
        template_name,
        data.get("values", {}),
        project=project_id,
        actor=g.actor,
        recipe_name=data.get("name"),
    )
    with rt.db.transaction() as session:
        return reply(recipe_detail(session, rt, get_recipe(session, recipe_id)), 201)


@api_blueprint.get("/recipes/<int:recipe_id>/template")
@requires("viewer")
def recipe_template(recipe_id: int) -> Response:
    """The recipe's current version as a template: connections and secrets become parameters."""
    name, category = request.args.get("name") or None, request.args.get("category") or DEFAULT_CATEGORY
    try:
        return reply(export_recipe(runtime(), recipe_id, name=name, category=category))
    except InvalidInput as exc:
        raise ApiError(400, "bad_request", f"query parameter {exc.message}") from exc
