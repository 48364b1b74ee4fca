"""e签宝 (eSignBao) open platform v3: create sign flows from uploaded files and follow them."""

from __future__ import annotations

from typing import Any

from connectors.esign.api import TsignAuth, call
from connectors.esign.callback import SignFlowStatus
from connectors.esign.flows import create_body, flow_detail
from connectors.esign.poll import SignFlowStatusPoll
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

SIGN_FIELD = {
    "type": "object",
    "properties": {
        "file_id": {"type": "string", "title": "File (defaults to the first)"},
        "page": {"type": ["integer", "string"], "title": "Page"},
        "x": {"type": "number", "title": "X (pt from the left)"},
        "y": {"type": "number", "title": "Y (pt from the bottom)"},
        "style": {"enum": [1, 2], "default": 1, "title": "1 single page, 2 across pages (骑缝)"},
        "free_mode": {"type": "boolean", "default": False, "title": "Signer chooses the place"},
        "custom_biz_num": {"type": "string", "title": "Your reference, echoed in notifications"},
    },
}
SIGNER = {
    "type": "object",
    "properties": {
        "type": {"enum": ["person", "org"], "default": "person"},
        "psn_account": {"type": "string", "title": "Mobile or email of the person (or org transactor)"},
        "psn_id": {"type": "string", "title": "e签宝 psnId (instead of psn_account)"},
        "psn_name": {"type": "string", "title": "Name"},
        "org_name": {"type": "string", "title": "Organisation name"},
        "org_id": {"type": "string", "title": "e签宝 orgId"},
        "auto_sign": {"type": "boolean", "default": False, "title": "Seal automatically (own organisation)"},
        "seal_id": {"type": "string", "title": "Seal to use when sealing automatically"},
        "sign_order": {"type": "integer", "minimum": 1},
        "fields": {"type": "array", "items": SIGN_FIELD, "title": "Sign positions"},
    },
}


class CreateSignFlow(Action):
    key = "create_sign_flow"
    title = "Create a sign flow"
    description = "Starts a sign flow on uploaded files with person/organisation signers (create-by-file)."
    repeat_safe = False  # no idempotency key: a blind retry could start a second flow
    input_schema = {
        "type": "object",
        "required": ["title", "files", "signers"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "title": "Title (signFlowTitle)"},
            "files": {
                "type": "array",
                "minItems": 1,
                "title": "Files (fileId from the upload)",
                "items": {
                    "oneOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "required": ["file_id"],
                            "properties": {"file_id": {"type": "string"}, "file_name": {"type": "string"}},
                        },
                    ]
                },
            },
            "signers": {"type": "array", "minItems": 1, "items": SIGNER},
            "notify_url": {"type": "string", "format": "uri", "title": "Notification URL"},
            "auto_start": {"type": "boolean", "default": True},
            "auto_finish": {"type": "boolean", "default": True},
            "notice_types": {"type": "string", "title": "Notify signers by: 1 SMS, 2 email ('1,2')"},
            "redirect_url": {"type": "string", "title": "Page after signing"},
            "expire_time_ms": {"type": "integer", "title": "Deadline (Unix ms)"},
        },
    }
    output_schema = {"type": "object", "properties": {"sign_flow_id": {"type": "string"}}}
    sample_output = {"sign_flow_id": "903f7ebee9411105b7f01d0b97a5ebf5"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        notify_url = inputs.get("notify_url") or ctx.connection.get("notify_url")
        data = call(ctx, "POST", "/v3/sign-flow/create-by-file", json=create_body(inputs, notify_url)) or {}
        if not data.get("signFlowId"):
            raise PermanentError("e签宝: the answer to create-by-file carries no signFlowId")
        return {"sign_flow_id": data["signFlowId"]}


class GetSignFlow(Action):
    key = "get_sign_flow"
    title = "Get a sign flow"
    description = (
        "Reads a sign flow's status (draft, signing, completed, revoked, expired, rejected) and signers."
    )
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["sign_flow_id"],
        "additionalProperties": False,
        "properties": {"sign_flow_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}},
    }
    output_schema = {
        "type": "object",
        "properties": {
            "sign_flow_id": {"type": "string"},
            "status_code": {"type": ["integer", "null"]},
            "status": {"type": ["string", "null"]},
        },
    }
    sample_output = {
        "sign_flow_id": "903f7ebee9411105b7f01d0b97a5ebf5",
        "status_code": 2,
        "status": "completed",
        "description": "所有签署人完成签署",
        "title": "劳动合同",
        "create_time": 1729489000000,
        "start_time": 1729489000000,
        "finish_time": 1729489875000,
        "signers": [],
        "docs": [],
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        flow_id = str(inputs["sign_flow_id"])
        if not flow_id.replace("-", "").replace("_", "").isalnum():
            raise PermanentError(f"not a sign flow id: {flow_id!r}")
        return flow_detail(flow_id, call(ctx, "GET", f"/v3/sign-flow/{flow_id}/detail") or {})


class EsignConnector(Connector):
    id = "esign"
    name = "e签宝"
    category = "esignature"
    description = "Electronic signatures with e签宝 (eSignBao): sign flows on uploaded contracts."
    icon = "esign"
    docs_url = "docs/connectors/esign.md"
    base_url = "https://openapi.esign.cn"
    auth = TsignAuth()
    connection_fields = {
        "notify_url": {
            "type": "string",
            "format": "uri",
            "title": "Default notification URL",
            "description": "A sign_flow_status recipe's webhook URL, used when a step gives none.",
        }
    }
    triggers = (SignFlowStatus, SignFlowStatusPoll)
    actions = (CreateSignFlow, GetSignFlow)

    def test_connection(self, ctx: Context) -> str:
        # A flow id that cannot exist: a signed call answered with a business error proves the credentials.
        try:
            call(ctx, "GET", "/v3/sign-flow/00000000000000000000000000000000/detail")
        except PermanentError as exc:
            if exc.code == "auth":
                raise
        return "e签宝 accepted the signed request"


connector = EsignConnector()
