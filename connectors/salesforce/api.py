"""Salesforce REST calls: the instance URL and API version of the connection, and the few answers
the generic status mapping gets wrong for Salesforce (403 limits and permissions are not auth)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, ConnectorError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse
from hub.sdk.oauth import ensure_token

DEFAULT_VERSION = "60.0"
# REQUEST_LIMIT_EXCEEDED covers the rolling 24-hour API limit and the concurrent long-request limit;
# Salesforce sends no Retry-After, so wait a while rather than burn the remaining budget.
LIMIT_RETRY_S = 600.0
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SESSION_CODES = {"INVALID_SESSION_ID", "INVALID_AUTH_HEADER"}


def version(ctx: Context) -> str:
    raw = str(ctx.connection.get("api_version") or DEFAULT_VERSION).strip().lstrip("vV")
    if not re.fullmatch(r"\d+\.\d", raw):
        raise PermanentError(f"Salesforce: api_version must look like 60.0, not {raw!r}")
    return raw


def data_path(ctx: Context, rest: str) -> str:
    return f"/services/data/v{version(ctx)}/{rest.lstrip('/')}"


def name(value: str, what: str) -> str:
    """An sObject or field API name, checked so it cannot change a URL path or a SOQL statement."""
    if not isinstance(value, str) or not NAME.match(value):
        raise PermanentError(f"Salesforce: {what} {value!r} is not an API name (letters, digits, _)")
    return value


def sobject_path(ctx: Context, sobject: str, *parts: str) -> str:
    tail = "".join(f"/{quote(str(p), safe='')}" for p in parts)
    return data_path(ctx, f"sobjects/{name(sobject, 'sObject')}{tail}")


def instance_url(ctx: Context) -> str:
    url = ctx.connection.get("instance_url")
    if not url:
        raise PermanentError(
            "Salesforce: the connection has no instance_url; connect through OAuth (which stores it) "
            "or set it, e.g. https://acme.my.salesforce.com"
        )
    return str(url).rstrip("/")


def call(ctx: Context, method: str, path: str, **kwargs: Any) -> HttpResponse:
    """One REST call on the connection's instance, with Salesforce's error codes mapped."""
    ensure_token(ctx)  # a refresh answer may bring a new instance_url (token_fields)
    http = ctx.http_client(base_url=instance_url(ctx))
    try:
        return http.request(method, path, **kwargs)
    except ConnectorError as exc:
        raise remap(exc) from exc


def remap(exc: ConnectorError) -> ConnectorError:
    code = exc.vendor_code
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RetryableError(
            exc.message, retry_after=LIMIT_RETRY_S, vendor_code=code, status=exc.status, details=exc.details
        )
    if isinstance(exc, AuthError) and exc.status == 403 and code not in SESSION_CODES:
        # 403 from Salesforce is about permissions on a record or feature: refreshing will not help
        return PermanentError(exc.message, vendor_code=code, status=exc.status, details=exc.details)
    return exc


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """[{"message", "errorCode", "fields"}] (REST) or {"error", "error_description"} (OAuth)."""
    if not response.is_json or not response.content:
        return None
    body = response.json()
    if isinstance(body, dict) and body.get("error"):
        return str(body.get("error_description") or body["error"]), str(body["error"])
    if not isinstance(body, list) or not body or not isinstance(body[0], dict):
        return None
    messages = []
    for error in body:
        if not isinstance(error, dict):
            continue
        text = str(error.get("message") or error.get("errorCode") or "error")
        fields = [str(f) for f in error.get("fields") or []]
        missing = [f for f in fields if f not in text]
        if missing:
            text += f" (fields: {', '.join(missing)})"
        messages.append(text)
    return "; ".join(messages), body[0].get("errorCode")
