"""Twilio signatures for repeated form fields and for JSON bodies (bodySHA256).

Vectors come from two sources: ones computed here step by step from the documented algorithm, and
the published test vectors of Twilio's own Python helper library (twilio-python's
tests/unit/test_request_validator.py: auth token 12345)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from connectors.twilio import connector
from connectors.twilio.signing import body_hash, check_signature, signature
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"

# twilio-python's vectors: repeated Digits (unsorted, one repeated value) and a JSON body.
LIB_REPEATED = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]}
LIB_REPEATED_SIGNATURE = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
LIB_BODY = b'{"property": "value", "boolean": true}'
LIB_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
LIB_BODY_URL = f"{DOC_URL}&bodySHA256={LIB_BODY_HASH}"
LIB_BODY_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


def documented(token: str, data: str) -> str:
    """Step 4-5 of the documented algorithm, given the concatenated string of steps 1-3."""
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def ctx() -> Context:
    return Context(connector=connector, connection={"account_sid": SID, "auth_token": TOKEN})


def request(url: str, body: bytes, content_type: str, sig: str | None) -> InboundRequest:
    headers = Headers({"Content-Type": content_type})
    if sig is not None:
        headers["X-Twilio-Signature"] = sig
    return InboundRequest("POST", url, "/hooks/tok1", headers, {}, body)


def test_repeated_fields_are_signed_with_their_values_sorted() -> None:
    params = {"To": "+1", "MediaUrl": ["https://b.example/2.png", "https://a.example/1.png"]}
    data = DOC_URL + "MediaUrlhttps://a.example/1.pngMediaUrlhttps://b.example/2.png" + "To+1"
    assert signature(TOKEN, DOC_URL, params) == documented(TOKEN, data)
    assert signature(TOKEN, DOC_URL, LIB_REPEATED) == LIB_REPEATED_SIGNATURE
    check_signature(TOKEN, [DOC_URL], LIB_REPEATED, LIB_REPEATED_SIGNATURE)
    with pytest.raises(SignatureError):  # a different value is still a different signature
        check_signature(
            TOKEN, [DOC_URL], {**LIB_REPEATED, "Digits": ["5678", "1235"]}, LIB_REPEATED_SIGNATURE
        )


def test_a_genuine_form_webhook_repeating_a_field_is_accepted_through_ingress(tmp_path: Any) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    fields = [
        ("MessageSid", "SMr1"),
        ("AccountSid", SID),
        ("MediaUrl0", "x"),
        ("Tag", "zeta"),
        ("Tag", "alpha"),
    ]
    with hub_kit(tmp_path) as kit:
        kit.connection("sms", "twilio", {"account_sid": SID, "auth_token": TOKEN})
        path = kit.recipe({"connector": "twilio", "trigger": "incoming_sms", "connection": "sms"})
        data = kit.url(path) + f"AccountSid{SID}MediaUrl0xMessageSidSMr1TagalphaTagzeta"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": documented(TOKEN, data),
        }
        answer = kit.client.post(path, data=urlencode(fields), headers=headers)
        assert answer.status_code == 200 and kit.counts() == (1, 1)
        assert kit.events()[0]["Tag"] == ["zeta", "alpha"]


def test_json_body_is_checked_against_the_signed_body_hash() -> None:
    assert body_hash(LIB_BODY) == LIB_BODY_HASH
    check_signature(TOKEN, [LIB_BODY_URL], {}, LIB_BODY_SIGNATURE, body=LIB_BODY)
    with pytest.raises(SignatureError, match="body is not signed"):
        check_signature(TOKEN, [LIB_BODY_URL], {}, LIB_BODY_SIGNATURE, body=b'{"property": "forged"}')


def test_json_webhook_with_a_tampered_body_or_no_body_hash_is_refused() -> None:
    trigger = connector.trigger("message_status")
    genuine = request(LIB_BODY_URL, LIB_BODY, "application/json", LIB_BODY_SIGNATURE)
    trigger.verify(ctx(), {}, genuine)
    tampered = request(
        LIB_BODY_URL, b'{"property": "value", "boolean": false}', "application/json", LIB_BODY_SIGNATURE
    )
    with pytest.raises(SignatureError, match="body is not signed"):
        trigger.verify(ctx(), {}, tampered)
    # a URL signature without bodySHA256 says nothing about the body, so it cannot carry one
    url_only = request(DOC_URL, LIB_BODY, "application/json", documented(TOKEN, DOC_URL))
    with pytest.raises(SignatureError, match="bodySHA256"):
        trigger.verify(ctx(), {}, url_only)
    trigger.verify(ctx(), {}, request(DOC_URL, b"", "application/json", documented(TOKEN, DOC_URL)))


def test_body_hash_and_signature_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    check_signature(TOKEN, [LIB_BODY_URL], {}, LIB_BODY_SIGNATURE, body=LIB_BODY)
    assert (LIB_BODY_HASH.encode(), LIB_BODY_HASH.encode()) in compared
    assert (LIB_BODY_SIGNATURE.encode(), LIB_BODY_SIGNATURE.encode()) in compared


def test_a_form_body_that_is_not_utf8_is_a_400_not_a_signature_failure(tmp_path: Any) -> None:
    from tests.connectors.twilio.hubkit import hub_kit

    with hub_kit(tmp_path) as kit:
        kit.connection("sms", "twilio", {"account_sid": SID, "auth_token": TOKEN})
        path = kit.recipe({"connector": "twilio", "trigger": "incoming_sms", "connection": "sms"})
        answer = kit.client.post(
            path,
            data=b"MessageSid=SM1&Body=%ED%A0%80",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
        )
        assert answer.status_code == 400 and "not UTF-8" in answer.get_json()["error"]["message"]
        assert kit.counts() == (0, 0)
