"""One place that sends CRM v3 calls; auth, rate-limit waits and errors come from the connector's hooks."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse

OBJECT_TYPE = {"type": "string", "minLength": 1, "title": "Object type", "description": "contacts, deals, …"}


def segment(value: Any, what: str) -> str:
    """A path segment, refused when empty so `/objects/deals/` never becomes a list call."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise PermanentError(f"HubSpot: {what} is empty")
    return quote(text, safe="")


def call(
    ctx: Context, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return exchange(ctx, method, path, json=json, params=params)[0]


def exchange(
    ctx: Context, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
) -> tuple[dict[str, Any], HttpResponse]:
    """The answer's JSON object and the response itself (whose Date header is HubSpot's clock)."""
    response = ctx.http_client().request(
        method, path, json=json, params=params, headers={"Accept": "application/json"}
    )
    if not response.content:
        return {}, response
    body = response.json()
    if not isinstance(body, dict):
        raise PermanentError(f"HubSpot: unexpected answer to {method} {path}: not a JSON object")
    return body, response


def search(ctx: Context, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
    return search_exchange(ctx, object_type, body)[0]


def search_exchange(
    ctx: Context, object_type: str, body: dict[str, Any]
) -> tuple[dict[str, Any], HttpResponse]:
    path = f"/crm/v3/objects/{segment(object_type, 'object type')}/search"
    return exchange(ctx, "POST", path, json=body)


def next_after(page: dict[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None
