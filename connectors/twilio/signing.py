"""Twilio's request signature: base64(HMAC-SHA1(auth token, URL + sorted form params)).

As Twilio's helper libraries compute it: parameter names in sorted order, each followed by its
values sorted (a repeated field's distinct values, each once), appended to the URL without
separators. A JSON-body webhook is signed over the URL alone, and that URL carries the body's
SHA-256 (hex) in its `bodySHA256` query parameter, which must match the body received.

Twilio signs the URL exactly as it was configured in the console; proxies and default ports make
the URL the hub sees differ, so the check also tries the URL with and without the default port,
as Twilio's own helper libraries do. Twilio sends no timestamp: replays are caught by dedupe on the
message sid (and status), not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

from hub.sdk.errors import SignatureError
from hub.sdk.signing import hmac_base64, signatures_match

DEFAULT_PORTS = {"https": 443, "http": 80}
BODY_HASH_PARAM = "bodySHA256"


def signature(auth_token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    """What Twilio puts in X-Twilio-Signature for a request to `url` with these form params."""
    data = url
    for name in sorted(params):
        value = params[name]
        for item in sorted(set(value if isinstance(value, list) else [value])):
            data += name + item
    return hmac_base64(auth_token, data, "sha1")


def body_hash(body: bytes) -> str:
    """The `bodySHA256` value Twilio puts in the URL of a JSON-body webhook."""
    return hashlib.sha256(body).hexdigest()


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


def _signs_body(url: str, body: bytes) -> bool:
    """Whether `url`'s bodySHA256 is the body's hash (constant-time); an empty body needs none."""
    given = parse_qs(urlsplit(url).query).get(BODY_HASH_PARAM)
    if not given:
        return not body
    return signatures_match(body_hash(body), given[0])


def check_signature(
    auth_token: str,
    urls: Iterable[str],
    params: Mapping[str, str | list[str]],
    given: str | None,
    *,
    body: bytes | None = None,
) -> None:
    """Raise SignatureError unless `given` matches one of the candidate URLs (constant-time).

    `params` are the form fields of a form-encoded request; for any other request pass its raw
    `body` instead (and no params): the URL must then carry the body's hash in bodySHA256."""
    if not given:
        raise SignatureError("missing X-Twilio-Signature header")
    candidates = list(urls)
    if body is not None:
        candidates = [url for url in candidates if _signs_body(url, body)]
        if not candidates:
            raise SignatureError(
                f"the request body is not signed: its SHA-256 must be the URL's {BODY_HASH_PARAM} parameter"
            )
    for url in candidates:
        for variant in url_variants(url):
            if signatures_match(signature(auth_token, variant, params), given):
                return
    raise SignatureError(
        "X-Twilio-Signature does not match: check the auth token and that public_url is the exact "
        "URL configured in Twilio"
    )
