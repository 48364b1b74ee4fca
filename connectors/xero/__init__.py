"""The `xero` connector: Accounting API contacts, invoices and payments; invoice poll and webhooks."""

from __future__ import annotations

from connectors.xero.actions import CreateContact, CreateInvoice, CreatePayment, FindContact
from connectors.xero.api import call, parse_error, rate_limit_wait
from connectors.xero.auth import XeroAuth
from connectors.xero.triggers import InvoiceChanged, Webhook
from hub.sdk.auth import secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class XeroConnector(Connector):
    id = "xero"
    name = "Xero"
    category = "finance"
    description = (
        "Xero accounting: find and create contacts, raise invoices, record payments; invoice changes."
    )
    icon = "xero"
    docs_url = "docs/connectors/xero.md"
    base_url = "https://api.xero.com/api.xro/2.0"
    auth = XeroAuth()
    connection_fields = {
        "tenant_id": {
            "type": "string",
            "title": "Tenant ID (organisation)",
            "description": "From GET https://api.xero.com/connections after consent (tenantId).",
        },
        "webhook_key": secret_field("Webhook key", "Developer portal > your app > Webhooks (for triggers)."),
    }
    connection_required = ["tenant_id"]
    triggers = (InvoiceChanged, Webhook)
    actions = (FindContact, CreateContact, CreateInvoice, CreatePayment)
    default_rate_limit = 1.0  # 60 calls per minute per organisation
    default_concurrency = 5  # Xero refuses a sixth concurrent call

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)

    def retry_after(self, response: HttpResponse) -> float | None:
        return rate_limit_wait(response)

    def test_connection(self, ctx: Context) -> str:
        answer = call(ctx, "GET", "/Organisation")
        names = [o.get("Name") for o in answer.get("Organisations") or []]
        return f"Xero answered for organisation {names[0] if names else ctx.connection.get('tenant_id')}"


connector = XeroConnector()
