"""法大大 FASC 5.x signatures, for requests the hub sends and callbacks it receives.

1. Take the `X-FASC-*` headers (all but X-FASC-Sign) and `bizContent`, leaving out blank values.
2. Sort by key in code-unit order (so every `X-FASC-…` key comes before `bizContent`) and join as
   `k=v` with `&`, values as they are (no URL-encoding).
3. signText = lower-hex SHA-256 of that; signingKey = HMAC-SHA256(appSecret, X-FASC-Timestamp), raw.
4. X-FASC-Sign = lower-hex HMAC-SHA256(signingKey, signText).
Timestamps are epoch milliseconds; FASC allows 5 minutes of skew and a nonce once in 10 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping

from hub.sdk.errors import SignatureError
from hub.sdk.signing import check_timestamp, hmac_digest, hmac_hex, signatures_match

SIGN_TYPE = "HMAC-SHA256"
SUB_VERSION = "5.1"
CALLBACK_HEADERS = ("X-FASC-App-Id", "X-FASC-Sign-Type", "X-FASC-Timestamp", "X-FASC-Nonce", "X-FASC-Event")


def sign_text(parameters: Mapping[str, str]) -> str:
    joined = "&".join(f"{k}={parameters[k]}" for k in sorted(parameters) if str(parameters[k]).strip())
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def signature(parameters: Mapping[str, str], timestamp: str, app_secret: str) -> str:
    key = hmac_digest(app_secret, timestamp)
    return hmac_hex(key, sign_text(parameters))


def request_headers(
    app_id: str,
    app_secret: str,
    biz_content: str | None,
    *,
    access_token: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The signed headers of one call: with the access token, or asking for one (client_credential)."""
    headers = {
        "X-FASC-App-Id": app_id,
        "X-FASC-Sign-Type": SIGN_TYPE,
        "X-FASC-Timestamp": timestamp or str(int(time.time() * 1000)),
        "X-FASC-Nonce": nonce or secrets.token_hex(16),  # 32 characters
        "X-FASC-Api-SubVersion": SUB_VERSION,
    }
    if access_token:
        headers["X-FASC-AccessToken"] = access_token
    else:
        headers["X-FASC-Grant-Type"] = "client_credential"
    parameters = dict(headers)
    if biz_content:
        parameters["bizContent"] = biz_content
    headers["X-FASC-Sign"] = signature(parameters, headers["X-FASC-Timestamp"], app_secret)
    return headers


def check_callback(
    app_secret: str,
    headers: Mapping[str, str | None],
    biz_content: str,
    *,
    max_age_s: float,
    now: float | None = None,
) -> None:
    """Verify a callback: its five X-FASC headers and the raw bizContent, signed as above."""
    stamp = headers.get("X-FASC-Timestamp")
    check_timestamp(stamp, tolerance_s=max_age_s, what="X-FASC-Timestamp", unit="ms", now=now)
    sign_type = headers.get("X-FASC-Sign-Type") or ""
    if sign_type.upper() != SIGN_TYPE:
        raise SignatureError(f"unsupported X-FASC-Sign-Type {sign_type!r}")
    parameters = {name: str(headers.get(name) or "") for name in CALLBACK_HEADERS}
    parameters["bizContent"] = biz_content
    expected = signature(parameters, str(stamp), app_secret)
    if not signatures_match(expected, headers.get("X-FASC-Sign"), ignore_case=True):
        raise SignatureError("X-FASC-Sign does not match the callback")
