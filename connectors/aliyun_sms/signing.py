"""Alibaba Cloud RPC request signing (signature method HMAC-SHA1, SignatureVersion 1.0).

Every parameter, the common ones included, goes into a canonical query string sorted by name and
percent-encoded per RFC 3986; the string to sign is `METHOD&%2F&` + that string encoded once more,
signed with HMAC-SHA1 under the key `AccessKeySecret&`. The same encoding builds the request body,
so what is signed is byte for byte what is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from hub.sdk.signing import hmac_base64

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def percent_encode(value: str) -> str:
    """RFC 3986 unreserved characters stay, everything else is %XX of its UTF-8 bytes (space is %20)."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    return hmac_base64(f"{secret}&", string_to_sign(method, params), "sha1")


def timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC, to the second: yyyy-MM-ddTHH:mm:ssZ."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_params(
    *,
    access_key_id: str,
    access_key_secret: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    method: str = "POST",
    nonce: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The operation's parameters plus the common ones and `Signature`, ready to send."""
    full = {
        "AccessKeyId": access_key_id,
        "Action": action,
        "Format": "JSON",
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": SIGNATURE_VERSION,
        "Timestamp": timestamp(now),
        "Version": version,
        **{k: v for k, v in params.items() if v is not None},
    }
    full["Signature"] = signature(access_key_secret, method, full)
    return full


def form_body(params: Mapping[str, str]) -> bytes:
    """application/x-www-form-urlencoded with the same RFC 3986 encoding the signature used."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode("ascii")
