"""Helpers every API module uses: JSON in and out, query arguments, errors with a status."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from flask import Response, request

from hub import jsonutil
from hub.documents import YAML_TYPES, DocumentError, parse_document
from hub.ids import MAX_ID
from hub.sdk.errors import HubError


class ApiError(HubError):
    """An HTTP error with its own status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.code = code
        self.headers = headers or {}


def reply(payload: Any, status: int = 200) -> Response:
    return Response(jsonutil.dumps(payload), status=status, mimetype="application/json")


def body(*, allow_yaml: bool = False) -> Any:
    """The request's JSON (or YAML where allowed); a 400 naming the problem otherwise."""
    raw = request.get_data(cache=True)
    yaml_body = allow_yaml and (request.mimetype or "").lower() in YAML_TYPES
    if not yaml_body and not raw.strip():
        return {}
    try:
        return parse_document(raw, "yaml" if yaml_body else "json")
    except DocumentError as exc:
        raise ApiError(400, "bad_request", f"body is {exc}") from exc


def body_object(**kwargs: Any) -> dict[str, Any]:
    data = body(**kwargs)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "body must be a JSON object")
    return data


def int_arg(name: str, default: int | None = None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole-number query parameter within [low, high] (ids fit a 64-bit column); 400 otherwise."""
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, "bad_request", f"query parameter '{name}' must be an integer") from exc
    if not low <= number <= high:
        raise ApiError(400, "bad_request", f"query parameter '{name}' must be between {low} and {high}")
    return number


def time_arg(name: str) -> datetime | None:
    """An optional ISO-8601 query parameter: a date-time with a time zone, or a date (UTC midnight)."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        instant = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(
            400, "bad_request", f"query parameter '{name}' must be an ISO-8601 date or date-time"
        ) from exc
    if instant.tzinfo is None:
        raise ApiError(400, "bad_request", f"query parameter '{name}' needs a time zone (e.g. Z)")
    return instant
