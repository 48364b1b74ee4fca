"""Xero OAuth 2.0: the hub refreshes tokens; every call also names the organisation (tenant)."""

from __future__ import annotations

from typing import Any

import requests

from hub.sdk.auth import OAuth2

SCOPES = ["openid", "profile", "email", "offline_access", "accounting.transactions", "accounting.contacts"]


class XeroAuth(OAuth2):
    """Bearer token plus the `xero-tenant-id` header of the organisation this connection works in."""

    def __init__(self) -> None:
        super().__init__(
            authorize_url="https://login.xero.com/identity/connect/authorize",
            token_url="https://identity.xero.com/connect/token",  # noqa: S106 (a URL, not a secret)
            scopes=list(SCOPES),
            client_auth="basic",  # Xero's token endpoint takes the client credentials as HTTP Basic
        )

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        super().apply(request, connection)
        if connection.get("tenant_id"):
            request.headers["xero-tenant-id"] = str(connection["tenant_id"])
