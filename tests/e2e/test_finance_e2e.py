"""Finance flows through a real `hub serve`: HubSpot, Xero and Kingdee stand-ins on 127.0.0.1 that check
every request the way the vendors document them (auth headers, paths, filters, exact bodies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.harness import HubProcess, connect, finished, run_detail, runs, wait_until
from tests.e2e.standins import Kingdee, Reply, Route, Seen, StandIn, bearer

pytestmark = pytest.mark.e2e

# ---------------------------------------------------------------- HubSpot stand-in
HS_TOKEN = "hs-access-token"
HS_SECRET = "hs-client-secret-0f3b"
DEALS = {
    "7001": {"dealname": "Acme annual licence", "amount": "12000.50", "deal_currency_code": "NZD",
             "billing_email": "ap@acme.example", "billing_company": "Acme Ltd"},
    "7002": {"dealname": "Globex pilot", "amount": "999.99", "deal_currency_code": "NZD",
             "billing_email": "finance@globex.example", "billing_company": "Globex Corporation"},
    "7003": {"dealname": "Initech", "amount": "10", "deal_currency_code": "NZD",
             "billing_email": "x@initech.example", "billing_company": "Initech"},
}  # fmt: skip


def hubspot() -> StandIn:
    def get_deal(seen: Seen, deal_id: str) -> Reply:
        refused = bearer(seen, HS_TOKEN)
        if refused:
            return refused
        wanted = seen.query.get("properties", "").split(",")
        props = {k: v for k, v in DEALS[deal_id].items() if k in wanted}
        return 200, {"id": deal_id, "properties": {**props, "hs_object_id": deal_id}, "archived": False}, {}

    def patch_deal(seen: Seen, deal_id: str) -> Reply:
        refused = bearer(seen, HS_TOKEN)
        if refused:
            return refused
        if seen.headers.get("Content-Type") != "application/json" or set(seen.json()) != {"properties"}:
            return (
                400,
                {"status": "error", "message": "Invalid input JSON", "category": "VALIDATION_ERROR"},
                {},
            )
        return (
            200,
            {"id": deal_id, "properties": seen.json()["properties"], "updatedAt": "2026-11-23T10:00:00Z"},
            {},
        )

    routes: dict[tuple[str, str], Route] = {}
    for deal_id in DEALS:
        routes[("GET", f"/crm/v3/objects/deals/{deal_id}")] = lambda s, d=deal_id: get_deal(s, d)
        routes[("PATCH", f"/crm/v3/objects/deals/{deal_id}")] = lambda s, d=deal_id: patch_deal(s, d)
    return StandIn(routes)


# ---------------------------------------------------------------- Xero stand-in
XERO_TOKEN = "xero-access-token"
TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


def xero() -> StandIn:
    acme = {
        "ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51",
        "Name": "Acme Ltd",
        "EmailAddress": "ap@acme.example",
        "ContactStatus": "ACTIVE",
    }
    contacts = {"ap@acme.example": acme}
    by_key: dict[str, Reply] = {}
    numbers = iter(range(1, 100))

    def guard(seen: Seen, write: bool) -> Reply | None:
        if seen.headers.get("Authorization") != f"Bearer {XERO_TOKEN}":
            return 401, {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"}, {}
        if seen.headers.get("xero-tenant-id") != TENANT:
            return 403, {"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"}, {}
        if seen.headers.get("Accept") != "application/json":
            return 406, b"<Response>XML by default</Response>", {"Content-Type": "text/xml"}
        if write and not seen.headers.get("Idempotency-Key"):
            return 400, {"ErrorNumber": 10, "Type": "ValidationException", "Message": "test wants a key"}, {}
        return None

    def find(seen: Seen) -> Reply:
        refused = guard(seen, write=False)
        if refused:
            return refused
        where = seen.query.get("where", "")
        assert where.startswith('EmailAddress=="') and where.endswith('"'), where
        found = contacts.get(where[len('EmailAddress=="') : -1])
        return 200, {"Status": "OK", "Contacts": [found] if found else []}, {}

    def create_contact(seen: Seen) -> Reply:
        refused = guard(seen, write=True)
        if refused:
            return refused
        key = seen.headers["Idempotency-Key"]
        if key not in by_key:
            (contact,) = seen.json()["Contacts"]
            made = {
                **contact,
                "ContactID": f"00000000-0000-0000-0000-{len(contacts):012d}",
                "ContactStatus": "ACTIVE",
            }
            contacts[contact["EmailAddress"]] = made
            by_key[key] = (200, {"Status": "OK", "Contacts": [made]}, {})
        return by_key[key]

    def create_invoice(seen: Seen) -> Reply:
        refused = guard(seen, write=True)
        if refused:
            return refused
        key = seen.headers["Idempotency-Key"]
        if key not in by_key:
            (invoice,) = seen.json()["Invoices"]
            total = sum(line["Quantity"] * line["UnitAmount"] for line in invoice["LineItems"])
            made = {
                **invoice,
                "InvoiceID": f"inv-{key}",
                "InvoiceNumber": f"INV-{next(numbers):04d}",
                "Total": total,
                "AmountDue": total,
                "UpdatedDateUTC": "/Date(1763892000000+0000)/",
            }
            by_key[key] = (200, {"Status": "OK", "Invoices": [made]}, {})
        return by_key[key]

    return StandIn(
        {
            ("GET", "/api.xro/2.0/Contacts"): find,
            ("PUT", "/api.xro/2.0/Contacts"): create_contact,
            ("PUT", "/api.xro/2.0/Invoices"): create_invoice,
        }
    )


# ---------------------------------------------------------------- hub helpers
@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, dict[str, str]]]:
    process = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    process.start()
    try:
        yield process, process.admin_headers()
    finally:
        process.stop()


def hubspot_connection(standin: StandIn) -> dict[str, Any]:
    """OAuth2 tokens stored straight into the connection, as the consent callback would leave them."""
    return {
        "base_url": standin.url,
        "client_id": "hs-client-id",
        "client_secret": HS_SECRET,
        "access_token": HS_TOKEN,
        "refresh_token": "hs-refresh-token",
        "expires_at": int(time.time()) + 3600,
    }


# ---------------------------------------------------------------- flow 1
def sign_v3(method: str, url: str, body: bytes, timestamp: str) -> str:
    source = method.encode() + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(HS_SECRET.encode(), source, hashlib.sha256).digest()).decode()


def deliver(
    url: str, body: bytes, *, timestamp: int | None = None, secret_ok: bool = True
) -> requests.Response:
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    signature = sign_v3("POST", url, body, ts) if secret_ok else sign_v3("POST", url, body + b"x", ts)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": ts,
    }
    return requests.post(url, data=body, headers=headers, timeout=10)


WON_DEAL_RECIPE: dict[str, Any] = {
    "name": "Won deal -> Xero invoice -> deal",
    "trigger": {
        "connector": "hubspot",
        "trigger": "object_changed",
        "connection": "hubspot-main",
        "config": {"subscription_types": ["deal.propertyChange"], "property_names": ["dealstage"]},
    },
    "filter": "{{ event.propertyValue == 'closedwon' }}",
    "steps": [
        {
            "id": "deal",
            "connector": "hubspot",
            "action": "get_object",
            "connection": "hubspot-main",
            "input": {
                "object_type": "deals",
                "object_id": "{{ event.objectId }}",
                "properties": [
                    "dealname",
                    "amount",
                    "deal_currency_code",
                    "billing_email",
                    "billing_company",
                ],
            },
        },
        {
            "id": "find",
            "connector": "xero",
            "action": "find_contact",
            "connection": "xero-main",
            "input": {"email": "{{ steps.deal.properties.billing_email }}"},
        },
        {
            "id": "create",
            "connector": "xero",
            "action": "create_contact",
            "connection": "xero-main",
            "when": "{{ not steps.find.found }}",
            "input": {
                "name": "{{ steps.deal.properties.billing_company }}",
                "email": "{{ steps.deal.properties.billing_email }}",
            },
        },
        {
            "id": "invoice",
            "connector": "xero",
            "action": "create_invoice",
            "connection": "xero-main",
            "input": {
                "contact_id": "{{ steps.find.contact_id or steps.create.contact_id }}",
                "reference": "HubSpot deal {{ event.objectId }}",
                "status": "AUTHORISED",
                "currency_code": "{{ steps.deal.properties.deal_currency_code }}",
                "line_items": [
                    {
                        "description": "{{ steps.deal.properties.dealname }}",
                        "quantity": 1,
                        "unit_amount": "{{ steps.deal.properties.amount }}",
                        "account_code": "200",
                    }
                ],
            },
        },
        {
            "id": "mark",
            "connector": "hubspot",
            "action": "update_deal",
            "connection": "hubspot-main",
            "input": {
                "deal_id": "{{ event.objectId }}",
                "properties": {"xero_invoice_number": "{{ steps.invoice.invoice_number }}"},
            },
        },
    ],
}


def event(event_id: int, deal_id: int, name: str, value: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 2400,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1763892000000 + event_id,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal_id,
        "propertyName": name,
        "propertyValue": value,
        "changeSource": "CRM",
    }


def test_won_deal_becomes_a_xero_invoice_and_the_number_goes_back_to_hubspot(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    hs, xr = hubspot(), xero()
    try:
        connect(process, headers, "hubspot-main", "hubspot", hubspot_connection(hs))
        connect(
            process,
            headers,
            "xero-main",
            "xero",
            {
                "base_url": f"{xr.url}/api.xro/2.0",
                "client_id": "xero-client-id",
                "client_secret": "xero-client-secret",
                "access_token": XERO_TOKEN,
                "refresh_token": "xero-refresh-token",
                "expires_at": int(time.time()) + 1800,
                "tenant_id": TENANT,
            },
        )
        created = requests.post(
            f"{process.url}/api/v1/recipes", json=WON_DEAL_RECIPE, headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        hook = created.json()["webhook_url"]
        batch = json.dumps(
            [
                event(1, 7001, "dealstage", "closedwon"),  # customer already in Xero
                event(2, 7002, "dealstage", "closedwon"),  # customer must be created first
                event(3, 7003, "dealstage", "closedlost"),  # filtered by the recipe
                event(4, 7001, "amount", "12000.50"),  # not a dealstage change: dropped by the trigger
            ]
        ).encode()
        assert deliver(hook, batch, secret_ok=False).status_code == 401
        stale = int((time.time() - 400) * 1000)
        assert deliver(hook, batch, timestamp=stale).status_code == 401  # a replay outside five minutes
        first = deliver(hook, batch)
        assert first.status_code == 202, first.text
        assert len(first.json()["event_ids"]) == 3
        wait_until(lambda: finished(process, headers, 3), timeout_s=30, what="three runs to finish")
        again = deliver(hook, batch)  # HubSpot's redelivery of the same events, freshly signed
        assert again.status_code == 200 and again.json()["event_ids"] == first.json()["event_ids"]

        statuses = sorted(r["status"] for r in runs(process, headers))
        assert statuses == ["filtered", "succeeded", "succeeded"], [
            run_detail(process, headers, r["id"]) for r in runs(process, headers)
        ]
        finds = xr.calls("GET", "/api.xro/2.0/Contacts")
        assert sorted(s.query["where"] for s in finds) == [
            'EmailAddress=="ap@acme.example"',
            'EmailAddress=="finance@globex.example"',
        ]
        (new_contact,) = xr.calls("PUT", "/api.xro/2.0/Contacts")
        assert new_contact.json() == {
            "Contacts": [{"Name": "Globex Corporation", "EmailAddress": "finance@globex.example"}]
        }
        invoices = {s.json()["Invoices"][0]["Reference"]: s for s in xr.calls("PUT", "/api.xro/2.0/Invoices")}
        assert sorted(invoices) == ["HubSpot deal 7001", "HubSpot deal 7002"]
        acme = invoices["HubSpot deal 7001"]
        assert acme.body == (
            b'{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"bd2270c3-8706-4c11-9cfb-000b551c3f51"},'
            b'"LineItems":[{"Description":"Acme annual licence","Quantity":1,"UnitAmount":12000.50,'
            b'"AccountCode":"200"}],"Status":"AUTHORISED","Reference":"HubSpot deal 7001",'
            b'"CurrencyCode":"NZD"}]}'
        )
        assert acme.headers["Idempotency-Key"].endswith(":invoice")
        globex = invoices["HubSpot deal 7002"].json()["Invoices"][0]
        assert globex["Contact"] == {"ContactID": "00000000-0000-0000-0000-000000000001"}
        assert globex["LineItems"][0]["UnitAmount"] == Decimal("999.99")
        numbers = {}
        for deal_id in ("7001", "7002"):
            (patch,) = hs.calls("PATCH", f"/crm/v3/objects/deals/{deal_id}")
            numbers[deal_id] = patch.json()["properties"]["xero_invoice_number"]
        assert sorted(numbers.values()) == ["INV-0001", "INV-0002"]
        assert not hs.calls("GET", "/crm/v3/objects/deals/7003")
        created_step = {}
        for summary in runs(process, headers):
            detail = run_detail(process, headers, summary["id"])
            if detail["status"] == "succeeded":
                steps = {step["id"]: step["status"] for step in detail["steps"]}
                created_step[detail["event"]["objectId"]] = steps["create"]
        assert created_step == {
            7001: "skipped",
            7002: "succeeded",
        }  # `when` ran create_contact only if missing
    finally:
        hs.close()
        xr.close()


# ---------------------------------------------------------------- Kingdee stand-in and flow 3
PAID_RECIPE: dict[str, Any] = {
    "name": "Kingdee receivable audited -> HubSpot deal paid",
    "trigger": {
        "connector": "kingdee",
        "trigger": "bill_changed",
        "connection": "kingdee-erp",
        "config": {
            "form_id": "AR_receivable",
            "field_keys": ["FBillNo", "FDocumentStatus", "FALLAMOUNTFOR", "F_ora_HubSpotDealId"],
            "filter_string": "FDocumentStatus = 'C'",
        },
        "start": {"backfill_from": "2026-11-01T00:00:00+00:00"},
        "interval_s": 10,
    },
    "steps": [
        {
            "id": "paid",
            "connector": "hubspot",
            "action": "update_deal",
            "connection": "hubspot-main",
            "input": {
                "deal_id": "{{ event.F_ora_HubSpotDealId }}",
                "properties": {
                    "invoice_status": "paid",
                    "kingdee_receivable": "{{ event.FBillNo }}",
                    "amount_paid": "{{ event.FALLAMOUNTFOR }}",
                },
            },
        }
    ],
}


def test_audited_kingdee_receivable_marks_the_hubspot_deal_paid(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    hs, kd = hubspot(), Kingdee()
    try:
        connect(process, headers, "hubspot-main", "hubspot", hubspot_connection(hs))
        connect(
            process,
            headers,
            "kingdee-erp",
            "kingdee",
            {
                "base_url": f"{kd.standin.url}/k3cloud",
                "acct_id": "62f8ff01e0b76e",
                "username": "hub-api",
                "password": "kd-pass",
                "lcid": 2052,
            },
        )
        created = requests.post(
            f"{process.url}/api/v1/recipes", json=PAID_RECIPE, headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        deal_patches = lambda deal_id: hs.calls("PATCH", f"/crm/v3/objects/deals/{deal_id}")  # noqa: E731
        wait_until(
            lambda: len(deal_patches("7001")) == 1, timeout_s=30, what="audited AR00000123 to mark 7001"
        )
        assert deal_patches("7001")[0].body == (
            b'{"properties":{"invoice_status":"paid","kingdee_receivable":"AR00000123","amount_paid":"12000.50"}}'
        )
        assert not deal_patches("7002")  # AR00000124 is not audited yet
        first_query = kd.queries()[0].json()["data"]
        assert first_query["FilterString"].startswith(
            "(FModifyDate >= '2026-11-01 07:58:00')"
        )  # backfill, UTC+8

        kd.forget_sessions()  # the server restarts: the cached session is gone
        audited = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
        kd.audit("AR00000124", audited.isoformat())
        wait_until(
            lambda: len(deal_patches("7002")) == 1, timeout_s=40, what="AR00000124 audited to mark 7002"
        )
        assert deal_patches("7002")[0].json()["properties"]["amount_paid"] == "999.99"
        assert len(kd.sessions) == 2  # logged in once, then once more after the session was lost
        later = [q.json()["data"]["FilterString"][17:36] for q in kd.queries()[1:]]
        after_audit = (audited - timedelta(seconds=120)).strftime("%Y-%m-%d %H:%M:%S")
        assert later[0] == "2026-11-20 09:58:00", later  # the first bill's date minus the overlap
        assert set(later) <= {"2026-11-20 09:58:00", after_audit}, later
        time.sleep(1)
        assert len(deal_patches("7001")) == 1  # re-seen in the overlap window, never run twice
        statuses = [r["status"] for r in runs(process, headers)]
        assert statuses == ["succeeded", "succeeded"], statuses
    finally:
        hs.close()
        kd.standin.close()
