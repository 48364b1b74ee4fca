"""QuickBooks Online Accounting API calls: company path, minorversion, and Fault answers mapped.

Faults look like {"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}, "time"}
(authentication faults use lower-case keys: {"fault": {"error": [{"message", "detail", "code"}]}})."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hub.sdk.context import Context
from hub.sdk.errors import ConnectorError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

DEFAULT_MINOR_VERSION = "75"
THROTTLE_RETRY_S = 60.0  # limits are per minute per realm
THROTTLE_CODES = {"3001", "003001"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9:_.-]{1,50}$")


def realm(ctx: Context) -> str:
    value = str(ctx.connection.get("realm_id") or "").strip()
    if not value.isdigit():
        raise PermanentError(
            "QuickBooks: the connection needs the company's realm ID (digits); connect through OAuth, "
            "which stores it, or set it by hand"
        )
    return value


def company_path(ctx: Context, *parts: str) -> str:
    tail = "/".join(quote(str(p), safe="") for p in parts)
    return f"/v3/company/{realm(ctx)}/{tail}"


def request_id(key: str | None) -> str | None:
    """QuickBooks' `requestid` (at most 50 characters) from the step's idempotency key."""
    if not key:
        return None
    if _REQUEST_ID.match(key):
        return key
    import hashlib

    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:50]


def call(
    ctx: Context, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """One call with minorversion and Accept: application/json; the parsed JSON answer."""
    query = {
        **(params or {}),
        "minorversion": str(ctx.connection.get("minor_version") or DEFAULT_MINOR_VERSION),
    }
    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    try:
        response = ctx.http_client().request(method, path, params=query, headers=headers, **kwargs)
    except ConnectorError as exc:
        raise remap(exc) from exc
    body = response.json() if response.content else {}
    if isinstance(body, dict) and (body.get("Fault") or body.get("fault")):
        parsed = fault(body) or ("unknown fault", None)
        raise remap(PermanentError(f"QuickBooks: {parsed[0]}", vendor_code=parsed[1], status=response.status))
    return body if isinstance(body, dict) else {}


def remap(exc: ConnectorError) -> ConnectorError:
    text = exc.message or ""
    throttled = exc.vendor_code in THROTTLE_CODES or "ThrottleExceeded" in text
    if throttled and not isinstance(exc, RetryableError):
        return RetryableError(
            exc.message, retry_after=THROTTLE_RETRY_S, vendor_code=exc.vendor_code, status=exc.status
        )
    if throttled and isinstance(exc, RetryableError) and exc.retry_after is None:
        exc.retry_after = THROTTLE_RETRY_S
    return exc


def fault(body: Any) -> tuple[str, str | None] | None:
    """(message, code) of a Fault, every error joined: 'Message: Detail'."""
    if not isinstance(body, dict):
        return None
    node = body.get("Fault") or body.get("fault")
    if not isinstance(node, dict):
        return None
    errors = node.get("Error") or node.get("error") or []
    parts: list[str] = []
    code = None
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        message = str(error.get("Message") or error.get("message") or "").strip()
        detail = str(error.get("Detail") or error.get("detail") or "").strip()
        element = error.get("element")
        text = message if not detail or detail == message else f"{message}: {detail}" if message else detail
        if element:
            text += f" (field {element})"
        parts.append(text)
        code = code or error.get("code")
    kind = node.get("type")
    message = "; ".join(p for p in parts if p) or str(kind or "error")
    if kind == "ThrottleExceeded" and "ThrottleExceeded" not in message:
        message = f"ThrottleExceeded: {message}"
    return message, None if code is None else str(code)


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    if not response.is_json or not response.content:
        return None
    return fault(response.json())
