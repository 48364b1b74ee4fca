"""HubSpot webhook signatures: v3 (HMAC with a timestamp) and, when allowed, the legacy v1/v2 hashes."""

from __future__ import annotations

import hashlib

from hub.sdk.errors import SignatureError
from hub.sdk.signing import check_timestamp, hmac_base64, signatures_match
from hub.sdk.types import InboundRequest

MAX_AGE_S = 300
# HubSpot decodes exactly these escapes in the request URI before it signs (v3).
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def signed_uri(url: str) -> str:
    out = url
    for escaped, char in _DECODED.items():
        out = out.replace(escaped, char).replace(escaped.lower(), char)
    return out


def v3_signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + signed_uri(url).encode("utf-8") + body + timestamp.encode()
    return hmac_base64(secret, message)


def legacy_signature(secret: str, version: str, method: str, url: str, body: bytes) -> str:
    """v1: sha256(secret + body); v2: sha256(secret + method + uri + body), hex."""
    if version == "v1":
        source = secret.encode("utf-8") + body
    else:
        source = secret.encode("utf-8") + method.upper().encode() + url.encode("utf-8") + body
    return hashlib.sha256(source).hexdigest()


def check(
    secret: str, request: InboundRequest, *, allow_legacy: bool = False, now: float | None = None
) -> str:
    """Raise SignatureError unless HubSpot signed `request`; return the version that matched."""
    if not secret:
        raise SignatureError("HubSpot: the connection has no client secret to check webhook signatures")
    signature = request.header("X-HubSpot-Signature-v3")
    if signature:
        timestamp = (request.header("X-HubSpot-Request-Timestamp") or "").strip()
        what = "HubSpot: X-HubSpot-Request-Timestamp"
        check_timestamp(timestamp, tolerance_s=MAX_AGE_S, what=what, unit="ms", now=now)
        expected = v3_signature(secret, request.method, request.url, request.body, timestamp)
        if not signatures_match(expected, signature):
            raise SignatureError("HubSpot: X-HubSpot-Signature-v3 does not match the request")
        return "v3"
    legacy = request.header("X-HubSpot-Signature")
    version = (request.header("X-HubSpot-Signature-Version") or "v1").strip().lower()
    if legacy and allow_legacy and version in ("v1", "v2"):
        expected = legacy_signature(secret, version, request.method, request.url, request.body)
        if signatures_match(expected, legacy, ignore_case=True):
            return version
        raise SignatureError(f"HubSpot: X-HubSpot-Signature ({version}) does not match the request")
    if legacy:
        raise SignatureError("HubSpot: only a legacy v1/v2 signature was sent and the trigger requires v3")
    raise SignatureError("HubSpot: missing X-HubSpot-Signature-v3 header")
