"""Business calls to the tenant's gateway: `{gatewayUrl}/yonbip/<path>?access_token=…`, JSON.

Answers carry a `code`: "200" is success; anything else is the vendor's error with its `message`.
A token the gateway refuses (HTTP 401) is renewed once for every worker that saw it refused.
"""

from __future__ import annotations

from typing import Any

from connectors.yonyou.auth import VENDOR, access_token, hosts
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

SUCCESS = "200"
NO_DATA = "118001"  # a query that found nothing
NOT_GRANTED = "310037"  # the API is not granted to this app (开放平台 > 应用 > API 权限)
TOKEN_CODES = {"401"}  # the gateway's own answer to a missing or expired token


class TokenRefused(Exception):
    """The gateway refused the access token; it is renewed and the call repeated once."""


def failure(body: dict[str, Any], status: int, path: str) -> Exception:
    code = None if body.get("code") is None else str(body.get("code"))
    message = str(body.get("message") or body.get("msg") or f"HTTP {status}")
    text = f"{VENDOR} {path}: {message}" + (f" (code {code})" if code else "") + f" [HTTP {status}]"
    if status == 429 or status >= 500:
        return RetryableError(text, vendor_code=code, status=status)
    if code == NOT_GRANTED or status in (401, 403):
        return AuthError(text, vendor_code=code, status=status)
    return PermanentError(text, vendor_code=code, status=status)


def _read(response: HttpResponse, path: str) -> dict[str, Any]:
    payload: Any = None
    if response.content:
        try:
            payload = response.json()
        except PermanentError:
            if response.status < 400:
                raise
    body = payload if isinstance(payload, dict) else {"message": response.text[:300]}
    code = None if body.get("code") is None else str(body.get("code"))
    if response.status == 401 or code in TOKEN_CODES:
        raise TokenRefused(str(body.get("message") or "token refused"))
    if response.status < 400 and code in (SUCCESS, NO_DATA):
        return body
    raise failure(body, response.status, path)


def call(
    ctx: Context, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One business call; the whole answer ({code, message, data}) when `code` is 200 (or 118001)."""
    if not path.startswith("/yonbip/"):
        raise PermanentError(f"{VENDOR}: API paths start with /yonbip/ (got {path!r})")
    gateway, _ = hosts(ctx)

    def send(token: str) -> dict[str, Any]:
        response = ctx.http_client(base_url=gateway, authenticate=False).request(
            method, path, params={**(params or {}), "access_token": token}, json=json, raise_for_status=False
        )
        return _read(response, path)

    token = access_token(ctx)
    try:
        return send(token)
    except TokenRefused:
        pass
    try:
        return send(access_token(ctx, stale=token))
    except TokenRefused as exc:
        raise AuthError(f"{VENDOR}: access token refused again after a refresh: {exc}") from exc
