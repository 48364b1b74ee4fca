"""Vendor access tokens traded for an app id and secret (not OAuth): one per app in the shared
TokenCache, so every worker and process reuses it, and renewed once when the vendor refuses it.

A connector writes `fetch` (ask the vendor: (token, seconds to keep it)) and `send(token)` (one call,
raising `TokenRejected` when the vendor says the token is invalid or expired); `with_app_token` does
the rest: the cached token, and on a refusal one renewal shared by every worker that saw the same
token refused (`TokenCache.get_or_fetch(stale=...)`), then one more try.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from hub.sdk.context import Context, Fetch
from hub.sdk.errors import AuthError

T = TypeVar("T")


class TokenRejected(Exception):
    """The vendor refused the access token a call carried."""


def app_token_key(vendor: str, app_id: object, secret: object) -> str:
    """The cache key of one app's token; a digest of the secret keeps a wrong secret from reusing it."""
    digest = hashlib.sha256(str(secret or "").encode()).hexdigest()[:16]
    return f"{vendor}:access_token:{app_id or ''}:{digest}"


def app_token(ctx: Context, key: str, fetch: Fetch, *, stale: str | None = None) -> str:
    """The cached token; one worker (in any process) fetches it when it is missing, expired or `stale`."""
    return str(ctx.cache.get_or_fetch(key, fetch, stale=stale))


def with_app_token(ctx: Context, key: str, fetch: Fetch, send: Callable[[str], T], *, vendor: str) -> T:
    """`send(token)`, renewing the token once if the vendor refuses it; AuthError if it refuses again."""
    token = app_token(ctx, key, fetch)
    try:
        return send(token)
    except TokenRejected:
        pass  # renewed below, once for every worker that saw the same token refused
    try:
        return send(app_token(ctx, key, fetch, stale=token))
    except TokenRejected as exc:
        raise AuthError(f"{vendor}: access token refused again after a refresh: {exc}") from exc
