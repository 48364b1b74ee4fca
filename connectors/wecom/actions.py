"""WeCom actions: submit an approval (applyevent), read one, send an app message."""

from __future__ import annotations

from typing import Any

from connectors.wecom.api import call
from connectors.wecom.approvals import EVENT_SCHEMA
from connectors.wecom.poll import ApprovalStatusPoll, approval_detail
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

# Controls whose value a recipe may give as plain text or a number (the rest take WeCom's value object).
SCALAR_CONTROLS = {"Text": "text", "Textarea": "text", "Number": "new_number", "Money": "new_money"}
ID_LIST = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


def control_value(row: dict[str, Any]) -> dict[str, Any]:
    """One apply_data content {control, id, value}; a scalar value of a scalar control is wrapped."""
    control, control_id, value = row.get("control"), row.get("id"), row.get("value")
    if not control or not control_id:
        raise PermanentError("each form content needs a control (Text, Money, ...) and an id")
    if not isinstance(value, dict):
        field = SCALAR_CONTROLS.get(str(control))
        if field is None:
            raise PermanentError(
                f"control {control_id} ({control}) needs WeCom's value object, e.g. "
                '{"date": {"type": "day", "s_timestamp": "..."}}'
            )
        value = {field: "" if value is None else str(value)}
    return {"control": control, "id": control_id, "value": value}


def node_list(approvers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    nodes = []
    for node in approvers:
        users = node.get("userid") or []
        if not users:
            raise PermanentError("each approval node needs at least one userid")
        item: dict[str, Any] = {"type": int(node.get("type") or 1), "userid": list(users)}
        if item["type"] in (1, 3):
            item["apv_rel"] = int(node.get("apv_rel") or 1)
        nodes.append(item)
    return nodes


class StartApproval(Action):
    key = "start_approval"
    title = "Submit an approval"
    description = (
        "Submits an approval (提交审批申请, POST /cgi-bin/oa/applyevent) on a template for a member."
    )
    repeat_safe = False  # applyevent takes no idempotency key: a blind retry could file a second approval
    input_schema = {
        "type": "object",
        "required": ["creator_userid", "template_id", "contents"],
        "additionalProperties": False,
        "properties": {
            "creator_userid": {"type": "string", "title": "Submitted by (userid)"},
            "template_id": {"type": "string", "title": "Approval template (template_id)"},
            "use_template_approver": {
                "enum": [0, 1],
                "default": 1,
                "title": "Approvers from",
                "description": "1: the template's own flow; 0: the approvers given below.",
            },
            "approvers": {
                "type": "array",
                "title": "Approval nodes (use_template_approver 0)",
                "items": {
                    "type": "object",
                    "required": ["userid"],
                    "properties": {
                        "type": {"enum": [1, 2, 3], "default": 1, "title": "1 approver, 2 CC, 3 handler"},
                        "apv_rel": {"enum": [1, 2, 3], "default": 1, "title": "1 all, 2 any, 3 in turn"},
                        "userid": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "choose_department": {"type": "integer", "title": "Submitter's department id"},
            "contents": {
                "type": "array",
                "minItems": 1,
                "title": "Form contents",
                "description": "[{control, id, value}]; Text/Textarea/Number/Money take a plain value, "
                "other controls WeCom's value object.",
                "items": {
                    "type": "object",
                    "required": ["control", "id"],
                    "properties": {"control": {"type": "string"}, "id": {"type": "string"}, "value": {}},
                },
            },
            "summary": {
                "type": "array",
                "maxItems": 3,
                "items": {"type": "string", "maxLength": 20},
                "title": "Summary lines (at most 3, 20 characters each)",
            },
        },
    }
    output_schema = {"type": "object", "properties": {"sp_no": {"type": "string"}}}
    sample_output = {"sp_no": "202611240001"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        use_template = int(inputs.get("use_template_approver", 1))
        body: dict[str, Any] = {
            "creator_userid": inputs["creator_userid"],
            "template_id": inputs["template_id"],
            "use_template_approver": use_template,
            "apply_data": {"contents": [control_value(row) for row in inputs["contents"]]},
        }
        if use_template == 0:
            if not inputs.get("approvers"):
                raise PermanentError("use_template_approver 0 needs approvers")
            body["process"] = {"node_list": node_list(inputs["approvers"])}
        if inputs.get("choose_department") is not None:
            body["choose_department"] = int(inputs["choose_department"])
        if inputs.get("summary"):
            body["summary_list"] = [
                {"summary_info": [{"text": line, "lang": "zh_CN"}]} for line in inputs["summary"]
            ]
        sp_no = call(ctx, "/cgi-bin/oa/applyevent", body).get("sp_no")
        if not sp_no:
            raise PermanentError("WeCom: the answer to applyevent carries no sp_no")
        return {"sp_no": str(sp_no)}


class GetApproval(Action):
    key = "get_approval"
    title = "Get an approval"
    description = "Reads an approval's status and details (POST /cgi-bin/oa/getapprovaldetail)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["sp_no"],
        "additionalProperties": False,
        "properties": {"sp_no": {"type": "string", "title": "Approval number (sp_no)"}},
    }
    output_schema = EVENT_SCHEMA
    sample_output = ApprovalStatusPoll.sample

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return approval_detail(ctx, str(inputs["sp_no"]))


class GetTemplate(Action):
    key = "get_template"
    title = "Get an approval template"
    description = (
        "Lists a template's controls (id, type, title, required): what start_approval's contents need."
    )
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["template_id"],
        "additionalProperties": False,
        "properties": {"template_id": {"type": "string", "title": "Approval template (template_id)"}},
    }
    output_schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "controls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "control": {"type": "string"},
                        "title": {"type": "string"},
                        "required": {"type": "boolean"},
                    },
                },
            },
        },
    }
    sample_output = {
        "name": "合同审批",
        "controls": [
            {"id": "Text-1", "control": "Text", "title": "合同编号", "required": True, "config": {}}
        ],
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        answer = call(ctx, "/cgi-bin/oa/gettemplatedetail", {"template_id": inputs["template_id"]})
        controls = []
        for row in (answer.get("template_content") or {}).get("controls") or []:
            prop = row.get("property") or {}
            controls.append(
                {
                    "id": prop.get("id"),
                    "control": prop.get("control"),
                    "title": _zh(prop.get("title")),
                    "required": bool(prop.get("require")),
                    "config": row.get("config") or {},
                }
            )
        return {"name": _zh(answer.get("template_names")), "controls": controls}


def _zh(texts: Any) -> str:
    """The zh_CN text of WeCom's [{text, lang}] (else the first)."""
    rows = [t for t in texts or [] if isinstance(t, dict)]
    chosen = next((t for t in rows if t.get("lang") == "zh_CN"), rows[0] if rows else {})
    return str(chosen.get("text") or "")


def id_list(value: Any) -> str:
    items = value if isinstance(value, list) else str(value or "").split("|")
    return "|".join(str(i).strip() for i in items if str(i).strip())


def message_body(inputs: dict[str, Any]) -> dict[str, Any]:
    kind = inputs.get("msgtype") or "text"
    if kind in ("text", "markdown"):
        if not inputs.get("content"):
            raise PermanentError(f"a {kind} message needs content")
        return {kind: {"content": inputs["content"]}}
    if kind == "textcard":
        card = {k: inputs.get(k) for k in ("title", "description", "url", "btntxt") if inputs.get(k)}
        missing = [k for k in ("title", "description", "url") if k not in card]
        if missing:
            raise PermanentError(f"a textcard message needs {', '.join(missing)}")
        return {"textcard": card}
    if not isinstance(inputs.get("template_card"), dict):
        raise PermanentError("a template_card message needs the template_card object")
    return {"template_card": inputs["template_card"]}


class SendMessage(Action):
    key = "send_message"
    title = "Send an app message"
    description = "Sends a text, markdown or card message from the app to members, departments or tags."
    # WeCom's duplicate check is always on: the same message again within the interval is not sent twice.
    repeat_safe = True
    input_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "touser": {**ID_LIST, "title": "Members (userids, or @all)"},
            "toparty": {**ID_LIST, "title": "Department ids"},
            "totag": {**ID_LIST, "title": "Tag ids"},
            "agentid": {"type": "integer", "title": "AgentId (defaults to the connection's)"},
            "msgtype": {"enum": ["text", "markdown", "textcard", "template_card"], "default": "text"},
            "content": {"type": "string", "title": "Text or markdown (at most 2048 bytes)"},
            "title": {"type": "string", "title": "Card title"},
            "description": {"type": "string", "title": "Card description"},
            "url": {"type": "string", "title": "Card link"},
            "btntxt": {"type": "string", "title": "Card button text"},
            "template_card": {"type": "object", "title": "Template card (WeCom's object)"},
            "safe": {"enum": [0, 1], "default": 0, "title": "Confidential (no forwarding)"},
            "duplicate_check_interval": {
                "type": "integer",
                "minimum": 1,
                "maximum": 14400,
                "default": 1800,
                "title": "Drop the same message again within (seconds)",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "msgid": {"type": "string"},
            "invaliduser": {"type": "string"},
            "invalidparty": {"type": "string"},
            "invalidtag": {"type": "string"},
            "unlicenseduser": {"type": "string"},
        },
    }
    sample_output = {
        "msgid": "xxxx",
        "invaliduser": "",
        "invalidparty": "",
        "invalidtag": "",
        "unlicenseduser": "",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        agent_id = inputs.get("agentid") or ctx.connection.get("agent_id")
        if not agent_id:
            raise PermanentError("send_message needs an agentid (input or connection)")
        kind = inputs.get("msgtype") or "text"
        body: dict[str, Any] = {"msgtype": kind, "agentid": int(agent_id), **message_body(inputs)}
        for name in ("touser", "toparty", "totag"):
            if inputs.get(name):
                body[name] = id_list(inputs[name])
        if not ({"touser", "toparty", "totag"} & body.keys()):
            raise PermanentError("give touser, toparty or totag")
        body["safe"] = int(inputs.get("safe") or 0)
        body["enable_duplicate_check"] = 1
        body["duplicate_check_interval"] = int(inputs.get("duplicate_check_interval") or 1800)
        answer = call(ctx, "/cgi-bin/message/send", body)
        names = ("msgid", "invaliduser", "invalidparty", "invalidtag", "unlicenseduser")
        return {name: str(answer.get(name) or "") for name in names}
