"""The `quickbooks` connector: QuickBooks Online customers and invoices; changes by CDC or webhook."""

from __future__ import annotations

from connectors.quickbooks.actions import CreateCustomer, CreateInvoice, FindCustomer, SendInvoice
from connectors.quickbooks.api import DEFAULT_MINOR_VERSION, call, company_path, parse_error
from connectors.quickbooks.triggers import EntityChanged, Webhook
from hub.sdk.auth import OAuth2, secret_field
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class QuickBooksConnector(Connector):
    id = "quickbooks"
    name = "QuickBooks"
    category = "finance"
    description = "Create customers and invoices in QuickBooks Online, email invoices, react to changes."
    icon = "quickbooks"
    docs_url = "docs/connectors/quickbooks.md"
    base_url = "https://quickbooks.api.intuit.com"  # sandbox: https://sandbox-quickbooks.api.intuit.com
    auth = OAuth2(
        authorize_url="https://appcenter.intuit.com/connect/oauth2",
        token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",  # noqa: S106 (a URL)
        scopes=["com.intuit.quickbooks.accounting"],
        client_auth="basic",
        callback_fields={"realmId": "realm_id"},  # Intuit names the company in the consent redirect
    )
    connection_fields = {
        "realm_id": {
            "type": "string",
            "title": "Company ID (realm ID)",
            "pattern": "^[0-9]+$",
            "description": (
                "Stored from the consent redirect's realmId when you connect through OAuth; "
                "also in Settings > Account and settings."
            ),
        },
        "minor_version": {"type": "string", "title": "API minor version", "default": DEFAULT_MINOR_VERSION},
        "webhook_verifier_token": secret_field(
            "Webhook verifier token",
            "Intuit developer portal > your app > Webhooks; for the webhook trigger.",
        ),
    }
    triggers = (EntityChanged, Webhook)
    actions = (CreateCustomer, FindCustomer, CreateInvoice, SendInvoice)
    default_rate_limit = 8.0  # about 500 requests a minute per company
    default_concurrency = 10

    def test_connection(self, ctx: Context) -> str:
        info = call(ctx, "GET", company_path(ctx, "companyinfo", str(ctx.connection.get("realm_id"))))
        company = (info.get("CompanyInfo") or {}).get("CompanyName") or "the company"
        return f"connected to QuickBooks: {company}"

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)


connector = QuickBooksConnector()
