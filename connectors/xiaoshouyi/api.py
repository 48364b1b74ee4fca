"""Calls to the 销售易 Neocrm REST API with an OAuth 2.0 password-grant token shared by every worker.

`POST {token_url}` (form: grant_type=password, client_id, client_secret, redirect_uri, username,
password = the user's password followed by their security token) answers `{access_token, …}`;
the token goes in `Authorization: Bearer`. Answers carry `code` (200 = success) and `msg`. A 401
(or code 401) renews the token once, for every worker that saw the same token refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

VENDOR = "销售易"
TOKEN_URL = "https://login.xiaoshouyi.com/auc/oauth2/token"  # noqa: S105 - a URL, not a secret
DEFAULT_TOKEN_TTL_S = 3600.0  # used when the answer names no expires_in
TOKEN_MARGIN_S = 300


class TokenRefused(Exception):
    """The access token was refused; it is renewed and the call repeated once."""


def _body(response: HttpResponse) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        payload = response.json()
    except PermanentError:
        return {"msg": response.text[:300]}
    return payload if isinstance(payload, dict) else {"data": payload}


def token_cache_key(ctx: Context) -> str:
    conn = ctx.connection
    fields = ("token_url", "client_id", "client_secret", "username", "password", "security_token")
    who = "|".join(str(conn.get(k) or "") for k in fields)
    return ctx.cache_key("xiaoshouyi:token:" + hashlib.sha256(who.encode()).hexdigest()[:16])


def fetch_token(ctx: Context) -> tuple[str, float]:
    conn = ctx.connection
    missing = [k for k in ("client_id", "client_secret", "username", "password") if not conn.get(k)]
    if missing:
        raise AuthError(f"{VENDOR}: the connection needs {', '.join(missing)}")
    form = {
        "grant_type": "password",
        "client_id": conn["client_id"],
        "client_secret": conn["client_secret"],
        "redirect_uri": conn.get("redirect_uri") or "",
        "username": conn["username"],
        "password": f"{conn['password']}{conn.get('security_token') or ''}",
    }
    url = str(conn.get("token_url") or TOKEN_URL)
    response = ctx.http_client(authenticate=False).post(url, data=form, raise_for_status=False)
    body = _body(response)
    if response.status < 400 and body.get("access_token"):
        ttl = float(body.get("expires_in") or DEFAULT_TOKEN_TTL_S) - TOKEN_MARGIN_S
        return str(body["access_token"]), max(ttl, 60.0)
    message = str(body.get("error_description") or body.get("msg") or body.get("error") or "token refused")
    text = f"{VENDOR}: access token refused: {message} [HTTP {response.status}]"
    if response.status == 429 or response.status >= 500:
        raise RetryableError(text, status=response.status)
    raise AuthError(
        text, vendor_code=str(body.get("error") or body.get("code") or ""), status=response.status
    )


def access_token(ctx: Context, *, stale: str | None = None, fresh: bool = False) -> str:
    key = token_cache_key(ctx)
    if fresh:
        ctx.cache.delete(key)
    return str(ctx.cache.get_or_fetch(key, lambda: fetch_token(ctx), stale=stale))


def _read(response: HttpResponse, what: str) -> dict[str, Any]:
    body = _body(response)
    code = body.get("code")
    if response.status == 401 or str(code) == "401":
        raise TokenRefused(str(body.get("msg") or "token refused"))
    if response.status < 400 and (code is None or str(code) == "200"):
        return body
    message = str(body.get("msg") or body.get("message") or f"HTTP {response.status}")
    text = (
        f"{VENDOR} {what}: {message}"
        + (f" (code {code})" if code is not None else "")
        + f" [HTTP {response.status}]"
    )
    vendor_code = None if code is None else str(code)
    if response.status == 429 or response.status >= 500:
        raise RetryableError(text, vendor_code=vendor_code, status=response.status)
    if response.status == 403:
        raise AuthError(text, vendor_code=vendor_code, status=403)
    raise PermanentError(text, vendor_code=vendor_code, status=response.status)


def call(
    ctx: Context, method: str, path: str, *, json: Any = None, data: Any = None, params: Any = None
) -> dict[str, Any]:
    """One REST call; the answer ({code, msg, data}) when it succeeded."""

    def send(token: str) -> dict[str, Any]:
        response = ctx.http_client(authenticate=False).request(
            method,
            path,
            json=json,
            data=data,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            raise_for_status=False,
        )
        return _read(response, f"{method} {path}")

    token = access_token(ctx)
    try:
        return send(token)
    except TokenRefused:
        pass
    try:
        return send(access_token(ctx, stale=token))
    except TokenRefused as exc:
        raise AuthError(f"{VENDOR}: access token refused again after a refresh: {exc}") from exc
