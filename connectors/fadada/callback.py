"""The `task_status` webhook trigger: 法大大's signed event callbacks.

FASC POSTs a form with one field `bizContent` (JSON) and the headers X-FASC-App-Id, -Sign-Type,
-Sign, -Timestamp, -Nonce and -Event; the signature covers those five headers and the raw
bizContent (signing.py). It wants HTTP 200 with `success` in the body within 3 s and retries after
3 min, 30 min and 8 h, so a repeat is deduped on the event id.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.fadada.signing import CALLBACK_HEADERS, check_callback
from connectors.fadada.tasks import SAMPLE, TASK_SCHEMA, event_id, from_callback
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import InvalidBodyError, SignatureError
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

DEFAULT_MAX_AGE_S = 600
ACK = {"msg": "success"}


def biz_content(request: InboundRequest) -> str:
    value = request.form().get("bizContent")
    if not isinstance(value, str):
        raise InvalidBodyError("callback has no (single) bizContent form field")
    return value


class TaskStatus(WebhookTrigger):
    key = "task_status"
    title = "Sign task changed (callback)"
    description = "法大大 calls the recipe's URL (signed) when a sign task is signed, finished, cancelled ..."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "events": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Only these events (X-FASC-Event)",
                "description": "e.g. sign-task-finished, sign-task-signed; empty for every sign-task event.",
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
    output_schema = TASK_SCHEMA
    sample = SAMPLE

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        secret, app_id = ctx.connection.get("app_secret"), ctx.connection.get("app_id")
        if not secret:
            raise SignatureError("the 法大大 connection has no AppSecret to check callbacks with")
        sender = request.header("X-FASC-App-Id")
        if app_id and sender != str(app_id):
            raise SignatureError(f"callback is for another app ({sender!r})")
        headers = {name: request.header(name) for name in ("X-FASC-Sign", *CALLBACK_HEADERS)}
        check_callback(
            str(secret),
            headers,
            biz_content(request),
            max_age_s=float(config.get("max_age_s") or DEFAULT_MAX_AGE_S),
        )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        event = request.header("X-FASC-Event") or ""
        try:
            data = json.loads(biz_content(request))
        except ValueError as exc:
            raise InvalidBodyError(f"bizContent is not JSON: {exc}") from None
        if not isinstance(data, dict) or not data.get("signTaskId"):
            return []  # authorisation and other app events are acknowledged and dropped
        wanted = config.get("events") or []
        if wanted and event not in wanted:
            return []
        item = from_callback(event, data)
        return [TriggerEvent(data=item, id=event_id(item))]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body=dict(ACK))
