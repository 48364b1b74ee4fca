"""Users, API tokens and the audit log: admins only."""

from __future__ import annotations

from flask import Response, g, request
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, int_arg, reply
from hub.api.guard import in_projects
from hub.current import runtime
from hub.db.models import ApiToken, AuditEntry, User
from hub.presentation import user_view
from hub.services import users as service


@api_blueprint.get("/users")
@requires("admin")
def user_list_users() -> Response:
    with runtime().db.transaction() as session:
        return reply({"users": [user_view(u) for u in session.scalars(select(User).order_by(User.id))]})


@api_blueprint.post("/users")
@requires("admin")
def user_add_user() -> Response:
    data = body_object()
    for field in ("email", "role"):
        if not isinstance(data.get(field), str):
            raise ApiError(422, "invalid", f"$.{field}: required string", {"path": f"$.{field}"})
    if data.get("password") is not None and not isinstance(data["password"], str):
        raise ApiError(422, "invalid", "$.password: must be a string", {"path": "$.password"})
    user = service.create_user(
        runtime(), data["email"], data["role"], password=data.get("password"), actor=g.actor
    )
    return reply(user, 201)


@api_blueprint.post("/users/<int:user_id>/tokens")
@requires("admin")
def user_add_token(user_id: int) -> Response:
    data = body_object()
    name = data.get("name", "api")
    if not isinstance(name, str) or len(name) > 200:
        raise ApiError(422, "invalid", "$.name: a string of at most 200 characters", {"path": "$.name"})
    project = data.get("project")
    if project is not None and (isinstance(project, bool) or not isinstance(project, int | str)):
        raise ApiError(422, "invalid", "$.project: a project id or name", {"path": "$.project"})
    token = service.create_token(
        runtime(), user_id, name or "api", actor=g.actor, project=project, role=data.get("role")
    )
    return reply({"id": token.id, "token": token.raw, "prefix": token.prefix, "name": token.name}, 201)


@api_blueprint.delete("/tokens/<int:token_id>")
@requires("admin")
def user_remove_token(token_id: int) -> Response:
    service.revoke_token(runtime(), token_id, actor=g.actor)
    return Response(status=204)


@api_blueprint.get("/tokens")
@requires("admin")
def user_list_tokens() -> Response:
    with runtime().db.transaction() as session:
        tokens = session.scalars(select(ApiToken).order_by(ApiToken.id))
        return reply(
            {
                "tokens": [
                    {
                        "id": t.id,
                        "user_id": t.user_id,
                        "name": t.name,
                        "prefix": t.prefix,
                        "revoked": t.revoked_at is not None,
                        "project_id": t.project_id,
                        "role": t.role,
                        "created_at": t.created_at.isoformat(),
                    }
                    for t in tokens
                ]
            }
        )


@api_blueprint.get("/audit")
@requires("admin")
def user_audit_log() -> Response:
    limit = int_arg("limit", 100, high=1000) or 100
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if request.args.get("project") is not None:  # ?project=<id or name>: that project's entries
        query = in_projects(query, AuditEntry.project_id)
    with runtime().db.transaction() as session:
        rows = session.scalars(query)
        return reply(
            {
                "entries": [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "target_type": e.target_type,
                        "target_id": e.target_id,
                        "details": e.details,
                        "project_id": e.project_id,
                    }
                    for e in rows
                ]
            }
        )
