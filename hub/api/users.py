"""Users, API tokens and the audit log: admins only."""

from __future__ import annotations

from flask import Response, g
from sqlalchemy import select

from hub.api import api_blueprint
from hub.api.auth import requires
from hub.api.common import ApiError, body_object, int_arg, reply
from hub.app import runtime
from hub.audit import audit
from hub.connections import NotFound
from hub.db.models import ApiToken, AuditEntry, User
from hub.users import create_token, create_user, revoke_token


def _user_view(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
    }


@api_blueprint.get("/users")
@requires("admin")
def user_list_users() -> Response:
    with runtime().db.transaction() as session:
        return reply({"users": [_user_view(u) for u in session.scalars(select(User).order_by(User.id))]})


@api_blueprint.post("/users")
@requires("admin")
def user_add_user() -> Response:
    data = body_object()
    for field in ("email", "role"):
        if not isinstance(data.get(field), str):
            raise ApiError(422, "invalid", f"$.{field}: required string", {"path": f"$.{field}"})
    if data.get("password") is not None and not isinstance(data["password"], str):
        raise ApiError(422, "invalid", "$.password: must be a string", {"path": "$.password"})
    with runtime().db.transaction() as session:
        user = create_user(session, data["email"], data["role"], password=data.get("password"))
        audit(session, g.actor, "user.create", "user", str(user.id), {"email": user.email, "role": user.role})
        return reply(_user_view(user), 201)


@api_blueprint.post("/users/<int:user_id>/tokens")
@requires("admin")
def user_add_token(user_id: int) -> Response:
    data = body_object()
    name = data.get("name", "api")
    if not isinstance(name, str) or len(name) > 200:
        raise ApiError(422, "invalid", "$.name: a string of at most 200 characters", {"path": "$.name"})
    with runtime().db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        token, raw = create_token(session, user, name or "api")
        audit(session, g.actor, "token.create", "token", str(token.id), {"user": user.email})
        return reply({"id": token.id, "token": raw, "prefix": token.prefix, "name": token.name}, 201)


@api_blueprint.delete("/tokens/<int:token_id>")
@requires("admin")
def user_remove_token(token_id: int) -> Response:
    with runtime().db.transaction() as session:
        revoke_token(session, token_id)
        audit(session, g.actor, "token.revoke", "token", str(token_id))
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
    with runtime().db.transaction() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
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
                    }
                    for e in rows
                ]
            }
        )
