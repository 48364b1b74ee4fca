"""Signed calls to the e签宝 v3 open API and the mapping of its `{code, message, data}` answers."""

from __future__ import annotations

from typing import Any, cast

import requests

from connectors.esign.signing import signed_headers
from hub.sdk.auth import Auth, secret_field
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, parse_retry_after

VENDOR = "e签宝"
RETRYABLE_CODES = {"429", "503"}  # gateway codes mirrored in the body
AUTH_CODES = {"401", "403"}


class TsignAuth(Auth):
    """App ID + AppSecret; every request is signed over its method, body digest, path and query."""

    kind = "esign_signature"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "app_id": {"type": "string", "title": "App ID (应用ID)"},
            "app_secret": secret_field("AppSecret (应用密钥)"),
        }

    def required(self) -> list[str]:
        return ["app_id", "app_secret"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        app_id, secret = connection.get("app_id"), connection.get("app_secret")
        if not app_id or not secret:
            return
        raw = request.body
        # This connector sends only `json=` bodies, which requests prepares as bytes (or None), never streams.
        body = raw.encode("utf-8") if isinstance(raw, str) else cast(bytes | None, raw)
        headers = signed_headers(str(app_id), str(secret), request.method or "GET", request.url or "", body)
        if not body:
            headers.pop("Content-MD5")  # nothing to digest: the header is signed as empty and not sent
        request.headers.update(headers)


def raise_for_answer(payload: Any, response: HttpResponse) -> None:
    """Raise when the answer is not `code == 0` (e签宝 reports most errors in HTTP 200)."""
    code = payload.get("code") if isinstance(payload, dict) else None
    if response.status < 400 and code in (0, "0"):
        return
    if isinstance(payload, dict) and (payload.get("message") or code is not None):
        message = str(payload.get("message") or payload.get("msg") or code)
    else:
        message = " ".join(response.text.split())[:300] or f"HTTP {response.status}"
    code_text = None if code is None else str(code)
    text = f"{VENDOR}: {message}" + (f" (code {code_text})" if code_text else "")
    if response.status >= 400:
        text += f" [HTTP {response.status}]"
    kwargs: dict[str, Any] = {"vendor_code": code_text, "status": response.status}
    if response.status == 429 or response.status >= 500 or code_text in RETRYABLE_CODES:
        raise RetryableError(
            text, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    if response.status in (401, 403) or code_text in AUTH_CODES:
        raise AuthError(text, **kwargs)
    raise PermanentError(text, **kwargs)


def call(ctx: Context, method: str, path: str, *, json: Any = None) -> Any:
    """One signed call; returns `data` of a successful answer."""
    if not ctx.connection.get("app_id") or not ctx.connection.get("app_secret"):
        raise AuthError(f"{VENDOR}: the connection needs an App ID and AppSecret")
    response = ctx.http_client().request(method, path, json=json, raise_for_status=False)
    payload: Any = None
    if response.content:
        try:
            payload = response.json()
        except PermanentError:
            payload = None
    raise_for_answer(payload, response)
    return payload.get("data")
