"""Projects: list (what the caller may see), create (hub admins), rename and archive, members and
their roles (owners), moving a recipe, lending a connection to another project."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, reply
from hub.api.guard import target_project
from hub.current import runtime
from hub.services import projects as service


def _ref(data: dict[str, Any], field: str) -> int | str:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ApiError(422, "invalid", f"$.{field}: required id or name", {"path": f"$.{field}"})
    return value


@api_blueprint.get("/projects")
@requires("viewer")
def project_list_all() -> Response:
    archived = request.args.get("archived") in ("1", "true")
    return reply({"projects": service.list_projects(runtime(), g.access.projects(), archived=archived)})


@api_blueprint.post("/projects")
@requires("admin")
def project_create() -> Response:
    return reply(service.create_project(runtime(), body_object().get("name"), actor=g.actor), 201)


@api_blueprint.get("/projects/<int:project_id>")
@requires("viewer")
def project_get_one(project_id: int) -> Response:
    answer = service.get_project(runtime(), project_id)
    return reply({**answer, "role": g.access.role_in(project_id)})


@api_blueprint.put("/projects/<int:project_id>")
@requires("owner")
def project_rename(project_id: int) -> Response:
    return reply(service.rename_project(runtime(), project_id, body_object().get("name"), actor=g.actor))


@api_blueprint.post("/projects/<int:project_id>/archive")
@requires("owner")
def project_archive(project_id: int) -> Response:
    """Archive a project whose recipes are all disabled (409 naming the enabled ones otherwise)."""
    return reply(service.archive_project(runtime(), project_id, actor=g.actor))


@api_blueprint.get("/projects/<int:project_id>/members")
@requires("viewer")
def project_members(project_id: int) -> Response:
    return reply({"members": service.list_members(runtime(), project_id)})


@api_blueprint.put("/projects/<int:project_id>/members/<int:user_id>")
@requires("owner")
def project_member_set(project_id: int, user_id: int) -> Response:
    """Give a user a role here: {"role": "owner" | "editor" | "operator" | "viewer"}."""
    role = body_object().get("role")
    return reply(service.set_member(runtime(), project_id, user_id, role, actor=g.actor))


@api_blueprint.delete("/projects/<int:project_id>/members/<int:user_id>")
@requires("owner")
def project_member_remove(project_id: int, user_id: int) -> Response:
    service.remove_member(runtime(), project_id, user_id, actor=g.actor)
    return Response(status=204)


@api_blueprint.post("/recipes/<int:recipe_id>/move")
@requires("editor")
def recipe_move(recipe_id: int) -> Response:
    """Move the recipe to {"project": id or name}; the caller must be an editor there too, and every
    connection the recipe uses must be reachable from it (409 naming them otherwise)."""
    rt = runtime()
    with rt.db.transaction() as session:
        project_id = target_project(session, g.access, _ref(body_object(), "project"), "editor")
    return reply(service.move_recipe(rt, recipe_id, project_id, actor=g.actor))


@api_blueprint.put("/connections/<int:connection_id>/shares/<project>")
@requires("owner")
def connection_share(connection_id: int, project: str) -> Response:
    """Let recipes of `project` (id or name) use this connection; its secrets stay unreadable there."""
    return reply({"shared_with": service.share_connection(runtime(), connection_id, project, actor=g.actor)})


@api_blueprint.delete("/connections/<int:connection_id>/shares/<project>")
@requires("owner")
def connection_unshare(connection_id: int, project: str) -> Response:
    shared = service.unshare_connection(runtime(), connection_id, project, actor=g.actor)
    return reply({"shared_with": shared})
