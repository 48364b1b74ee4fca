"""Auth declarations: each kind contributes fields to the connection form and signs outbound requests."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import requests


def secret_field(title: str, description: str = "") -> dict[str, Any]:
    """A write-only connection field: stored in the vault, never shown, logged or exported."""
    spec: dict[str, Any] = {"type": "string", "title": title, "writeOnly": True, "x-secret": True}
    if description:
        spec["description"] = description
    return spec


class Auth:
    """Base auth kind: no credentials."""

    kind = "none"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {}

    def required(self) -> list[str]:
        return []

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        """Add the credentials of `connection` to an outbound request."""

    def can_refresh(self, connection: dict[str, Any]) -> bool:
        """Whether the hub can get new credentials for `connection` by itself (an OAuth2 refresh).

        False means a refused credential is final: the vendor's own 401 message reaches the person."""
        return False

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind}


NoAuth = Auth


@dataclass
class ApiKeyAuth(Auth):
    """A key sent in a header (or query parameter)."""

    header: str = "X-API-Key"
    query_param: str | None = None
    prefix: str = ""
    kind = "api_key"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {"api_key": secret_field("API key")}

    def required(self) -> list[str]:
        return ["api_key"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        key = connection.get("api_key")
        if not key:
            return
        if self.query_param:
            request.prepare_url(request.url or "", {self.query_param: key})
        else:
            request.headers[self.header] = f"{self.prefix}{key}"

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "header": self.header, "query_param": self.query_param}


@dataclass
class BasicAuth(Auth):
    """HTTP Basic with a username and a secret password."""

    kind = "basic"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "username": {"type": "string", "title": "Username"},
            "password": secret_field("Password"),
        }

    def required(self) -> list[str]:
        return ["username", "password"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        user = connection.get("username")
        if user is None:
            return
        raw = f"{user}:{connection.get('password') or ''}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass
class BearerAuth(Auth):
    """A static bearer token."""

    kind = "bearer"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {"token": secret_field("Token")}

    def required(self) -> list[str]:
        return ["token"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("token"):
            request.headers["Authorization"] = f"Bearer {connection['token']}"


@dataclass
class OAuth2(Auth):
    """OAuth 2.0: authorization-code (a person consents) or client-credentials (server to server).

    The hub owns the token lifecycle: it stores `access_token`, `refresh_token` and `expires_at`
    in the vault and refreshes them before a call when they are about to expire.
    """

    token_url: str = ""
    authorize_url: str = ""
    grant: str = "authorization_code"  # or "client_credentials"
    scopes: list[str] = field(default_factory=list)
    scope_separator: str = " "
    client_auth: str = "body"  # "body" (client_id/secret in the form) or "basic"
    extra_authorize_params: dict[str, str] = field(default_factory=dict)
    # Extra fields of the token answer kept on the connection (Salesforce's `instance_url`).
    token_fields: tuple[str, ...] = ()
    # Query parameters of the consent redirect kept on the connection, by name: {"realmId": "realm_id"}.
    callback_fields: dict[str, str] = field(default_factory=dict)
    kind = "oauth2"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        props: dict[str, dict[str, Any]] = {
            "client_id": {"type": "string", "title": "Client ID"},
            "client_secret": secret_field("Client secret"),
            "access_token": secret_field("Access token", "Filled in by the hub after consent."),
            "refresh_token": secret_field("Refresh token", "Filled in by the hub after consent."),
            "expires_at": {
                "type": "number",
                "title": "Access token expiry (epoch seconds)",
                "readOnly": True,
            },
        }
        for name in (*self.token_fields, *self.callback_fields.values()):
            # Declared so a person can also set them by hand; a connector's own field spec wins.
            props[name] = {"type": "string", "title": name, "description": "Filled in after consent."}
        if self.scopes:
            props["scopes"] = {
                "type": "string",
                "title": "Scopes",
                "default": self.scope_separator.join(self.scopes),
            }
        return props

    def required(self) -> list[str]:
        return ["client_id", "client_secret"]

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        if connection.get("access_token"):
            request.headers["Authorization"] = f"Bearer {connection['access_token']}"

    def token_endpoint(self, connection: dict[str, Any]) -> str:
        """Where tokens are asked for: the connection's `token_url`, else the declared one.

        Override when the token host depends on the connection (Zoho's data centres)."""
        return str(connection.get("token_url") or self.token_url)

    def authorize_endpoint(self, connection: dict[str, Any]) -> str:
        """The consent page: the connection's `authorize_url`, else the declared one."""
        return str(connection.get("authorize_url") or self.authorize_url)

    def can_refresh(self, connection: dict[str, Any]) -> bool:
        """Client credentials can always ask again; the code grant needs a stored refresh token."""
        if self.grant == "client_credentials":
            return True
        return bool(connection.get("refresh_token"))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "grant": self.grant,
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
            "scopes": self.scopes,
        }
