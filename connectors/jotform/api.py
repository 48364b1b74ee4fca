"""Calls to the Jotform REST API and the mapping of its answers to the hub's error types.

Every answer is wrapped as `{responseCode, message, content, resultSet?, limit-left?, duration}`.
An error may arrive with a matching HTTP status or inside a 200 answer, so both are read. The
daily call quota ("API-Limit exceeded") resets at midnight US Eastern time: such refusals are
retryable, with the wait until that reset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse, parse_retry_after

QUOTA_RESET_ZONE = ZoneInfo("America/New_York")


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """Seconds until the next midnight US Eastern, when Jotform resets the daily call count."""
    local = (now or datetime.now(QUOTA_RESET_ZONE)).astimezone(QUOTA_RESET_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), QUOTA_RESET_ZONE)
    return max(60.0, (midnight - local).total_seconds() + 60.0)


def _body(response: HttpResponse) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except PermanentError:
        return None


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """(message, responseCode) from a Jotform answer, for the SDK's error messages."""
    body = _body(response)
    if not isinstance(body, dict):
        return None
    message = str(body.get("message") or body.get("error") or "").strip()
    code = body.get("responseCode")
    return (message or f"HTTP {response.status}", None if code is None else str(code))


def _is_quota(status: int, message: str) -> bool:
    lowered = message.lower()
    return status == 429 or ("limit" in lowered and "exceed" in lowered)


def raise_for_answer(response: HttpResponse, what: str) -> dict[str, Any]:
    """The answer's body when it says success; otherwise the matching hub error."""
    body = _body(response)
    code = body.get("responseCode") if isinstance(body, dict) else None
    try:
        effective = int(code) if code is not None and response.status < 400 else response.status
    except (TypeError, ValueError):
        effective = response.status
    if 200 <= effective < 300:
        if not isinstance(body, dict):
            raise PermanentError(f"Jotform: {what} answered without a JSON object [HTTP {response.status}]")
        return body
    message = (parse_error(response) or (response.text[:200].strip() or "error", None))[0]
    text = f"Jotform: {what}: {message} (code {effective}) [HTTP {response.status}]"
    kwargs: dict[str, Any] = {"vendor_code": str(effective), "status": response.status}
    if _is_quota(effective, message):
        wait = parse_retry_after(response.headers.get("Retry-After")) or seconds_until_quota_reset()
        raise RetryableError(
            text + "; the daily API quota resets at midnight US Eastern", retry_after=wait, **kwargs
        )
    if effective >= 500:
        raise RetryableError(
            text, retry_after=parse_retry_after(response.headers.get("Retry-After")), **kwargs
        )
    if effective in (401, 403):
        raise AuthError(
            text + "; check the API key and that the base URL matches the account "
            "(api, eu-api or hipaa-api.jotform.com, or your Enterprise domain)",
            **kwargs,
        )
    if effective == 404:
        raise PermanentError(text + "; check the form ID", **kwargs)
    raise PermanentError(text, **kwargs)


def call(
    ctx: Context,
    method: str,
    path: str,
    what: str,
    *,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One API call; returns the whole answer (`content`, `resultSet`, ...) or raises."""
    response = ctx.http_client().request(method, path, params=params, data=data, raise_for_status=False)
    return raise_for_answer(response, what)
