"""The `hubspot` connector: CRM v3 contacts, deals, tasks and search; signed webhooks and a poll."""

from __future__ import annotations

from connectors.hubspot.actions import CreateTask, GetObject, Search, UpdateDeal, UpsertContact
from connectors.hubspot.api import call
from connectors.hubspot.auth import HubSpotAuth
from connectors.hubspot.errors import parse_error, rate_limit_wait
from connectors.hubspot.triggers import ObjectChanged, ObjectChangedPoll
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.http import HttpResponse


class HubSpotConnector(Connector):
    id = "hubspot"
    name = "HubSpot"
    category = "crm"
    description = "HubSpot CRM: upsert contacts, update deals, create tasks, search; react to record changes."
    icon = "hubspot"
    docs_url = "docs/connectors/hubspot.md"
    base_url = "https://api.hubapi.com"
    auth = HubSpotAuth()
    triggers = (ObjectChanged, ObjectChangedPoll)
    actions = (UpsertContact, UpdateDeal, CreateTask, Search, GetObject)
    default_rate_limit = 10.0  # private apps get 100-190 calls per 10 s; search is ~5 per second
    default_concurrency = 4

    def error_parser(self, response: HttpResponse) -> tuple[str, str | None] | None:
        return parse_error(response)

    def retry_after(self, response: HttpResponse) -> float | None:
        return rate_limit_wait(response)

    def test_connection(self, ctx: Context) -> str:
        call(ctx, "GET", "/crm/v3/objects/contacts", params={"limit": 1})
        return "HubSpot answered: the token can read contacts"


connector = HubSpotConnector()
