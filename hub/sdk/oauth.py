"""OAuth 2.0 token lifecycle for connectors that declare OAuth2 auth.

Refreshes run under the connection's lock: a worker that finds the token already renewed by
another uses it instead of spending the (possibly single-use) refresh token a second time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hub.sdk.auth import OAuth2
from hub.sdk.errors import AuthError, PermanentError

if TYPE_CHECKING:
    from hub.sdk.context import Context

EXPIRY_MARGIN_S = 60


def token_is_fresh(connection: dict[str, Any], now: float | None = None) -> bool:
    if not connection.get("access_token"):
        return False
    expires_at = connection.get("expires_at")
    if expires_at is None:
        return True
    return float(expires_at) - (now or time.time()) > EXPIRY_MARGIN_S


def token_url(auth: OAuth2, connection: dict[str, Any]) -> str:
    return auth.token_endpoint(connection)


def authorize_url(auth: OAuth2, connection: dict[str, Any], redirect_uri: str, state: str) -> str:
    """The consent page a person is sent to for the authorization-code grant."""
    params = {
        "response_type": "code",
        "client_id": connection.get("client_id", ""),
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": connection.get("scopes") or auth.scope_separator.join(auth.scopes),
        **auth.extra_authorize_params,
    }
    base = auth.authorize_endpoint(connection)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def _token_request(
    ctx: Context, auth: OAuth2, connection: dict[str, Any], form: dict[str, str]
) -> dict[str, Any]:
    import base64

    headers = {"Accept": "application/json"}
    body = dict(form)
    client_id = str(connection.get("client_id") or "")
    client_secret = str(connection.get("client_secret") or "")
    if auth.client_auth == "basic":
        raw = f"{client_id}:{client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
    else:
        body.update({"client_id": client_id, "client_secret": client_secret})
    client = ctx.http_client(base_url="", authenticate=False)
    response = client.post(token_url(auth, connection), data=body, headers=headers, raise_for_status=False)
    if response.status >= 400:
        detail = response.json() if response.is_json else {}
        error = detail.get("error") if isinstance(detail, dict) else None
        message = f"{ctx.connector.name}: token request refused ({error or response.status})"
        if response.status in (400, 401, 403):
            raise AuthError(message, vendor_code=error, status=response.status)
        from hub.sdk.errors import RetryableError

        raise RetryableError(message, status=response.status)
    payload = response.json()
    if not isinstance(payload, dict) or "access_token" not in payload:
        raise PermanentError(f"{ctx.connector.name}: token answer has no access_token")
    updates: dict[str, Any] = {"access_token": payload["access_token"]}
    if payload.get("refresh_token"):
        updates["refresh_token"] = payload["refresh_token"]
    if payload.get("expires_in") is not None:
        updates["expires_at"] = int(time.time() + float(payload["expires_in"]))
    for name in auth.token_fields:
        if payload.get(name) not in (None, ""):
            updates[name] = payload[name]
    return updates


def callback_updates(auth: OAuth2, query: Mapping[str, str]) -> dict[str, str]:
    """The connection fields the consent redirect carries, as `auth.callback_fields` names them."""
    return {field: str(query[param]) for param, field in auth.callback_fields.items() if query.get(param)}


def exchange_code(
    ctx: Context, code: str, redirect_uri: str, callback_query: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Trade an authorization code for tokens and store them on the connection, together with the
    declared fields of the token answer and of the redirect's query (`callback_query`)."""
    auth = ctx.connector.auth
    if not isinstance(auth, OAuth2):
        raise PermanentError(f"{ctx.connector.id} does not use OAuth2")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    updates = {
        **callback_updates(auth, callback_query or {}),
        **_token_request(ctx, auth, ctx.connection, form),
    }
    ctx.save_connection(updates)
    return updates


def ensure_token(ctx: Context, *, force: bool = False) -> None:
    """Make sure ctx.connection holds a usable access token, refreshing it when due (or forced).

    A connection its auth cannot refresh (`Auth.can_refresh`: no refresh token, or a static token
    that replaces OAuth) is left alone, so the vendor's own answer says what is wrong with it;
    only a forced refresh of such a connection is an AuthError."""
    auth = ctx.connector.auth
    if not isinstance(auth, OAuth2):
        return
    if not force and token_is_fresh(ctx.connection):
        return
    if not auth.can_refresh(ctx.connection):
        if force:
            raise AuthError(f"{ctx.connector.name}: connection is not authorized yet (no refresh token)")
        return
    stale_token = ctx.connection.get("access_token")

    def renew(current: dict[str, Any]) -> dict[str, Any] | None:
        renewed_elsewhere = current.get("access_token") and current.get("access_token") != stale_token
        if renewed_elsewhere and token_is_fresh(current):
            return None
        if not force and token_is_fresh(current):
            return None
        if auth.grant == "client_credentials":
            form = {"grant_type": "client_credentials"}
            scopes = current.get("scopes") or auth.scope_separator.join(auth.scopes)
            if scopes:
                form["scope"] = str(scopes)
        else:
            if not current.get("refresh_token"):
                raise AuthError(f"{ctx.connector.name}: connection is not authorized yet (no refresh token)")
            form = {"grant_type": "refresh_token", "refresh_token": str(current["refresh_token"])}
        return _token_request(ctx, auth, current, form)

    if ctx.secret_store is None:
        updates = renew(dict(ctx.connection))
        if updates:
            ctx.connection.update(updates)
        return
    ctx.connection = ctx.secret_store.update(renew)
