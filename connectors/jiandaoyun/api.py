"""Calls to the 简道云 open API v5: every call is a POST with a JSON body and the API key as a Bearer token.

Errors: HTTP 400 with `{code, msg}` for every API error (8303 = over the call-frequency limit, which
is worth waiting for), HTTP 429 for too many concurrent calls, 502 for the gateway. The connector's
`error_parser` puts the vendor's code and message into the exceptions the hub's client raises.
"""

from __future__ import annotations

from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, RetryableError
from hub.sdk.http import HttpResponse

VENDOR = "简道云"
RATE_LIMITED = 8303  # 超出请求频率限制 (answered as HTTP 400)
RATE_LIMIT_WAIT_S = 1.0  # limits are per second


def vendor_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """(msg, code) out of `{"code": 8303, "msg": "超出请求频率限制"}`; None for another shape."""
    try:
        body = response.json()
    except PermanentError:
        return None
    if isinstance(body, dict) and (body.get("msg") or body.get("code") is not None):
        code = body.get("code")
        return str(body.get("msg") or f"error {code}"), None if code is None else str(code)
    return None


def post(ctx: Context, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], HttpResponse]:
    """One POST; the JSON object answered and the response (its Date header is 简道云's clock)."""
    response = ctx.http.post(path, json=body, expected=[400])
    if response.status == 400:
        message, code = vendor_error(response) or (response.text[:300], None)
        text = f"{VENDOR}: {message}" + (f" (code {code})" if code else "") + " [HTTP 400]"
        if code == str(RATE_LIMITED):
            raise RetryableError(text, retry_after=RATE_LIMIT_WAIT_S, vendor_code=code, status=400)
        raise PermanentError(text, vendor_code=code, status=400)
    answer = response.json() if response.content else {}
    if not isinstance(answer, dict):
        raise PermanentError(f"{VENDOR}: POST {path} answered without a JSON object")
    return answer, response


def call(ctx: Context, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return post(ctx, path, body)[0]
