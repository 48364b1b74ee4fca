"""The `typeform` connector: start recipes from form responses, by webhook or by polling."""

from __future__ import annotations

from connectors.typeform.auth import SCOPES, TypeformAuth, client
from connectors.typeform.triggers import FormResponse, NewResponse
from hub.sdk.auth import secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class TypeformConnector(Connector):
    id = "typeform"
    name = "Typeform"
    category = "forms"
    description = "Start recipes from Typeform responses, instantly through a webhook or by polling."
    icon = "typeform"
    docs_url = "docs/connectors/typeform.md"
    base_url = "https://api.typeform.com"
    auth = TypeformAuth(
        authorize_url="https://api.typeform.com/oauth/authorize",
        token_url="https://api.typeform.com/oauth/token",  # noqa: S106 (a URL)
        scopes=SCOPES,
    )
    connection_fields = {
        "webhook_secret": secret_field(
            "Webhook secret",
            "Only for webhooks you add by hand in Typeform (or ones the hub registered before it gave "
            "each webhook its own secret). Webhooks the hub registers get their own secret.",
        )
    }
    triggers = (FormResponse, NewResponse)
    default_rate_limit = 2.0  # Typeform allows 2 requests per second per account

    def test_connection(self, ctx: Context) -> str:
        me = client(ctx).get("/me").json()
        return f"connected to Typeform as {me.get('alias') or me.get('email') or 'your account'}"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        """Typeform errors: {"code": "FORM_NOT_FOUND", "description": "...", "details": [...]}."""
        if not response.is_json:
            return None
        body = response.json()
        if not isinstance(body, dict) or not (body.get("description") or body.get("code")):
            return None
        message = str(body.get("description") or body.get("code"))
        described = [d.get("description") for d in body.get("details") or [] if isinstance(d, dict)]
        details = [str(d) for d in described if d]
        if details:
            message += ": " + "; ".join(details)
        return message, body.get("code")


connector = TypeformConnector()
