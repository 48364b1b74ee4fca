"""Google auth for a connection: a person's OAuth2 consent, or a service account's JSON key.

It extends the SDK's OAuth2 declaration, so the hub's consent flow and token refresh work for
`auth_type: oauth2`; a `service_account` connection is authenticated by this package instead
(see service_account.py), and never reaches the SDK's refresh-token logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from hub.sdk.auth import OAuth2, secret_field

RESPONSES_SCOPE = "https://www.googleapis.com/auth/forms.responses.readonly"
BODY_SCOPE = "https://www.googleapis.com/auth/forms.body.readonly"


@dataclass
class GoogleAuth(OAuth2):
    """OAuth2 authorization code with offline access, or a service account (JWT bearer)."""

    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
    authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    scopes: list[str] = field(default_factory=lambda: [RESPONSES_SCOPE, BODY_SCOPE])
    extra_authorize_params: dict[str, str] = field(
        default_factory=lambda: {
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
        }
    )
    kind = "oauth2"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        props = {
            "auth_type": {
                "enum": ["oauth2", "service_account"],
                "default": "oauth2",
                "title": "Sign in with",
                "description": "oauth2: a person consents; service_account: a JSON key.",
            },
            **super().schema_properties(),
            "service_account_json": secret_field(
                "Service account key (JSON)", "The whole JSON key file from the Google Cloud console."
            ),
            "subject": {
                "type": "string",
                "title": "Act as user (optional)",
                "description": "Domain-wide delegation: the Workspace user whose forms to read.",
            },
        }
        return props

    def required(self) -> list[str]:
        return []  # which fields are needed depends on auth_type; checked when used

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if (connection.get("auth_type") or "oauth2") == "oauth2":
            super().apply(request, connection)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kinds": ["oauth2", "service_account"]}


def scopes_of(connection: dict[str, Any], auth: GoogleAuth) -> str:
    return str(connection.get("scopes") or " ".join(auth.scopes))
