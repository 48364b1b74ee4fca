"""The `sign_flow_status` webhook trigger: e签宝's signed callback notifications (v3)."""

from __future__ import annotations

import hashlib
from typing import Any

from connectors.esign.flows import status_name
from connectors.esign.signing import check_callback
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

DEFAULT_MAX_AGE_S = 600
ACK = {"code": "200", "msg": "success"}


def event_key(data: dict[str, Any], body: bytes) -> str:
    """One id per change: the flow's final status, or one signer's result; else the body's digest."""
    action, flow = str(data.get("action") or ""), str(data.get("signFlowId") or "")
    if action == "SIGN_FLOW_COMPLETE":
        return f"{flow}:{action}:{data.get('signFlowStatus')}"
    if action == "SIGN_MISSON_COMPLETE":
        operator = data.get("operator") or {}
        who = (operator.get("psnAccount") or {}).get("accountMobile") or operator.get("psnId") or ""
        org = (data.get("organization") or {}).get("orgId") or ""
        return f"{flow}:{action}:{data.get('signOrder')}:{org}:{who}:{data.get('signResult')}"
    return f"{flow}:{action}:{hashlib.sha256(body).hexdigest()[:24]}"


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": data.get("action"),
        "sign_flow_id": data.get("signFlowId"),
        "status_code": data.get("signFlowStatus"),
        "status": status_name(data.get("signFlowStatus")) if data.get("signFlowStatus") is not None else None,
        "sign_result": data.get("signResult"),
        "sign_order": data.get("signOrder"),
        "result_description": data.get("resultDescription") or data.get("statusDescription"),
        "custom_biz_num": data.get("customBizNum"),
        "operate_time": data.get("operateTime"),
        "operator": data.get("operator"),
        "organization": data.get("organization"),
        "raw": data,
    }


class SignFlowStatus(WebhookTrigger):
    key = "sign_flow_status"
    title = "Sign flow changed (callback)"
    description = "e签宝 notifies the recipe's URL when a signer finishes or a sign flow ends."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "actions": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["SIGN_FLOW_COMPLETE", "SIGN_MISSON_COMPLETE"],
                "title": "Actions to report (e.g. SIGN_FLOW_COMPLETE, SIGN_MISSON_COMPLETE)",
            },
            "max_age_s": {
                "type": "integer",
                "minimum": 60,
                "maximum": 86400,
                "default": DEFAULT_MAX_AGE_S,
                "title": "Refuse notifications older than (seconds)",
            },
        },
    }
    sample = {
        "action": "SIGN_FLOW_COMPLETE",
        "sign_flow_id": "903f7ebee9411105b7f01d0b97a5ebf5",
        "status_code": 2,
        "status": "completed",
        "sign_result": None,
        "sign_order": None,
        "result_description": "所有签署人完成签署",
        "custom_biz_num": None,
        "operate_time": None,
        "operator": None,
        "organization": None,
        "raw": {},
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        secret = ctx.connection.get("app_secret")
        if not secret:
            raise SignatureError("the e签宝 connection has no AppSecret to check notifications with")
        app_id = request.header("X-Tsign-Open-App-Id")
        if app_id and ctx.connection.get("app_id") and app_id != str(ctx.connection["app_id"]):
            raise SignatureError(f"notification is for another app ({app_id})")
        algorithm = (request.header("X-Tsign-Open-SIGNATURE-ALGORITHM") or "hmac-sha256").lower()
        if algorithm != "hmac-sha256":
            raise SignatureError(f"unsupported signature algorithm {algorithm}")
        check_callback(
            str(secret),
            timestamp=request.header("X-Tsign-Open-TIMESTAMP"),
            signature=request.header("X-Tsign-Open-SIGNATURE"),
            query=request.query,
            body=request.body,
            max_age_s=float(config.get("max_age_s") or DEFAULT_MAX_AGE_S),
        )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = request.json()
        if not isinstance(data, dict) or not data.get("action"):
            raise PermanentError("notification has no action")
        wanted = config.get("actions") or ["SIGN_FLOW_COMPLETE", "SIGN_MISSON_COMPLETE"]
        if data["action"] not in wanted:
            return []  # e签宝 adds actions over time: unknown ones are acknowledged and dropped
        return [TriggerEvent(data=normalise(data), id=event_key(data, request.body))]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body=dict(ACK))
