"""法大大 signatures. FASC publishes no worked example (none was found in its docs or SDKs), so the
expected values are derived here step by step from the documented algorithm, independently of
connectors.fadada.signing: sorted `k=v&…` of the X-FASC headers and bizContent, SHA-256 hex, and
HMAC-SHA256 keyed with HMAC-SHA256(appSecret, timestamp)."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qsl

import pytest

from connectors.fadada.signing import check_callback, request_headers, sign_text
from hub.sdk.errors import SignatureError
from tests.connectors.fadada.fadada_kit import APP_SECRET, signed_callback

STAMP = "1763960000123"
NONCE = "0123456789abcdef0123456789abcdef"
BIZ = '{"signTaskId":"1681234567890123456"}'


def by_hand(joined: str, timestamp: str, secret: str) -> str:
    text = hashlib.sha256(joined.encode()).hexdigest()
    key = hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def test_request_signature_matches_the_documented_algorithm() -> None:
    headers = request_headers("80000123", "s3cret", BIZ, access_token="tok-1", timestamp=STAMP, nonce=NONCE)
    joined = (
        "X-FASC-AccessToken=tok-1&X-FASC-Api-SubVersion=5.1&X-FASC-App-Id=80000123"
        f"&X-FASC-Nonce={NONCE}&X-FASC-Sign-Type=HMAC-SHA256&X-FASC-Timestamp={STAMP}&bizContent={BIZ}"
    )
    assert headers["X-FASC-Sign"] == by_hand(joined, STAMP, "s3cret")
    assert "X-FASC-Grant-Type" not in headers and len(headers["X-FASC-Nonce"]) == 32


def test_token_request_signs_the_grant_type_and_no_biz_content() -> None:
    headers = request_headers("80000123", "s3cret", None, timestamp=STAMP, nonce=NONCE)
    joined = (
        f"X-FASC-Api-SubVersion=5.1&X-FASC-App-Id=80000123&X-FASC-Grant-Type=client_credential"
        f"&X-FASC-Nonce={NONCE}&X-FASC-Sign-Type=HMAC-SHA256&X-FASC-Timestamp={STAMP}"
    )
    assert headers["X-FASC-Sign"] == by_hand(joined, STAMP, "s3cret")


def test_sorting_is_by_code_unit_and_blank_values_are_left_out() -> None:
    # Upper-case 'X' (0x58) sorts before lower-case 'b' (0x62): bizContent comes last.
    assert (
        sign_text({"bizContent": "{}", "X-FASC-Nonce": "n", "X-FASC-Event": " "})
        == hashlib.sha256(b"X-FASC-Nonce=n&bizContent={}").hexdigest()
    )


def test_callback_verifies_and_tampering_or_replay_is_refused() -> None:
    headers, body = signed_callback(
        "sign-task-finished", {"signTaskId": "1", "signTaskStatus": "task_finished"}
    )
    biz = dict(parse_qsl(body.decode()))["bizContent"]
    check_callback(APP_SECRET, headers, biz, max_age_s=600)
    for changed in (
        {**headers, "X-FASC-Event": "sign-task-signed"},
        {**headers, "X-FASC-Sign": "0" * 64},
        {**headers, "X-FASC-Sign-Type": "MD5"},
    ):
        with pytest.raises(SignatureError):
            check_callback(APP_SECRET, changed, biz, max_age_s=600)
    with pytest.raises(SignatureError):
        check_callback(APP_SECRET, headers, biz.replace("task_finished", "task_terminated"), max_age_s=600)
    with pytest.raises(SignatureError):
        check_callback("another-secret", headers, biz, max_age_s=600)
    old, old_body = signed_callback(
        "sign-task-finished", {"signTaskId": "1"}, stamp=str(int((time.time() - 3600) * 1000))
    )
    with pytest.raises(SignatureError, match="X-FASC-Timestamp"):
        check_callback(APP_SECRET, old, dict(parse_qsl(old_body.decode()))["bizContent"], max_age_s=600)
