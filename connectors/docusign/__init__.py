"""The `docusign` connector: eSignature REST v2.1 envelopes and Connect status events."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from connectors.docusign.actions import GetEnvelope, SendEnvelope, VoidEnvelope
from connectors.docusign.api import parse_error
from connectors.docusign.triggers import EnvelopeChanges, EnvelopeStatus
from hub.sdk.auth import OAuth2, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError
from hub.sdk.http import HttpResponse

DEMO_OAUTH = "https://account-d.docusign.com"


class DocuSignConnector(Connector):
    id = "docusign"
    name = "DocuSign"
    category = "esignature"
    description = "Send DocuSign envelopes for signature and follow their status."
    icon = "docusign"
    docs_url = "docs/connectors/docusign.md"
    base_url = "https://demo.docusign.net/restapi"
    auth = OAuth2(
        authorize_url=f"{DEMO_OAUTH}/oauth/auth",
        token_url=f"{DEMO_OAUTH}/oauth/token",
        scopes=["signature"],
        client_auth="basic",
    )
    connection_fields = {
        "account_id": {
            "type": "string",
            "title": "API account id",
            "description": "Filled in by Test connection from /oauth/userinfo when empty.",
        },
        "base_uri": {
            "x-host": True,
            "type": "string",
            "title": "Account base URI",
            "description": "e.g. https://na3.docusign.net; filled in by Test connection. Wins over base_url.",
        },
        "authorize_url": {
            "x-host": True,
            "type": "string",
            "title": "OAuth authorize URL",
            "default": f"{DEMO_OAUTH}/oauth/auth",
            "description": "Production: https://account.docusign.com/oauth/auth",
        },
        "token_url": {
            "x-host": True,
            "type": "string",
            "title": "OAuth token URL",
            "default": f"{DEMO_OAUTH}/oauth/token",
            "description": "Production: https://account.docusign.com/oauth/token",
        },
        "connect_hmac_keys": secret_field(
            "Connect HMAC key(s)", "Settings > Connect > Connect Keys; several keys separated by commas."
        ),
    }
    triggers = (EnvelopeStatus, EnvelopeChanges)
    actions = (SendEnvelope, GetEnvelope, VoidEnvelope)
    default_concurrency = 5

    def test_connection(self, ctx: Context) -> str:
        """Read /oauth/userinfo; fill in account_id and base_uri (the default account's) when empty."""
        token_url = str(ctx.connection.get("token_url") or self.auth.token_url)
        parts = urlsplit(token_url)
        userinfo = urlunsplit((parts.scheme, parts.netloc, "/oauth/userinfo", "", ""))
        info = ctx.http_client(base_url="").get(userinfo).json()
        accounts = info.get("accounts") or []
        wanted = ctx.connection.get("account_id")
        chosen = next((a for a in accounts if wanted and a.get("account_id") == wanted), None)
        chosen = chosen or next((a for a in accounts if a.get("is_default")), None)
        if chosen is None:
            raise AuthError(f"DocuSign: user {info.get('email')} has no account {wanted or ''}".rstrip())
        updates: dict[str, Any] = {}
        if not wanted:
            updates["account_id"] = chosen["account_id"]
        if not ctx.connection.get("base_uri") and chosen.get("base_uri"):
            updates["base_uri"] = chosen["base_uri"]
        if updates:
            ctx.save_connection(updates)
        name = chosen.get("account_name") or chosen["account_id"]
        return f"connected as {info.get('email')} to account {name}"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)


connector = DocuSignConnector()
