"""DocuSign eSignature REST v2.1 calls: the account's API base, errors, 401 refresh, rate limits."""

from __future__ import annotations

import time
from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, redact
from hub.sdk.oauth import ensure_token


def api_base(ctx: Context) -> str:
    """`base_uri` from /oauth/userinfo (+ /restapi) when known, else the connection's base URL."""
    base_uri = ctx.connection.get("base_uri")
    if base_uri:
        base = str(base_uri).rstrip("/")
        return base if base.endswith("/restapi") else base + "/restapi"
    return ctx.base_url or "https://demo.docusign.net/restapi"


def account_path(ctx: Context, tail: str = "") -> str:
    account = ctx.connection.get("account_id")
    if not account:
        raise PermanentError("DocuSign: the connection has no account_id (run Test connection to fill it in)")
    return f"/v2.1/accounts/{account}" + (f"/{tail.lstrip('/')}" if tail else "")


def _rate_limit_wait(exc: RetryableError) -> float | None:
    """DocuSign announces the reset as epoch seconds in X-RateLimit-Reset, not Retry-After."""
    details = exc.details if isinstance(exc.details, dict) else {}
    reset = details.get("rate_limit_reset")
    if reset is None:
        return exc.retry_after
    try:
        return max(0.0, float(reset) - time.time())
    except ValueError:
        return exc.retry_after


def call(ctx: Context, method: str, path: str, **kwargs: Any) -> HttpResponse:
    """One call; a 401 refreshes the OAuth token once (it may have been revoked or rotated early)."""
    for attempt in range(2):
        client = ctx.http_client(base_url=api_base(ctx))
        response = client.request(method, path, raise_for_status=False, **kwargs)
        if response.status == 401 and attempt == 0 and ctx.connection.get("refresh_token"):
            ensure_token(ctx, force=True)
            continue
        if response.status >= 400:
            raise error_for(response, client.vendor, client.secrets)
        return response
    raise AssertionError("unreachable")


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """DocuSign's errorDetails: {errorCode, message}."""
    if not response.is_json:
        return None
    try:
        body = response.json()
    except PermanentError:
        return None
    if not isinstance(body, dict) or not (body.get("errorCode") or body.get("message")):
        return None
    return str(body.get("message") or body.get("errorCode")), body.get("errorCode")


def error_for(
    response: HttpResponse, vendor: str = "DocuSign", secrets: list[str] | None = None
) -> Exception:
    parsed = parse_error(response) or (" ".join(response.text.split())[:300] or "error", None)
    message, code = parsed
    text = f"{vendor}: {message}" + (f" (code {code})" if code else "") + f" [HTTP {response.status}]"
    text = redact(text, secrets or [])
    kwargs: dict[str, Any] = {"vendor_code": code, "status": response.status}
    if response.status == 429 or code == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED":
        reset = response.headers.get("X-RateLimit-Reset")
        retry = RetryableError(text, details={"rate_limit_reset": reset}, **kwargs)
        retry.retry_after = _rate_limit_wait(retry)
        return retry
    if response.status >= 500:
        return RetryableError(text, **kwargs)
    if response.status in (401, 403) or code in ("USER_AUTHENTICATION_FAILED", "AUTHORIZATION_INVALID_TOKEN"):
        return AuthError(text, **kwargs)
    return PermanentError(text, **kwargs)
