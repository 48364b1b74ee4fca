"""Named secrets: write-only values for `{{ secrets.NAME }}`; admins set them, viewers see names."""

from __future__ import annotations

from flask import Response, g

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import body_object, reply
from hub.current import runtime
from hub.services import secrets as service


@api_blueprint.get("/secrets")
@requires("viewer")
def secret_list_all() -> Response:
    return reply({"secrets": service.list_secrets(runtime())})


@api_blueprint.post("/secrets")
@requires("admin")
def secret_create() -> Response:
    data = body_object()
    view = service.set_secret(
        runtime(), actor=g.actor, name=data.get("name"), value=data.get("value"), create=True
    )
    return reply(view, 201)


@api_blueprint.put("/secrets/<name>")
@requires("admin")
def secret_replace(name: str) -> Response:
    data = body_object()
    view = service.set_secret(runtime(), actor=g.actor, name=name, value=data.get("value"), create=False)
    return reply(view)


@api_blueprint.delete("/secrets/<name>")
@requires("admin")
def secret_delete(name: str) -> Response:
    service.delete_secret(runtime(), actor=g.actor, name=name)
    return Response(status=204)
