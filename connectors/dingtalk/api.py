"""Calls to DingTalk's two API generations with one cached app access token.

New API (api.dingtalk.com): token in the `x-acs-dingtalk-access-token` header, errors as HTTP
4xx/5xx `{code, message, requestid}`. Old API (oapi.dingtalk.com): token in the `access_token`
query parameter, errors as HTTP 200 `{errcode != 0, errmsg}`. The token (valid 7200 s, the same
one while it lives) sits in the shared TokenCache so every worker and run reuses it; when DingTalk
says it is invalid or expired it is dropped, fetched again and the call retried once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.sdk.apptoken import TokenRejected, app_token, app_token_key, with_app_token
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, parse_retry_after

VENDOR = "DingTalk"
OAPI_BASE = "https://oapi.dingtalk.com"
TOKEN_MARGIN_S = 300
TOKEN_ERRCODES = {40014, 42001, 41001}  # invalid / expired / missing access_token (old API)
TOKEN_CODES = {"InvalidAuthentication", "InvalidAccessToken", "AccessTokenExpired"}  # new API
THROTTLE_ERRCODES = {90002, 90005, 90006, 90018, 90019, -1}  # frequency limits; -1 = system busy
THROTTLE_CODES = {
    "Forbidden.AccessDenied.QpsLimitForApi",
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    "Forbidden.AccessDenied.IpQpsLimitForApi",
    "Throttling",
}


def token_cache_key(ctx: Context) -> str:
    return app_token_key("dingtalk", ctx.connection.get("app_key"), ctx.connection.get("app_secret"))


def fetch_token(ctx: Context) -> dict[str, Any]:
    """POST /v1.0/oauth2/accessToken {appKey, appSecret} -> {accessToken, expireIn}."""
    app_key, app_secret = ctx.connection.get("app_key"), ctx.connection.get("app_secret")
    if not app_key or not app_secret:
        raise AuthError(f"{VENDOR}: the connection needs an AppKey and AppSecret")
    response = ctx.http_client(authenticate=False).post(
        "/v1.0/oauth2/accessToken",
        json={"appKey": str(app_key), "appSecret": str(app_secret)},
        raise_for_status=False,
    )
    payload = response.json() if response.is_json and response.content else {}
    if response.status >= 400 or not isinstance(payload, dict) or not payload.get("accessToken"):
        message, code = new_api_error(payload, response)
        text = f"{VENDOR}: access token refused: {message}" + (f" (code {code})" if code else "")
        if response.status == 429 or response.status >= 500:
            raise RetryableError(text, vendor_code=code, status=response.status)
        raise AuthError(text, vendor_code=code, status=response.status)
    return payload


def _fetch(ctx: Context) -> tuple[str, float]:
    payload = fetch_token(ctx)
    return str(payload["accessToken"]), max(float(payload.get("expireIn") or 7200) - TOKEN_MARGIN_S, 60.0)


def access_token(ctx: Context, *, force: bool = False) -> str:
    """The cached app token; one worker fetches it when it is missing or expired (or `force`d)."""
    key = token_cache_key(ctx)
    if force:
        ctx.cache.delete(key)
    return app_token(ctx, key, lambda: _fetch(ctx))


def new_api_error(payload: Any, response: HttpResponse) -> tuple[str, str | None]:
    if isinstance(payload, dict) and (payload.get("message") or payload.get("code")):
        code = payload.get("code")
        return str(payload.get("message") or code), None if code is None else str(code)
    return (" ".join(response.text.split())[:300] or f"HTTP {response.status}"), None


def _raise_new(response: HttpResponse) -> None:
    payload: Any = None
    if response.is_json and response.content:
        try:
            payload = response.json()
        except PermanentError:
            payload = None
    message, code = new_api_error(payload, response)
    if code in TOKEN_CODES or response.status == 401:
        raise TokenRejected(message)
    request_id = payload.get("requestid") if isinstance(payload, dict) else None
    text = f"{VENDOR}: {message}" + (f" (code {code})" if code else "") + f" [HTTP {response.status}]"
    kwargs: dict[str, Any] = {
        "vendor_code": code,
        "status": response.status,
        "details": {"requestid": request_id},
    }
    if response.status == 429 or response.status >= 500 or code in THROTTLE_CODES:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableError(text, retry_after=wait or (1.0 if code in THROTTLE_CODES else None), **kwargs)
    if response.status == 403:
        raise AuthError(text, **kwargs)
    raise PermanentError(text, **kwargs)


def _raise_old(payload: Any, status: int) -> None:
    if not isinstance(payload, dict):
        raise PermanentError(f"{VENDOR}: unexpected answer [HTTP {status}]", status=status)
    try:
        errcode = int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        errcode = -1
    if errcode == 0 and status < 400:
        return
    message = str(payload.get("errmsg") or f"HTTP {status}")
    if errcode in TOKEN_ERRCODES:
        raise TokenRejected(message)
    text = f"{VENDOR}: {message} (code {errcode})"
    kwargs: dict[str, Any] = {
        "vendor_code": str(errcode),
        "status": status,
        "details": {"request_id": payload.get("request_id")},
    }
    if errcode in THROTTLE_ERRCODES or status >= 500:
        raise RetryableError(text, retry_after=1.0, **kwargs)
    raise PermanentError(text, **kwargs)


def _with_token(ctx: Context, send: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return with_app_token(ctx, token_cache_key(ctx), lambda: _fetch(ctx), send, vendor=VENDOR)


def new_api(
    ctx: Context, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
) -> dict[str, Any]:
    """A call to api.dingtalk.com (or the connection's base_url); returns the JSON answer."""

    def send(token: str) -> dict[str, Any]:
        response = ctx.http_client(authenticate=False).request(
            method,
            path,
            params=params,
            json=json,
            headers={"x-acs-dingtalk-access-token": token, "Accept": "application/json"},
            raise_for_status=False,
        )
        if response.status >= 400:
            _raise_new(response)
        payload = response.json() if response.content else {}
        return payload if isinstance(payload, dict) else {"result": payload}

    return _with_token(ctx, send)


def old_api(ctx: Context, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A POST to oapi.dingtalk.com (or the connection's oapi_base_url); returns the JSON answer."""
    base = str(ctx.connection.get("oapi_base_url") or OAPI_BASE).rstrip("/")

    def send(token: str) -> dict[str, Any]:
        response = ctx.http_client(base_url=base, authenticate=False).post(
            path, params={"access_token": token}, json=body, raise_for_status=False
        )
        payload: Any = None
        if response.is_json and response.content:
            payload = response.json()
        elif response.status < 400:
            raise PermanentError(
                f"{VENDOR}: answer is not JSON [HTTP {response.status}]", status=response.status
            )
        if payload is None:
            payload = {
                "errcode": -1 if response.status >= 500 else response.status,
                "errmsg": response.text[:300],
            }
        _raise_old(payload, response.status)
        return payload

    return _with_token(ctx, send)
