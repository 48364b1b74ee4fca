"""Bearer-token authentication and roles: every API route declares the least role it needs.

`admin` means a hub admin (users, tokens, projects); viewer, operator, editor and owner are roles in
the project the route's URL arguments point at (hub.api.guard), or in any project for lists and
creation, which then filter by or check the project themselves. Routes without `@requires(...)` or
`@public` are refused (fail closed), so a forgotten decorator
cannot open a route to anonymous callers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from hub.access import PROJECT_ROLES, Principal, principal_for
from hub.api import api_blueprint
from hub.api.common import ApiError
from hub.api.guard import check_route
from hub.current import runtime
from hub.users import token_owner

ROUTE_ROLES = ("admin", *PROJECT_ROLES)

F = TypeVar("F", bound=Callable[..., Any])


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="hub"' + (f', error="{error}"' if error else "")
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def authenticate_request(needed: str | None = None) -> Principal:
    """Who sent this request's bearer token (401 otherwise), checked for `needed` (hub.api.guard)."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized("send Authorization: Bearer <token>")
    with runtime().db.transaction() as session:
        found = token_owner(session, raw.strip())
        if found is None:
            raise _unauthorized("the token is unknown, revoked or its user is disabled", "invalid_token")
        user, token = found
        access = principal_for(session, user, token)
        g.access, g.user_id, g.actor, g.role = access, user.id, user.email, user.role
        if needed == "admin" and not access.is_admin:
            raise ApiError(403, "forbidden", f"this needs the admin role; you are {user.role}")
        if needed is not None and needed != "admin":
            check_route(session, access, needed, request.view_args or {})
    return access


def requires(role: str) -> Callable[[F], F]:
    """Let a request through only with a valid token of at least `role`; 401 / 403 / 404 otherwise."""
    if role not in ROUTE_ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            authenticate_request(role)
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a route as open to anonymous callers (only the OpenAPI document is)."""
    view.public = True  # type: ignore[attr-defined]
    return view


@api_blueprint.before_request
def fail_closed() -> None:
    """Refuse routes that declare neither a role nor `public`."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "public", False) or getattr(view, "required_role", None):
        return
    authenticate_request()
    raise ApiError(403, "forbidden", "this route declares no role; it is closed")
