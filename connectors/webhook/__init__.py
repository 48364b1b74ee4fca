"""The `webhook` connector: catch any JSON or form POST, and post signed JSON to any URL."""

from __future__ import annotations

from typing import Any

from connectors.webhook.signing import check_hmac_sha256, check_standard_webhooks, checked_event_id
from hub.sdk import redact_headers
from hub.sdk.connector import Action, Connector, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import dumps_json
from hub.sdk.signing import hmac_hex
from hub.sdk.types import InboundRequest, TriggerEvent

DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization"}


def dotted(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def parse_body(request: InboundRequest) -> dict[str, Any]:
    """JSON or form fields as an object; a JSON body that is not an object is kept under `body`."""
    if not request.body.strip():
        return {}
    ctype = request.content_type
    if ctype == "application/x-www-form-urlencoded":
        return request.form()
    if ctype and ctype != "application/json" and not ctype.endswith("+json") and ctype != "text/plain":
        raise PermanentError(f"unsupported content type {ctype}: send JSON or a urlencoded form")
    data = request.json()
    return data if isinstance(data, dict) else {"body": data}


def header_event_id(request: InboundRequest) -> str | None:
    """The sender's event id from Webhook-Id (Standard Webhooks) or Idempotency-Key, checked."""
    for name in ("Webhook-Id", "Idempotency-Key"):
        value = request.header(name)
        if value:
            return checked_event_id(value, name)
    return None


class Catch(WebhookTrigger):
    key = "catch"
    title = "Catch a webhook"
    description = "Starts the recipe for every JSON or form POST to the recipe's webhook URL."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "auth": {
                "enum": ["none", "hmac_sha256", "standard_webhooks"],
                "default": "none",
                "title": "Signature",
            },
            "secret": {"type": "string", "title": "Shared secret", "writeOnly": True, "x-secret": True},
            "signature_header": {"type": "string", "default": "X-Signature", "title": "Signature header"},
            "id_field": {"type": "string", "title": "Event id field (dotted path in the body)"},
        },
        "if": {"properties": {"auth": {"enum": ["hmac_sha256", "standard_webhooks"]}}, "required": ["auth"]},
        "then": {"required": ["secret"]},
    }
    sample = {"deal": {"id": "D-1001", "stage": "won", "amount": 12800, "owner": "li.lei@example.com"}}

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        scheme = config.get("auth") or "none"
        if scheme == "hmac_sha256":
            header = config.get("signature_header") or "X-Signature"
            check_hmac_sha256(config["secret"], request.body, request.header(header), header)
        elif scheme == "standard_webhooks":
            check_standard_webhooks(
                config["secret"],
                request.body,
                request.header("webhook-id"),
                request.header("webhook-timestamp"),
                request.header("webhook-signature"),
            )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = parse_body(request)
        # Stored with the event and shown in run history: credentials a sender put in headers never are.
        data["_headers"] = redact_headers(
            {k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}
        )
        event_id = None
        if config.get("id_field"):
            found = dotted(data, config["id_field"])
            event_id = None if found is None else str(found)
        return [TriggerEvent(data=data, id=event_id or header_event_id(request))]


class Post(Action):
    key = "post"
    title = "POST JSON to a URL"
    description = "Sends JSON with the step's idempotency key, signed with HMAC-SHA256 when a secret is set."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri", "title": "URL"},
            "json": {"title": "JSON body"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Headers"},
            "secret": {"type": "string", "title": "Signing secret", "writeOnly": True, "x-secret": True},
            "signature_header": {"type": "string", "default": "X-Signature"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"status": {"type": "integer"}, "json": {}, "text": {"type": "string"}},
    }
    sample_output = {"status": 200, "json": {"ok": True}, "text": '{"ok": true}'}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = dumps_json(inputs.get("json"))
        headers = {"Content-Type": "application/json", **(inputs.get("headers") or {})}
        if inputs.get("secret"):
            headers[inputs.get("signature_header") or "X-Signature"] = "sha256=" + hmac_hex(
                inputs["secret"], body
            )
        response = ctx.http_client(base_url="").post(
            inputs["url"], content=body, headers=headers, idempotency_key=ctx.idempotency_key
        )
        return {
            "status": response.status,
            "json": response.json() if response.is_json and response.content else None,
            "text": response.text[:65536],
        }


class WebhookConnector(Connector):
    id = "webhook"
    name = "Webhook"
    category = "developer"
    description = "Receive events from any system that can POST, and send signed JSON anywhere."
    icon = "webhook"
    docs_url = "docs/connectors/webhook.md"
    triggers = (Catch,)
    actions = (Post,)


connector = WebhookConnector()
