"""Feishu actions: start and read approval instances, send IM messages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from connectors.feishu.client import call, request_uuid, subscribe_approval
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import dumps_json

INSTANCE_STATUSES = [
    "PENDING",
    "APPROVED",
    "REJECTED",
    "CANCELED",
    "DELETED",
    "REVERTED",
    "OVERTIME_CLOSE",
    "OVERTIME_RECOVER",
]
UUID_CONFLICT_CODES = {"60012"}  # "uuid conflict", per the create-instance reference


def form_string(form: Any) -> str:
    """Feishu wants the widget list as a JSON *string*; Decimals stay exact."""
    if isinstance(form, str):
        try:
            parsed = json.loads(form)
        except ValueError as exc:
            raise PermanentError(f"Feishu: `form` is a string but not JSON: {exc}") from exc
        if not isinstance(parsed, list):
            raise PermanentError("Feishu: `form` must be a list of widget values")
        return form
    return dumps_json(form).decode("utf-8")


def parse_form(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value, parse_float=Decimal)
        except ValueError:
            return value
    return value


class CreateApprovalInstance(Action):
    key = "create_approval_instance"
    title = "Start an approval"
    description = "Creates an approval instance of a definition (approval_code) for a user, with form values."
    # Feishu refuses a second instance with the same uuid, derived from the step's idempotency key.
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["approval_code", "form"],
        "additionalProperties": False,
        "properties": {
            "approval_code": {"type": "string", "title": "Approval definition code"},
            "user_id": {"type": "string", "title": "Applicant user_id"},
            "open_id": {"type": "string", "title": "Applicant open_id (ou_...)"},
            "department_id": {"type": "string", "title": "Applicant department"},
            "form": {
                "title": "Form widget values",
                "description": 'Like [{"id": "widget1", "type": "input", "value": "C-7"}]; '
                "sent as the JSON string Feishu expects.",
                "oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "string"}],
            },
            "node_approver_user_id_list": {"type": "array", "items": {"type": "object"}},
            "node_approver_open_id_list": {"type": "array", "items": {"type": "object"}},
            "uuid": {
                "type": "string",
                "maxLength": 64,
                "title": "Dedupe uuid",
                "description": "Defaults to one derived from the step's idempotency key.",
            },
            "subscribe_events": {
                "type": "boolean",
                "default": True,
                "title": "Subscribe to this approval's events",
                "description": "So a later wait on approval_status gets them, also when the wait step's "
                "config does not name the definition (at most once a day per definition).",
            },
        },
    }
    output_schema = {"type": "object", "properties": {"instance_code": {"type": "string"}, "uuid": {}}}
    sample_output = {"instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71", "uuid": None}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        if not inputs.get("user_id") and not inputs.get("open_id"):
            raise PermanentError("Feishu: give the applicant's `user_id` or `open_id`")
        body: dict[str, Any] = {"approval_code": inputs["approval_code"], "form": form_string(inputs["form"])}
        for name in (
            "user_id",
            "open_id",
            "department_id",
            "node_approver_user_id_list",
            "node_approver_open_id_list",
        ):
            if inputs.get(name):
                body[name] = inputs[name]
        dedupe = request_uuid(ctx, inputs.get("uuid"))
        if dedupe:
            body["uuid"] = dedupe
        if inputs.get("subscribe_events", True):
            # Feishu sends approval events only for subscribed definitions. A wait_for step naming
            # `approval_code` in its config is subscribed when the recipe is enabled (and then this
            # is skipped for a day); one that cannot name it (the code is templated here) relies on this.
            subscribe_approval(ctx, str(inputs["approval_code"]), reuse=True)
        try:
            data = call(ctx, "POST", "/open-apis/approval/v4/instances", json=body)
        except PermanentError as exc:
            if exc.vendor_code in UUID_CONFLICT_CODES:
                raise PermanentError(
                    f"{exc.message}: an instance with uuid {dedupe} already exists, so an earlier attempt "
                    "of this step most likely created it; look it up in Feishu before retrying",
                    vendor_code=exc.vendor_code,
                    status=exc.status,
                ) from exc
            raise
        if not data.get("instance_code"):
            raise PermanentError("Feishu: the answer has no instance_code")
        return {"instance_code": data["instance_code"], "uuid": dedupe}


class GetApprovalInstance(Action):
    key = "get_approval_instance"
    title = "Get an approval"
    description = "Reads an approval instance: status, applicant, form values, tasks and timeline."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["instance_code"],
        "additionalProperties": False,
        "properties": {
            "instance_code": {"type": "string", "title": "Instance code"},
            "user_id_type": {"enum": ["open_id", "user_id", "union_id"], "default": "open_id"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "instance_code": {"type": "string"},
            "approval_code": {"type": "string"},
            "status": {"enum": INSTANCE_STATUSES},
            "form": {},
        },
    }
    sample_output = {
        "instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71",
        "approval_code": "7C468A54-8745-2245-9675-08B7C63E7A85",
        "approval_name": "Contract approval",
        "status": "APPROVED",
        "serial_number": "202611230001",
        "user_id": "f7cb567e",
        "open_id": "ou_123456",
        "start_time": "1564590532967",
        "end_time": "1564590600000",
        "form": [{"id": "widget1", "type": "input", "value": "C-7"}],
        "task_list": [],
        "timeline": [],
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return get_instance(ctx, inputs["instance_code"], inputs.get("user_id_type") or "open_id")


def get_instance(ctx: Context, instance_code: str, user_id_type: str = "open_id") -> dict[str, Any]:
    data = call(
        ctx,
        "GET",
        f"/open-apis/approval/v4/instances/{instance_code}",
        params={"user_id_type": user_id_type},
    )
    data = dict(data)
    data.setdefault("instance_code", instance_code)
    data["form"] = parse_form(data.get("form"))
    return data


class SendMessage(Action):
    key = "send_message"
    title = "Send a message"
    description = "Sends an IM message to a user or chat (text, post, interactive card, ...)."
    # Feishu sends at most one message per uuid within an hour.
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["receive_id_type", "receive_id", "msg_type", "content"],
        "additionalProperties": False,
        "properties": {
            "receive_id_type": {"enum": ["open_id", "union_id", "user_id", "email", "chat_id"]},
            "receive_id": {"type": "string"},
            "msg_type": {
                "enum": [
                    "text",
                    "post",
                    "image",
                    "file",
                    "audio",
                    "media",
                    "sticker",
                    "interactive",
                    "share_chat",
                    "share_user",
                    "system",
                ],
            },
            "content": {
                "title": "Content",
                "description": 'For text: {"text": "..."}; sent as the JSON string Feishu expects.',
                "oneOf": [{"type": "object"}, {"type": "string"}],
            },
            "uuid": {"type": "string", "maxLength": 50},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"message_id": {"type": "string"}, "chat_id": {"type": "string"}},
    }
    sample_output = {
        "message_id": "om_dc13264520392913993dd051dba21dcf",
        "chat_id": "oc_xxx",
        "create_time": "1615380573411",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        content = inputs["content"]
        body: dict[str, Any] = {
            "receive_id": inputs["receive_id"],
            "msg_type": inputs["msg_type"],
            "content": content if isinstance(content, str) else dumps_json(content).decode("utf-8"),
        }
        dedupe = request_uuid(ctx, inputs.get("uuid"))
        if dedupe:
            body["uuid"] = dedupe
        data = call(
            ctx,
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": inputs["receive_id_type"]},
            json=body,
        )
        return {k: data.get(k) for k in ("message_id", "chat_id", "create_time", "msg_type")}
