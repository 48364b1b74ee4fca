"""The `salesforce` connector: create, update, upsert and query records; poll for changed records."""

from __future__ import annotations

from connectors.salesforce.actions import CreateRecord, Query, UpdateRecord, UpsertRecord
from connectors.salesforce.api import DEFAULT_VERSION, call, data_path, parse_error
from connectors.salesforce.trigger import RecordChanged
from hub.sdk.auth import OAuth2
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse

LOGIN = "https://login.salesforce.com/services/oauth2"


class SalesforceConnector(Connector):
    id = "salesforce"
    name = "Salesforce"
    category = "crm"
    description = "Create, update and upsert Salesforce records, run SOQL, and start recipes on changes."
    icon = "salesforce"
    docs_url = "docs/connectors/salesforce.md"
    base_url = None  # every org has its own instance URL, a connection field
    auth = OAuth2(
        authorize_url=f"{LOGIN}/authorize",
        token_url=f"{LOGIN}/token",
        scopes=["api", "refresh_token"],
        token_fields=("instance_url",),  # the org's API host, in every code and refresh answer
    )
    connection_fields = {
        "instance_url": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "Instance URL",
            "description": (
                "Your org's My Domain URL, e.g. https://acme.my.salesforce.com. Filled in from the "
                "token answer when you connect through OAuth; set it by hand otherwise."
            ),
        },
        "api_version": {"type": "string", "title": "API version", "default": DEFAULT_VERSION},
        "authorize_url": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "Authorize URL",
            "default": f"{LOGIN}/authorize",
            "description": "Sandboxes: https://test.salesforce.com/services/oauth2/authorize",
        },
        "token_url": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "Token URL",
            "default": f"{LOGIN}/token",
            "description": "Sandboxes: https://test.salesforce.com/services/oauth2/token",
        },
    }
    triggers = (RecordChanged,)
    actions = (CreateRecord, UpdateRecord, UpsertRecord, Query)
    default_concurrency = 10

    def test_connection(self, ctx: Context) -> str:
        limits = call(ctx, "GET", data_path(ctx, "limits")).json()
        daily = limits.get("DailyApiRequests") or {}
        return f"connected to Salesforce; API requests left today: {daily.get('Remaining', 'unknown')}"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)


connector = SalesforceConnector()
