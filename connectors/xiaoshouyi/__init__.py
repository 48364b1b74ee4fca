"""The `xiaoshouyi` connector: 销售易 Neocrm objects over its REST API (third-party sources, see the docs)."""

from __future__ import annotations

from typing import Any

from connectors.xiaoshouyi.actions import CreateObject, GetObject, Query, UpdateObject
from connectors.xiaoshouyi.api import TOKEN_URL, access_token
from connectors.xiaoshouyi.poll import ObjectChanged
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class PasswordGrantAuth(Auth):
    """OAuth 2.0 password grant: a connected app's client id/secret and an integration user's login."""

    kind = "oauth2_password"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "client_id": {
                "type": "string",
                "title": "Client ID",
                "description": "The connected app's client_id.",
            },
            "client_secret": secret_field("Client secret", "The connected app's client_secret."),
            "redirect_uri": {
                "type": "string",
                "title": "Redirect URI",
                "description": "The redirect URI registered with the app (sent with the token request).",
            },
            "username": {
                "type": "string",
                "title": "User name",
                "description": "The integration user's login.",
            },
            "password": secret_field("Password", "The integration user's password."),
            "security_token": secret_field(
                "Security token", "The user's security token (安全令牌); appended to the password."
            ),
            "token_url": {
                "type": "string",
                "format": "uri",
                "x-host": True,
                "default": TOKEN_URL,
                "title": "Token URL",
                "description": "Tenants on another pod use theirs, e.g. https://login-p10.xiaoshouyi.com/auc/oauth2/token.",
            },
        }

    def required(self) -> list[str]:
        return ["client_id", "client_secret", "username", "password"]


class XiaoshouyiConnector(Connector):
    id = "xiaoshouyi"
    name = "销售易 Neocrm"
    category = "crm"
    description = (
        "销售易 Neocrm: create, update, get and query accounts, opportunities, leads and custom objects."
    )
    icon = "xiaoshouyi"
    docs_url = "docs/connectors/xiaoshouyi.md"
    base_url = "https://api.xiaoshouyi.com"
    auth = PasswordGrantAuth()
    triggers = (ObjectChanged,)
    actions = (CreateObject, UpdateObject, GetObject, Query)
    default_rate_limit = 5.0

    def test_connection(self, ctx: Context) -> str:
        access_token(ctx, fresh=True)
        return f"销售易 issued an access token for {ctx.connection.get('username')}"


connector = XiaoshouyiConnector()
