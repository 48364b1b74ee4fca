"""Acme's requests and signatures, against `responses` (never the network)."""

from __future__ import annotations

import json
import time

import pytest
import responses
from acme_crm import SIGNATURE_HEADER, connector, sign

from hub.sdk import Context, InboundRequest, SignatureError

SECRET = "whsec-test-only"


def _context() -> Context:
    return Context(connector=connector, connection={"token": "key-1", "webhook_secret": SECRET})


@responses.activate
def test_create_contact_posts_with_the_bearer_key_and_the_idempotency_key() -> None:
    responses.post("https://api.acme-crm.example/v1/contacts", json={"id": 42}, status=201)
    ctx = _context()
    ctx.idempotency_key = "run-7:create"
    out = connector.action("create_contact").perform(ctx, {"email": "ada@example.com"})
    assert out == {"id": "42"}
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer key-1"
    assert sent.headers["Idempotency-Key"] == "run-7:create"
    assert json.loads(sent.body) == {"email": "ada@example.com"}


def _delivery(body: bytes, header: str) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://hub.example/hooks/x",
        path="/hooks/x",
        headers={SIGNATURE_HEADER: header},
        query={},
        body=body,
    )


def test_a_signed_delivery_is_parsed() -> None:
    body = json.dumps({"contact": {"id": "c_1", "email": "ada@example.com"}}).encode()
    request = _delivery(body, sign(SECRET, int(time.time()), body))
    trigger = connector.trigger("contact_created")
    trigger.verify(_context(), {}, request)
    assert [(e.id, e.data["email"]) for e in trigger.parse(_context(), {}, request)] == [
        ("c_1", "ada@example.com")
    ]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "t=1,v1=00",
        sign(SECRET, int(time.time()) - 3600, b'{"contact": {"id": "c_1"}}'),  # a replay
        sign("another-secret", int(time.time()), b'{"contact": {"id": "c_1"}}'),
        "t=\u00b2,v1=00",  # "²" passes str.isdigit() but not int(): refused, not a crash
    ],
)
def test_unsigned_tampered_and_replayed_deliveries_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        connector.trigger("contact_created").verify(
            _context(), {}, _delivery(b'{"contact": {"id": "c_1"}}', header or "")
        )


CONTACTS = "https://api.acme-crm.example/v1/contacts"


def _contact(number: int, updated_at: str) -> dict[str, str]:
    return {"id": f"c_{number}", "email": f"c{number}@example.com", "updated_at": updated_at}


@responses.activate
def test_polling_pages_through_changes_and_keeps_the_cursor_on_acmes_clock() -> None:
    # Acme's clock is 15 minutes behind the hub's: the cursor must come from its Date header.
    acme_now = "Fri, 04 Dec 2026 10:00:00 GMT"
    responses.get(
        CONTACTS,
        json={"contacts": [_contact(1, "2026-12-04T09:58:00+00:00")], "next_page": "p2"},
        headers={"Date": acme_now},
        match=[responses.matchers.query_param_matcher({"updated_since": "2026-12-04T09:55:00+00:00"})],
    )
    responses.get(
        CONTACTS,
        json={"contacts": [_contact(2, "2026-12-04T09:59:00+00:00")]},
        headers={"Date": acme_now},
        match=[
            responses.matchers.query_param_matcher(
                {"updated_since": "2026-12-04T09:55:00+00:00", "page": "p2"}
            )
        ],
    )
    trigger = connector.trigger("contact_updated")
    result = trigger.poll(_context(), {}, "2026-12-04T09:57:00.000Z")  # minus the 120 s overlap
    assert [event.id for event in result.items] == [
        "c_1@2026-12-04T09:58:00+00:00",
        "c_2@2026-12-04T09:59:00+00:00",
    ]
    assert result.cursor == "2026-12-04T09:59:00.000Z"
