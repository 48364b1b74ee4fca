"""Twilio's request signature: base64(HMAC-SHA1(auth token, URL + sorted form params)).

Twilio signs the URL exactly as it was configured in the console; proxies and default ports make
the URL the hub sees differ, so the check also tries the URL with and without the default port,
as Twilio's own helper libraries do. Twilio sends no timestamp: replays are caught by dedupe on the
message sid (and status), not here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from hub.sdk.errors import SignatureError

DEFAULT_PORTS = {"https": 443, "http": 80}


def signature(auth_token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    """What Twilio puts in X-Twilio-Signature for a form POST to `url`."""
    data = url
    for name in sorted(params):
        value = params[name]
        for item in value if isinstance(value, list) else [value]:
            data += name + item
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """The URL as given, then with the scheme's default port removed or added."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    host = parts.hostname or ""
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    variants = [url]
    if default is None or not host:
        return variants
    if parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return variants


def check_signature(
    auth_token: str, urls: Iterable[str], params: Mapping[str, str | list[str]], given: str | None
) -> None:
    """Raise SignatureError unless `given` matches one of the candidate URLs (constant-time)."""
    if not given:
        raise SignatureError("missing X-Twilio-Signature header")
    supplied = given.strip().encode("ascii", errors="replace")
    for url in urls:
        for variant in url_variants(url):
            if hmac.compare_digest(signature(auth_token, variant, params).encode("ascii"), supplied):
                return
    raise SignatureError(
        "X-Twilio-Signature does not match: check the auth token and that public_url is the exact "
        "URL configured in Twilio"
    )
