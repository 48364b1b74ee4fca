"""HubSpot error bodies and rate-limit waits, read by the SDK's HTTP client through the connector's hooks."""

from __future__ import annotations

from typing import Any

from hub.sdk.http import HttpResponse, parse_retry_after


def error_body(response: HttpResponse) -> dict[str, Any]:
    if not response.is_json or not response.content:
        return {}
    try:
        body = response.json()
    except Exception:  # an HTML error page from a proxy
        return {}
    return body if isinstance(body, dict) else {}


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """`{status, message, correlationId, category, errors[]}` -> (message with correlation id, category)."""
    body = error_body(response)
    message = body.get("message")
    if not message:
        return None
    found = [e.get("message") for e in body.get("errors") or [] if isinstance(e, dict) and e.get("message")]
    details = [d for d in found if d and d not in message]
    text = str(message) + ("; " + "; ".join(details) if details else "")
    if body.get("correlationId"):
        text += f" (correlationId {body['correlationId']})"
    # A 429 names the limit it hit in policyName (TEN_SECONDLY_ROLLING, DAILY, ...).
    return text, body.get("policyName") or body.get("category") or body.get("errorType")


def rate_limit_wait(response: HttpResponse) -> float | None:
    """Seconds to wait after a 429: Retry-After, else the rolling window, else until the daily reset."""
    if response.status != 429:
        return None  # a 5xx: the SDK reads Retry-After or backs off
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    body = error_body(response)
    if str(body.get("policyName") or "").upper() == "DAILY":
        return 3600.0  # the daily quota resets at midnight in the account's time zone; probe hourly
    interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    try:
        return max(1.0, float(interval or 10000) / 1000)
    except ValueError:
        return 10.0
