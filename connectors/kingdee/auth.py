"""Kingdee K3Cloud session login: user + password (ValidateUser) or third-party app (LoginByAppSecret).

The session lives in the shared token cache as a Cookie header, so every worker reuses one login
until the server forgets it (it idles out after about 20 minutes)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hub.sdk.auth import Auth, secret_field
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError

SERVICE = "Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
SESSION_TTL_S = 15 * 60  # below the server's idle timeout; a lost session is also retried once
_COOKIES = ("kdservice-sessionid", "ASP.NET_SessionId")


class KingdeeAuth(Auth):
    kind = "session"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "acct_id": {"type": "string", "title": "Data centre ID (acctID)"},
            "username": {"type": "string", "title": "User name"},
            "login_mode": {
                "enum": ["password", "app_secret"],
                "default": "password",
                "title": "Log in with the user's password, or a third-party system app (AppID/AppSecret)",
            },
            "password": secret_field("Password (login_mode password)"),
            "app_id": {"type": "string", "title": "AppID (login_mode app_secret)"},
            "app_secret": secret_field("AppSecret (login_mode app_secret)"),
            "lcid": {"type": "integer", "default": 2052, "title": "Language (2052 = 简体中文)"},
        }

    def required(self) -> list[str]:
        return ["acct_id", "username"]


def service_path(name: str) -> str:
    return "/" + SERVICE.format(name)


def session_cookie(set_cookie: str, body: dict[str, Any]) -> str:
    """The Cookie header for later calls, from the login's Set-Cookie or, failing that, its body."""
    found = {}
    for name in _COOKIES:
        match = re.search(rf"(?:^|[\s,;]){re.escape(name)}=([^;,\s]+)", set_cookie or "")
        if match:
            found[name] = match.group(1)
    if "kdservice-sessionid" not in found and body.get("KDSVCSessionId"):
        found["kdservice-sessionid"] = str(body["KDSVCSessionId"])
    if not found:
        raise AuthError("Kingdee: login succeeded but the server sent no session cookie")
    return "; ".join(f"{k}={v}" for k, v in found.items())


def login(ctx: Context) -> str:
    conn = ctx.connection
    mode = conn.get("login_mode") or "password"
    lcid = int(conn.get("lcid") or 2052)
    if mode == "app_secret":
        if not (conn.get("app_id") and conn.get("app_secret")):
            raise PermanentError("Kingdee: login_mode app_secret needs app_id and app_secret")
        name = "AuthService.LoginByAppSecret"
        body: dict[str, Any] = {
            "acctID": conn.get("acct_id"),
            "username": conn.get("username"),
            "appId": conn.get("app_id"),
            "appSecret": conn.get("app_secret"),
            "lcid": lcid,
        }
    else:
        name = "AuthService.ValidateUser"
        body = {
            "acctID": conn.get("acct_id"),
            "username": conn.get("username"),
            "password": conn.get("password") or "",
            "lcid": lcid,
        }
    response = ctx.http_client(authenticate=False).post(
        service_path(name), json=body, headers={"Accept": "application/json"}
    )
    answer = response.json()
    if not isinstance(answer, dict):
        raise PermanentError("Kingdee: login answer is not a JSON object")
    if not (answer.get("IsSuccessByAPI") or answer.get("LoginResultType") == 1):
        message = answer.get("Message") or "login refused"
        raise AuthError(
            f"Kingdee: {message} (LoginResultType {answer.get('LoginResultType')})",
            vendor_code=str(answer.get("LoginResultType")),
        )
    return session_cookie(response.headers.get("Set-Cookie", ""), answer)


def session(ctx: Context, *, fresh: bool = False, stale: str | None = None) -> str:
    """The shared session cookie: `fresh` logs in again; `stale` (a cookie the server just lost)
    is replaced once, and callers that lost the same one get the replacement."""
    conn = ctx.connection
    who = "|".join(
        str(conn.get(k) or "") for k in ("base_url", "acct_id", "username", "login_mode", "app_id")
    )
    # An edited connection (another server, data centre or user) never reuses the old session.
    key = ctx.cache_key("kingdee_session:" + hashlib.sha256(who.encode()).hexdigest()[:16])
    if fresh:
        ctx.cache.delete(key)
    # One worker logs in at a time; the others wait for its session instead of opening their own.
    return str(ctx.cache.get_or_fetch(key, lambda: (login(ctx), SESSION_TTL_S), stale=stale))
