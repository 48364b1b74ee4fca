"""Calls to the 金数据 V1 API (`https://jinshuju.net/api/v1`, Basic auth with the API key and secret).

Errors arrive as `{"error": "...", "error_description": "..."}` (sometimes only the description).
402 means the account's plan does not include the V1 API.
"""

from __future__ import annotations

from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError
from hub.sdk.http import HttpResponse

HEADERS = {"Accept": "application/json"}


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    try:
        body = response.json()
    except PermanentError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    description = body.get("error_description") or body.get("message")
    if isinstance(description, str) and description:
        return description, str(error) if error else None
    if isinstance(error, str) and error:
        return error, None
    return None


def get(ctx: Context, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One GET; the JSON object 金数据 answered."""
    return exchange(ctx, path, params)[0]


def exchange(
    ctx: Context, path: str, params: dict[str, Any] | None = None
) -> tuple[dict[str, Any], HttpResponse]:
    """One GET: the JSON object 金数据 answered and the response (its Date header is 金数据's clock)."""
    if not (ctx.connection.get("api_key") and ctx.connection.get("api_secret")):
        raise AuthError("金数据: the connection needs the API key and secret (account settings > API)")
    response = ctx.http_client().get(path, params=params, headers=HEADERS, expected=[402])
    if response.status == 402:
        message = (parse_error(response) or ("payment required", None))[0]
        raise PermanentError(
            f"金数据: {message} (code 402): the account's plan does not include the V1 API [HTTP 402]",
            vendor_code="402",
            status=402,
        )
    body = response.json()
    if not isinstance(body, dict):
        raise PermanentError(f"金数据: GET {path} answered without a JSON object")
    return body, response
