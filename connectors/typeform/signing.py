"""Typeform-Signature: `sha256=` + base64(HMAC-SHA256(secret, raw body)), no timestamp.

Typeform signs the body only, so a captured request can be replayed as it is: replays are stopped
by the hub's dedupe on the event id (event_id, or the response token)."""

from __future__ import annotations

from hub.sdk.errors import SignatureError
from hub.sdk.signing import hmac_base64, signatures_match

HEADER = "Typeform-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_base64(secret, body)


def check(secret: str | None, body: bytes, header_value: str | None) -> None:
    if not secret:
        raise SignatureError(
            "no webhook secret: enable the recipe so the hub registers the webhook with its own secret, "
            "or set the connection's webhook_secret to the secret of a webhook you added in Typeform"
        )
    if not header_value:
        raise SignatureError(f"missing {HEADER} header")
    if not header_value.startswith("sha256="):
        raise SignatureError(f"{HEADER} is not of the form sha256=<base64>")
    if not signatures_match(signature(secret, body), header_value):
        raise SignatureError(f"{HEADER} does not match the body")
