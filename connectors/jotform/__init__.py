"""The `jotform` connector: new form submissions, by webhook (registered through the API) or by poll.

API: `https://api.jotform.com` (EU Safe forms `https://eu-api.jotform.com`, HIPAA
`https://hipaa-api.jotform.com`, Enterprise `https://<your-domain>/API`), the key in the `APIKEY`
header so it never travels in URLs.
"""

from __future__ import annotations

from typing import Any

from connectors.jotform import api
from connectors.jotform.poll import NewSubmissionPoll
from connectors.jotform.webhook import NewSubmission
from hub.sdk.auth import ApiKeyAuth
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class JotformConnector(Connector):
    id = "jotform"
    name = "Jotform"
    category = "forms"
    description = "Start recipes from Jotform submissions, instantly by webhook or by polling."
    icon = "jotform"
    docs_url = "docs/connectors/jotform.md"
    base_url = "https://api.jotform.com"
    auth = ApiKeyAuth(header="APIKEY")
    connection_fields = {
        "timezone": {
            "type": "string",
            "title": "Account time zone",
            "default": "America/New_York",
            "description": "The time zone of the Jotform account's dates; used only to start a backfill.",
        }
    }
    triggers = (NewSubmission, NewSubmissionPoll)
    default_rate_limit = 5.0

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return api.parse_error(response)

    def test_connection(self, ctx: Context) -> str:
        content: Any = api.call(ctx, "GET", "/user", "checking the API key").get("content")
        profile = content if isinstance(content, dict) else {}
        who = profile.get("username") or profile.get("email") or "the account"
        return f"Jotform: API key accepted for {who}"


connector = JotformConnector()
