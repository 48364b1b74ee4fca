"""The `google_forms` connector: new responses of a Google Form, through the Forms API v1.

Google Forms has no webhooks outside Pub/Sub watches, so the trigger polls. A connection signs in
either as a person (OAuth2 consent, refreshed by the hub) or as a service account (a JSON key;
the form must be shared with the service account's e-mail, or domain-wide delegation used).
"""

from __future__ import annotations

from connectors.google_forms import api, service_account
from connectors.google_forms.auth import GoogleAuth, scopes_of
from connectors.google_forms.responses import NewResponse
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError
from hub.sdk.http import HttpResponse
from hub.sdk.oauth import ensure_token


class GoogleFormsConnector(Connector):
    id = "google_forms"
    name = "Google Forms"
    category = "forms"
    description = "Start recipes from new Google Forms responses."
    icon = "google_forms"
    docs_url = "docs/connectors/google_forms.md"
    base_url = "https://forms.googleapis.com"
    auth = GoogleAuth()
    triggers = (NewResponse,)
    default_rate_limit = 5.0

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return api.parse_error(response)

    def test_connection(self, ctx: Context) -> str:
        if (ctx.connection.get("auth_type") or "oauth2") == "service_account":
            key = service_account.load_key(ctx.connection.get("service_account_json"))
            service_account.access_token(ctx, scopes_of(ctx.connection, self.auth), fresh=True)
            acting = f" acting as {ctx.connection['subject']}" if ctx.connection.get("subject") else ""
            return f"Google Forms: service account {key['client_email']}{acting} obtained an access token"
        if not ctx.connection.get("refresh_token"):
            raise AuthError("Google Forms: not authorized yet; sign in with Google to finish the connection")
        ensure_token(ctx, force=True)
        return "Google Forms: the Google sign-in is valid (access token refreshed)"


connector = GoogleFormsConnector()
