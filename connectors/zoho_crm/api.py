"""Zoho CRM's data centres, its OAuth flavour and the calls every action makes.

A Zoho account lives in one data centre (US, EU, IN, AU, JP, CA, SA, UK, CN); its tokens come from
that centre's accounts server and its API from that centre's API domain (the token answer names it
as `api_domain`, kept on the connection). Requests carry `Authorization: Zoho-oauthtoken <token>`;
the hub refreshes the token under its row lock, and a 401 INVALID_TOKEN is retried once with a
forced refresh (the SDK's AuthError handling).
"""

from __future__ import annotations

import re
from typing import Any

import requests

from hub.sdk.auth import OAuth2
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpClient, HttpResponse
from hub.sdk.oauth import ensure_token

VERSION = "v7"
# data centre -> (accounts server, API domain)
DATA_CENTRES = {
    "us": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    "uk": ("https://accounts.zoho.uk", "https://www.zohoapis.uk"),
    "cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
}
DEFAULT_API = DATA_CENTRES["us"][1]
SCOPES = [
    "ZohoCRM.modules.ALL",
    "ZohoCRM.coql.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.settings.fields.READ",
]
MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
RECORD_ID = re.compile(r"^[0-9]{1,30}$")


def data_centre(connection: dict[str, Any]) -> tuple[str, str]:
    name = str(connection.get("data_center") or "us")
    if name not in DATA_CENTRES:
        raise PermanentError(f"unknown Zoho data centre {name!r}; one of {', '.join(DATA_CENTRES)}")
    return DATA_CENTRES[name]


class ZohoOAuth(OAuth2):
    """OAuth 2.0 (code grant, offline) against the data centre's accounts server."""

    def accounts_server(self, connection: dict[str, Any]) -> str:
        return str(connection.get("accounts_url") or data_centre(connection)[0]).rstrip("/")

    def token_endpoint(self, connection: dict[str, Any]) -> str:
        return str(connection.get("token_url") or f"{self.accounts_server(connection)}/oauth/v2/token")

    def authorize_endpoint(self, connection: dict[str, Any]) -> str:
        return str(connection.get("authorize_url") or f"{self.accounts_server(connection)}/oauth/v2/auth")

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("access_token"):
            request.headers["Authorization"] = f"Zoho-oauthtoken {connection['access_token']}"


def api_base(ctx: Context) -> str:
    """An explicit base URL (a proxy, a stand-in), else the token answer's api_domain, else the DC's."""
    explicit = str(ctx.connection.get("base_url") or "").rstrip("/")
    if explicit and explicit != DEFAULT_API:
        return explicit
    domain = str(ctx.connection.get("api_domain") or "").rstrip("/")
    return domain or data_centre(ctx.connection)[1]


def module_path(module: str, *rest: str) -> str:
    if not MODULE.match(module):
        raise PermanentError(f"not a Zoho module API name: {module!r}")
    for part in rest:
        if not RECORD_ID.match(part) and part not in ("upsert", "search", "Notes"):
            raise PermanentError(f"not a Zoho record id: {part!r}")
    return "/".join([f"/crm/{VERSION}", module, *rest])


def client(ctx: Context) -> HttpClient:
    """The authenticated client on the API domain, chosen after a due refresh (whose answer names it)."""
    ensure_token(ctx)
    return ctx.http_client(base_url=api_base(ctx))


def call(
    ctx: Context, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
) -> dict[str, Any]:
    """One call to the API domain; the JSON answer ({} for 204 No Content)."""
    response = client(ctx).request(method, path, params=params, json=json)
    if response.status == 204 or not response.content:
        return {}
    payload = response.json()
    return payload if isinstance(payload, dict) else {"data": payload}


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """Zoho's `{code, message, details, status: "error"}`, also inside `data[0]` of record writes."""
    try:
        payload = response.json() if response.content else None
    except PermanentError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("data"), list) and payload["data"]:
        payload = payload["data"][0]
    if not isinstance(payload, dict) or not payload.get("code"):
        return None
    message = str(payload.get("message") or payload["code"])
    details = payload.get("details")
    if isinstance(details, dict) and details.get("api_name"):
        message += f" (field {details['api_name']})"
    return message, str(payload["code"])


def _refusal(index: int, row: dict[str, Any]) -> str:
    details = row.get("details")
    details = details if isinstance(details, dict) else {}
    field = f", field {details['api_name']}" if details.get("api_name") else ""
    return f"record {index}: {row.get('message') or row.get('code')} ({row.get('code')}{field})"


def record_results(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-record answers of a write; PermanentError naming each record Zoho refused."""
    rows = [r for r in payload.get("data") or [] if isinstance(r, dict)]
    refused = [(i, r) for i, r in enumerate(rows) if str(r.get("status") or "").lower() != "success"]
    if refused:
        problems = "; ".join(_refusal(i, r) for i, r in refused)
        raise PermanentError(
            f"Zoho CRM refused {len(refused)} of {len(rows)} records: {problems}",
            vendor_code=str(refused[0][1].get("code")),
        )
    return [
        {
            "id": str((r.get("details") or {}).get("id") or ""),
            "action": r.get("action"),
            "duplicate_field": r.get("duplicate_field"),
        }
        for r in rows
    ]
