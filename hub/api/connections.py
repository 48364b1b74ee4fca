"""Connections: named credentials; secret fields are write-only."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, reply
from hub.api.guard import target_project, visible_connections
from hub.connections import NotFound, public_view
from hub.current import runtime
from hub.db.models import Connection
from hub.services import connections as service
from hub.services.connections import ConnectorMissing, parse_limits


def _get(session: Any, connection_id: int) -> Connection:
    connection = session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection


@api_blueprint.post("/connections")
@requires("editor")
def connection_create() -> Response:
    data = body_object()
    for field in ("name", "connector"):
        if not isinstance(data.get(field), str):
            raise ApiError(422, "invalid", f"$.{field}: required string", {"path": f"$.{field}"})
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ApiError(422, "invalid", "$.config: must be an object", {"path": "$.config"})
    with runtime().db.transaction() as session:
        project_id = target_project(session, g.access, data.get("project"), "editor")
    view = service.create_connection(
        runtime(),
        project_id=project_id,
        actor=g.actor,
        name=data["name"],
        connector_id=data["connector"],
        config=config,
        limits=parse_limits(data),
    )
    return reply(view, 201)


@api_blueprint.get("/connections")
@requires("viewer")
def connection_list_all() -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        rows = session.scalars(visible_connections(select(Connection).order_by(Connection.id)))
        return reply({"connections": [public_view(c, rt.registry, rt.vault) for c in rows]})


@api_blueprint.get("/connections/<int:connection_id>")
@requires("viewer")
def connection_get_one(connection_id: int) -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        return reply(public_view(_get(session, connection_id), rt.registry, rt.vault))


@api_blueprint.put("/connections/<int:connection_id>")
@requires("editor")
def connection_update(connection_id: int) -> Response:
    data = body_object()
    config = data.get("config")
    if config is not None and not isinstance(config, dict):
        raise ApiError(422, "invalid", "$.config: must be an object", {"path": "$.config"})
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ApiError(422, "invalid", "$.name: must be a non-empty string", {"path": "$.name"})
    limits = parse_limits(data)
    view = service.update_connection(
        runtime(), connection_id, actor=g.actor, name=name, config=config, limits=limits
    )
    return reply(view)


@api_blueprint.delete("/connections/<int:connection_id>")
@requires("editor")
def connection_delete(connection_id: int) -> Response:
    service.delete_connection(runtime(), connection_id, actor=g.actor)
    return Response(status=204)


@api_blueprint.post("/connections/<int:connection_id>/test")
@requires("editor")
def connection_test(connection_id: int) -> Response:
    """Ask the connector to check the stored credentials; failures answer ok=false, secrets redacted."""
    try:
        ok, message = service.check(runtime(), connection_id)
    except ConnectorMissing as exc:
        return reply({"ok": False, "message": exc.message})
    return reply({"ok": ok, "message": message or "the connection works"})


@api_blueprint.post("/connections/<int:connection_id>/oauth/authorize")
@requires("editor")
def connection_oauth_authorize(connection_id: int) -> Response:
    """Start the OAuth2 consent: answers the URL to open in a browser."""
    from hub.oauth_flow import start

    data = body_object()
    redirect_uri = data.get("redirect_uri")
    if redirect_uri is not None and not isinstance(redirect_uri, str):
        raise ApiError(422, "invalid", "$.redirect_uri: must be a string", {"path": "$.redirect_uri"})
    with runtime().db.transaction() as session:
        connection = _get(session, connection_id)
    return reply(start(connection, redirect_uri, g.actor))
