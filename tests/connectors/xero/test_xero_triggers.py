"""Xero invoice poll (If-Modified-Since, page=N, overlap, dedupe) and webhook signature + handshake."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from connectors.xero import connector
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest

API = "https://api.xero.com/api.xro/2.0"
TENANT = "aef86862-2015-4b6b-88bc-d89032cecc50"
KEY = "P2h3YXgZt1mf0+m3Bqf/1OcLz3yZHBNNz5aXYhh/jq4pA3fAN0vQD9l5PiFpqfnUbyL4X0pDP2+EQ/4mGvXg1A=="
POLL = connector.trigger("invoice_changed")
HOOK = connector.trigger("webhook")


def ctx(**extra: Any) -> Context:
    connection = {"access_token": "at", "tenant_id": TENANT, "webhook_key": KEY, **extra}
    return Context(connector=connector, connection=connection)


def invoice(n: int, updated_ms: int, status: str = "AUTHORISED") -> dict[str, Any]:
    return {
        "Type": "ACCREC",
        "InvoiceID": f"00000000-0000-0000-0000-{n:012d}",
        "InvoiceNumber": f"INV-{n:04d}",
        "Status": status,
        "Total": 40.00,
        "UpdatedDateUTC": f"/Date({updated_ms}+0000)/",
    }


T0 = 1764000000000  # 2025-11-24T16:00:00Z


@responses.activate
def test_poll_sends_if_modified_since_cursor_minus_overlap_and_pages_until_a_short_page() -> None:
    full = {"Invoices": [invoice(n, T0 + n * 1000) for n in range(100)]}
    short = {"Invoices": [invoice(99, T0 + 99_000), invoice(100, T0 + 100_000, "PAID")]}
    route = responses.get(f"{API}/Invoices", json=full)
    responses.get(f"{API}/Invoices", json=short)
    cursor = "2025-11-24T16:00:00.000Z"
    result = POLL.poll(ctx(), {"statuses": ["AUTHORISED", "PAID"], "overlap_s": 300}, cursor)
    first, second = route.calls[0].request, responses.calls[1].request
    assert first.headers["If-Modified-Since"] == "2025-11-24T15:55:00"
    assert first.headers["xero-tenant-id"] == TENANT and first.headers["Accept"] == "application/json"
    assert first.url == (
        f"{API}/Invoices?order=UpdatedDateUTC+ASC&where=Type%3D%3D%22ACCREC%22&Statuses=AUTHORISED%2CPAID&page=1"
    )
    assert second.url.endswith("&page=2") and second.headers["If-Modified-Since"] == "2025-11-24T15:55:00"
    assert len(responses.calls) == 2
    ids = [e.id for e in result.items]
    assert len(ids) == 101 and len(set(ids)) == 101  # invoice 99 came on both pages, kept once
    assert ids[-1] == f"00000000-0000-0000-0000-000000000100:{T0 + 100_000}"
    assert result.items[-1].data["updated_at"] == "2025-11-24T16:01:40.000Z"
    assert result.cursor == "2025-11-24T16:01:40.000Z"


@responses.activate
def test_the_same_invoice_changed_again_is_a_new_item() -> None:
    responses.get(f"{API}/Invoices", json={"Invoices": [invoice(1, T0)]})
    responses.get(f"{API}/Invoices", json={"Invoices": [invoice(1, T0 + 5000, "PAID")]})
    a = POLL.poll(ctx(), {}, "2025-11-24T16:00:00Z").items[0]
    b = POLL.poll(ctx(), {}, "2025-11-24T16:00:00Z").items[0]
    assert a.id != b.id and a.id.split(":")[0] == b.id.split(":")[0]


@responses.activate
def test_empty_page_keeps_the_cursor_and_first_poll_starts_at_backfill() -> None:
    route = responses.get(f"{API}/Invoices", json={"Invoices": []})
    result = POLL.poll(ctx(), {"type": "ANY", "overlap_s": 0}, "2025-11-24T16:00:00.000Z")
    assert result.items == [] and result.cursor == "2025-11-24T16:00:00.000Z"
    assert "where" not in route.calls[0].request.url
    context = ctx()
    context.since = datetime(2026, 1, 1, tzinfo=UTC)
    first = POLL.poll(context, {}, None)
    assert responses.calls[1].request.headers["If-Modified-Since"] == "2025-12-31T23:58:00"
    assert first.cursor == "2026-01-01T00:00:00.000Z"


@responses.activate
def test_cursor_is_never_moved_back_by_an_older_overlapping_invoice() -> None:
    responses.get(f"{API}/Invoices", json={"Invoices": [invoice(1, T0 - 60_000)]})
    result = POLL.poll(ctx(), {}, "2025-11-24T16:00:00.000Z")
    assert len(result.items) == 1 and result.cursor == "2025-11-24T16:00:00.000Z"


# Xero's documented event example (xero-webhooks.yaml), as raw bytes Xero would sign.
EVENT_BODY = json.dumps(
    {
        "events": [
            {
                "resourceUrl": "https://api.xero.com/api.xro/2.0/CreditNotes/55d84274-a3da-4829-a7c0-0cab601b95cc",
                "resourceId": "55d84274-a3da-4829-a7c0-0cab601b95cc",
                "tenantId": TENANT,
                "tenantType": "ORGANISATION",
                "eventCategory": "CREDITNOTE",
                "eventType": "CREATE",
                "eventDateUtc": "2025-12-02T00:44:09.923",
            },
            {
                "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
                "resourceId": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
                "tenantId": "another-tenant",
                "tenantType": "ORGANISATION",
                "eventCategory": "INVOICE",
                "eventType": "UPDATE",
                "eventDateUtc": "2025-12-02T00:45:00.000",
            },
        ],
        "firstEventSequence": 76,
        "lastEventSequence": 77,
        "entropy": "FXNGWLCCGVANWHKILRUB",
    }
).encode()
ITR_BODY = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def request(body: bytes, signature: str | None) -> InboundRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return InboundRequest(
        method="POST", url="https://hub/hooks/t", path="/hooks/t", headers=headers, query={}, body=body
    )


def test_intent_to_receive_answers_200_when_signed_right_and_401_otherwise_with_empty_bodies() -> None:
    good = HOOK.handshake(ctx(), {}, request(ITR_BODY, sign(ITR_BODY)))
    assert good is not None and (good.status, good.body) == (200, b"")
    for signature in (sign(ITR_BODY, "wrong-key"), sign(ITR_BODY + b" "), "", None):
        bad = request(ITR_BODY, signature)
        assert HOOK.handshake(ctx(), {}, bad) is None  # not a handshake: verify() refuses it
        with pytest.raises(SignatureError) as refused:
            HOOK.verify(ctx(), {}, bad)
        answer = refused.value.response
        assert answer is not None and (answer.status, answer.body) == (401, b"")
    no_key = request(ITR_BODY, sign(ITR_BODY))
    assert HOOK.handshake(ctx(webhook_key=""), {}, no_key) is None
    with pytest.raises(SignatureError):
        HOOK.verify(ctx(webhook_key=""), {}, no_key)


def test_signed_events_pass_to_parse_keep_the_connection_tenant_and_ack_empty() -> None:
    signed = request(EVENT_BODY, sign(EVENT_BODY))
    assert HOOK.handshake(ctx(), {}, signed) is None
    HOOK.verify(ctx(), {}, signed)
    events = HOOK.parse(ctx(), {}, signed)
    assert [e.data["resourceId"] for e in events] == ["55d84274-a3da-4829-a7c0-0cab601b95cc"]
    assert (
        events[0].id
        == f"{TENANT}:CREDITNOTE:55d84274-a3da-4829-a7c0-0cab601b95cc:CREATE:2025-12-02T00:44:09.923"
    )
    every = HOOK.parse(ctx(), {"all_tenants": True, "categories": ["INVOICE"]}, signed)
    assert [e.data["eventCategory"] for e in every] == ["INVOICE"]
    ack = HOOK.acknowledge(ctx(), {}, signed, ["1"])
    assert ack is not None and (ack.status, ack.body) == (200, b"")


def test_tampered_event_body_is_refused() -> None:
    tampered = request(EVENT_BODY.replace(b"CREATE", b"UPDATE"), sign(EVENT_BODY))
    assert HOOK.handshake(ctx(), {}, tampered) is None
    with pytest.raises(SignatureError) as refused:
        HOOK.verify(ctx(), {}, tampered)
    assert refused.value.response is not None and refused.value.response.status == 401


@responses.activate
def test_a_new_recipes_cursor_is_xeros_date_not_the_hubs_clock() -> None:
    """Before: the first cursor was the hub's now, so invoices a Xero clock behind it stamped were lost."""
    responses.get(f"{API}/Invoices", json={"Invoices": []}, headers={"Date": "Mon, 23 Nov 2026 10:00:00 GMT"})
    assert POLL.poll(ctx(), {}, None).cursor == "2026-11-23T10:00:00.000Z"
