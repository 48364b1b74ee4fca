"""Google service-account access tokens: a self-signed RS256 JWT traded at the token endpoint.

The JWT-bearer grant (RFC 7523) as Google documents it for server-to-server calls: claims
`iss` (the key's client_email), `scope`, `aud` (the token URI), `iat`, `exp` (at most one hour
later) and, for domain-wide delegation, `sub` (the user to act as). The access token is cached in
the hub's shared token cache until shortly before it expires, so workers do not mint one per call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import parse_retry_after

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
ASSERTION_LIFETIME_S = 3600
EXPIRY_MARGIN_S = 120


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_key(raw: Any) -> dict[str, Any]:
    """The service-account JSON key (as pasted from the Google Cloud console)."""
    try:
        key = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise AuthError("Google Forms: the service account key is not valid JSON") from exc
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise AuthError('Google Forms: the key is not a service account key ("type": "service_account")')
    for name in ("client_email", "private_key"):
        if not key.get(name):
            raise AuthError(f"Google Forms: the service account key has no {name}")
    return key


def build_assertion(key: dict[str, Any], scopes: str, subject: str | None, now: int | None = None) -> str:
    """The signed JWT: base64url(header).base64url(claims).base64url(RS256 signature)."""
    issued = int(now if now is not None else time.time())
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if key.get("private_key_id"):
        header["kid"] = key["private_key_id"]
    claims: dict[str, Any] = {
        "iss": key["client_email"],
        "scope": scopes,
        "aud": key.get("token_uri") or DEFAULT_TOKEN_URI,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_S,
    }
    if subject:
        claims["sub"] = subject
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    ).encode("ascii")
    try:
        private_key = serialization.load_pem_private_key(str(key["private_key"]).encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise AuthError("Google Forms: the service account private_key is not a PEM RSA key") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise AuthError("Google Forms: the service account private_key is not an RSA key")
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode("ascii") + "." + b64url(signature)


def _cache_key(ctx: Context, key: dict[str, Any], scopes: str, subject: str | None) -> str:
    fingerprint = hashlib.sha256(
        f"{key['client_email']}|{key.get('private_key_id')}|{scopes}|{subject or ''}".encode()
    ).hexdigest()[:24]
    return ctx.cache_key(f"google_sa:{fingerprint}")


def _mint(ctx: Context, key: dict[str, Any], scopes: str, subject: str | None) -> tuple[str, float]:
    """Trade a signed JWT for an access token: (token, seconds to keep it)."""
    token_uri = str(key.get("token_uri") or DEFAULT_TOKEN_URI)
    assertion = build_assertion(key, scopes, subject)
    client = ctx.http_client(base_url="", authenticate=False)
    client.secrets.append(assertion)
    response = client.post(
        token_uri,
        data={"grant_type": GRANT, "assertion": assertion},
        headers={"Accept": "application/json"},
        raise_for_status=False,
    )
    payload: Any = response.json() if response.content and response.is_json else {}
    if response.status >= 400 or not isinstance(payload, dict) or not payload.get("access_token"):
        error = payload.get("error") if isinstance(payload, dict) else None
        detail = payload.get("error_description") if isinstance(payload, dict) else None
        text = f"Google Forms: service account token refused: {error or response.status}" + (
            f" ({detail})" if detail else ""
        )
        if response.status == 429 or response.status >= 500:
            raise RetryableError(
                text,
                status=response.status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status < 400:
            raise PermanentError("Google Forms: token answer has no access_token", status=response.status)
        raise AuthError(text, vendor_code=error, status=response.status)
    lifetime = float(payload.get("expires_in") or 3600)
    return str(payload["access_token"]), max(1.0, lifetime - EXPIRY_MARGIN_S)


def access_token(ctx: Context, scopes: str, *, fresh: bool = False) -> str:
    """A cached access token for the connection's service account; minted when missing or `fresh`,
    by one worker at a time (the others wait for its token)."""
    key = load_key(ctx.connection.get("service_account_json"))
    subject = ctx.connection.get("subject") or None
    cache_key = _cache_key(ctx, key, scopes, subject)
    if fresh:
        ctx.cache.delete(cache_key)

    return str(ctx.cache.get_or_fetch(cache_key, lambda: _mint(ctx, key, scopes, subject)))


def forget(ctx: Context, scopes: str) -> None:
    """Drop the cached token (after Google refused it)."""
    key = load_key(ctx.connection.get("service_account_json"))
    ctx.cache.delete(_cache_key(ctx, key, scopes, ctx.connection.get("subject") or None))
