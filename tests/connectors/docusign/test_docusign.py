"""docusign: envelope actions against a faked eSignature API (responses), OAuth refresh, Connect HMAC,
and the polling trigger's paging, cursor and dedupe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
import responses
from werkzeug.datastructures import Headers

from connectors.docusign import connector
from connectors.docusign.signing import check, signature
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError
from hub.sdk.types import InboundRequest

ACCOUNT = "8f1c5e7a-0000-4000-8000-000000000001"
API = f"https://demo.docusign.net/restapi/v2.1/accounts/{ACCOUNT}"
ENV_ID = "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11"
HMAC_KEY = "uG0Kx1V2pAN3JmTq7sYtJq4nE7Z1y8fYH0bW6c5dR2k="


def conn(**extra: Any) -> dict[str, Any]:
    return {
        "client_id": "ik-123",
        "client_secret": "cs-456",
        "access_token": "eyJ-access",
        "refresh_token": "eyJ-refresh",
        "expires_at": time.time() + 3600,
        "account_id": ACCOUNT,
        "connect_hmac_keys": HMAC_KEY,
        **extra,
    }


def ctx(**extra: Any) -> Context:
    return Context(connector=connector, connection=conn(**extra), connection_id=4, idempotency_key="5:sign")


SUMMARY = {
    "envelopeId": ENV_ID,
    "status": "sent",
    "statusDateTime": "2026-11-23T08:30:00.0000000Z",
    "uri": f"/envelopes/{ENV_ID}",
}


@responses.activate
def test_send_envelope_from_template_with_roles_and_event_notification() -> None:
    route = responses.post(f"{API}/envelopes", json=SUMMARY, status=201)
    out = connector.action("send_envelope").perform(
        ctx(),
        {
            "email_subject": "Please sign contract C-7",
            "template_id": "tpl-1",
            "template_roles": [
                {
                    "role_name": "Customer",
                    "name": "Li Lei",
                    "email": "li@example.com",
                    "tabs": {"textTabs": [{"tabLabel": "amount", "value": "12800.50"}]},
                },
            ],
            "custom_fields": {"contract_id": "C-7"},
            "status_webhook_url": "https://hub.example.com/hooks/w1",
            "status_events": ["envelope-completed", "envelope-declined"],
        },
    )
    sent = route.calls[0].request
    assert sent.method == "POST" and sent.url == f"{API}/envelopes"
    assert sent.headers["Authorization"] == "Bearer eyJ-access"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {
        "emailSubject": "Please sign contract C-7",
        "status": "sent",
        "templateId": "tpl-1",
        "templateRoles": [
            {
                "name": "Li Lei",
                "email": "li@example.com",
                "roleName": "Customer",
                "tabs": {"textTabs": [{"tabLabel": "amount", "value": "12800.50"}]},
            },
        ],
        "customFields": {
            "textCustomFields": [
                {"name": "contract_id", "value": "C-7", "show": "false", "required": "false"}
            ]
        },
        "eventNotification": {
            "url": "https://hub.example.com/hooks/w1",
            "requireAcknowledgment": "true",
            "includeHMAC": "true",
            "loggingEnabled": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1", "format": "json", "includeData": ["recipients"]},
            "events": ["envelope-completed", "envelope-declined"],
        },
    }
    assert out == {
        "envelope_id": ENV_ID,
        "status": "sent",
        "status_date_time": SUMMARY["statusDateTime"],
        "uri": SUMMARY["uri"],
    }


@responses.activate
def test_send_envelope_with_document_and_signers_on_the_accounts_base_uri() -> None:
    base = f"https://na3.docusign.net/restapi/v2.1/accounts/{ACCOUNT}/envelopes"
    route = responses.post(base, json=SUMMARY, status=201)
    pdf = base64.b64encode(b"%PDF-1.4 contract").decode()
    connector.action("send_envelope").perform(
        ctx(base_uri="https://na3.docusign.net"),
        {
            "email_subject": "Sign",
            "documents": [{"name": "C-7.pdf", "document_base64": pdf}],
            "signers": [
                {
                    "name": "Li Lei",
                    "email": "li@example.com",
                    "tabs": {"signHereTabs": [{"anchorString": "/sig1/"}]},
                }
            ],
            "status": "created",
        },
    )
    body = json.loads(route.calls[0].request.body)
    assert body["documents"] == [
        {"documentBase64": pdf, "name": "C-7.pdf", "fileExtension": "pdf", "documentId": "1"}
    ]
    assert body["recipients"] == {
        "signers": [
            {
                "name": "Li Lei",
                "email": "li@example.com",
                "recipientId": "1",
                "routingOrder": "1",
                "tabs": {"signHereTabs": [{"anchorString": "/sig1/"}]},
            }
        ]
    }
    assert body["status"] == "created" and "eventNotification" not in body


def test_template_xor_documents_and_roles_need_names() -> None:
    send = connector.action("send_envelope")
    with pytest.raises(PermanentError, match="either template_id"):
        send.perform(ctx(), {"email_subject": "x"})
    with pytest.raises(PermanentError, match="role_name"):
        send.perform(
            ctx(),
            {"email_subject": "x", "template_id": "t", "template_roles": [{"name": "a", "email": "a@x"}]},
        )


@responses.activate
def test_documented_error_shape_and_classification() -> None:
    responses.post(
        f"{API}/envelopes",
        status=400,
        json={"errorCode": "TEMPLATE_ID_INVALID", "message": "Invalid template ID."},
    )
    with pytest.raises(PermanentError) as failed:
        connector.action("send_envelope").perform(ctx(), {"email_subject": "x", "template_id": "nope"})
    assert failed.value.message == "DocuSign: Invalid template ID. (code TEMPLATE_ID_INVALID) [HTTP 400]"
    assert failed.value.vendor_code == "TEMPLATE_ID_INVALID" and not isinstance(failed.value, RetryableError)
    reset = int(time.time()) + 40
    responses.replace(
        responses.POST,
        f"{API}/envelopes",
        status=429,
        headers={"X-RateLimit-Reset": str(reset)},
        json={"errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED", "message": "limit"},
    )
    with pytest.raises(RetryableError) as limited:
        connector.action("send_envelope").perform(ctx(), {"email_subject": "x", "template_id": "t"})
    assert 30 < limited.value.retry_after <= 40
    responses.replace(responses.POST, f"{API}/envelopes", status=503, body="busy")
    with pytest.raises(RetryableError, match="HTTP 503"):
        connector.action("send_envelope").perform(ctx(), {"email_subject": "x", "template_id": "t"})


@responses.activate
def test_401_refreshes_the_token_once_with_basic_client_auth() -> None:
    token = responses.post(
        "https://account-d.docusign.com/oauth/token",
        json={"access_token": "eyJ-new", "refresh_token": "eyJ-r2", "expires_in": 28800},
    )
    responses.get(
        f"{API}/envelopes/{ENV_ID}",
        status=401,
        json={"errorCode": "USER_AUTHENTICATION_FAILED", "message": "The access token has expired."},
    )
    responses.get(f"{API}/envelopes/{ENV_ID}", json={"envelopeId": ENV_ID, "status": "delivered"})
    context = ctx()
    out = connector.action("get_envelope").perform(context, {"envelope_id": ENV_ID})
    assert out["status"] == "delivered"
    calls = [c.request for c in responses.calls if "/envelopes/" in c.request.url]
    assert [c.headers["Authorization"] for c in calls] == ["Bearer eyJ-access", "Bearer eyJ-new"]
    token_request = token.calls[0].request
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"ik-123:cs-456").decode()
    assert (
        "grant_type=refresh_token" in token_request.body and "refresh_token=eyJ-refresh" in token_request.body
    )
    assert context.connection["refresh_token"] == "eyJ-r2"


@responses.activate
def test_persistent_401_is_an_auth_error() -> None:
    responses.post(
        "https://account-d.docusign.com/oauth/token", json={"access_token": "eyJ-new", "expires_in": 60}
    )
    responses.get(
        f"{API}/envelopes/{ENV_ID}",
        status=401,
        json={"errorCode": "USER_AUTHENTICATION_FAILED", "message": "bad"},
    )
    with pytest.raises(AuthError, match="USER_AUTHENTICATION_FAILED"):
        connector.action("get_envelope").perform(ctx(), {"envelope_id": ENV_ID})


@responses.activate
def test_get_envelope_query_and_mapping() -> None:
    route = responses.get(
        f"{API}/envelopes/{ENV_ID}",
        json={
            "envelopeId": ENV_ID,
            "status": "completed",
            "emailSubject": "Sign C-7",
            "completedDateTime": "2026-11-24T02:11:09.0000000Z",
        },
    )
    out = connector.action("get_envelope").perform(
        ctx(), {"envelope_id": ENV_ID, "include": ["recipients", "tabs"]}
    )
    assert route.calls[0].request.url == f"{API}/envelopes/{ENV_ID}?include=recipients%2Ctabs"
    assert out["status"] == "completed" and out["completed_date_time"] == "2026-11-24T02:11:09.0000000Z"
    assert out["envelope"]["emailSubject"] == "Sign C-7"


@responses.activate
def test_void_envelope_puts_status_and_reason_and_a_second_void_is_done() -> None:
    route = responses.put(f"{API}/envelopes/{ENV_ID}", json={"envelopeId": ENV_ID})
    out = connector.action("void_envelope").perform(
        ctx(), {"envelope_id": ENV_ID, "voided_reason": "Deal lost"}
    )
    assert route.calls[0].request.method == "PUT"
    assert json.loads(route.calls[0].request.body) == {"status": "voided", "voidedReason": "Deal lost"}
    assert out == {"envelope_id": ENV_ID, "status": "voided"}
    invalid = {
        "errorCode": "ENVELOPE_CANNOT_VOID_INVALID_STATE",
        "message": "Only envelopes in the 'Sent' or 'Delivered' states may be voided.",
    }
    responses.replace(responses.PUT, f"{API}/envelopes/{ENV_ID}", status=400, json=invalid)
    responses.get(f"{API}/envelopes/{ENV_ID}", json={"envelopeId": ENV_ID, "status": "voided"})
    assert (
        connector.action("void_envelope").perform(ctx(), {"envelope_id": ENV_ID, "voided_reason": "x"}) == out
    )
    responses.replace(
        responses.GET, f"{API}/envelopes/{ENV_ID}", json={"envelopeId": ENV_ID, "status": "completed"}
    )
    with pytest.raises(PermanentError, match="the envelope is completed"):
        connector.action("void_envelope").perform(ctx(), {"envelope_id": ENV_ID, "voided_reason": "x"})


@responses.activate
def test_connection_check_fills_account_and_base_uri_from_userinfo() -> None:
    route = responses.get(
        "https://account-d.docusign.com/oauth/userinfo",
        json={
            "email": "ops@example.com",
            "accounts": [
                {"account_id": "other", "is_default": False, "base_uri": "https://eu.docusign.net"},
                {
                    "account_id": ACCOUNT,
                    "is_default": True,
                    "account_name": "Acme",
                    "base_uri": "https://na3.docusign.net",
                },
            ],
        },
    )
    context = ctx(account_id=None)
    assert connector.test_connection(context) == "connected as ops@example.com to account Acme"
    assert route.calls[0].request.headers["Authorization"] == "Bearer eyJ-access"
    assert (
        context.connection["account_id"] == ACCOUNT
        and context.connection["base_uri"] == "https://na3.docusign.net"
    )


# --- Connect ---------------------------------------------------------------------------------------


def connect_message(event: str = "envelope-completed", status: str = "completed") -> bytes:
    return json.dumps(
        {
            "event": event,
            "apiVersion": "v2.1",
            "uri": f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{ENV_ID}",
            "retryCount": 0,
            "configurationId": 10593,
            "generatedDateTime": "2026-11-24T02:11:10.1234567Z",
            "data": {
                "accountId": ACCOUNT,
                "userId": "u-1",
                "envelopeId": ENV_ID,
                "envelopeSummary": {"status": status, "emailSubject": "Sign C-7", "envelopeId": ENV_ID},
            },
        }
    ).encode()


def inbound(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest(
        "POST",
        "https://hub.example.com/hooks/d",
        "/hooks/d",
        Headers({"Content-Type": "application/json", **headers}),
        {},
        body,
    )


def test_signature_is_base64_hmac_sha256_of_the_raw_body_with_the_key_as_text() -> None:
    body = b'{"event":"envelope-sent"}'
    expected = base64.b64encode(hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).digest()).decode()
    assert signature(HMAC_KEY, body) == expected
    # fixed known answer, so a change in key handling (e.g. base64-decoding the key) is caught
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    )


def test_connect_message_verifies_with_any_of_several_keys_and_headers() -> None:
    body = connect_message()
    check(
        ["old-key", HMAC_KEY],
        {
            "X-DocuSign-Signature-1": signature("unrelated", body),
            "X-DocuSign-Signature-2": signature(HMAC_KEY, body),
        },
        body,
    )
    trigger = connector.trigger("envelope_status")
    request = inbound(body, {"X-DocuSign-Signature-1": signature(HMAC_KEY, body)})
    trigger.verify(ctx(connect_hmac_keys=f"old-key, {HMAC_KEY}"), {}, request)
    [event] = trigger.parse(ctx(), {}, request)
    assert event.id == f"{ENV_ID}:envelope-completed"
    assert event.data["status"] == "completed" and event.data["envelope_id"] == ENV_ID
    assert event.data["envelope_summary"]["emailSubject"] == "Sign C-7"
    assert trigger.acknowledge(ctx(), {}, request, ["1"]).status == 200


@pytest.mark.parametrize("case", ["tampered", "wrong_key", "missing", "garbage", "no_keys"])
def test_bad_connect_messages_are_refused(case: str) -> None:
    body = connect_message()
    headers = {"X-DocuSign-Signature-1": signature(HMAC_KEY, body)}
    context = ctx()
    if case == "tampered":
        body = body.replace(b"completed", b"declined")
    elif case == "wrong_key":
        headers = {"X-DocuSign-Signature-1": signature("guess", body)}
    elif case == "missing":
        headers = {}
    elif case == "garbage":
        headers = {"X-DocuSign-Signature-1": "%%%not-base64"}
    else:
        context = ctx(connect_hmac_keys=None)
    with pytest.raises(SignatureError):
        connector.trigger("envelope_status").verify(context, {}, inbound(body, headers))


def test_status_filter_other_account_and_xml() -> None:
    trigger = connector.trigger("envelope_status")
    sent = inbound(connect_message("envelope-sent", "sent"), {})
    assert trigger.parse(ctx(), {"statuses": ["completed"]}, sent) == []
    assert trigger.parse(ctx(), {}, sent)[0].data["status"] == "sent"
    with pytest.raises(PermanentError, match="not 8f1c"):
        trigger.parse(ctx(account_id="8f1c5e7a-0000-4000-8000-000000000999"), {}, sent)
    xml = InboundRequest(
        "POST", "u", "/h", Headers({"Content-Type": "text/xml"}), {}, b"<DocuSignEnvelopeInformation/>"
    )
    with pytest.raises(PermanentError, match="XML"):
        trigger.parse(ctx(), {}, xml)


def test_through_ingress_replay_is_deduped_and_tampering_is_401(tmp_path: Path) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    with hub_kit(tmp_path) as kit:
        kit.connection("ds", "docusign", conn())
        path = kit.recipe({"connector": "docusign", "trigger": "envelope_status", "connection": "ds"})
        body = connect_message()
        headers = {"X-DocuSign-Signature-1": signature(HMAC_KEY, body), "Content-Type": "application/json"}
        assert kit.client.post(path, data=body, headers=headers).status_code == 200
        assert kit.client.post(path, data=body, headers=headers).status_code == 200  # Connect retry / replay
        assert kit.counts() == (1, 1)
        forged = body.replace(b"Sign C-7", b"Sign C-8")
        assert kit.client.post(path, data=forged, headers=headers).status_code == 401
        assert kit.counts() == (1, 1)


# --- polling ---------------------------------------------------------------------------------------


def envelope(n: int, status: str) -> dict[str, Any]:
    return {
        "envelopeId": f"env-{n}",
        "status": status,
        "emailSubject": f"S{n}",
        "statusChangedDateTime": f"2026-11-23T0{n}:00:00.0000000Z",
    }


@responses.activate
def test_poll_pages_dedupes_and_advances_the_cursor_to_last_queried() -> None:
    first = responses.get(
        f"{API}/envelopes",
        json={
            "resultSetSize": "2",
            "startPosition": "0",
            "endPosition": "1",
            "totalSetSize": "3",
            "lastQueriedDateTime": "2026-11-23T09:00:00.0000000Z",
            "envelopes": [envelope(1, "completed"), envelope(2, "completed")],
        },
    )
    responses.get(
        f"{API}/envelopes",
        json={
            "resultSetSize": "1",
            "startPosition": "2",
            "endPosition": "2",
            "totalSetSize": "3",
            "lastQueriedDateTime": "2026-11-23T09:00:01.0000000Z",
            "envelopes": [envelope(2, "completed")],
        },
    )  # shifted into the next page while paging
    result = connector.trigger("envelope_changes").poll(
        ctx(), {"statuses": ["completed"]}, "2026-11-23T00:00:00.000Z"
    )
    assert [e.id for e in result.items] == ["env-1:completed", "env-2:completed"]
    assert result.cursor == "2026-11-23T09:00:00.0000000Z"
    urls = [c.request.url for c in responses.calls]
    assert "from_date=2026-11-23T00%3A00%3A00.000Z" in urls[0] and "from_to_status=changed" in urls[0]
    assert "status=completed" in urls[0] and "start_position=0" in urls[0] and "count=100" in urls[0]
    assert "start_position=2" in urls[1]
    assert first.calls[0].request.headers["Authorization"] == "Bearer eyJ-access"


@responses.activate
def test_poll_empty_answer_keeps_moving() -> None:
    responses.get(
        f"{API}/envelopes",
        json={
            "resultSetSize": "0",
            "totalSetSize": "0",
            "lastQueriedDateTime": "2026-11-23T10:00:00.0000000Z",
        },
    )
    result = connector.trigger("envelope_changes").poll(ctx(), {}, "2026-11-23T09:00:00.0000000Z")
    assert result.items == [] and result.cursor == "2026-11-23T10:00:00.0000000Z"


@responses.activate
def test_an_answer_without_last_queried_moves_to_docusigns_clock_not_the_hubs() -> None:
    """Before: the fallback cursor was the hub's now; a DocuSign clock behind it lost envelopes."""
    responses.get(
        f"{API}/envelopes",
        json={"resultSetSize": "0", "totalSetSize": "0"},
        headers={"Date": "Mon, 23 Nov 2026 10:00:00 GMT"},
    )
    result = connector.trigger("envelope_changes").poll(ctx(), {}, "2026-11-23T09:00:00.0000000Z")
    assert (
        result.items == [] and result.cursor is not None and result.cursor.startswith("2026-11-23T10:00:00")
    )


@responses.activate
def test_poll_first_run_uses_since_and_filters_statuses() -> None:
    import datetime as dt

    route = responses.get(
        f"{API}/envelopes",
        json={
            "resultSetSize": "2",
            "totalSetSize": "2",
            "endPosition": "1",
            "envelopes": [envelope(1, "sent"), envelope(2, "declined")],
        },
    )
    context = ctx()
    context.since = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    result = connector.trigger("envelope_changes").poll(context, {"statuses": ["declined", "voided"]}, None)
    assert [e.id for e in result.items] == ["env-2:declined"]
    assert "from_date=2026-11-01T08%3A00%3A00.000Z" in route.calls[0].request.url
    assert "status=declined%2Cvoided" in route.calls[0].request.url
    assert result.cursor.endswith("Z")


def test_metadata_schemas_are_valid_and_credentials_are_secret() -> None:
    import jsonschema

    from connectors.docusign import connector as described

    json.dumps(described.describe())
    jsonschema.Draft202012Validator.check_schema(described.connection_schema())
    for action in described.action_map.values():
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
    for trigger in described.trigger_map.values():
        jsonschema.Draft202012Validator.check_schema(trigger.config_schema)
    assert described.secret_fields() == {
        "client_secret",
        "access_token",
        "refresh_token",
        "connect_hmac_keys",
    }


@responses.activate
def test_poll_through_the_engine_stores_the_cursor_and_never_runs_an_envelope_status_twice(
    tmp_path: Path,
) -> None:
    import datetime as dt

    from sqlalchemy import select

    from connectors.docusign.triggers import iso
    from hub.db.models import TriggerState
    from hub.engine.poller import poll_recipe
    from tests.connectors.twilio.hubkit import hub_kit

    def page(envelopes: list[dict[str, Any]], queried: str) -> dict[str, Any]:
        n = str(len(envelopes))
        return {
            "resultSetSize": n,
            "totalSetSize": n,
            "endPosition": str(len(envelopes) - 1),
            "lastQueriedDateTime": queried,
            "envelopes": envelopes,
        }

    with hub_kit(tmp_path) as kit:
        kit.connection("ds", "docusign", conn())
        kit.recipe(
            {
                "connector": "docusign",
                "trigger": "envelope_changes",
                "connection": "ds",
                "config": {"statuses": ["completed"]},
                "start": {"backfill_from": "2026-11-01T00:00:00+00:00"},
            }
        )
        route = responses.get(
            f"{API}/envelopes", json=page([envelope(1, "completed")], "2026-11-23T09:00:00Z")
        )
        assert poll_recipe(kit.runtime, 1)["new"] == 1
        responses.replace(
            responses.GET,
            f"{API}/envelopes",
            json=page([envelope(1, "completed"), envelope(2, "completed")], "2026-11-23T09:15:00Z"),
        )
        assert poll_recipe(kit.runtime, 1)["new"] == 1  # env-1 again in the overlap: not a second run
        responses.replace(responses.GET, f"{API}/envelopes", json={"resultSetSize": "0", "totalSetSize": "0"})
        before = iso(dt.datetime.now(dt.UTC))
        assert poll_recipe(kit.runtime, 1)["new"] == 0
        assert kit.counts() == (2, 2)
        urls = [c.request.url for c in responses.calls]
        assert len(urls) == 3 and route.calls
        assert "from_date=2026-11-01T00%3A00%3A00.000Z" in urls[0]
        assert (
            "from_date=2026-11-23T09%3A00%3A00Z" in urls[1]
            and "from_date=2026-11-23T09%3A15%3A00Z" in urls[2]
        )
        with kit.runtime.db.transaction() as session:
            state = session.scalar(select(TriggerState))
            assert state.cursor.endswith("Z") and state.cursor >= before  # no lastQueriedDateTime: now
