"""twilio: send_sms against a faked API (responses), webhook signatures with Twilio's documented vector."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import responses
from werkzeug.datastructures import Headers

from connectors.twilio import EMPTY_TWIML, connector
from connectors.twilio.signing import check_signature, signature
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError
from hub.sdk.types import InboundRequest

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "12345"
API = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
CREATED = {
    "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "status": "queued",
    "to": "+15558675310",
    "from": "+15557122661",
    "body": "Contract C-7 is signed",
    "messaging_service_sid": None,
    "num_segments": "1",
    "price": None,
    "price_unit": "USD",
    "error_code": None,
    "error_message": None,
    "date_created": "Fri, 24 May 2019 17:18:27 +0000",
}

# Twilio's documented example (docs "Validate incoming requests", helper-library guide): auth token
# 12345, this URL and these POST params give this signature.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def ctx(**connection: Any) -> Context:
    fields = {"account_sid": SID, "auth_token": TOKEN, **connection}
    return Context(connector=connector, connection=fields, idempotency_key="9:sms")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@responses.activate
def test_send_sms_posts_the_documented_form_with_basic_auth() -> None:
    route = responses.post(API, json=CREATED, status=201)
    out = connector.action("send_sms").perform(
        ctx(),
        {
            "to": "+15558675310",
            "from": "+15557122661",
            "body": "Contract C-7 is signed & done",
            "status_callback": "https://hub.example.com/hooks/abc",
            "media_url": ["https://example.com/a.png", "https://example.com/b.png"],
        },
    )
    sent = route.calls[0].request
    assert sent.method == "POST" and sent.url == API
    assert sent.headers["Authorization"] == basic(SID, TOKEN)
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(sent.body) == [
        ("To", "+15558675310"),
        ("From", "+15557122661"),
        ("Body", "Contract C-7 is signed & done"),
        ("StatusCallback", "https://hub.example.com/hooks/abc"),
        ("MediaUrl", "https://example.com/a.png"),
        ("MediaUrl", "https://example.com/b.png"),
    ]
    assert out["sid"] == CREATED["sid"] and out["status"] == "queued" and out["num_segments"] == "1"
    assert out["error_code"] is None and out["date_created"] == CREATED["date_created"]


@responses.activate
def test_messaging_service_and_api_key_auth_and_base_url_override() -> None:
    url = f"http://127.0.0.1:9/2010-04-01/Accounts/{SID}/Messages.json"
    route = responses.post(url, json={**CREATED, "status": "accepted"}, status=201)
    out = connector.action("send_sms").perform(
        ctx(base_url="http://127.0.0.1:9/", api_key_sid="SKabc", api_key_secret="s3cret"),
        {"to": "+15558675310", "messaging_service_sid": "MG123", "body": "hi"},
    )
    sent = route.calls[0].request
    assert sent.headers["Authorization"] == basic("SKabc", "s3cret")
    assert dict(parse_qsl(sent.body)) == {"To": "+15558675310", "MessagingServiceSid": "MG123", "Body": "hi"}
    assert out["status"] == "accepted"


def test_sender_and_content_are_required_before_any_call() -> None:
    with pytest.raises(PermanentError, match="from"):
        connector.action("send_sms").perform(ctx(), {"to": "+1", "body": "x"})
    with pytest.raises(PermanentError, match="body"):
        connector.action("send_sms").perform(ctx(), {"to": "+1", "from": "+2"})


@responses.activate
def test_documented_error_shape_becomes_an_actionable_message() -> None:
    responses.post(
        API,
        status=400,
        json={
            "code": 21211,
            "message": "The 'To' number +1555 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    with pytest.raises(PermanentError) as failed:
        connector.action("send_sms").perform(ctx(), {"to": "+1555", "from": "+2", "body": "x"})
    assert failed.value.vendor_code == "21211" and failed.value.status == 400
    assert "is not a valid phone number" in failed.value.message and "errors/21211" in failed.value.message
    assert not isinstance(failed.value, RetryableError)


@responses.activate
def test_rate_limit_is_retryable_with_wait_and_bad_credentials_are_auth_errors() -> None:
    body = {"code": 20429, "message": "Too Many Requests", "more_info": "", "status": 429}
    responses.post(API, status=429, json=body, headers={"Retry-After": "3"})
    with pytest.raises(RetryableError) as limited:
        connector.action("send_sms").perform(ctx(), {"to": "+1", "from": "+2", "body": "x"})
    assert limited.value.retry_after == 3 and limited.value.vendor_code == "20429"
    responses.replace(
        responses.POST,
        API,
        status=401,
        json={"code": 20003, "message": "Authenticate", "more_info": "", "status": 401},
    )
    with pytest.raises(AuthError, match=r"Authenticate \(code 20003\)"):
        connector.action("send_sms").perform(ctx(), {"to": "+1", "from": "+2", "body": "x"})


@responses.activate
def test_connection_check_reads_the_account() -> None:
    route = responses.get(
        f"https://api.twilio.com/2010-04-01/Accounts/{SID}.json", json={"sid": SID, "friendly_name": "Ops"}
    )
    assert connector.test_connection(ctx()) == "connected to Twilio account Ops"
    assert route.calls[0].request.headers["Authorization"] == basic(SID, TOKEN)


def test_documented_signature_vector() -> None:
    assert signature("12345", DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    check_signature("12345", [DOC_URL], DOC_PARAMS, DOC_SIGNATURE)
    with pytest.raises(SignatureError):
        check_signature("12345", [DOC_URL], {**DOC_PARAMS, "Digits": "1235"}, DOC_SIGNATURE)
    with pytest.raises(SignatureError):
        check_signature("54321", [DOC_URL], DOC_PARAMS, DOC_SIGNATURE)


def test_default_port_is_accepted_either_way() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    check_signature("12345", [with_port], DOC_PARAMS, DOC_SIGNATURE)
    signed_with_port = signature("12345", with_port, DOC_PARAMS)
    check_signature("12345", [DOC_URL], DOC_PARAMS, signed_with_port)
    with pytest.raises(SignatureError):  # a different port is a different URL
        check_signature(
            "12345", ["https://mycompany.com:8443/myapp.php?foo=1&bar=2"], DOC_PARAMS, DOC_SIGNATURE
        )


def inbound(url: str, params: dict[str, str], sig: str | None) -> InboundRequest:
    headers = Headers({"Content-Type": "application/x-www-form-urlencoded"})
    if sig is not None:
        headers["X-Twilio-Signature"] = sig
    path = "/" + url.split("/", 3)[3].split("?")[0]
    return InboundRequest("POST", url, path, headers, {}, urlencode(params).encode())


INCOMING = {
    "MessageSid": "SMa1",
    "SmsSid": "SMa1",
    "AccountSid": SID,
    "From": "+15558675310",
    "To": "+15557122661",
    "Body": "Approve contract C-7? YES",
    "NumMedia": "0",
}


def test_incoming_sms_verifies_parses_and_answers_empty_twiml() -> None:
    trigger = connector.trigger("incoming_sms")
    url = "https://hub.example.com/hooks/tok1"
    request = inbound(url, INCOMING, signature(TOKEN, url, INCOMING))
    trigger.verify(ctx(), {}, request)
    events = trigger.parse(ctx(), {}, request)
    assert events[0].id == "SMa1" and events[0].data["Body"] == "Approve contract C-7? YES"
    answer = trigger.acknowledge(ctx(), {}, request, ["1"])
    assert answer.status == 200 and answer.body == EMPTY_TWIML
    assert answer.headers["Content-Type"] == "text/xml"


@pytest.mark.parametrize(
    "change",
    [
        {"Body": "Approve contract C-7? NO"},  # tampered field
        {"Extra": "1"},  # added field
    ],
)
def test_tampered_requests_are_refused(change: dict[str, str]) -> None:
    url = "https://hub.example.com/hooks/tok1"
    sig = signature(TOKEN, url, INCOMING)
    with pytest.raises(SignatureError):
        connector.trigger("incoming_sms").verify(ctx(), {}, inbound(url, {**INCOMING, **change}, sig))


def test_missing_signature_and_missing_token_are_refused() -> None:
    url = "https://hub.example.com/hooks/tok1"
    with pytest.raises(SignatureError, match="missing"):
        connector.trigger("incoming_sms").verify(ctx(), {}, inbound(url, INCOMING, None))
    sig = signature(TOKEN, url, INCOMING)
    with pytest.raises(SignatureError, match="Auth Token"):
        connector.trigger("incoming_sms").verify(ctx(auth_token=None), {}, inbound(url, INCOMING, sig))


def test_public_url_config_is_what_gets_checked() -> None:
    public = "https://sms.example.com/twilio/in"
    seen = "http://10.0.0.5:8000/hooks/tok1"  # what the hub saw behind a proxy
    sig = signature(TOKEN, public, INCOMING)
    trigger = connector.trigger("incoming_sms")
    with pytest.raises(SignatureError):
        trigger.verify(ctx(), {}, inbound(seen, INCOMING, sig))
    trigger.verify(ctx(), {"public_url": public}, inbound(seen, INCOMING, sig))


def test_message_status_event_id_is_sid_and_status_and_account_is_checked() -> None:
    trigger = connector.trigger("message_status")
    url = "https://hub.example.com/hooks/tok2"
    params = {"MessageSid": "SMa1", "MessageStatus": "delivered", "AccountSid": SID, "To": "+1"}
    request = inbound(url, params, signature(TOKEN, url, params))
    trigger.verify(ctx(), {}, request)
    [event] = trigger.parse(ctx(), {}, request)
    assert event.id == "SMa1:delivered" and event.data["ErrorCode"] is None
    assert trigger.acknowledge(ctx(), {}, request, ["1"]) is None
    failed = {**params, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    [event] = trigger.parse(ctx(), {}, inbound(url, failed, "x"))
    assert event.id == "SMa1:undelivered" and event.data["ErrorCode"] == "30003"
    other = {**params, "AccountSid": "AC" + "f" * 32}
    with pytest.raises(PermanentError, match="not AC0123"):
        trigger.parse(ctx(), {}, inbound(url, other, "x"))


def test_through_ingress_replay_is_not_a_second_event_and_forgery_is_401(tmp_path: Any) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    with hub_kit(tmp_path) as kit:
        kit.connection("sms", "twilio", {"account_sid": SID, "auth_token": TOKEN})
        path = kit.recipe({"connector": "twilio", "trigger": "incoming_sms", "connection": "sms"})
        sig = signature(TOKEN, kit.url(path), INCOMING)
        headers = {"X-Twilio-Signature": sig}
        first = kit.client.post(path, data=INCOMING, headers=headers)
        assert first.status_code == 200 and first.content_type.startswith("text/xml")
        assert first.get_data(as_text=True) == EMPTY_TWIML
        replay = kit.client.post(path, data=INCOMING, headers=headers)
        assert replay.status_code == 200 and kit.counts() == (1, 1)
        forged = kit.client.post(path, data={**INCOMING, "MessageSid": "SMb2"}, headers=headers)
        assert forged.status_code == 401 and kit.counts() == (1, 1)
        assert kit.events()[0]["Body"] == INCOMING["Body"]


def test_metadata_schemas_are_valid_and_credentials_are_secret() -> None:
    import jsonschema

    from connectors.twilio import connector as described

    json.dumps(described.describe())
    jsonschema.Draft202012Validator.check_schema(described.connection_schema())
    for action in described.action_map.values():
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
    for trigger in described.trigger_map.values():
        jsonschema.Draft202012Validator.check_schema(trigger.config_schema)
    assert described.secret_fields() == {"auth_token", "api_key_secret"}
