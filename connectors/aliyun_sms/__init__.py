"""Alibaba Cloud SMS (Dysmsapi 2017-05-25): send templated SMS and poll delivery reports."""

from __future__ import annotations

import json
from typing import Any

from connectors.aliyun_sms.client import call
from connectors.aliyun_sms.reports import SendDetails
from hub.sdk.auth import Auth, secret_field
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError


class AccessKeyAuth(Auth):
    """A RAM AccessKey pair; requests are signed per call (see signing.py), nothing is sent as a header."""

    kind = "aliyun_access_key"

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {
            "access_key_id": {"type": "string", "title": "AccessKey ID"},
            "access_key_secret": secret_field("AccessKey secret"),
        }

    def required(self) -> list[str]:
        return ["access_key_id", "access_key_secret"]


def phone_list(value: Any) -> str:
    """Alibaba takes one comma-separated string of at most 1000 numbers."""
    numbers = value if isinstance(value, list) else str(value or "").split(",")
    numbers = [str(n).strip() for n in numbers if str(n).strip()]
    if not numbers:
        raise PermanentError("phone_numbers is empty")
    if len(numbers) > 1000:
        raise PermanentError(f"Alibaba Cloud SMS takes at most 1000 numbers per call, got {len(numbers)}")
    return ",".join(numbers)


class SendSms(Action):
    key = "send_sms"
    title = "Send an SMS"
    description = "Sends an approved template with an approved signature to one or more numbers (SendSms)."
    repeat_safe = False  # Alibaba has no idempotency key for SendSms: a blind retry may send twice
    input_schema = {
        "type": "object",
        "required": ["phone_numbers", "sign_name", "template_code"],
        "additionalProperties": False,
        "properties": {
            "phone_numbers": {
                "title": "Phone numbers",
                "description": "One number, a comma-separated string or a list (at most 1000).",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            },
            "sign_name": {"type": "string", "title": "Signature name (签名)"},
            "template_code": {"type": "string", "title": "Template code", "examples": ["SMS_15305****"]},
            "template_param": {
                "type": "object",
                "title": "Template variables",
                "description": "Values of the template's ${...} variables; sent as a JSON string.",
            },
            "out_id": {"type": "string", "title": "Your reference (OutId)", "maxLength": 256},
            "sms_up_extend_code": {"type": "string", "title": "Uplink extension code"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"biz_id": {"type": "string"}, "request_id": {"type": "string"}},
    }
    sample_output = {"biz_id": "9006197469364984^0", "request_id": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {
            "PhoneNumbers": phone_list(inputs.get("phone_numbers")),
            "SignName": str(inputs["sign_name"]),
            "TemplateCode": str(inputs["template_code"]),
        }
        if inputs.get("template_param"):
            params["TemplateParam"] = json.dumps(inputs["template_param"], ensure_ascii=False, default=str)
        if inputs.get("out_id"):
            params["OutId"] = str(inputs["out_id"])
        if inputs.get("sms_up_extend_code"):
            params["SmsUpExtendCode"] = str(inputs["sms_up_extend_code"])
        answer = call(ctx, "SendSms", params)
        return {"biz_id": answer.get("BizId"), "request_id": answer.get("RequestId")}


class AliyunSmsConnector(Connector):
    id = "aliyun_sms"
    name = "Alibaba Cloud SMS"
    category = "messaging"
    description = "Send SMS through Alibaba Cloud Short Message Service and follow delivery reports."
    icon = "aliyun_sms"
    docs_url = "docs/connectors/aliyun_sms.md"
    base_url = "https://dysmsapi.aliyuncs.com"
    auth = AccessKeyAuth()
    triggers = (SendDetails,)
    actions = (SendSms,)

    def test_connection(self, ctx: Context) -> str:
        # QuerySmsSignList is read-only and needs nothing but valid, permitted credentials.
        call(ctx, "QuerySmsSignList", {"PageIndex": "1", "PageSize": "1"})
        return "credentials accepted by Alibaba Cloud SMS"


connector = AliyunSmsConnector()
