"""intuit-signature: base64(HMAC-SHA256(verifier token, raw body)). No timestamp is signed, so a
replayed delivery verifies; the hub's dedupe on each event's id keeps it from starting runs twice."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hub.sdk.errors import SignatureError

HEADER = "intuit-signature"


def signature(verifier_token: str, body: bytes) -> str:
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check(verifier_token: str | None, body: bytes, header_value: str | None) -> None:
    if not verifier_token:
        raise SignatureError("the connection has no webhook_verifier_token (Intuit app > Webhooks)")
    if not header_value:
        raise SignatureError(f"missing {HEADER} header")
    expected = signature(verifier_token, body).encode("ascii")
    if not hmac.compare_digest(header_value.strip().encode("utf-8", "replace"), expected):
        raise SignatureError(f"{HEADER} does not match the body")
