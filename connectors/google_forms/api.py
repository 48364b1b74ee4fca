"""GET calls to the Forms API with the connection's credentials, and Google's error answers.

Errors arrive as `{"error": {"code", "message", "status"}}`; the SDK's client turns 429
(RESOURCE_EXHAUSTED) and 5xx into retryable errors and 401/403 into AuthError. A 401 is retried
once with a new token (a revoked or rotated one may still sit in the cache).
"""

from __future__ import annotations

from typing import Any

from connectors.google_forms import service_account
from connectors.google_forms.auth import GoogleAuth, scopes_of
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, ConnectorError, PermanentError
from hub.sdk.http import HttpClient, HttpResponse
from hub.sdk.oauth import ensure_token


def parse_error(response: HttpResponse) -> tuple[str, str | None] | None:
    """(message, status) from `{"error": {"code", "message", "status"}}`."""
    try:
        body = response.json()
    except PermanentError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or response.status), error.get("status") or error.get("code")
    if isinstance(error, str):  # OAuth endpoints: {"error": "invalid_grant", "error_description": ...}
        return str(body.get("error_description") or error), error
    return None


def _auth(ctx: Context) -> GoogleAuth:
    auth = ctx.connector.auth
    assert isinstance(auth, GoogleAuth)
    return auth


def _client(ctx: Context, *, fresh: bool) -> HttpClient:
    if (ctx.connection.get("auth_type") or "oauth2") == "service_account":
        token = service_account.access_token(ctx, scopes_of(ctx.connection, _auth(ctx)), fresh=fresh)
        client = ctx.http_client(authenticate=False)
        client.default_headers["Authorization"] = f"Bearer {token}"
        client.secrets.append(token)
        return client
    if not (ctx.connection.get("access_token") or ctx.connection.get("refresh_token")):
        raise AuthError("Google Forms: the connection is not authorized yet; sign in with Google first")
    if fresh:
        ensure_token(ctx, force=True)
    return ctx.http_client()


def _hint(ctx: Context, exc: ConnectorError) -> str:
    if exc.vendor_code == "PERMISSION_DENIED" or exc.status == 403:
        if (ctx.connection.get("auth_type") or "oauth2") == "service_account":
            email = service_account.load_key(ctx.connection.get("service_account_json"))["client_email"]
            return f"; share the form with {email} (or set 'Act as user' with domain-wide delegation)"
        return "; the signed-in Google account cannot read this form, or the scope was not granted"
    if exc.status == 404:
        return "; check the form ID (the part after /forms/d/ in the form's edit URL)"
    return ""


def get(ctx: Context, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One GET; the JSON object Google answered."""
    return exchange(ctx, path, params)[0]


def exchange(
    ctx: Context, path: str, params: dict[str, Any] | None = None
) -> tuple[dict[str, Any], HttpResponse]:
    """One GET: the JSON object Google answered and the response (its Date header is Google's clock)."""
    try:
        try:
            response = _client(ctx, fresh=False).get(path, params=params)
        except AuthError as exc:
            if exc.status != 401:
                raise
            response = _client(ctx, fresh=True).get(path, params=params)
    except ConnectorError as exc:
        hint = _hint(ctx, exc)
        if not hint:
            raise
        raise type(exc)(
            exc.message + hint, vendor_code=exc.vendor_code, status=exc.status, details=exc.details
        ) from exc
    body = response.json()
    if not isinstance(body, dict):
        raise PermanentError(f"Google Forms: GET {path} answered without a JSON object")
    return body, response
