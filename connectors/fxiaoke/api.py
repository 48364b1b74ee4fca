"""Calls to the 纷享销客 (FxiaoKe / ShareCRM) open API, with one corpAccessToken shared by every worker.

`POST /cgi/corpAccessToken/get/V2 {appId, appSecret, permanentCode}` answers `{errorCode: 0,
corpAccessToken, corpId, expiresIn}`. Every data call is a JSON POST carrying `corpAccessToken`,
`corpId` and `currentOpenUserId` (the employee the call acts as) next to its `data`; answers carry
`errorCode` (0 = success), `errorMessage` and a `traceId` for the vendor's support. Error 20016 (token
invalid or expired) renews the token once, for every worker that saw the same token refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.http import HttpResponse

VENDOR = "纷享销客"
TOKEN_INVALID = 20016
TOKEN_MARGIN_S = 300
USER_TTL_S = 24 * 3600


class TokenRefused(Exception):
    """The corpAccessToken was refused; it is renewed and the call repeated once."""


def _payload(response: HttpResponse, path: str) -> dict[str, Any]:
    if response.status == 429 or response.status >= 500:
        raise RetryableError(f"{VENDOR} {path}: HTTP {response.status}", status=response.status)
    body = response.json() if response.content else None
    if not isinstance(body, dict):
        raise PermanentError(f"{VENDOR} {path}: the answer is not a JSON object [HTTP {response.status}]")
    return body


def failure(body: dict[str, Any], path: str, status: int) -> PermanentError:
    code = body.get("errorCode")
    message = str(body.get("errorMessage") or body.get("errorDescription") or "error")
    text = f"{VENDOR} {path}: {message} (code {code})"
    details = {"traceId": body.get("traceId")}
    if status in (401, 403):
        return AuthError(text, vendor_code=str(code), status=status, details=details)
    return PermanentError(text, vendor_code=str(code), status=status, details=details)


def token_cache_key(ctx: Context) -> str:
    conn = ctx.connection
    who = "|".join(str(conn.get(k) or "") for k in ("base_url", "app_id", "app_secret", "permanent_code"))
    return ctx.cache_key("fxiaoke:token:" + hashlib.sha256(who.encode()).hexdigest()[:16])


def fetch_token(ctx: Context) -> tuple[dict[str, str], float]:
    conn = ctx.connection
    if not (conn.get("app_id") and conn.get("app_secret") and conn.get("permanent_code")):
        raise AuthError(f"{VENDOR}: the connection needs appId, appSecret and permanentCode")
    path = "/cgi/corpAccessToken/get/V2"
    body = {"appId": conn["app_id"], "appSecret": conn["app_secret"], "permanentCode": conn["permanent_code"]}
    response = ctx.http_client(authenticate=False).post(path, json=body, raise_for_status=False)
    answer = _payload(response, path)
    if answer.get("errorCode") != 0 or not answer.get("corpAccessToken"):
        error = failure(answer, path, response.status)
        raise AuthError(error.message, vendor_code=str(answer.get("errorCode")), details=error.details)
    ttl = float(answer.get("expiresIn") or 7200) - TOKEN_MARGIN_S
    token = {"corpAccessToken": str(answer["corpAccessToken"]), "corpId": str(answer.get("corpId") or "")}
    return token, max(ttl, 60.0)


def corp_token(ctx: Context, *, stale: dict[str, str] | None = None, fresh: bool = False) -> dict[str, str]:
    """{corpAccessToken, corpId} from the shared cache; one worker of any process fetches it."""
    key = token_cache_key(ctx)
    if fresh:
        ctx.cache.delete(key)
    return dict(ctx.cache.get_or_fetch(key, lambda: fetch_token(ctx), stale=stale))


def _post(ctx: Context, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = ctx.http_client(authenticate=False).post(path, json=body, raise_for_status=False)
    answer = _payload(response, path)
    if answer.get("errorCode") == TOKEN_INVALID:
        raise TokenRefused(str(answer.get("errorMessage") or "token invalid"))
    if answer.get("errorCode") != 0 or response.status >= 400:
        raise failure(answer, path, response.status)
    return answer


def with_token(ctx: Context, path: str, fields: dict[str, Any]) -> dict[str, Any]:
    """POST `fields` plus corpAccessToken and corpId; the token is renewed once if refused."""
    token = corp_token(ctx)
    try:
        return _post(ctx, path, {**token, **fields})
    except TokenRefused:
        pass
    try:
        return _post(ctx, path, {**corp_token(ctx, stale=token), **fields})
    except TokenRefused as exc:
        raise AuthError(f"{VENDOR}: corpAccessToken refused again after a refresh: {exc}") from exc


def open_user_id(ctx: Context) -> str:
    """The employee the calls act as: the connection's openUserId, or the one of its mobile number."""
    conn = ctx.connection
    if conn.get("current_open_user_id"):
        return str(conn["current_open_user_id"])
    mobile = str(conn.get("operator_mobile") or "")
    if not mobile:
        raise PermanentError(f"{VENDOR}: give the connection current_open_user_id or operator_mobile")

    def lookup() -> tuple[str, float]:
        answer = with_token(ctx, "/cgi/user/getByMobile", {"mobile": mobile})
        employees = answer.get("empList") or []
        if not employees or not isinstance(employees[0], dict) or not employees[0].get("openUserId"):
            raise PermanentError(f"{VENDOR}: no employee has the mobile number {mobile}")
        return str(employees[0]["openUserId"]), USER_TTL_S

    return str(ctx.cache.get_or_fetch(ctx.cache_key(f"fxiaoke:user:{mobile}"), lookup))


def crm(ctx: Context, path: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A CRM data call acting as the connection's employee."""
    return with_token(ctx, path, {"currentOpenUserId": open_user_id(ctx), "data": data, **extra})


def object_path(api_name: str, verb: str) -> str:
    """Custom objects (`…__c`) live under /cgi/crm/custom/v2, predefined ones under /cgi/crm/v2."""
    family = "custom/v2" if api_name.endswith("__c") else "v2"
    return f"/cgi/crm/{family}/data/{verb}"
