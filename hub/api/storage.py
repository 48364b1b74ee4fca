"""The storage utility's keys: read and list (viewer), set and delete (editor, audited)."""

from __future__ import annotations

from flask import Response, g, request

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, int_arg, reply
from hub.current import runtime
from hub.services import storage as service
from hub.utilities.values import MAX_KEY


@api_blueprint.get("/storage")
@requires("viewer")
def storage_scopes() -> Response:
    return reply({"scopes": service.list_scopes(runtime())})


@api_blueprint.get("/storage/<scope>")
@requires("viewer")
def storage_list(scope: str) -> Response:
    limit = int_arg("limit", 50, high=500) or 50
    prefix = request.args.get("prefix", "")
    cursor = request.args.get("cursor")
    for name, text in (("prefix", prefix), ("cursor", cursor or "")):
        if len(text) > MAX_KEY:
            raise ApiError(
                400, "bad_request", f"query parameter '{name}' is longer than {MAX_KEY} characters"
            )
    return reply(service.list_values(runtime(), scope, prefix, cursor, limit))


@api_blueprint.get("/storage/<scope>/<path:key>")
@requires("viewer")
def storage_get(scope: str, key: str) -> Response:
    return reply(service.get_value(runtime(), scope, key))


@api_blueprint.put("/storage/<scope>/<path:key>")
@requires("editor")
def storage_put(scope: str, key: str) -> Response:
    data = body_object()
    if "value" not in data:
        raise ApiError(422, "invalid", "$.value: required (any JSON, null included)", {"path": "$.value"})
    ttl_s = service.parse_ttl(data.get("ttl_s"))
    return reply(service.put_value(runtime(), scope, key, data["value"], ttl_s, actor=g.actor))


@api_blueprint.delete("/storage/<scope>/<path:key>")
@requires("editor")
def storage_delete(scope: str, key: str) -> Response:
    service.delete_value(runtime(), scope, key, actor=g.actor)
    return Response(status=204)
