"""intuit-signature: base64(HMAC-SHA256(verifier token, raw body)). No timestamp is signed, so a
replayed delivery verifies; the hub's dedupe on each event's id keeps it from starting runs twice."""

from __future__ import annotations

from hub.sdk.errors import SignatureError
from hub.sdk.signing import hmac_base64, signatures_match

HEADER = "intuit-signature"


def signature(verifier_token: str, body: bytes) -> str:
    return hmac_base64(verifier_token, body)


def check(verifier_token: str | None, body: bytes, header_value: str | None) -> None:
    if not verifier_token:
        raise SignatureError("the connection has no webhook_verifier_token (Intuit app > Webhooks)")
    if not header_value:
        raise SignatureError(f"missing {HEADER} header")
    if not signatures_match(signature(verifier_token, body), header_value):
        raise SignatureError(f"{HEADER} does not match the body")
