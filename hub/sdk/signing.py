"""The generic half of webhook and request signatures: HMAC, constant-time comparison, freshness.

What a vendor signs (which headers, in which order, how the URL is encoded) is the connector's
business; these are the parts every scheme repeats and each copy can get subtly wrong: comparing
with `==` leaks the secret a byte at a time through timing, `hmac.compare_digest` raises on a
non-ASCII `str` (a header decoded as Latin-1 can hold one), and a timestamp check that trusts
`float()` or `str.isdigit()` lets `"nan"` or `"²"` through to a window that never closes or a crash.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from typing import Literal

from hub.sdk.errors import SignatureError

Algorithm = Literal["sha1", "sha256", "sha512"]

# Unix time as vendors send it: ASCII digits only (no sign, fraction, exponent, "nan" or "²").
_UNIX_TIME = re.compile(r"[0-9]+", re.ASCII)


def _bytes(value: str | bytes) -> bytes:
    # surrogatepass: a str that is not valid Unicode still encodes, and distinct strings stay distinct.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def hmac_digest(key: str | bytes, message: str | bytes, algorithm: Algorithm = "sha256") -> bytes:
    """The raw HMAC of `message` under `key`; text is taken as UTF-8, as every vendor here signs it."""
    return hmac.new(_bytes(key), _bytes(message), algorithm).digest()


def hmac_hex(key: str | bytes, message: str | bytes, algorithm: Algorithm = "sha256") -> str:
    """The HMAC in lowercase hex (GitHub-style `sha256=<hex>`, e签宝 callbacks, Standard HMAC webhooks)."""
    return hmac_digest(key, message, algorithm).hex()


def hmac_base64(key: str | bytes, message: str | bytes, algorithm: Algorithm = "sha256") -> str:
    """The HMAC in standard base64 with padding (Twilio, Xero, DocuSign, Intuit, Aliyun, ...)."""
    return base64.b64encode(hmac_digest(key, message, algorithm)).decode("ascii")


def signatures_match(expected: str | bytes, given: str | bytes | None, *, ignore_case: bool = False) -> bool:
    """Whether a received signature equals the one computed, in time independent of where they differ.

    Text is stripped of surrounding whitespace (a proxy's or a copy-paste's) and, with `ignore_case`,
    lowercased: that is for hex, which vendors send in either case; never for base64, where case is
    meaning. Bytes (decoded digests) are compared exactly, as a raw digest may begin with a space
    byte. A missing, empty or non-ASCII `given` is simply no match: this never raises."""
    if not given:
        return False
    return hmac.compare_digest(_comparable(expected, ignore_case), _comparable(given, ignore_case))


def _comparable(value: str | bytes, ignore_case: bool) -> bytes:
    if isinstance(value, bytes):
        return value
    value = value.strip()
    return _bytes(value.lower() if ignore_case else value)


def _span(seconds: float) -> str:
    """300 -> "5 minutes", 90 -> "90 s": the window as a person reading the message thinks of it."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def check_timestamp(
    value: str | None,
    *,
    tolerance_s: float,
    what: str,
    unit: Literal["s", "ms"] = "s",
    now: float | None = None,
) -> None:
    """Refuse a signed timestamp further than `tolerance_s` from now, either way, with SignatureError.

    A signature proves who sent a request, not when: without this window a captured delivery can be
    replayed for ever. Future stamps are refused too (a vendor's clock is never that far ahead).
    Exactly `tolerance_s` away still passes. `value` is Unix time in seconds or, with `unit="ms"`,
    milliseconds; `what` names it in the message (e.g. "HubSpot: X-HubSpot-Request-Timestamp")."""
    text = (value or "").strip()
    if not text:
        raise SignatureError(f"{what} is missing")
    if not _UNIX_TIME.fullmatch(text):
        kind = "in milliseconds" if unit == "ms" else "in seconds"
        raise SignatureError(f"{what} is not a Unix time {kind}")
    sent = float(text) / (1000 if unit == "ms" else 1)  # float: no int() digit limit on a long value
    age = (time.time() if now is None else now) - sent
    if age > tolerance_s:
        raise SignatureError(
            f"{what} is older than {_span(tolerance_s)}, outside the signature window (replayed?)"
        )
    if -age > tolerance_s:
        raise SignatureError(
            f"{what} is more than {_span(tolerance_s)} in the future, outside the signature window "
            "(clock skew?)"
        )
