"""Typeform credentials: a personal access token, or OAuth2 tokens the hub keeps fresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from hub.sdk.auth import OAuth2, secret_field
from hub.sdk.context import Context
from hub.sdk.http import HttpClient

SCOPES = ["offline", "accounts:read", "forms:read", "responses:read", "webhooks:read", "webhooks:write"]


@dataclass
class TypeformAuth(OAuth2):
    """OAuth2 (authorization code) that also accepts a personal access token instead.

    With `personal_token` set, no OAuth fields are needed and no refresh is ever attempted."""

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        props = {
            "personal_token": secret_field(
                "Personal access token",
                "From Typeform: Account > Your settings > Personal tokens. Leave empty to use OAuth.",
            )
        }
        props.update(super().schema_properties())
        return props

    def required(self) -> list[str]:
        return []  # either personal_token, or client_id + client_secret and the consent flow

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("personal_token"):
            request.headers["Authorization"] = f"Bearer {connection['personal_token']}"
        else:
            super().apply(request, connection)


def client(ctx: Context) -> HttpClient:
    """The authenticated client; a personal token skips the SDK's OAuth refresh."""
    if not ctx.connection.get("personal_token"):
        return ctx.http_client()
    http = ctx.http_client(authenticate=False)
    connection = ctx.connection
    http.auth = lambda request: ctx.connector.auth.apply(request, connection)
    return http
