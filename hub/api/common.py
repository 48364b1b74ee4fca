"""Helpers every API module uses: auth by bearer token, JSON in and out, pagination arguments."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import yaml
from flask import Response, g, request

from hub import jsonutil
from hub.app import runtime
from hub.sdk.errors import HubError
from hub.users import role_allows, token_user


class ApiError(HubError):
    """An HTTP error with its own status and code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.code = code


def reply(payload: Any, status: int = 200) -> Response:
    return Response(jsonutil.dumps(payload), status=status, mimetype="application/json")


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Bearer-token authentication and a minimum role; every API route carries it."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, raw = header.partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
            with runtime().db.transaction() as session:
                user = token_user(session, raw.strip())
                identity = (user.id, user.email, user.role) if user else None
            if identity is None:
                raise ApiError(401, "unauthorized", "the token is unknown or revoked")
            g.user_id, g.actor, g.role = identity
            if not role_allows(g.role, role):
                raise ApiError(403, "forbidden", f"this needs the {role} role; you are {g.role}")
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorate


def body(*, allow_yaml: bool = False) -> Any:
    """The request's JSON (or YAML where allowed); a 400 naming the problem otherwise."""
    raw = request.get_data(cache=True)
    ctype = (request.mimetype or "").lower()
    if allow_yaml and ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ApiError(400, "bad_request", f"body is not valid YAML: {exc}") from exc
    if not raw.strip():
        return {}
    try:
        return jsonutil.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"body is not valid JSON: {exc}") from exc


def body_object(**kwargs: Any) -> dict[str, Any]:
    data = body(**kwargs)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "body must be a JSON object")
    return data


def int_arg(name: str, default: int | None = None, *, low: int = 1, high: int | None = None) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"query parameter '{name}' must be an integer") from exc
    if number < low or (high is not None and number > high):
        raise ApiError(400, "bad_request", f"query parameter '{name}' must be between {low} and {high}")
    return number
