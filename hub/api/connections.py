"""Connections: named credentials; secret fields are write-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, g
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, reply
from hub.app import runtime
from hub.audit import audit
from hub.connections import (
    Conflict,
    NotFound,
    create_connection,
    public_view,
    update_connection,
)
from hub.db.models import Connection, Recipe
from hub.engine.poller import check_connection
from hub.recipe_index import current_versions
from hub.recipes import iter_steps


def _get(session: Any, connection_id: int) -> Connection:
    connection = session.get(Connection, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection


MAX_CONCURRENCY = 10_000  # parallel calls per connection; beyond it a limit means nothing
MAX_RATE = 1_000_000.0  # calls per second


def parse_limits(data: dict[str, Any]) -> dict[str, Any]:
    """concurrency_limit (a whole number) and rate_limit (per second); 0 clears, null or absent keeps."""
    limits: dict[str, Any] = {}
    for name, whole, largest in (
        ("concurrency_limit", True, MAX_CONCURRENCY),
        ("rate_limit", False, MAX_RATE),
    ):
        value = data.get(name)
        if value is None:
            continue
        number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if not number or not 0 <= value <= largest or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            raise ApiError(
                422, "invalid", f"$.{name}: must be {kind} from 0 to {largest}", {"path": f"$.{name}"}
            )
        limits[name] = int(value) if whole else float(value)
    return limits


@api_blueprint.post("/connections")
@requires("editor")
def connection_create() -> Response:
    rt = runtime()
    data = body_object()
    for field in ("name", "connector"):
        if not isinstance(data.get(field), str):
            raise ApiError(422, "invalid", f"$.{field}: required string", {"path": f"$.{field}"})
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ApiError(422, "invalid", "$.config: must be an object", {"path": "$.config"})
    with rt.db.transaction() as session:
        connection = create_connection(
            session,
            rt.registry,
            rt.vault,
            name=data["name"],
            connector_id=data["connector"],
            config=config,
            **parse_limits(data),
        )
        audit(
            session,
            g.actor,
            "connection.create",
            "connection",
            str(connection.id),
            {"name": connection.name, "connector": connection.connector},
        )
        view = public_view(connection, rt.registry, rt.vault)
    return reply(view, 201)


@api_blueprint.get("/connections")
@requires("viewer")
def connection_list_all() -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        rows = session.scalars(select(Connection).order_by(Connection.id))
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
    rt = runtime()
    data = body_object()
    config = data.get("config")
    if config is not None and not isinstance(config, dict):
        raise ApiError(422, "invalid", "$.config: must be an object", {"path": "$.config"})
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ApiError(422, "invalid", "$.name: must be a non-empty string", {"path": "$.name"})
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        if (
            name is not None
            and name != connection.name
            and (users := enabled_recipes_using(session, connection.name))
        ):
            raise Conflict(
                f"connection '{connection.name}' is used by enabled recipe(s) {users} by name; "
                "disable them before renaming it"
            )
        update_connection(
            session, rt.registry, rt.vault, connection, name=name, config=config, **parse_limits(data)
        )
        audit(
            session,
            g.actor,
            "connection.update",
            "connection",
            str(connection_id),
            {"fields": sorted((config or {}).keys())},
        )
        view = public_view(connection, rt.registry, rt.vault)
    return reply(view)


def enabled_recipes_using(session: Any, name: str) -> list[int]:
    rows = session.execute(current_versions(Recipe.deleted_at.is_(None), Recipe.enabled.is_(True))).all()
    users = []
    for recipe_id, _name, _version, document in rows:
        names = {document["trigger"].get("connection")} | {
            s.get("connection") for _p, _i, s in iter_steps(document)
        }
        if name in names:
            users.append(recipe_id)
    return users


@api_blueprint.delete("/connections/<int:connection_id>")
@requires("editor")
def connection_delete(connection_id: int) -> Response:
    rt = runtime()
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        users = enabled_recipes_using(session, connection.name)
        if users:
            raise Conflict(
                f"connection '{connection.name}' is used by enabled recipe(s) {users}; disable them first"
            )
        session.delete(connection)
        audit(
            session, g.actor, "connection.delete", "connection", str(connection_id), {"name": connection.name}
        )
    return Response(status=204)


@api_blueprint.post("/connections/<int:connection_id>/test")
@requires("editor")
def connection_test(connection_id: int) -> Response:
    """Ask the connector to check the stored credentials; failures answer ok=false, secrets redacted."""
    rt = runtime()
    with rt.db.transaction() as session:
        connection = _get(session, connection_id)
        name, connector_id = connection.name, connection.connector
    connector = rt.registry.get(connector_id)
    if connector is None:
        return reply({"ok": False, "message": f"connector '{connector_id}' is not installed"})
    ok, message = check_connection(rt, connector, name)
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
