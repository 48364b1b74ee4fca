"""用友 YonSuite / YonBIP self-built app (自建应用) auth: the tenant's data centre, then a signed token.

1. `GET {base_url}/open-auth/dataCenter/getGatewayAddress?tenantId=` names the tenant's gateway
   (business calls) and token host; the answer is cached a day per tenant.
2. `GET {tokenUrl}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey&timestamp&signature`, where
   signature = Base64(HmacSHA256(appSecret, "appKey" + appKey + "timestamp" + timestamp)) (the
   parameters other than signature, sorted by name, name and value concatenated), URL-encoded once
   (by the HTTP client, as a query parameter). The token (valid `expire` seconds, 7200) is cached in
   the shared token cache so every worker and process uses one.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from hub.sdk.auth import Auth, secret_field
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse
from hub.sdk.signing import hmac_base64

VENDOR = "用友"
OK = "00000"  # success code of the auth and data-centre services (business calls answer "200")
GATEWAY_TTL_S = 24 * 3600
TOKEN_MARGIN_S = 300
TOKEN_PATH = "/open-auth/selfAppAuth/base/v1/getAccessToken"  # noqa: S105 - a path, not a secret
GATEWAY_PATH = "/open-auth/dataCenter/getGatewayAddress"


class YonyouAuth(Auth):
    """AppKey + AppSecret of a self-built app, and the tenant whose data centre serves it."""

    kind = "yonyou_self_app"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "app_key": {
                "type": "string",
                "title": "AppKey",
                "description": "开放平台 > 自建应用 > the app's 应用凭证 AppKey.",
            },
            "app_secret": secret_field(
                "AppSecret",
                "The app's AppSecret: signs the token request and, for event subscriptions, decrypts events.",
            ),
            "tenant_id": {
                "type": "string",
                "title": "Tenant ID",
                "description": "租户ID (系统管理 > 企业信息): finds the tenant's data centre "
                "(gateway and token host).",
            },
        }

    def required(self) -> list[str]:
        return ["app_key", "app_secret"]


def token_signature(app_key: str, app_secret: str, timestamp: str) -> str:
    """Base64 HmacSHA256 over the sorted parameters, name + value: "appKey<key>timestamp<ms>"."""
    return hmac_base64(app_secret, f"appKey{app_key}timestamp{timestamp}")


def _answer(response: HttpResponse, what: str) -> dict[str, Any]:
    """The `data` of an auth-service answer; retryable for 429/5xx, an AuthError for a refusal."""
    payload: Any = None
    if response.content:
        try:
            payload = response.json()
        except PermanentError:
            payload = None
    body = payload if isinstance(payload, dict) else {}
    code = None if body.get("code") is None else str(body.get("code"))
    if response.status < 400 and code == OK and isinstance(body.get("data"), dict):
        return body["data"]
    message = str(body.get("message") or body.get("msg") or response.text[:300] or f"HTTP {response.status}")
    text = f"{VENDOR}: {what}: {message}" + (f" (code {code})" if code else "") + f" [HTTP {response.status}]"
    if response.status == 429 or response.status >= 500:
        raise RetryableError(text, vendor_code=code, status=response.status)
    raise AuthError(text, vendor_code=code, status=response.status)


def hosts(ctx: Context) -> tuple[str, str]:
    """(gateway URL, token URL): the connection's own, or the tenant's data centre (cached a day)."""
    conn = ctx.connection
    if conn.get("gateway_url") and conn.get("token_url"):
        return str(conn["gateway_url"]).rstrip("/"), str(conn["token_url"]).rstrip("/")
    tenant = str(conn.get("tenant_id") or "").strip()
    if not tenant:
        raise PermanentError(f"{VENDOR}: give the connection a tenant_id, or both gateway_url and token_url")

    def lookup() -> tuple[dict[str, str], float]:
        response = ctx.http_client(authenticate=False).get(
            GATEWAY_PATH, params={"tenantId": tenant}, raise_for_status=False
        )
        data = _answer(response, "data centre lookup")
        if not data.get("gatewayUrl") or not data.get("tokenUrl"):
            raise PermanentError(f"{VENDOR}: the data centre answer has no gatewayUrl or tokenUrl")
        return {"gateway": str(data["gatewayUrl"]), "token": str(data["tokenUrl"])}, GATEWAY_TTL_S

    # Keyed by the lookup service too: a connection pointed elsewhere never reuses the old answer.
    where = hashlib.sha256(f"{ctx.base_url}|{tenant}".encode()).hexdigest()[:16]
    found = ctx.cache.get_or_fetch(ctx.cache_key(f"yonyou:datacentre:{where}"), lookup)
    return (
        str(conn.get("gateway_url") or found["gateway"]).rstrip("/"),
        str(conn.get("token_url") or found["token"]).rstrip("/"),
    )


def token_cache_key(ctx: Context, token_url: str) -> str:
    # An edited connection (another app, secret or data centre) never reuses the old token.
    who = "|".join(
        [str(ctx.connection.get("app_key") or ""), str(ctx.connection.get("app_secret") or ""), token_url]
    )
    return ctx.cache_key("yonyou:token:" + hashlib.sha256(who.encode()).hexdigest()[:16])


def fetch_token(ctx: Context, token_url: str) -> tuple[str, float]:
    app_key, app_secret = (
        str(ctx.connection.get("app_key") or ""),
        str(ctx.connection.get("app_secret") or ""),
    )
    if not app_key or not app_secret:
        raise AuthError(f"{VENDOR}: the connection needs the app's AppKey and AppSecret")
    stamp = str(int(time.time() * 1000))
    params = {"appKey": app_key, "timestamp": stamp, "signature": token_signature(app_key, app_secret, stamp)}
    response = ctx.http_client(base_url=token_url, authenticate=False).get(
        TOKEN_PATH, params=params, raise_for_status=False
    )
    data = _answer(response, "access token refused")
    if not data.get("access_token"):
        raise AuthError(f"{VENDOR}: the token answer has no access_token")
    ttl = float(data.get("expire") or 7200) - TOKEN_MARGIN_S
    return str(data["access_token"]), max(ttl, 60.0)


def access_token(ctx: Context, *, stale: str | None = None, fresh: bool = False) -> str:
    """The shared token; one worker (of any process) fetches it, the others wait for its value."""
    _, token_url = hosts(ctx)
    key = token_cache_key(ctx, token_url)
    if fresh:
        ctx.cache.delete(key)
    return str(ctx.cache.get_or_fetch(key, lambda: fetch_token(ctx, token_url), stale=stale))
