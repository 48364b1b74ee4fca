"""Calls to the Accounting API: JSON in and out, Xero's error bodies and rate limits, its dates."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse, parse_retry_after

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
IDEMPOTENCY_KEY_MAX = 128


def error_body(response: HttpResponse) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = response.json()
    except Exception:  # Xero answers some errors (404, plain 401) in text
        return {}
    return body if isinstance(body, dict) else {}


def validation_messages(body: dict[str, Any]) -> list[str]:
    """Every Elements[].ValidationErrors[].Message, also those nested in line items or payments."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for error in node.get("ValidationErrors") or []:
                if isinstance(error, dict) and error.get("Message") and error["Message"] not in found:
                    found.append(str(error["Message"]))
            for key, value in node.items():
                if key != "ValidationErrors":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body.get("Elements") or [])
    return found


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    if response.status == 429:  # X-Rate-Limit-Problem names the limit: minute, day or appminute
        problem = response.headers.get("X-Rate-Limit-Problem") or "rate"
        return f"{problem} limit reached", f"rate_limit_{problem}"
    body = error_body(response)
    if body.get("Type") or body.get("ErrorNumber") is not None:  # the Accounting API's Error schema
        message = str(body.get("Message") or "error")
        details = validation_messages(body)
        if details:
            message = f"{message}: {'; '.join(details)}"
        return message, str(body.get("Type") or body.get("ErrorNumber"))
    if body.get("Title") or body.get("Detail"):  # problem+json from the identity layer (401/403)
        return f"{body.get('Title') or 'error'}: {body.get('Detail') or ''}".rstrip(": "), body.get("Detail")
    text = response.text.strip()
    if text.startswith("oauth_problem="):
        return text, text.split("&")[0].split("=", 1)[1]
    return None


def rate_limit_wait(response: HttpResponse) -> float | None:
    """A 429 always waits: Retry-After when Xero sends it (it does), else a minute."""
    if response.status != 429:
        return None
    wait = parse_retry_after(response.headers.get("Retry-After"))
    return 60.0 if wait is None else wait


def idempotency_key(ctx: Context) -> str | None:
    """The step's key, hashed when it is longer than the 128 characters Xero keeps."""
    key = ctx.idempotency_key
    if key and len(key) > IDEMPOTENCY_KEY_MAX:
        return hashlib.sha256(key.encode()).hexdigest()
    return key


def call(
    ctx: Context,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    idempotent: bool = False,
) -> dict[str, Any]:
    return exchange(ctx, method, path, json=json, params=params, headers=headers, idempotent=idempotent)[0]


def exchange(
    ctx: Context,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    idempotent: bool = False,
) -> tuple[dict[str, Any], HttpResponse]:
    """The answer's JSON object and the response itself (whose Date header is Xero's clock)."""
    if not ctx.connection.get("tenant_id"):
        raise PermanentError("Xero: the connection has no tenant_id (the organisation to work in)")
    response = ctx.http_client().request(
        method,
        path,
        json=json,
        params=params,
        headers={"Accept": "application/json", **(headers or {})},
        idempotency_key=idempotency_key(ctx) if idempotent else None,
    )
    body = response.json() if response.content else {}
    if not isinstance(body, dict):
        raise PermanentError(f"Xero: unexpected answer to {method} {path}: not a JSON object")
    return body, response


def money(value: Any, what: str) -> Decimal:
    """An exact amount from a Decimal, an int or a numeric string (floats go through their repr)."""
    if isinstance(value, bool) or value is None or value == "":
        raise PermanentError(f"Xero: {what} must be a number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise PermanentError(f"Xero: {what} is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise PermanentError(f"Xero: {what} is not a finite number")
    return amount


def parse_date(value: Any) -> datetime | None:
    """Xero's '/Date(1541176290160+0000)/' (and plain ISO) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    text = str(value)
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: Any) -> str | None:
    parsed = parse_date(value)
    return parsed.isoformat(timespec="milliseconds").replace("+00:00", "Z") if parsed else None


def quoted(value: Any) -> str:
    """A string literal for Xero's `where` filter."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
