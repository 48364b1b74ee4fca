"""Bearer-token authentication and roles: every API route declares the least role it needs.

Routes without `@requires(...)` or `@public` are refused (fail closed), so a forgotten decorator
cannot open a route to anonymous callers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from hub.api import api_blueprint
from hub.api.common import ApiError
from hub.current import runtime
from hub.users import ROLES, role_allows, token_user

F = TypeVar("F", bound=Callable[..., Any])


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="hub"' + (f', error="{error}"' if error else "")
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> tuple[int, str, str]:
    """(user id, email, role) of the bearer token sent with this request; 401 otherwise."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized("send Authorization: Bearer <token>")
    with runtime().db.transaction() as session:
        user = token_user(session, raw.strip())
        identity = (user.id, user.email, user.role) if user is not None else None
    if identity is None:
        raise _unauthorized("the token is unknown, revoked or its user is disabled", "invalid_token")
    return identity


def requires(role: str) -> Callable[[F], F]:
    """Let a request through only with a valid token of at least `role`; 401 / 403 otherwise."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.user_id, g.actor, g.role = authenticate_request()
            if not role_allows(g.role, role):
                raise ApiError(403, "forbidden", f"this needs the {role} role; you are {g.role}")
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
