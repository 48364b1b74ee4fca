"""Zoho CRM (every data centre, .com.cn included): records, COQL, notes, instant notifications."""

from __future__ import annotations

from connectors.zoho_crm.actions import (
    AddNote,
    CoqlQuery,
    GetRecord,
    SearchRecords,
    UpdateRecord,
    UpsertRecords,
)
from connectors.zoho_crm.api import DATA_CENTRES, DEFAULT_API, SCOPES, VERSION, ZohoOAuth, call, parse_error
from connectors.zoho_crm.triggers import RecordChanged, RecordNotification
from hub.sdk.auth import secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class ZohoCrmConnector(Connector):
    id = "zoho_crm"
    name = "Zoho CRM"
    category = "crm"
    description = "Upsert, update and search Zoho CRM records, run COQL, add notes; start recipes on changes."
    icon = "zoho_crm"
    docs_url = "docs/connectors/zoho_crm.md"
    base_url = DEFAULT_API
    auth = ZohoOAuth(
        authorize_url=f"{DATA_CENTRES['us'][0]}/oauth/v2/auth",
        token_url=f"{DATA_CENTRES['us'][0]}/oauth/v2/token",
        scopes=SCOPES,
        scope_separator=",",
        extra_authorize_params={"access_type": "offline", "prompt": "consent"},
        token_fields=("api_domain",),
    )
    connection_fields = {
        "client_id": {
            "type": "string",
            "title": "Client ID",
            "description": "Zoho API console of your data centre › Server-based Applications.",
        },
        "client_secret": secret_field("Client Secret", "The same client's Client Secret."),
        "scopes": {
            "type": "string",
            "title": "Scopes",
            "default": ",".join(SCOPES),
            "description": "Comma-separated Zoho OAuth scopes (the default covers every trigger and action).",
        },
        "data_center": {
            "x-host": True,
            "type": "string",
            "enum": list(DATA_CENTRES),
            "default": "us",
            "title": "Data centre",
            "description": "Where your Zoho account lives, by the domain you sign in at: zoho.com = us, "
            "zoho.eu = eu, zoho.com.cn = cn, zohocloud.ca = ca. It picks the accounts server and API host.",
        },
        "api_domain": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "API domain",
            "description": "Filled in from Zoho's token answer (e.g. https://www.zohoapis.eu); "
            "leave it empty otherwise.",
        },
        "accounts_url": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "Accounts server override",
            "description": "Only for a proxy or a test stand-in; empty means the data centre's "
            "accounts server.",
        },
    }
    triggers = (RecordNotification, RecordChanged)
    actions = (UpsertRecords, UpdateRecord, GetRecord, SearchRecords, CoqlQuery, AddNote)
    default_concurrency = 5

    def test_connection(self, ctx: Context) -> str:
        answer = call(ctx, "GET", f"/crm/{VERSION}/org")
        org = (answer.get("org") or [{}])[0]
        return f"connected to Zoho CRM org {org.get('company_name') or org.get('id') or ''}".strip()

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)


connector = ZohoCrmConnector()
