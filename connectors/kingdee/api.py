"""Kingdee WebAPI calls: one POST per service, answers checked for ResponseStatus, lost sessions renewed."""

from __future__ import annotations

from typing import Any

from connectors.kingdee.auth import service_path, session
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

SESSION_LOST = 1
# MsgCode: 1 session lost, 2 no permission, 7 licence, 15 admin login forbidden;
# 13 network-control lock (someone else holds the bill), 14 call-frequency limit.
_AUTH_CODES = {SESSION_LOST, 2, 7, 15}  # a session lost right after a fresh login too
_RETRY_CODES = {13, 14}


def response_status(answer: Any) -> dict[str, Any] | None:
    """Result.ResponseStatus of a Save/Submit/Audit answer, or of a failed ExecuteBillQuery ([[{Result}]])."""
    node = answer
    while isinstance(node, list) and node:
        node = node[0]
    if isinstance(node, dict):
        result = node.get("Result")
        if isinstance(result, dict) and isinstance(result.get("ResponseStatus"), dict):
            return result["ResponseStatus"]
        if isinstance(node.get("ResponseStatus"), dict):
            return node["ResponseStatus"]
    return None


def failure(status: dict[str, Any], operation: str) -> Exception:
    errors = [e for e in status.get("Errors") or [] if isinstance(e, dict)]
    parts = []
    for error in errors:
        where = f"{error['FieldName']}: " if error.get("FieldName") else ""
        row = f" (row {error['DIndex']})" if error.get("DIndex") not in (None, 0) else ""
        parts.append(f"{where}{error.get('Message')}{row}")
    code = status.get("MsgCode")
    summary = "; ".join(parts) or "failed"
    text = f"Kingdee {operation}: {summary} (MsgCode {code}, ErrorCode {status.get('ErrorCode')})"
    vendor_code = str(code) if code is not None else None
    if code in _AUTH_CODES:
        return AuthError(text, vendor_code=vendor_code)
    if code in _RETRY_CODES:
        return RetryableError(text, vendor_code=vendor_code, retry_after=60.0 if code == 14 else None)
    return PermanentError(text, vendor_code=vendor_code)


def _send(ctx: Context, service: str, body: dict[str, Any], cookie: str) -> tuple[Any, HttpResponse]:
    response = ctx.http_client(authenticate=False).post(
        service_path(service), json=body, headers={"Cookie": cookie, "Accept": "application/json"}
    )
    return response.json(), response


def call(ctx: Context, service: str, body: dict[str, Any], operation: str) -> Any:
    return exchange(ctx, service, body, operation)[0]


def exchange(ctx: Context, service: str, body: dict[str, Any], operation: str) -> tuple[Any, HttpResponse]:
    """POST one service; when the server has lost the session, log in again once and repeat the call.

    Returns the answer and the response (whose Date header is the Kingdee server's clock)."""
    if not ctx.base_url:
        raise PermanentError("Kingdee: the connection needs base_url, e.g. http://erp.example.com/k3cloud")
    cookie = session(ctx)
    answer, response = _send(ctx, service, body, cookie)
    status = response_status(answer)
    if status is not None and not status.get("IsSuccess", True) and status.get("MsgCode") == SESSION_LOST:
        # One new login for every worker that lost this same session.
        answer, response = _send(ctx, service, body, session(ctx, stale=cookie))
        status = response_status(answer)
    if status is None or status.get("IsSuccess", True):
        return answer, response
    raise failure(status, operation)
