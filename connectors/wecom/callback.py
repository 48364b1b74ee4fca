"""The `approval_status` webhook trigger: WeCom's encrypted callback (设置API接收) for approvals.

WeCom first checks the URL with a GET (`msg_signature, timestamp, nonce, echostr`): the hub
verifies the signature, decrypts echostr and answers the bare plaintext. Events then come as POSTed
XML `<xml><ToUserName/><Encrypt/><AgentID/></xml>`; each is checked (signature over token,
timestamp, nonce and Encrypt; age; the receive id inside must be this corp's CorpID) before it is
decrypted and read. A refused request is answered 401 and stores nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException

from connectors.wecom.approvals import (
    CALLBACK_SAMPLE,
    EVENT_SCHEMA,
    FINAL_STATUSES,
    STATUS_ENUM,
    event_id,
    from_callback,
)
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import InvalidBodyError, SignatureError
from hub.sdk.msgcrypt import check_signature, decrypt
from hub.sdk.signing import check_timestamp
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

DEFAULT_MAX_AGE_S = 600


def xml_dict(text: str | bytes) -> dict[str, Any]:
    """A WeCom XML message as a dict: leaves as text, repeated children as lists (defusedxml:
    WeCom never declares a DOCTYPE, so entities and external references are refused)."""
    try:
        root = defused.fromstring(text, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise InvalidBodyError(f"body is not acceptable XML: {exc}") from None
    value = _node(root)
    return value if isinstance(value, dict) else {}


def _node(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        value = _node(child)
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


def callback_secrets(ctx: Context) -> tuple[str, str, str]:
    token, key = ctx.connection.get("callback_token"), ctx.connection.get("callback_aes_key")
    corp_id = ctx.connection.get("corp_id")
    if not token or not key or not corp_id:
        raise SignatureError(
            "the WeCom connection has no callback Token / EncodingAESKey / CorpID configured"
        )
    return str(token), str(key), str(corp_id)


def open_envelope(ctx: Context, config: dict[str, Any], request: InboundRequest, encrypted: str) -> str:
    """Check the query's signature and age for `encrypted`, decrypt it and check its receive id."""
    token, aes_key, corp_id = callback_secrets(ctx)
    q = request.query
    signature, stamp, nonce = q.get("msg_signature"), q.get("timestamp"), q.get("nonce")
    if not (signature and stamp and nonce):
        raise SignatureError("missing msg_signature, timestamp or nonce in the query string")
    check_signature(token, stamp, nonce, encrypted, signature)
    max_age_s = float(config.get("max_age_s") or DEFAULT_MAX_AGE_S)
    check_timestamp(stamp, tolerance_s=max_age_s, what="WeCom timestamp")
    message, receive_id = decrypt(aes_key, encrypted)
    if receive_id != corp_id:
        raise SignatureError(f"message is for another corp or suite ({receive_id!r})")
    return message


def open_event(ctx: Context, config: dict[str, Any], request: InboundRequest) -> dict[str, Any]:
    envelope = xml_dict(request.body)
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise SignatureError("body has no Encrypt element")
    return xml_dict(open_envelope(ctx, config, request, encrypted))


class ApprovalStatus(WebhookTrigger):
    key = "approval_status"
    title = "Approval status changed (callback)"
    description = (
        "WeCom calls the recipe's URL (encrypted) when an approval (审批申请) changes status; by "
        "default only final statuses start a run."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "template_ids": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Only these approval templates",
                "description": "template_id values; empty for every template.",
            },
            "statuses": {
                "type": "array",
                "items": {"enum": STATUS_ENUM},
                "default": FINAL_STATUSES,
                "title": "Statuses to report",
                "description": "approving (1), approved (2), rejected (3), revoked (4), "
                "revoked_after_approval (6), deleted (7), paid (10).",
            },
            "max_age_s": {
                "type": "integer",
                "minimum": 60,
                "maximum": 86400,
                "default": DEFAULT_MAX_AGE_S,
                "title": "Refuse callbacks older than (seconds)",
            },
        },
    }
    output_schema = EVENT_SCHEMA
    sample = CALLBACK_SAMPLE

    def handshake(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest
    ) -> WebhookResponse | None:
        if request.method != "GET":
            return None
        echostr = request.query.get("echostr")  # URL-decoded by the query parser
        if not echostr:
            return None
        echostr = echostr.replace(" ", "+")  # a '+' sent unencoded decodes to a space; base64 has none
        plain = open_envelope(ctx, config, request, echostr)
        return WebhookResponse(status=200, body=plain.encode("utf-8"), headers={"Content-Type": "text/plain"})

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        open_event(ctx, config, request)

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        event = open_event(ctx, config, request)
        info = event.get("ApprovalInfo")
        if event.get("Event") != "sys_approval_change" or not isinstance(info, dict):
            return []  # other events of the app are acknowledged and dropped
        item = from_callback(info)
        if not item["sp_no"]:
            raise InvalidBodyError("approval event without SpNo")
        templates = config.get("template_ids") or []
        if templates and item["template_id"] not in templates:
            return []
        if item["status"] not in (config.get("statuses") or FINAL_STATUSES):
            return []
        return [TriggerEvent(data=item, id=event_id(item))]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body=b"")  # WeCom only needs a 200 within 5 s
