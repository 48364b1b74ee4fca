"""Typeform: the signature from an independently computed vector, friendly answers, webhook
registration requests exactly as the Webhooks API documents them, errors, and the responses poll."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import responses
from responses import matchers

from connectors.typeform import connector, signing
from connectors.typeform.triggers import webhook_tag
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError
from hub.sdk.types import InboundRequest
from tests.connectors.typeform.payloads import delivery, raw

API = "https://api.typeform.com"
HOOK = "https://hub.example.com/hooks/tok123"
TRIGGER = connector.trigger("form_response")
POLL = connector.trigger("new_response")

# `printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'Y3cr3tK3y' -binary | base64`
VECTOR_BODY = (
    b'{"event_id":"LtWXD3crgy","event_type":"form_response","form_response":'
    b'{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15"}}'
)
VECTOR_SIGNATURE = "sha256=CL8zCNiSU2mZHvd5IJZl/kyRCBpBbvNumAk1hXF17aE="


def ctx(**connection: Any) -> Context:
    return Context(
        connector=connector, connection={"personal_token": "tfp_personal", **connection}, hook_url=HOOK
    )


def inbound(body: bytes, signature: str | None) -> InboundRequest:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Typeform-Signature"] = signature
    return InboundRequest("POST", HOOK, "/hooks/tok123", headers, {}, body)


def test_schemas_are_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(connector.connection_schema())
    for trigger in (TRIGGER, POLL):
        jsonschema.Draft202012Validator.check_schema(trigger.config_schema)
    assert connector.connection_schema()["required"] == []
    assert {"personal_token", "webhook_secret", "access_token", "client_secret"} <= connector.secret_fields()


def test_signature_matches_the_openssl_vector() -> None:
    assert signing.signature("Y3cr3tK3y", VECTOR_BODY) == VECTOR_SIGNATURE
    TRIGGER.verify(
        ctx(webhook_secret="Y3cr3tK3y"), {"form_id": "lT4Z3j"}, inbound(VECTOR_BODY, VECTOR_SIGNATURE)
    )


@pytest.mark.parametrize(
    ("body", "header", "why"),
    [
        (VECTOR_BODY.replace(b"lT4Z3j", b"lT4Z3k"), VECTOR_SIGNATURE, "does not match"),
        (VECTOR_BODY, "sha256=" + "A" * 44, "does not match"),
        (VECTOR_BODY, VECTOR_SIGNATURE.removeprefix("sha256="), "sha256="),
        (VECTOR_BODY, None, "missing"),
        (VECTOR_BODY, "sha256=cl8zcnisu2mzhvd5ijzl/kyrcbpbbvnumak1hxf17ae=", "does not match"),
    ],
)
def test_tampered_or_unsigned_deliveries_are_refused(body: bytes, header: str | None, why: str) -> None:
    with pytest.raises(SignatureError, match=why):
        TRIGGER.verify(ctx(webhook_secret="Y3cr3tK3y"), {"form_id": "lT4Z3j"}, inbound(body, header))


def test_a_wrong_secret_or_none_refuses() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        TRIGGER.verify(ctx(webhook_secret="other"), {}, inbound(VECTOR_BODY, VECTOR_SIGNATURE))
    with pytest.raises(SignatureError, match="no webhook secret"):
        TRIGGER.verify(ctx(), {}, inbound(VECTOR_BODY, VECTOR_SIGNATURE))


def test_the_webhooks_own_secret_wins_over_the_connections() -> None:
    own = ctx(webhook_secret="other")
    own.subscription = {"form_id": "lT4Z3j", "tag": "t", "webhook_id": "w", "secret": "Y3cr3tK3y"}
    TRIGGER.verify(own, {"form_id": "lT4Z3j"}, inbound(VECTOR_BODY, VECTOR_SIGNATURE))
    # a webhook with its own secret no longer accepts the connection's shared one
    shared = ctx(webhook_secret="Y3cr3tK3y")
    shared.subscription = {"form_id": "lT4Z3j", "tag": "t", "webhook_id": "w", "secret": "other"}
    with pytest.raises(SignatureError, match="does not match"):
        TRIGGER.verify(shared, {"form_id": "lT4Z3j"}, inbound(VECTOR_BODY, VECTOR_SIGNATURE))
    # registered before per-webhook secrets: its state has none, the connection's secret signs it
    legacy = ctx(webhook_secret="Y3cr3tK3y")
    legacy.subscription = {"form_id": "lT4Z3j", "tag": "t", "webhook_id": "w"}
    TRIGGER.verify(legacy, {"form_id": "lT4Z3j"}, inbound(VECTOR_BODY, VECTOR_SIGNATURE))


def test_parse_flattens_answers_by_ref_and_title() -> None:
    body = raw(delivery())
    [event] = TRIGGER.parse(ctx(), {"form_id": "lT4Z3j"}, inbound(body, None))
    assert event.id == "01HZX4VJ8Q8M3T6F3K2B5N7R9C"
    data = event.data
    assert data["form_id"] == "lT4Z3j" and data["token"] == "a3a12ec67a1365927098a606107fac15"
    assert data["submitted_at"] == "2026-11-23T09:16:40Z" and data["hidden"] == {"utm_source": "newsletter"}
    assert data["fields"] == {
        "first_name": "Lei",
        "email": "li.lei@example.com",
        "plan": "Business",
        "topics": ["CRM", "Finance", "Forms"],
        "seats": 12,
        "newsletter": True,
        "deposit": {"amount": Decimal("4.50"), "last4": "4242", "name": "Li Lei", "success": True},
    }
    assert data["titles"]["Your email?"] == "li.lei@example.com" and data["titles"]["Plan"] == "Business"
    assert len(data["answers"]) == 7 and data["definition"]["title"] == "Contact us"
    jsonschema.validate(TRIGGER.sample, {"type": "object"})


def test_event_id_falls_back_to_the_response_token() -> None:
    payload = delivery()
    del payload["event_id"]
    [event] = TRIGGER.parse(ctx(), {"form_id": "lT4Z3j"}, inbound(raw(payload), None))
    assert event.id == "a3a12ec67a1365927098a606107fac15"


def test_other_event_types_and_other_forms() -> None:
    partial = {**delivery(), "event_type": "form_response_partial"}
    assert TRIGGER.parse(ctx(), {"form_id": "lT4Z3j"}, inbound(raw(partial), None)) == []
    with pytest.raises(PermanentError, match="listens to other"):
        TRIGGER.parse(ctx(), {"form_id": "other"}, inbound(raw(delivery()), None))
    with pytest.raises(PermanentError, match="no form_response"):
        TRIGGER.parse(ctx(), {}, inbound(b'{"event_type": "form_response"}', None))


@responses.activate
def test_subscribe_puts_the_webhook_with_its_own_secret_and_unsubscribe_deletes_it() -> None:
    tag = webhook_tag(HOOK)
    url = f"{API}/forms/lT4Z3j/webhooks/{tag}"
    put = responses.put(
        url,
        json={
            "id": "yRtagDm8AT",
            "form_id": "lT4Z3j",
            "tag": tag,
            "url": HOOK,
            "enabled": True,
            "verify_ssl": True,
        },
        match=[
            matchers.header_matcher(
                {"Authorization": "Bearer tfp_personal", "Content-Type": "application/json"}
            )
        ],
    )
    context = ctx()
    state = TRIGGER.subscribe(context, {"form_id": "lT4Z3j"}, HOOK)
    secret = state["secret"]
    assert state == {"form_id": "lT4Z3j", "tag": tag, "webhook_id": "yRtagDm8AT", "secret": secret}
    assert tag.startswith("hub-") and len(tag) == 20
    body = json.loads(put.calls[0].request.body)
    assert len(secret) >= 40
    assert "webhook_secret" not in context.connection  # per webhook, not per connection
    assert body == {
        "url": HOOK,
        "enabled": True,
        "secret": secret,
        "verify_ssl": True,
        "event_types": {"form_response": True},
    }
    responses.put(f"{API}/forms/lT4Z3j/webhooks/custom", json={"id": "w2"})
    # every registration gets a secret of its own: one leaked webhook secret signs for no other
    other = TRIGGER.subscribe(context, {"form_id": "lT4Z3j", "tag": "custom", "verify_ssl": False}, HOOK)
    second = json.loads(responses.calls[-1].request.body)
    assert responses.calls[-1].request.url == f"{API}/forms/lT4Z3j/webhooks/custom"
    assert second["secret"] == other["secret"] != secret and second["verify_ssl"] is False
    delete = responses.delete(
        url, status=204, match=[matchers.header_matcher({"Authorization": "Bearer tfp_personal"})]
    )
    TRIGGER.unsubscribe(context, {"form_id": "lT4Z3j"}, state)
    assert delete.call_count == 1


@responses.activate
def test_unsubscribe_of_a_webhook_already_gone_is_fine_but_other_errors_raise() -> None:
    state = {"form_id": "lT4Z3j", "tag": "t1"}
    responses.delete(
        f"{API}/forms/lT4Z3j/webhooks/t1", status=404, json={"code": "NOT_FOUND", "description": "Not found"}
    )
    TRIGGER.unsubscribe(ctx(), {}, state)
    responses.delete(
        f"{API}/forms/lT4Z3j/webhooks/t2", status=500, json={"code": "INTERNAL", "description": "oops"}
    )
    with pytest.raises(RetryableError):
        TRIGGER.unsubscribe(ctx(), {}, {"form_id": "lT4Z3j", "tag": "t2"})


@responses.activate
def test_oauth_connection_uses_the_access_token() -> None:
    responses.put(
        f"{API}/forms/f1/webhooks/t",
        json={"id": "w"},
        match=[matchers.header_matcher({"Authorization": "Bearer oauth-access"})],
    )
    context = Context(
        connector=connector,
        connection={"client_id": "c", "client_secret": "s", "access_token": "oauth-access"},
    )
    assert TRIGGER.subscribe(context, {"form_id": "f1", "tag": "t"}, HOOK)["webhook_id"] == "w"


@responses.activate
def test_vendor_errors_are_actionable() -> None:
    responses.put(
        f"{API}/forms/nope/webhooks/t",
        status=404,
        json={"code": "FORM_NOT_FOUND", "description": "Non existing form with uid nope"},
    )
    with pytest.raises(
        PermanentError, match=r"Typeform: Non existing form with uid nope \(code FORM_NOT_FOUND\)"
    ) as err:
        TRIGGER.subscribe(ctx(), {"form_id": "nope", "tag": "t"}, HOOK)
    assert err.value.vendor_code == "FORM_NOT_FOUND"
    responses.put(
        f"{API}/forms/f/webhooks/t",
        status=400,
        json={
            "code": "VALIDATION_ERROR",
            "description": "The payload is invalid.",
            "details": [{"code": "INVALID_URL", "description": "url must be a valid URL"}],
        },
    )
    with pytest.raises(PermanentError, match=r"The payload is invalid\.: url must be a valid URL"):
        TRIGGER.subscribe(ctx(), {"form_id": "f", "tag": "t"}, HOOK)
    responses.put(
        f"{API}/forms/g/webhooks/t",
        status=401,
        json={
            "code": "AUTHENTICATION_FAILED",
            "description": "Authentication credentials not found on the Request Headers",
        },
    )
    with pytest.raises(AuthError):
        TRIGGER.subscribe(ctx(), {"form_id": "g", "tag": "t"}, HOOK)
    responses.put(f"{API}/forms/h/webhooks/t", status=429, headers={"Retry-After": "7"}, json={})
    with pytest.raises(RetryableError) as limited:
        TRIGGER.subscribe(ctx(), {"form_id": "h", "tag": "t"}, HOOK)
    assert limited.value.retry_after == 7


def item(token: str) -> dict[str, Any]:
    return {
        "token": token,
        "response_id": token,
        "landed_at": "2026-11-23T09:00:00Z",
        "submitted_at": "2026-11-23T09:01:00Z",
        "hidden": {},
        "answers": [
            {"type": "text", "text": f"n-{token}", "field": {"id": "x", "type": "short_text", "ref": "name"}}
        ],
    }


@responses.activate
def test_first_poll_without_backfill_only_remembers_the_newest_response() -> None:
    responses.get(
        f"{API}/forms/lT4Z3j/responses",
        json={"total_items": 5, "page_count": 5, "items": [item("newest")]},
        match=[
            matchers.query_param_matcher(
                {"page_size": "1", "completed": "true", "sort": "submitted_at,desc"}
            ),
            matchers.header_matcher({"Authorization": "Bearer tfp_personal"}),
        ],
    )
    result = POLL.poll(ctx(), {"form_id": "lT4Z3j"}, None)
    assert result.items == [] and result.cursor == "newest"


@responses.activate
def test_an_empty_form_is_then_read_from_its_first_response() -> None:
    """Before, the empty form's cursor stayed None, so the next poll primed again and skipped r1."""
    url = f"{API}/forms/lT4Z3j/responses"
    responses.get(url, json={"total_items": 0, "page_count": 1, "items": []})
    first = POLL.poll(ctx(), {"form_id": "lT4Z3j"}, None)
    assert first.items == [] and first.cursor == ""
    responses.get(
        url,
        json={"items": [item("r1")]},
        match=[
            matchers.query_param_matcher(
                {"page_size": "1000", "completed": "true", "sort": "submitted_at,asc"}
            )
        ],
    )
    later = POLL.poll(ctx(), {"form_id": "lT4Z3j"}, first.cursor)
    assert [e.id for e in later.items] == ["r1"] and later.cursor == "r1"


@responses.activate
def test_backfill_pages_with_after_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.typeform.triggers.PAGE_SIZE", 2)
    url = f"{API}/forms/lT4Z3j/responses"
    responses.get(
        url,
        json={"items": [item("r1"), item("r2")]},
        match=[
            matchers.query_param_matcher(
                {
                    "page_size": "2",
                    "completed": "true",
                    "since": "2026-11-01T00:00:00",
                    "sort": "submitted_at,asc",
                }
            )
        ],
    )
    responses.get(
        url,
        json={"items": [item("r2"), item("r3")]},
        match=[matchers.query_param_matcher({"page_size": "2", "completed": "true", "after": "r2"})],
    )
    responses.get(
        url,
        json={"items": []},
        match=[matchers.query_param_matcher({"page_size": "2", "completed": "true", "after": "r3"})],
    )
    context = ctx()
    context.since = datetime(2026, 11, 1, tzinfo=UTC)
    result = POLL.poll(context, {"form_id": "lT4Z3j"}, None)
    assert [e.id for e in result.items] == ["r1", "r2", "r3"]  # r2 repeated by the vendor, taken once
    assert result.items[0].data["fields"] == {"name": "n-r1"} and result.items[0].data["form_id"] == "lT4Z3j"
    assert result.cursor == "r3"


@responses.activate
def test_later_polls_continue_after_the_cursor_and_an_empty_page_keeps_it() -> None:
    url = f"{API}/forms/lT4Z3j/responses"
    responses.get(
        url,
        json={"items": [item("r4")]},
        match=[matchers.query_param_matcher({"page_size": "1000", "completed": "true", "after": "r3"})],
    )
    result = POLL.poll(ctx(), {"form_id": "lT4Z3j"}, "r3")
    assert [e.id for e in result.items] == ["r4"] and result.cursor == "r4"
    responses.get(
        url,
        json={"items": []},
        match=[matchers.query_param_matcher({"page_size": "1000", "completed": "true", "after": "r4"})],
    )
    empty = POLL.poll(ctx(), {"form_id": "lT4Z3j"}, "r4")
    assert empty.items == [] and empty.cursor == "r4"


@responses.activate
def test_connection_test_reads_the_account() -> None:
    responses.get(
        f"{API}/me",
        json={"alias": "Li Lei", "email": "li.lei@example.com", "language": "en"},
        match=[matchers.header_matcher({"Authorization": "Bearer tfp_personal"})],
    )
    assert connector.test_connection(ctx()) == "connected to Typeform as Li Lei"
