"""Calls to WeCom's server API (qyapi.weixin.qq.com) with one cached access token per app.

Every call passes `access_token` in the query string and answers HTTP 200 `{errcode, errmsg, ...}`;
only `errcode` decides. The token (gettoken, valid 7200 s, itself rate-limited) sits in the shared
TokenCache so every worker and process reuses it; WeCom may end a token early, so when a call says
40014 / 42001 / 41001 the token is renewed once for everyone who saw it refused and the call retried.
"""

from __future__ import annotations

from typing import Any

from hub.sdk.apptoken import TokenRejected, app_token, app_token_key, with_app_token
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

VENDOR = "WeCom"
TOKEN_MARGIN_S = 300
TOKEN_ERRCODES = {40014, 42001, 41001}  # invalid / expired / missing access_token
RETRY_ERRCODES = {-1, 45009, 45033}  # system busy, frequency limit, concurrency limit
# Bad secret or CorpID, no API permission, no data scope, IP not trusted, no approval-app permission.
AUTH_ERRCODES = {40001, 40013, 40056, 48002, 60011, 60020, 301055}


def token_cache_key(ctx: Context) -> str:
    # Each app secret has its own token (one corp, several self-built apps).
    return app_token_key("wecom", ctx.connection.get("corp_id"), ctx.connection.get("corp_secret"))


def _payload(response: HttpResponse) -> dict[str, Any]:
    if response.status >= 500 or response.status == 429:
        raise RetryableError(f"{VENDOR}: HTTP {response.status}", status=response.status)
    if not response.content:
        raise PermanentError(f"{VENDOR}: empty answer [HTTP {response.status}]", status=response.status)
    payload = response.json()  # whatever the Content-Type says: WeCom's body decides
    if not isinstance(payload, dict):
        raise PermanentError(f"{VENDOR}: answer is not a JSON object", status=response.status)
    return payload


def raise_for_errcode(payload: dict[str, Any], status: int = 200) -> None:
    """Map `errcode` to the SDK's errors (TokenRejected for the token codes)."""
    try:
        errcode = int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        errcode = -1
    if errcode == 0:
        return
    message = str(payload.get("errmsg") or "error")
    if errcode in TOKEN_ERRCODES:
        raise TokenRejected(message)
    text = f"{VENDOR}: {message} (errcode {errcode})"
    kwargs: dict[str, Any] = {"vendor_code": str(errcode), "status": status}
    if errcode in RETRY_ERRCODES:
        raise RetryableError(text, retry_after=1.0 if errcode == -1 else 60.0, **kwargs)
    if errcode in AUTH_ERRCODES:
        raise AuthError(text, **kwargs)
    raise PermanentError(text, **kwargs)


def fetch_token(ctx: Context) -> tuple[str, float]:
    """GET /cgi-bin/gettoken?corpid=&corpsecret= -> (access_token, seconds to keep it)."""
    corp_id, secret = ctx.connection.get("corp_id"), ctx.connection.get("corp_secret")
    if not corp_id or not secret:
        raise AuthError(f"{VENDOR}: the connection needs a CorpID and an app Secret")
    response = ctx.http_client(authenticate=False).get(
        "/cgi-bin/gettoken",
        params={"corpid": str(corp_id), "corpsecret": str(secret)},
        raise_for_status=False,
    )
    payload = _payload(response)
    try:
        raise_for_errcode(payload, response.status)
    except TokenRejected as exc:  # cannot happen at gettoken; kept an auth failure if it does
        raise AuthError(f"{VENDOR}: access token refused: {exc}") from exc
    token = payload.get("access_token")
    if not token:
        raise PermanentError(f"{VENDOR}: gettoken answered without an access_token")
    expires_in = float(payload.get("expires_in") or 7200)
    return str(token), max(expires_in - TOKEN_MARGIN_S, 60.0)


def access_token(ctx: Context) -> str:
    """The cached token (what a worker uses before a call)."""
    return app_token(ctx, token_cache_key(ctx), lambda: fetch_token(ctx))


def call(ctx: Context, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST `body` (GET without one) to `path` with the token; the answer when errcode is 0."""

    def send(token: str) -> dict[str, Any]:
        client = ctx.http_client(authenticate=False)
        params = {"access_token": token}
        if body is None:
            response = client.get(path, params=params, raise_for_status=False)
        else:
            response = client.post(path, params=params, json=body, raise_for_status=False)
        payload = _payload(response)
        raise_for_errcode(payload, response.status)
        return payload

    return with_app_token(ctx, token_cache_key(ctx), lambda: fetch_token(ctx), send, vendor=VENDOR)
