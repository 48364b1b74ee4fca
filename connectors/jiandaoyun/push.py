"""`data_push`: 简道云's data push (数据推送) of form records, with its SHA-1 signature checked.

简道云 POSTs `{op, data}` as JSON to `<hook url>?timestamp=<unix s>&nonce=<str>` with headers
`X-JDY-Signature` = lower-hex SHA-1 of `nonce:payload:secret:timestamp` (payload = the raw body) and
`X-JDY-DeliverId`, unique per pushed event and the vendor's own key for dedupe. A refused push gets
the official demo's `fail` with 401; an accepted one `success`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import InvalidBodyError, SignatureError
from hub.sdk.signing import check_timestamp, signatures_match
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

DATA_OPS = ("data_create", "data_update", "data_remove", "data_recover")
REFUSED = WebhookResponse(status=401, body="fail", headers={"Content-Type": "text/plain"})


def push_signature(nonce: str, payload: bytes, secret: str, timestamp: str) -> str:
    """X-JDY-Signature: SHA-1 over `{nonce}:{payload}:{secret}:{timestamp}` in UTF-8, lower hex."""
    content = b":".join([nonce.encode(), payload, secret.encode(), timestamp.encode()])
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - the vendor's scheme, not our choice


class DataPush(WebhookTrigger):
    key = "data_push"
    title = "Record pushed (data push)"
    description = (
        "Starts a run for each record 简道云 pushes to the recipe's hook URL (form > 扩展功能 > 数据推送), "
        "signed with the connection's push secret."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "ops": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["data_create", "data_update"],
                "title": "Events",
                "description": "Push ops that start runs (data_create, data_update, data_remove, ...); "
                "others are acknowledged and dropped.",
            },
            "entry_id": {
                "type": "string",
                "title": "Form ID",
                "description": "When set, pushes of records of other forms are acknowledged and dropped.",
            },
            "max_age_s": {
                "type": "integer",
                "minimum": 0,
                "maximum": 86400,
                "default": 900,
                "title": "Oldest timestamp accepted (seconds)",
                "description": "Refuses pushes signed longer ago (replays); 0 turns the check off.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["op", "data"],
        "properties": {
            "op": {"type": "string", "description": "data_create, data_update, data_remove, ..."},
            "data_id": {"type": ["string", "null"]},
            "app_id": {"type": ["string", "null"]},
            "entry_id": {"type": ["string", "null"]},
            "deliver_id": {"type": ["string", "null"], "description": "X-JDY-DeliverId"},
            "data": {"type": "object", "description": "The record as pushed: _id, system fields, widgets."},
        },
    }
    sample = {
        "op": "data_update",
        "data_id": "5b1a2f7f0b2f5e0001a1b2c3",
        "app_id": "5b1a2f7f0b2f5e0001a1b2aa",
        "entry_id": "5b1a2f7f0b2f5e0001a1b2bb",
        "deliver_id": "6f9c2a1e-cc78-11e3-81ab-4c9367dc0958",
        "data": {
            "_id": "5b1a2f7f0b2f5e0001a1b2c3",
            "appId": "5b1a2f7f0b2f5e0001a1b2aa",
            "entryId": "5b1a2f7f0b2f5e0001a1b2bb",
            "updateTime": "2026-11-20T02:05:00.000Z",
            "_widget_1432728651402": "赢单",
        },
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        secret = str(ctx.connection.get("push_secret") or "")
        if not secret:
            raise SignatureError(
                "简道云: the connection has no push secret to check X-JDY-Signature", response=REFUSED
            )
        nonce, timestamp = request.query.get("nonce") or "", request.query.get("timestamp") or ""
        max_age = int(config.get("max_age_s", 900))
        if max_age:
            try:
                check_timestamp(timestamp, tolerance_s=max_age, what="简道云: the timestamp parameter")
            except SignatureError as exc:
                raise SignatureError(exc.message, response=REFUSED) from None
        expected = push_signature(nonce, request.body, secret, timestamp)
        if not nonce or not signatures_match(expected, request.header("X-JDY-Signature"), ignore_case=True):
            raise SignatureError("简道云: X-JDY-Signature does not match the push", response=REFUSED)

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("op"), str):
            raise InvalidBodyError("简道云: a push must be a JSON object with an 'op'")
        data = body.get("data")
        if not isinstance(data, dict):
            raise InvalidBodyError("简道云: the push's 'data' is not an object")
        ops = config.get("ops") or ["data_create", "data_update"]
        entry_id = data.get("entryId")
        if body["op"] not in ops or (config.get("entry_id") and entry_id != config["entry_id"]):
            return []
        deliver_id = request.header("X-JDY-DeliverId")
        event = {
            "op": body["op"],
            "data_id": data.get("_id"),
            "app_id": data.get("appId"),
            "entry_id": entry_id,
            "deliver_id": deliver_id,
            "data": data,
        }
        # Without a DeliverId, one version of one record is one event.
        fallback = f"{body['op']}:{data.get('_id')}:{data.get('updateTime')}"
        return [TriggerEvent(data=event, id=deliver_id or fallback)]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body="success", headers={"Content-Type": "text/plain"})
