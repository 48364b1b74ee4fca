"""Signed calls to 法大大 FASC OpenAPI 5.x with one cached app access token.

Every call is a POST of `application/x-www-form-urlencoded` with the business parameters as one
JSON string in the form field `bizContent`, signed over the X-FASC headers and that exact string
(signing.py). Answers are `{code, msg, data}`; "100000" is success. The token
(/service/get-access-token, 7200 s) sits in the shared TokenCache, so every worker and process uses
one; when FASC refuses it (HTTP 401), it is renewed once for everyone and the call repeated.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.fadada.signing import request_headers
from hub.sdk.apptoken import TokenRejected, app_token, app_token_key, with_app_token
from hub.sdk.auth import Auth, secret_field
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, parse_retry_after

VENDOR = "法大大"
SUCCESS = "100000"
TOKEN_MARGIN_S = 300


class FascAuth(Auth):
    """App ID + AppSecret (法大大 企业控制台 › 应用管理), traded for an access token (see api.py)."""

    kind = "fadada_app"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "app_id": {
                "type": "string",
                "title": "App ID (应用ID)",
                "description": "法大大 企业控制台 › 应用管理 › your app.",
            },
            "app_secret": secret_field("AppSecret (应用密钥)", "Shown once when the app is created."),
        }

    def required(self) -> list[str]:
        return ["app_id", "app_secret"]


def _credentials(ctx: Context) -> tuple[str, str]:
    app_id, secret = ctx.connection.get("app_id"), ctx.connection.get("app_secret")
    if not app_id or not secret:
        raise AuthError(f"{VENDOR}: the connection needs an App ID and AppSecret")
    return str(app_id), str(secret)


def raise_for_answer(payload: Any, response: HttpResponse) -> None:
    code = str(payload.get("code")) if isinstance(payload, dict) and payload.get("code") is not None else None
    if response.status < 400 and code == SUCCESS:
        return
    if response.status == 401:
        raise TokenRejected(str(payload.get("msg") if isinstance(payload, dict) else response.status))
    message = (
        str(payload.get("msg") or code)
        if isinstance(payload, dict) and (payload.get("msg") or code)
        else " ".join(response.text.split())[:300] or f"HTTP {response.status}"
    )
    request_id = response.headers.get("X-FASC-Request-Id")
    text = f"{VENDOR}: {message}" + (f" (code {code})" if code else "")
    if response.status >= 400:
        text += f" [HTTP {response.status}]"
    kwargs: dict[str, Any] = {
        "vendor_code": code,
        "status": response.status,
        "details": {"request_id": request_id},
    }
    if response.status == 429 or response.status >= 500:
        raise RetryableError(
            text, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    if response.status == 403:
        raise AuthError(text, **kwargs)
    raise PermanentError(text, **kwargs)


def _post(ctx: Context, path: str, biz: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
    app_id, secret = _credentials(ctx)
    biz_content = json.dumps(biz, ensure_ascii=False, separators=(",", ":")) if biz is not None else None
    headers = request_headers(app_id, secret, biz_content, access_token=token)
    response = ctx.http_client(authenticate=False).post(
        path,
        data={"bizContent": biz_content} if biz_content is not None else None,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        raise_for_status=False,
    )
    payload: Any = None
    if response.content:
        try:
            payload = response.json()
        except PermanentError:
            payload = None
    raise_for_answer(payload, response)
    data = payload.get("data")
    return data if isinstance(data, dict) else {}


def token_cache_key(ctx: Context) -> str:
    return app_token_key("fadada", ctx.connection.get("app_id"), ctx.connection.get("app_secret"))


def fetch_token(ctx: Context) -> tuple[str, float]:
    """POST /service/get-access-token (no bizContent) -> (accessToken, seconds to keep it)."""
    try:
        data = _post(ctx, "/service/get-access-token", None, None)
    except TokenRejected as exc:
        raise AuthError(f"{VENDOR}: App ID or AppSecret refused: {exc}") from exc
    except PermanentError as exc:
        if isinstance(exc, AuthError):
            raise
        raise AuthError(
            f"{VENDOR}: access token refused: {exc.message}", vendor_code=exc.vendor_code
        ) from exc
    token = data.get("accessToken")
    if not token:
        raise PermanentError(f"{VENDOR}: get-access-token answered without an accessToken")
    return str(token), max(float(data.get("expiresIn") or 7200) - TOKEN_MARGIN_S, 60.0)


def access_token(ctx: Context) -> str:
    """The cached token (what a worker uses before a call)."""
    return app_token(ctx, token_cache_key(ctx), lambda: fetch_token(ctx))


def call(ctx: Context, path: str, biz: dict[str, Any]) -> dict[str, Any]:
    """One business call; returns `data` of a successful answer."""
    return with_app_token(
        ctx,
        token_cache_key(ctx),
        lambda: fetch_token(ctx),
        lambda token: _post(ctx, path, biz, token),
        vendor=VENDOR,
    )
