"""Feishu approval status triggers: the event subscription (webhook) and a polling counterpart."""

from __future__ import annotations

import json
from typing import Any

from connectors.feishu.actions import INSTANCE_STATUSES, get_instance
from connectors.feishu.client import exchange, now_ms, subscribe_approval
from connectors.feishu.events import check_signature, check_token, payload
from hub.sdk.connector import PollingTrigger, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.polling import vendor_time
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent, WebhookResponse

DEFAULT_STATUSES = ["APPROVED", "REJECTED", "CANCELED"]

STATUS_FILTER = {
    "type": "array",
    "items": {"enum": INSTANCE_STATUSES},
    "default": DEFAULT_STATUSES,
    "title": "Statuses",
    "description": "Only these instance statuses start runs (default: the final ones).",
}
SAMPLE = {
    "instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71",
    "approval_code": "7C468A54-8745-2245-9675-08B7C63E7A85",
    "status": "APPROVED",
    "operate_time": "1666079207003",
    "tenant_key": "2d520d3b434f175e",
    "event_type": "approval_instance",
}


def _statuses(config: dict[str, Any]) -> set[str]:
    return set(config.get("statuses") or DEFAULT_STATUSES)


def instance_event(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(event data, event id) from a schema 1.0 or 2.0 approval instance event."""
    raw_event, raw_header = body.get("event"), body.get("header")
    event = raw_event if isinstance(raw_event, dict) else {}
    header = raw_header if isinstance(raw_header, dict) else {}
    obj = event.get("object")
    inner = obj if isinstance(obj, dict) else event
    data = {
        "instance_code": inner.get("instance_code"),
        "approval_code": inner.get("approval_code"),
        "status": inner.get("status"),
        "operate_time": inner.get("operate_time") or inner.get("instance_operate_time"),
        "tenant_key": inner.get("tenant_key") or header.get("tenant_key"),
        "event_type": header.get("event_type") or inner.get("type") or body.get("type"),
        "event": event,
    }
    return data, header.get("event_id") or body.get("uuid")


class ApprovalStatus(WebhookTrigger):
    key = "approval_status"
    title = "Approval status changed"
    description = (
        "Feishu's approval instance event (approved, rejected, canceled...). The app's event Request "
        "URL must be the hook URL of this recipe (or of the wait_for step); the hub subscribes the "
        "approval definition named in the config when the recipe is enabled."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "approval_code": {
                "type": "string",
                "title": "Approval definition code",
                "description": "Subscribed with Feishu when the recipe is enabled; others are ignored.",
            },
            "statuses": STATUS_FILTER,
            "max_age_s": {
                "type": "integer",
                "minimum": 0,
                "default": 0,
                "title": "Refuse signed requests older than (s)",
                "description": "0 = no age limit (replays are still caught by the event id).",
            },
        },
    }
    sample = SAMPLE

    def _keys(self, ctx: Context) -> tuple[str | None, str | None]:
        return ctx.connection.get("encrypt_key") or None, ctx.connection.get("verification_token") or None

    def handshake(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest
    ) -> WebhookResponse | None:
        """url_verification: echo the challenge at once (Feishu waits 1 s), after the token check."""
        if request.method != "POST":
            return None
        encrypt_key, token = self._keys(ctx)
        try:
            body = payload(request, encrypt_key)
        except (SignatureError, PermanentError):
            return None  # not a handshake we can read; verify() will explain
        if body.get("type") != "url_verification":
            return None
        if not token:
            raise SignatureError("Feishu: set the connection's verification_token before verifying the URL")
        check_token(body, token)
        return WebhookResponse(status=200, body={"challenge": body.get("challenge")})

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        encrypt_key, token = self._keys(ctx)
        if not encrypt_key and not token:
            raise SignatureError("Feishu: the connection needs a verification_token or an encrypt_key")
        if encrypt_key:
            check_signature(request, encrypt_key, float(config.get("max_age_s") or 0))
        check_token(payload(request, encrypt_key), token)

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        encrypt_key, _ = self._keys(ctx)
        body = payload(request, encrypt_key)
        data, event_id = instance_event(body)
        if not data["instance_code"] or not data["status"]:
            return []  # another event type of the app: accepted, nothing to run
        if config.get("approval_code") and data["approval_code"] != config["approval_code"]:
            return []
        if data["status"] not in _statuses(config):
            return []
        return [
            TriggerEvent(
                data=data, id=str(event_id) if event_id else f"{data['instance_code']}:{data['status']}"
            )
        ]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        """Feishu counts only HTTP 200 as delivered (202 would be retried)."""
        return WebhookResponse(status=200, body={"event_ids": event_ids})

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        """Feishu sends approval events only for definitions the app subscribed to. Called when a recipe
        with this trigger, or with a wait_for step on it, is enabled; always asks Feishu (the cached
        mark only spares create_approval_instance a repeat)."""
        code = config.get("approval_code")
        if not code:
            return None
        subscribe_approval(ctx, str(code))
        return {"approval_code": code}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        """Left in place on purpose: the subscription is per app, and other recipes may rely on it."""


class ApprovalStatusPoll(PollingTrigger):
    key = "approval_status_poll"
    title = "Approval status changed (polling)"
    description = (
        "For hubs Feishu cannot reach: checks one instance, or the instances of a definition started "
        "in the look-back window, and reports each final status once."
    )
    default_interval_s = 300
    min_interval_s = 30
    config_schema = {
        "type": "object",
        "required": ["approval_code"],
        "additionalProperties": False,
        "properties": {
            "approval_code": {"type": "string", "title": "Approval definition code"},
            "instance_code": {"type": "string", "title": "Only this instance"},
            "statuses": STATUS_FILTER,
            "lookback_hours": {"type": "integer", "minimum": 1, "maximum": 720, "default": 168},
            "max_instances": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
        },
    }
    sample = SAMPLE

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: instances are listed by start time, and a pending one holds the window."""
        approval_code, wanted = config["approval_code"], _statuses(config)
        if config.get("instance_code"):
            codes, listed_to = [str(config["instance_code"])], None
        else:
            codes, listed_to = self._list(ctx, config, cursor)
        items: list[TriggerEvent] = []
        pending_starts: list[int] = []
        for code in codes:
            instance = get_instance(ctx, code)
            status = instance.get("status")
            if status == "PENDING":
                if (started := _int(instance.get("start_time"))) is not None:
                    pending_starts.append(started)
            elif status in wanted and instance.get("approval_code", approval_code) == approval_code:
                items.append(_status_event(code, approval_code, status, instance))
        if config.get("instance_code"):
            return PollResult(items=items, cursor=cursor)
        # The next window starts at the oldest instance still pending (or where this one ended, by
        # Feishu's clock), so finished ones stop being re-read while pending ones stay in view.
        return PollResult(items=items, cursor=json.dumps({"from_ms": min(pending_starts, default=listed_to)}))

    def _list(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> tuple[list[str], int]:
        """The instance codes started in the window, and where the window ended on Feishu's clock: its
        Date when behind the hub's (instances it stamps are older than the hub's now), else the end
        asked for (instances stamped after it were not listed)."""
        now = now_ms()
        start = _start_ms(ctx, config, cursor, now)
        limit = int(config.get("max_instances") or 200)
        codes: dict[str, None] = {}  # in the order listed, without repeats
        page_token = None
        listed_to = now
        while len(codes) < limit:
            params = {
                "approval_code": config["approval_code"],
                "start_time": str(start),
                "end_time": str(now),
                "page_size": "100",
            }
            if page_token:
                params["page_token"] = page_token
            data, response = exchange(ctx, "GET", "/open-apis/approval/v4/instances", params=params)
            feishu_now = vendor_time(response)
            if feishu_now is not None and page_token is None:
                listed_to = min(now, int(feishu_now.timestamp() * 1000))
            codes.update(dict.fromkeys(data.get("instance_code_list") or []))
            page_token = data.get("page_token")
            if not data.get("has_more") or not page_token:
                break
        return list(codes)[:limit], listed_to


def _start_ms(ctx: Context, config: dict[str, Any], cursor: str | None, now: int) -> int:
    """Where the listing starts: the cursor's or a backfill's start, never before the look-back."""
    floor = now - int(config.get("lookback_hours") or 168) * 3600 * 1000
    if cursor:
        return max(floor, int(json.loads(cursor).get("from_ms") or floor))
    if ctx.since is not None:
        return max(floor, int(ctx.since.timestamp() * 1000))
    return floor


def _status_event(code: str, approval_code: str, status: str, instance: dict[str, Any]) -> TriggerEvent:
    data = {
        "instance_code": code,
        "approval_code": approval_code,
        "status": status,
        "operate_time": instance.get("end_time"),
        "tenant_key": None,
        "event_type": "approval_instance",
        "instance": instance,
    }
    return TriggerEvent(data=data, id=f"{code}:{status}")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
