"""HubSpot credentials: an OAuth app (public, installed by consent) or a private app's access token."""

from __future__ import annotations

from typing import Any

import requests

from hub.sdk.auth import OAuth2, secret_field

SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
]


class HubSpotAuth(OAuth2):
    """OAuth2 (the hub refreshes tokens) unless the connection carries a private-app token.

    A private-app token never expires and cannot be refreshed, so when it is set it wins and the
    OAuth fields stay unused except `client_secret`, which still signs the app's webhooks.
    """

    def __init__(self) -> None:
        super().__init__(
            authorize_url="https://app.hubspot.com/oauth/authorize",
            token_url="https://api.hubapi.com/oauth/v1/token",  # noqa: S106 (a URL, not a secret)
            scopes=list(SCOPES),
            client_auth="body",
        )

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        props = super().schema_properties()
        props["private_app_token"] = secret_field(
            "Private app access token",
            "Settings > Integrations > Private Apps; use instead of the OAuth app fields.",
        )
        return props

    def required(self) -> list[str]:
        return []  # either the OAuth app fields or a private-app token

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        token = connection.get("private_app_token") or connection.get("access_token")
        if token:
            request.headers["Authorization"] = f"Bearer {token}"

    def can_refresh(self, connection: dict[str, Any]) -> bool:
        """Never for a private-app token: a 401 then carries HubSpot's own message to the person."""
        return not connection.get("private_app_token") and super().can_refresh(connection)
