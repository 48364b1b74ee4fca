"""Feishu Open Platform calls: tenant_access_token lifecycle and the `{code, msg, data}` envelope.

Feishu answers business errors as `{"code": <non-zero>, "msg": ...}`, sometimes with HTTP 200, so
every answer is checked here rather than by HTTP status alone. An invalid or expired token is
dropped from the shared cache and the call is made once more with a fresh one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, parse_retry_after, redact

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"  # noqa: S105 (a path, not a secret)
# Missing / invalid / expired access token: fetch a new tenant_access_token and retry once.
TOKEN_CODES = {99991661, 99991663, 99991664, 99991665, 99991668, 99991671, 99991677}
# The app id or secret is wrong, or the app lacks a scope: no retry will help.
CREDENTIAL_CODES = {10003, 10014, 99991543, 99991672}
RATE_LIMIT_CODES = {99991400}
SERVER_BUSY_CODES = {1395001, 99991401}
EXPIRY_MARGIN_S = 120


def _token_key(ctx: Context) -> str:
    return ctx.cache_key(f"feishu:tenant_access_token:{ctx.connection.get('app_id')}")


def tenant_token(ctx: Context, *, fresh: bool = False, stale: str | None = None) -> str:
    """The app's tenant_access_token from the shared cache; one worker fetches a new one (valid about
    2 hours) when it is missing, expired, or the `stale` one Feishu just refused."""
    key = _token_key(ctx)
    if fresh:
        ctx.cache.delete(key)
    app_id, secret = ctx.connection.get("app_id"), ctx.connection.get("app_secret")
    if not app_id or not secret:
        raise AuthError("Feishu: the connection needs app_id and app_secret")

    def fetch() -> tuple[str, float]:
        client = ctx.http_client(authenticate=False)
        response = client.post(
            TOKEN_PATH, json={"app_id": app_id, "app_secret": secret}, raise_for_status=False
        )
        body = envelope(response, ctx.secrets())
        token = body.get("tenant_access_token")
        if not token:
            raise AuthError("Feishu: the token answer has no tenant_access_token")
        return str(token), max(1.0, float(body.get("expire") or 7200) - EXPIRY_MARGIN_S)

    return str(ctx.cache.get_or_fetch(key, fetch, stale=stale))


def _code(body: Any) -> int | None:
    if isinstance(body, dict) and body.get("code") is not None:
        try:
            return int(body["code"])
        except (TypeError, ValueError):
            return None
    return None


def describe_error(body: Any) -> tuple[str, str | None]:
    """(message, code) from Feishu's error answer, with the log id support asks for."""
    if not isinstance(body, dict):
        return "unexpected answer", None
    message = str(body.get("msg") or "error")
    log_id = (body.get("error") or {}).get("log_id") if isinstance(body.get("error"), dict) else None
    if log_id:
        message += f" (log_id {log_id})"
    code = body.get("code")
    return message, None if code is None else str(code)


def envelope(response: HttpResponse, secrets: list[str] | None = None) -> dict[str, Any]:
    """The answer when `code` is 0; otherwise the matching hub error (secrets redacted)."""
    body: Any = response.json() if response.is_json or response.content[:1] == b"{" else None
    code = _code(body)
    if response.status < 400 and code == 0:
        return body
    if body is None:
        text = " ".join(response.text.split())[:200] or "no body"
        message, vendor_code = f"unexpected answer: {text}", None
    else:
        message, vendor_code = describe_error(body)
    text = (
        f"Feishu: {message}"
        + (f" (code {vendor_code})" if vendor_code else "")
        + f" [HTTP {response.status}]"
    )
    text = redact(text, secrets or [])
    kwargs: dict[str, Any] = {"vendor_code": vendor_code, "status": response.status}
    if response.status == 429 or code in RATE_LIMIT_CODES:
        wait = parse_retry_after(
            response.headers.get("x-ogw-ratelimit-reset") or response.headers.get("Retry-After")
        )
        raise RetryableError(text, retry_after=wait, **kwargs)
    if response.status >= 500 or code in SERVER_BUSY_CODES:
        raise RetryableError(text, **kwargs)
    if code in TOKEN_CODES or code in CREDENTIAL_CODES or response.status in (401, 403):
        raise AuthError(text, **kwargs)
    raise PermanentError(text, **kwargs)


def call(ctx: Context, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One API call with the tenant token; a rejected token is renewed and the call made once more."""
    return exchange(ctx, method, path, **kwargs)[0]


def exchange(ctx: Context, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], HttpResponse]:
    """As `call`, with the response too (its Date header is Feishu's clock)."""
    client = ctx.http_client(authenticate=False)
    token: str | None = None
    for attempt in range(2):
        token = tenant_token(ctx, stale=token)
        response = client.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, raise_for_status=False, **kwargs
        )
        if attempt == 0 and _code(response.json() if response.is_json else None) in TOKEN_CODES:
            continue  # renewed once, whichever worker gets there first
        return envelope(response, ctx.secrets()).get("data") or {}, response
    raise AssertionError("unreachable")


def request_uuid(ctx: Context, given: str | None) -> str | None:
    """Feishu's dedupe uuid: the one given, else one derived from the step's idempotency key."""
    if given:
        return given
    if not ctx.idempotency_key:
        return None
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"integration-hub:{ctx.idempotency_key}")).upper()


def now_ms() -> int:
    return int(time.time() * 1000)


SUBSCRIPTION_EXISTS_CODES = {"1390007"}
SUBSCRIBED_TTL_S = 24 * 3600


def subscribe_approval(ctx: Context, approval_code: str, *, reuse: bool = False) -> None:
    """Subscribe the app to a definition's approval events; "already subscribed" (1390007) is fine.

    A success is kept in the shared cache for a day; with `reuse`, a definition subscribed within
    that day (by an enabled recipe or wait step, or an earlier approval) is not subscribed again."""
    key = ctx.cache_key(f"feishu:subscribed:{ctx.connection.get('app_id')}:{approval_code}")
    if reuse and ctx.cache.get(key):
        return
    try:
        call(ctx, "POST", f"/open-apis/approval/v4/approvals/{approval_code}/subscribe")
    except PermanentError as exc:
        if exc.vendor_code not in SUBSCRIPTION_EXISTS_CODES:
            raise
    ctx.cache.set(key, True, SUBSCRIBED_TTL_S)
