"""DocuSign Connect HMAC: X-DocuSign-Signature-N = base64(HMAC-SHA256(connect key, raw body)).

An account may have several active Connect keys (rotation): DocuSign sends one header per key, and
a request is genuine when any header matches any configured key.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

from hub.sdk.errors import SignatureError
from hub.sdk.signing import hmac_base64, hmac_digest, signatures_match
from hub.sdk.types import HeaderMap

HEADER = re.compile(r"^x-docusign-signature-\d+$", re.I)


def signature(key: str, body: bytes) -> str:
    return hmac_base64(key, body)


def split_keys(value: str | None) -> list[str]:
    return [k.strip() for k in re.split(r"[\s,]+", value or "") if k.strip()]


def check(keys: Iterable[str], headers: HeaderMap, body: bytes) -> None:
    keys = [k for k in keys if k]
    if not keys:
        raise SignatureError("DocuSign: set the connection's Connect HMAC key(s) to accept Connect messages")
    given: list[bytes] = []
    for name, value in headers.items():
        if HEADER.match(name):
            try:
                given.append(base64.b64decode(value.strip(), validate=True))
            except (binascii.Error, ValueError):
                continue
    if not given:
        raise SignatureError("DocuSign: missing X-DocuSign-Signature-1 header (is Include HMAC on?)")
    for key in keys:
        expected = hmac_digest(key, body)
        if any(signatures_match(expected, candidate) for candidate in given):
            return
    raise SignatureError("DocuSign: no X-DocuSign-Signature header matches the body")
