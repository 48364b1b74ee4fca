"""One signed Dysmsapi call and the mapping of Alibaba's answer codes to the hub's error types.

Alibaba answers business errors with HTTP 200 and `Code != "OK"`, and gateway errors (bad
signature, throttling) with 4xx/5xx and the same `{Code, Message, RequestId}` shape, so both
paths go through `raise_for_code`.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.aliyun_sms.signing import form_body, signed_params
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

API_VERSION = "2017-05-25"
VENDOR = "Alibaba Cloud SMS"

# Passing conditions: flow control, throttling, a busy or failing gateway, a reused nonce.
RETRYABLE_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "ServiceUnavailable",
    "InternalError",
    "SignatureNonceUsed",
    "InvalidTimeStamp.Expired",
}
AUTH_CODES = {
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "isp.RAM_PERMISSION_DENY",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "Forbidden.RAM",
    "Forbidden.AccessKeyDisabled",
}


def flow_control_wait(message: str) -> float:
    """Seconds until per-number flow control lifts: Alibaba names the window (minute/hour/day)."""
    if re.search(r"天级|day", message, re.I):
        return 86400.0
    if re.search(r"小时级|hour", message, re.I):
        return 3600.0
    return 60.0


def raise_for_code(payload: Any, status: int) -> None:
    """Raise the hub error matching an answer whose Code is not OK (or whose HTTP status failed)."""
    if not isinstance(payload, dict):
        raise PermanentError(f"{VENDOR}: unexpected answer [HTTP {status}]", status=status)
    code = str(payload.get("Code") or "")
    if code == "OK" and status < 400:
        return
    message = str(payload.get("Message") or code or "error")
    request_id = payload.get("RequestId")
    text = f"{VENDOR}: {message} (code {code or status})" + (f" [request {request_id}]" if request_id else "")
    details = {"request_id": request_id, "recommend": payload.get("Recommend")}
    if code in RETRYABLE_CODES or code.startswith("Throttling") or status == 429 or status >= 500:
        wait = flow_control_wait(message) if code == "isv.BUSINESS_LIMIT_CONTROL" else None
        raise RetryableError(text, retry_after=wait, vendor_code=code or None, status=status, details=details)
    if code in AUTH_CODES or status in (401, 403):
        raise AuthError(text, vendor_code=code or None, status=status, details=details)
    raise PermanentError(text, vendor_code=code or None, status=status, details=details)


def call(ctx: Context, action: str, params: dict[str, str]) -> dict[str, Any]:
    """POST one RPC action (all parameters signed, in a form body) and return the JSON answer."""
    return exchange(ctx, action, params)[0]


def exchange(ctx: Context, action: str, params: dict[str, str]) -> tuple[dict[str, Any], HttpResponse]:
    """As `call`, with the response too (its Date header is Alibaba Cloud's clock)."""
    key_id = str(ctx.connection.get("access_key_id") or "")
    secret = str(ctx.connection.get("access_key_secret") or "")
    if not key_id or not secret:
        raise AuthError(f"{VENDOR}: the connection needs an AccessKey ID and secret")
    signed = signed_params(
        access_key_id=key_id, access_key_secret=secret, action=action, version=API_VERSION, params=params
    )
    response = ctx.http_client().post(
        "/",
        content=form_body(signed),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        raise_for_status=False,
    )
    if not response.content.strip() or (response.status >= 400 and not response.is_json):
        raise_for_code(
            {"Code": "", "Message": response.text[:300] or f"HTTP {response.status}"}, response.status
        )
    payload = response.json()
    raise_for_code(payload, response.status)
    return payload, response
