"""Signature schemes of the webhook connector: plain HMAC-SHA256 and Standard Webhooks."""

from __future__ import annotations

import base64
import binascii
import re

from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.signing import check_timestamp, hmac_base64, hmac_digest, signatures_match

STANDARD_WEBHOOKS_TOLERANCE_S = 300
# Event ids become part of a 255-character dedupe key ("webhook:<id>", "wait:<step>:<id>").
MAX_EVENT_ID_LENGTH = 200
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def checked_event_id(value: str, header_name: str) -> str:
    """A sender's event id header (webhook-id, Idempotency-Key) as given, if it is a sane id."""
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise PermanentError(
            f"{header_name} header is {len(value)} characters long; at most {MAX_EVENT_ID_LENGTH} are allowed"
        )
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise PermanentError(f"{header_name} header must be printable ASCII (no control characters)")
    return value


def check_hmac_sha256(secret: str, body: bytes, header_value: str | None, header_name: str) -> None:
    """The header holds the hex HMAC of the raw body, bare or as `sha256=<hex>`."""
    if not header_value:
        raise SignatureError(f"missing {header_name} header")
    value = header_value.strip()
    if value.lower().startswith("sha256="):
        value = value[len("sha256=") :]
    try:
        given = bytes.fromhex(value)
    except ValueError as exc:
        raise SignatureError(f"{header_name} is not a hex HMAC-SHA256") from exc
    if not signatures_match(hmac_digest(secret, body), given):
        raise SignatureError(f"{header_name} does not match the body")


def standard_webhooks_key(secret: str) -> bytes:
    """`whsec_<base64>` secrets carry the key base64-encoded; other strings are used as they are."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("the configured whsec_ secret is not valid base64") from exc
    return secret.encode("utf-8")


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + hmac_base64(standard_webhooks_key(secret), signed)


def check_standard_webhooks(
    secret: str,
    body: bytes,
    msg_id: str | None,
    timestamp: str | None,
    signatures: str | None,
    now: float | None = None,
) -> None:
    """Standard Webhooks: HMAC over `id.timestamp.body`, timestamp within five minutes."""
    if not (msg_id and timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    check_timestamp(timestamp, tolerance_s=STANDARD_WEBHOOKS_TOLERANCE_S, what="webhook-timestamp", now=now)
    expected = standard_webhooks_signature(secret, msg_id, timestamp, body)
    for candidate in signatures.split():
        if candidate.startswith("v1,") and signatures_match(expected, candidate):
            return
    raise SignatureError("no webhook-signature matches the body")
