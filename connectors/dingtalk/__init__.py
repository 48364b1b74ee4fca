"""DingTalk (钉钉) open platform: OA approvals and work notices for an internal app."""

from __future__ import annotations

import json
from typing import Any

from connectors.dingtalk.api import OAPI_BASE, access_token, new_api, old_api
from connectors.dingtalk.approvals import from_instance
from connectors.dingtalk.callback import ApprovalStatus
from connectors.dingtalk.poll import ApprovalStatusPoll, get_instance
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError


class AppKeyAuth(Auth):
    """An internal app's AppKey + AppSecret, traded for a 2-hour access token (see api.py)."""

    kind = "dingtalk_app"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "app_key": {"type": "string", "title": "AppKey (Client ID)"},
            "app_secret": secret_field("AppSecret (Client Secret)"),
        }

    def required(self) -> list[str]:
        return ["app_key", "app_secret"]


def form_values(value: Any) -> list[dict[str, Any]]:
    """[{name, value, id?, extValue?}]; an object {name: value} is accepted as a shorthand.

    DingTalk wants every value as a string: lists and objects (tables, multi-selects) as JSON."""
    rows = (
        [{"name": k, "value": v} for k, v in value.items()] if isinstance(value, dict) else list(value or [])
    )
    out = []
    for row in rows:
        if not isinstance(row, dict) or (not row.get("name") and not row.get("id")):
            raise PermanentError("each form component needs a name (or id) and a value")
        raw = row.get("value")
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        item: dict[str, Any] = {"name": row.get("name"), "value": text}
        if row.get("id"):
            item["id"] = row["id"]
        ext = row.get("ext_value", row.get("extValue"))
        if ext is not None:
            item["extValue"] = ext if isinstance(ext, str) else json.dumps(ext, ensure_ascii=False)
        out.append({k: v for k, v in item.items() if v is not None})
    if not out:
        raise PermanentError("form_component_values is empty")
    return out


class StartApproval(Action):
    key = "start_approval"
    title = "Start an approval"
    description = "Creates an OA approval instance from a template (POST /v1.0/workflow/processInstances)."
    repeat_safe = False  # DingTalk has no idempotency key here: a blind retry may file a second approval
    input_schema = {
        "type": "object",
        "required": ["process_code", "originator_user_id", "form_component_values"],
        "additionalProperties": False,
        "properties": {
            "process_code": {"type": "string", "title": "Approval template (process code)"},
            "originator_user_id": {"type": "string", "title": "Originator userid"},
            "dept_id": {"type": "integer", "title": "Originator's department id (-1: root)"},
            "form_component_values": {
                "title": "Form values",
                "description": "[{name, value, id?, ext_value?}] or {name: value}.",
                "oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "object"}],
            },
            "approvers": {
                "type": "array",
                "title": "Approvers (templates without preset approvers)",
                "items": {
                    "type": "object",
                    "required": ["user_ids"],
                    "properties": {
                        "action_type": {"enum": ["AND", "OR", "NONE"]},
                        "user_ids": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "cc_list": {"type": "array", "items": {"type": "string"}, "title": "CC userids"},
            "cc_position": {"enum": ["START", "FINISH", "START_FINISH"], "title": "When to CC"},
            "microapp_agent_id": {"type": "integer", "title": "Agent id of the app"},
        },
    }
    output_schema = {"type": "object", "properties": {"instance_id": {"type": "string"}}}
    sample_output = {"instance_id": "a171de6c-8bxxxx"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "processCode": inputs["process_code"],
            "originatorUserId": inputs["originator_user_id"],
            "formComponentValues": form_values(inputs.get("form_component_values")),
        }
        if inputs.get("dept_id") is not None:
            body["deptId"] = int(inputs["dept_id"])
        if inputs.get("approvers"):
            body["approvers"] = [
                {"actionType": a.get("action_type") or "NONE", "userIds": list(a["user_ids"])}
                for a in inputs["approvers"]
            ]
        if inputs.get("cc_list"):
            body["ccList"] = list(inputs["cc_list"])
            body["ccPosition"] = inputs.get("cc_position") or "START"
        if inputs.get("microapp_agent_id") is not None:
            body["microappAgentId"] = int(inputs["microapp_agent_id"])
        answer = new_api(ctx, "POST", "/v1.0/workflow/processInstances", json=body)
        instance_id = answer.get("instanceId")
        if not instance_id:
            raise PermanentError("DingTalk: the answer to processInstances carries no instanceId")
        return {"instance_id": instance_id}


class GetApproval(Action):
    key = "get_approval"
    title = "Get an approval"
    description = "Reads an approval instance: status RUNNING/COMPLETED/TERMINATED and result agree/refuse."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["instance_id"],
        "additionalProperties": False,
        "properties": {"instance_id": {"type": "string", "title": "Instance id"}},
    }
    output_schema = {
        "type": "object",
        "properties": {
            "instance_id": {"type": "string"},
            "status": {"type": "string"},
            "result": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    sample_output = ApprovalStatusPoll.sample

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return from_instance(str(inputs["instance_id"]), get_instance(ctx, str(inputs["instance_id"])))


def id_list(value: Any) -> str:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return ",".join(str(i).strip() for i in items if str(i).strip())


class SendWorkNotice(Action):
    key = "send_work_notice"
    title = "Send a work notice"
    description = "Sends a work notice (工作通知) from the app to users or departments (asyncsend_v2)."
    repeat_safe = False
    input_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "agent_id": {"type": "integer", "title": "Agent id (defaults to the connection's)"},
            "userid_list": {
                "title": "User ids",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            },
            "dept_id_list": {
                "title": "Department ids",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": ["string", "integer"]}}],
            },
            "to_all_user": {"type": "boolean", "default": False, "title": "Everyone in the company"},
            "text": {"type": "string", "title": "Text (shorthand for a text message)"},
            "msg": {"type": "object", "title": "Message object (msgtype + content), see DingTalk docs"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"task_id": {"type": "integer"}, "request_id": {"type": "string"}},
    }
    sample_output = {"task_id": 256271667526, "request_id": "4jzllmte0wau"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        agent_id = inputs.get("agent_id") or ctx.connection.get("agent_id")
        if not agent_id:
            raise PermanentError("send_work_notice needs an agent_id (input or connection)")
        msg = inputs.get("msg") or (
            {"msgtype": "text", "text": {"content": inputs["text"]}} if inputs.get("text") else None
        )
        if not msg:
            raise PermanentError("give text or msg")
        body: dict[str, Any] = {"agent_id": int(agent_id), "msg": msg}
        if inputs.get("userid_list"):
            body["userid_list"] = id_list(inputs["userid_list"])
        if inputs.get("dept_id_list"):
            body["dept_id_list"] = id_list(inputs["dept_id_list"])
        if inputs.get("to_all_user"):
            body["to_all_user"] = True
        if not ({"userid_list", "dept_id_list", "to_all_user"} & body.keys()):
            raise PermanentError("give userid_list, dept_id_list or to_all_user")
        answer = old_api(ctx, "/topapi/message/corpconversation/asyncsend_v2", body)
        return {"task_id": answer.get("task_id"), "request_id": answer.get("request_id")}


class DingTalkConnector(Connector):
    id = "dingtalk"
    name = "DingTalk"
    category = "collaboration"
    description = "Start and follow DingTalk OA approvals and send work notices."
    icon = "dingtalk"
    docs_url = "docs/connectors/dingtalk.md"
    base_url = "https://api.dingtalk.com"
    auth = AppKeyAuth()
    connection_fields = {
        "oapi_base_url": {
            "x-host": True,
            "type": "string",
            "format": "uri",
            "title": "Old API base URL",
            "default": OAPI_BASE,
        },
        "agent_id": {"type": "integer", "title": "Agent id (for work notices)"},
        "corp_id": {"type": "string", "title": "CorpId (for callbacks signed with it)"},
        "callback_token": secret_field("Event subscription token", "For the approval_status callback."),
        "callback_aes_key": secret_field("Event subscription aes_key (EncodingAESKey, 43 characters)"),
    }
    triggers = (ApprovalStatus, ApprovalStatusPoll)
    actions = (StartApproval, GetApproval, SendWorkNotice)
    default_rate_limit = 20.0

    def test_connection(self, ctx: Context) -> str:
        access_token(ctx, force=True)
        return "DingTalk issued an access token for this app"


connector = DingTalkConnector()
