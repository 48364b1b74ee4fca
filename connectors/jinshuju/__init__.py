"""The `jinshuju` connector (金数据): new form entries, by data push (数据推送) or by the V1 entries API.

The push needs no credentials at all; the poll uses the V1 API with the account's API key and
secret as HTTP Basic credentials (`https://jinshuju.net/api/v1`).
"""

from __future__ import annotations

import base64
from typing import Any

import requests

from connectors.jinshuju import client
from connectors.jinshuju.poll import NewEntryPoll
from connectors.jinshuju.push import NewEntry
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class KeySecretAuth(Auth):
    """The V1 API's Basic auth: API key as the user name, API secret as the password."""

    kind = "basic"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "api_key": {
                "type": "string",
                "title": "API key",
                "description": "Only needed for polling.",
                "x-secret": False,  # the Basic-auth user name beside api_secret, not a secret itself
            },
            "api_secret": secret_field("API secret"),
        }

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("api_key"):
            raw = f"{connection['api_key']}:{connection.get('api_secret') or ''}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")


class JinshujuConnector(Connector):
    id = "jinshuju"
    name = "金数据 Jinshuju"
    category = "forms"
    description = "Start recipes from 金数据 form entries: instantly by data push, or by polling the API."
    icon = "jinshuju"
    docs_url = "docs/connectors/jinshuju.md"
    base_url = "https://jinshuju.net"
    auth = KeySecretAuth()
    triggers = (NewEntry, NewEntryPoll)
    default_rate_limit = 2.0

    def needs_connection(self) -> bool:
        return False  # the data push works without credentials

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return client.parse_error(response)

    def test_connection(self, ctx: Context) -> str:
        forms = client.get(ctx, "/api/v1/forms")
        count = forms.get("count", len(forms.get("data") or []))
        return f"金数据: API key accepted ({count} forms visible)"


connector = JinshujuConnector()
