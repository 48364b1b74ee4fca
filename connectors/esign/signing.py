"""e签宝 v3 signatures: outbound request signing and inbound callback verification.

Requests: X-Tsign-Open-Ca-Signature = base64(HMAC-SHA256(AppSecret, StringToSign)) with
StringToSign = METHOD \\n Accept \\n Content-MD5 \\n Content-Type \\n Date \\n Headers + PathAndParameters,
Content-MD5 = base64(md5(raw body)) (empty without a body), Date and Headers empty, and
PathAndParameters = path + "?" + query parameters sorted by key ("key=value", "key" when empty).

Callbacks: X-Tsign-Open-SIGNATURE = hex(HMAC-SHA256(AppSecret, X-Tsign-Open-TIMESTAMP + the values of
the notify URL's query parameters in key order + raw body)).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from hub.sdk.errors import SignatureError
from hub.sdk.signing import check_timestamp, hmac_base64, hmac_hex, signatures_match

ACCEPT = "*/*"
CONTENT_TYPE = "application/json; charset=UTF-8"
AUTH_MODE = "Signature"


def content_md5(body: bytes | None) -> str:
    if not body:
        return ""
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode("ascii")


def path_and_parameters(url: str) -> str:
    parts = urlsplit(url)
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "&".join(k if v == "" else f"{k}={v}" for k, v in pairs)
    return (parts.path or "/") + (f"?{query}" if query else "")


def string_to_sign(method: str, md5: str, content_type: str, path: str, accept: str = ACCEPT) -> str:
    date, headers = "", ""
    return f"{method.upper()}\n{accept}\n{md5}\n{content_type}\n{date}\n{headers}{path}"


def request_signature(secret: str, method: str, url: str, body: bytes | None) -> str:
    text = string_to_sign(method, content_md5(body), CONTENT_TYPE, path_and_parameters(url))
    return hmac_base64(secret, text)


def signed_headers(app_id: str, secret: str, method: str, url: str, body: bytes | None) -> dict[str, str]:
    return {
        "X-Tsign-Open-App-Id": app_id,
        "X-Tsign-Open-Auth-Mode": AUTH_MODE,
        "X-Tsign-Open-Ca-Timestamp": str(int(time.time() * 1000)),
        "X-Tsign-Open-Ca-Signature": request_signature(secret, method, url, body),
        "Accept": ACCEPT,
        "Content-Type": CONTENT_TYPE,
        "Content-MD5": content_md5(body),
    }


def callback_signature(secret: str, timestamp: str, query: Mapping[str, str], body: bytes) -> str:
    values = "".join(query[k] for k in sorted(query))
    message = timestamp.encode("utf-8") + values.encode("utf-8") + body
    return hmac_hex(secret, message)


def check_callback(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    query: Mapping[str, str],
    body: bytes,
    max_age_s: float,
    now: float | None = None,
) -> None:
    if not timestamp or not signature:
        raise SignatureError("missing X-Tsign-Open-TIMESTAMP or X-Tsign-Open-SIGNATURE header")
    check_timestamp(timestamp, tolerance_s=max_age_s, what="X-Tsign-Open-TIMESTAMP", unit="ms", now=now)
    expected = callback_signature(secret, timestamp, query, body)
    if not signatures_match(expected, signature, ignore_case=True):
        raise SignatureError("X-Tsign-Open-SIGNATURE does not match the body")
