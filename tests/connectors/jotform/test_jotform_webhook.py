"""jotform.new_submission: multipart deliveries parsed, registration by API, and the hub's ingress."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import responses
from requests.structures import CaseInsensitiveDict
from sqlalchemy import func, select

from connectors.jotform import connector as jotform
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError
from hub.sdk.types import InboundRequest
from tests.connectors.jotform.fixtures import API, FORM_ID, KEY, RAW_REQUEST, delivery_fields, multipart

HOOK = "https://hub.example.com/hooks/tok_5f2c"
TRIGGER = jotform.trigger("new_submission")


def ctx(**connection: Any) -> Context:
    return Context(connector=jotform, connection={"api_key": KEY, **connection})


def inbound(body: bytes, content_type: str) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=HOOK,
        path="/hooks/tok_5f2c",
        headers=CaseInsensitiveDict({"Content-Type": content_type}),
        query={},
        body=body,
    )


def test_multipart_delivery_becomes_one_event_keyed_by_submission_id() -> None:
    body, ctype = multipart(delivery_fields())
    [event] = TRIGGER.parse(ctx(), {"form_id": FORM_ID}, inbound(body, ctype))
    assert event.id == "5931738482018634071"
    data = event.data
    assert data["form_id"] == FORM_ID and data["form_title"] == "Contact us"
    assert data["username"] == "acme_sales" and data["ip"] == "203.0.113.7"
    assert data["answers"]["name"] == {"first": "Li", "last": "Lei"}
    assert data["answers"]["email"] == "li.lei@example.com"
    assert data["answers"]["message"] == "想了解企业版价格"
    assert data["answers"]["products"] == ["CRM", "ERP"]
    assert data["answers"]["budget"] == "12800.50"
    assert data["answers_by_id"]["4"] == "li.lei@example.com"
    assert "slug" not in data["answers"] and data["raw_request"]["slug"] == f"submit/{FORM_ID}"
    assert data["pretty"].startswith("Name:Li Lei, E-mail:")
    assert data["fields"]["type"] == "WEB" and "rawRequest" not in data["fields"]


def test_urlencoded_delivery_is_read_too_and_numbers_stay_exact() -> None:
    fields = delivery_fields()
    fields["rawRequest"] = '{"q9_total": 12345678901234567.89, "q4_email": "a@example.com"}'
    body = urlencode(fields).encode()
    [event] = TRIGGER.parse(ctx(), {"form_id": FORM_ID}, inbound(body, "application/x-www-form-urlencoded"))
    assert event.data["answers"]["total"] == Decimal("12345678901234567.89")


@pytest.mark.parametrize(
    ("fields", "content_type", "message"),
    [
        ({"formID": FORM_ID, "rawRequest": "{}"}, None, "no submissionID"),
        ({**delivery_fields(), "rawRequest": "{not json"}, None, "rawRequest is not valid JSON"),
        ({**delivery_fields(), "rawRequest": "[1, 2]"}, None, "not a JSON object"),
        (delivery_fields(form_id="999"), None, "delivery for form 999"),
        (delivery_fields(), "application/json", "expected multipart/form-data"),
        (delivery_fields(), "multipart/form-data", "without a boundary"),
    ],
)
def test_bad_deliveries_are_refused(fields: dict[str, str], content_type: str | None, message: str) -> None:
    body, ctype = multipart(fields)
    with pytest.raises(PermanentError, match=message):
        TRIGGER.parse(ctx(), {"form_id": FORM_ID}, inbound(body, content_type or ctype))


@responses.activate
def test_subscribe_posts_the_hook_url_as_webhookURL_with_the_api_key_header() -> None:
    listing = responses.get(
        f"{API}/form/{FORM_ID}/webhooks",
        json={"responseCode": 200, "message": "success", "content": {"0": "https://other.example.com/x"}},
    )
    create = responses.post(
        f"{API}/form/{FORM_ID}/webhooks",
        json={
            "responseCode": 200,
            "message": "success",
            "content": {"0": "https://other.example.com/x", "1": HOOK},
        },
    )
    state = TRIGGER.subscribe(ctx(), {"form_id": FORM_ID}, HOOK)
    assert state == {"form_id": FORM_ID, "webhook_url": HOOK}
    for call in (listing.calls[0], create.calls[0]):
        assert call.request.headers["APIKEY"] == KEY
        assert KEY not in call.request.url
    sent = create.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body) == {"webhookURL": [HOOK]}


@responses.activate
def test_subscribe_does_not_register_twice_and_respects_register_webhook_false() -> None:
    responses.get(
        f"{API}/form/{FORM_ID}/webhooks",
        json={"responseCode": 200, "message": "success", "content": {"0": HOOK}},
    )
    assert TRIGGER.subscribe(ctx(), {"form_id": FORM_ID}, HOOK) == {"form_id": FORM_ID, "webhook_url": HOOK}
    assert TRIGGER.subscribe(ctx(), {"form_id": FORM_ID, "register_webhook": False}, HOOK) is None
    assert len(responses.calls) == 1  # one listing, no POST


@responses.activate
def test_unsubscribe_deletes_by_the_index_jotform_reports_now() -> None:
    responses.get(
        f"{API}/form/{FORM_ID}/webhooks",
        json={
            "responseCode": 200,
            "message": "success",
            "content": {"0": "https://a.example.com", "1": HOOK},
        },
    )
    delete = responses.delete(
        f"{API}/form/{FORM_ID}/webhooks/1",
        json={"responseCode": 200, "message": "success", "content": {"0": "https://a.example.com"}},
    )
    TRIGGER.unsubscribe(ctx(), {"form_id": FORM_ID}, {"form_id": FORM_ID, "webhook_url": HOOK})
    assert delete.calls[0].request.headers["APIKEY"] == KEY


@responses.activate
def test_unsubscribe_of_a_hook_already_removed_calls_no_delete() -> None:
    responses.get(
        f"{API}/form/{FORM_ID}/webhooks", json={"responseCode": 200, "message": "success", "content": []}
    )
    TRIGGER.unsubscribe(ctx(), {"form_id": FORM_ID}, {"form_id": FORM_ID, "webhook_url": HOOK})
    assert len(responses.calls) == 1


@responses.activate
def test_registration_with_a_bad_key_is_an_auth_error_with_jotforms_message() -> None:
    responses.get(
        f"{API}/form/{FORM_ID}/webhooks",
        status=401,
        json={
            "responseCode": 401,
            "message": "You're not authorized to use (/form-id-webhooks) ",
            "content": "",
            "duration": "10.2ms",
            "info": "https://api.jotform.com/docs#form-id-webhooks",
        },
    )
    with pytest.raises(AuthError) as refused:
        TRIGGER.subscribe(ctx(), {"form_id": FORM_ID}, HOOK)
    assert "You're not authorized to use (/form-id-webhooks)" in refused.value.message
    assert refused.value.vendor_code == "401" and KEY not in refused.value.message


# --- through the hub's ingress ---------------------------------------------------------------


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def recipe_token(runtime: Runtime) -> str:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="jf",
            connector_id="jotform",
            config={"api_key": KEY},
        )
        document = {
            "name": "jotform leads",
            "trigger": {
                "connector": "jotform",
                "trigger": "new_submission",
                "connection": "jf",
                "config": {"form_id": FORM_ID, "register_webhook": False},
            },
            "steps": [],
        }
        recipe = save_recipe(session, runtime, document)
        return hook_urls(session, runtime, recipe)["webhook_url"].split("/hooks/")[1]


def test_ingress_stores_once_per_submission_and_answers_repeats_with_200(
    runtime: Runtime, client: Any
) -> None:
    token = recipe_token(runtime)
    body, ctype = multipart(delivery_fields())
    first = client.post(f"/hooks/{token}", data=body, content_type=ctype)
    again = client.post(f"/hooks/{token}", data=body, content_type=ctype)
    other_body, _ = multipart(delivery_fields(submission_id="5931738482018634072"))
    other = client.post(f"/hooks/{token}", data=other_body, content_type=ctype)
    wrong_form, _ = multipart(delivery_fields(submission_id="1", form_id="1"))
    refused = client.post(f"/hooks/{token}", data=wrong_form, content_type=ctype)
    assert (first.status_code, again.status_code, other.status_code, refused.status_code) == (
        202,
        200,
        202,
        400,
    )
    assert first.get_json()["event_id"] == again.get_json()["event_id"]
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id))) == 2
        assert session.scalar(select(func.count(Run.id))) == 2
        payload = session.get(Event, int(first.get_json()["event_id"])).payload
    assert payload["answers"]["email"] == RAW_REQUEST["q4_email"]
