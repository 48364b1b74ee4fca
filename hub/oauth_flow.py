"""The OAuth2 authorization-code flow over HTTP: a signed state names the connection and redirect URI.

`POST /api/v1/connections/{id}/oauth/authorize` answers the vendor's consent URL; the vendor sends
the person's browser back to `GET /oauth/callback`, which checks the state (signature and age) and
stores the tokens in the vault.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Response, current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.audit import audit
from hub.connections import Conflict
from hub.current import runtime
from hub.db.models import Connection
from hub.engine.contexts import build_context
from hub.sdk.auth import OAuth2
from hub.sdk.errors import HubError
from hub.sdk.oauth import authorize_url, exchange_code

oauth_callback = Blueprint("oauth", __name__)
STATE_MAX_AGE_S = 900


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hub-oauth-state")


def start(connection: Connection, redirect_uri: str | None, actor: str) -> dict[str, Any]:
    """The consent URL for `connection`, with a state that expires in 15 minutes."""
    rt = runtime()
    connector = rt.registry.get(connection.connector)
    if (
        connector is None
        or not isinstance(connector.auth, OAuth2)
        or connector.auth.grant != "authorization_code"
    ):
        raise Conflict(f"connector '{connection.connector}' does not use the OAuth2 authorization-code flow")
    redirect = redirect_uri or f"{rt.settings.base_url}/oauth/callback"
    state = _signer().dumps(
        {
            "connection": connection.id,
            "redirect_uri": redirect,
            "by": actor,
            "nonce": secrets.token_urlsafe(8),
        }
    )
    ctx = build_context(rt, connector, connection.name)
    return {
        "authorize_url": authorize_url(connector.auth, ctx.connection, redirect, state),
        "redirect_uri": redirect,
        "state": state,
    }


def _page(status: int, message: str) -> Response:
    body = f"<!doctype html><meta charset=utf-8><title>Integration hub</title><p>{message}</p>"
    return Response(body, status=status, mimetype="text/html")


@oauth_callback.get("/oauth/callback")
def callback() -> Response:
    from html import escape

    if request.args.get("error"):
        reason = escape(request.args.get("error_description") or request.args["error"])
        return _page(400, f"The provider did not grant access: {reason}")
    try:
        state = _signer().loads(request.args.get("state", ""), max_age=STATE_MAX_AGE_S)
    except SignatureExpired:
        return _page(400, "This authorization link has expired; start again from the hub.")
    except BadSignature:
        return _page(400, "This authorization request was not started by this hub.")
    code = request.args.get("code")
    if not code:
        return _page(400, "The provider sent no authorization code.")
    rt = runtime()
    with rt.db.transaction() as session:
        connection = session.get(Connection, int(state["connection"]))
        name = connection.name if connection else None
    connector = rt.registry.get(connection.connector) if connection else None
    if connection is None or connector is None:
        return _page(404, "The connection no longer exists.")
    try:
        # Declared redirect parameters (Intuit's realmId) are stored with the tokens.
        exchange_code(build_context(rt, connector, name), code, state["redirect_uri"], request.args)
    except HubError as exc:
        return _page(400, f"Connecting failed: {escape(exc.message)}")
    with rt.db.transaction() as session:
        audit(session, state.get("by", "oauth"), "connection.authorize", "connection", str(connection.id))
    return _page(200, f"Connected: {escape(name or '')}. You can close this window.")
