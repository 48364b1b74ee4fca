"""The `approval_status` webhook trigger: DingTalk's encrypted HTTP-push event subscription."""

from __future__ import annotations

import json
from typing import Any

from connectors.dingtalk.approvals import event_id, from_callback
from connectors.dingtalk.crypto import check_signature, decrypt, encrypted_reply
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.signing import check_timestamp
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

DEFAULT_MAX_AGE_S = 600


def _secrets(ctx: Context) -> tuple[str, str]:
    token, key = ctx.connection.get("callback_token"), ctx.connection.get("callback_aes_key")
    if not token or not key:
        raise SignatureError("the DingTalk connection has no callback token / EncodingAESKey configured")
    return str(token), str(key)


def owner_keys(ctx: Context) -> set[str]:
    """Whose messages we accept: this app (event subscriptions) or this corp (older corp callbacks)."""
    return {str(v) for v in (ctx.connection.get("app_key"), ctx.connection.get("corp_id")) if v}


def open_request(ctx: Context, config: dict[str, Any], request: InboundRequest) -> dict[str, Any]:
    """Check signature, age and owner of a push, and return the decrypted event."""
    token, aes_key = _secrets(ctx)
    q = request.query
    signature = q.get("msg_signature") or q.get("signature")
    stamp = q.get("timestamp") or q.get("timeStamp")
    nonce = q.get("nonce")
    if not (signature and stamp and nonce):
        raise SignatureError("missing msg_signature, timestamp or nonce in the query string")
    try:
        body = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureError("body is not JSON") from exc
    encrypted = body.get("encrypt") if isinstance(body, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise SignatureError("body has no encrypt field")
    check_signature(token, stamp, nonce, encrypted, signature)
    max_age_s = float(config.get("max_age_s") or DEFAULT_MAX_AGE_S)
    check_timestamp(stamp, tolerance_s=max_age_s, what="DingTalk timestamp", unit="ms")
    message, owner = decrypt(aes_key, encrypted)
    if owner not in owner_keys(ctx):
        raise SignatureError(f"event is for another app or corp ({owner!r})")
    try:
        event = json.loads(message)
    except ValueError as exc:
        raise SignatureError("decrypted event is not JSON") from exc
    if not isinstance(event, dict):
        raise SignatureError("decrypted event is not an object")
    event["_owner"] = owner
    return event


def reply(ctx: Context, owner: str) -> WebhookResponse:
    token, aes_key = _secrets(ctx)
    return WebhookResponse(status=200, body=encrypted_reply(token, aes_key, owner, "success"))


class ApprovalStatus(WebhookTrigger):
    key = "approval_status"
    title = "Approval instance changed (callback)"
    description = (
        "DingTalk pushes bpms_instance_change events to the recipe's URL (encrypted HTTP push); "
        "by default only finished and terminated approvals start a run."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "process_codes": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Only these approval templates (process codes)",
            },
            "types": {
                "type": "array",
                "items": {"enum": ["start", "finish", "terminate"]},
                "default": ["finish", "terminate"],
                "title": "Instance changes to report",
            },
            "max_age_s": {
                "type": "integer",
                "minimum": 60,
                "maximum": 86400,
                "default": DEFAULT_MAX_AGE_S,
                "title": "Refuse pushes older than (seconds)",
            },
        },
    }
    sample = {
        "instance_id": "a171de6c-8bxxxx",
        "process_code": "PROC-FF6Y4BE1N2-XXXX",
        "status": "COMPLETED",
        "result": "agree",
        "title": "张三提交的请假",
        "originator_user_id": "manager7675",
        "business_id": "202611231200000123",
        "create_time": 1763870000000,
        "finish_time": 1763880000000,
        "url": "https://aflow.dingtalk.com/dingtalk/mobile/homepage.htm?...",
        "source": "callback",
        "raw": {},
    }

    def handshake(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest
    ) -> WebhookResponse | None:
        if request.method != "POST":
            return None
        event = open_request(ctx, config, request)
        if event.get("EventType") == "check_url":
            return reply(ctx, event["_owner"])
        return None

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        open_request(ctx, config, request)

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        event = open_request(ctx, config, request)
        event.pop("_owner", None)
        if event.get("EventType") != "bpms_instance_change" or not event.get("processInstanceId"):
            return []  # other subscribed events are acknowledged and dropped
        codes = config.get("process_codes") or []
        if codes and event.get("processCode") not in codes:
            return []
        if event.get("type") not in (config.get("types") or ["finish", "terminate"]):
            return []
        item = from_callback(event)
        return [TriggerEvent(data=item, id=event_id(item))]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return reply(ctx, open_request(ctx, config, request)["_owner"])
