"""Zoho CRM triggers: instant notifications (the Notification API's watch channels) and a poll of
records changed since the last one (COQL by Modified_Time)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.zoho_crm.api import MODULE, VERSION, call, client
from hub.sdk.connector import RENEW_AFTER, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import ConnectorError, InvalidBodyError, PermanentError, SignatureError
from hub.sdk.polling import Page, TimeWindowPolling, vendor_time
from hub.sdk.signing import signatures_match
from hub.sdk.types import InboundRequest, TriggerEvent

OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}
MODULE_FIELD = {"type": "string", "title": "Module API name", "pattern": MODULE.pattern, "default": "Deals"}
NOTIFICATION_SAMPLE = {
    "module": "Deals",
    "operation": "update",
    "id": "5725767000000524157",
    "values": {"Stage": "Contract"},
    "affected_fields": ["Stage"],
    "channel_id": "1000000068001",
    "server_time": 1763960000000,
}


def watch_path() -> str:
    return f"/crm/{VERSION}/actions/watch"


class RecordNotification(WebhookTrigger):
    key = "record_notification"
    title = "Record created, edited or deleted (instant)"
    description = (
        "Zoho CRM notifies the recipe's URL through a watch channel the hub registers when the recipe "
        "is enabled (and removes when it is disabled)."
    )
    config_schema = {
        "type": "object",
        "required": ["module"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE_FIELD,
            "operations": {
                "type": "array",
                "items": {"enum": list(OPERATIONS)},
                "default": ["create", "edit"],
                "title": "Operations",
            },
            "notification_condition": {
                "type": "array",
                "items": {"type": "object"},
                "title": "Only when these fields change (Zoho's notification_condition objects)",
            },
            "expiry_hours": {
                "type": "integer",
                "minimum": 1,
                "maximum": 168,
                "default": 168,
                "title": "Channel lifetime (hours)",
                "description": "Zoho ends a channel at its expiry; the hub extends it halfway there.",
            },
        },
    }
    sample = NOTIFICATION_SAMPLE

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        channel_id = str(secrets.randbelow(9 * 10**17) + 10**17)  # Zoho wants a long
        token = secrets.token_urlsafe(30)[:40]  # echoed back in every notification (at most 50)
        watch = self._watch(config, channel_id, token, hook_url)
        watch["return_affected_field_values"] = True
        if config.get("notification_condition"):
            watch["notification_condition"] = config["notification_condition"]
        self._send(ctx, "POST", watch, "refused the watch channel")
        return {"channel_id": channel_id, "token": token, **self._lifetime(watch)}

    def renew(
        self, ctx: Context, config: dict[str, Any], hook_url: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Move the channel's expiry on in place (PATCH keeps what it is not given): the same id and
        token, so notifications already on their way still verify."""
        watch = self._watch(config, str(state["channel_id"]), str(state["token"]), hook_url)
        self._send(ctx, "PATCH", watch, "refused to extend the watch channel")
        return {**state, **self._lifetime(watch)}

    @staticmethod
    def _watch(config: dict[str, Any], channel_id: str, token: str, hook_url: str) -> dict[str, Any]:
        """A channel (of `expiry_hours` from now) as Zoho's watch API takes it."""
        expiry = datetime.now(UTC) + timedelta(hours=int(config.get("expiry_hours") or 168))
        return {
            "channel_id": int(channel_id),
            "events": [f"{config['module']}.{op}" for op in config.get("operations") or ["create", "edit"]],
            "channel_expiry": expiry.replace(microsecond=0).isoformat(),
            "token": token,
            "notify_url": hook_url,
        }

    @staticmethod
    def _lifetime(watch: dict[str, Any]) -> dict[str, Any]:
        """The channel's expiry, and when the hub renews it: halfway there, so a renewal that fails
        (Zoho down, a revoked consent) is tried again for days before the channel ends."""
        expiry = datetime.fromisoformat(watch["channel_expiry"])
        renew_at = datetime.now(UTC) + (expiry - datetime.now(UTC)) / 2
        return {
            "channel_expiry": watch["channel_expiry"],
            RENEW_AFTER: renew_at.replace(microsecond=0).isoformat(),
        }

    @staticmethod
    def _send(ctx: Context, method: str, watch: dict[str, Any], refusal: str) -> None:
        answer = call(ctx, method, watch_path(), json={"watch": [watch]})
        rows = answer.get("watch") or []
        if not rows or str(rows[0].get("status") or "").lower() != "success":
            problem = rows[0] if rows else answer
            raise PermanentError(f"Zoho CRM {refusal}: {problem.get('message') or problem}")

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        try:
            call(ctx, "DELETE", watch_path(), params={"channel_ids": state["channel_id"]})
        except ConnectorError as exc:
            if exc.status not in (400, 404):  # the channel expired or is gone already
                raise

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        state = ctx.subscription or {}
        if not state.get("token") or not state.get("channel_id"):
            raise SignatureError("no Zoho CRM watch channel is registered for this URL")
        body = request.json()
        if not isinstance(body, dict):
            raise SignatureError("notification is not a JSON object")
        # Zoho signs nothing: the channel's own token and id, echoed back, are the proof.
        if not signatures_match(str(state["token"]), str(body.get("token") or "")):
            raise SignatureError("notification token does not match the channel's")
        if not signatures_match(str(state["channel_id"]), str(body.get("channel_id") or "")):
            raise SignatureError("notification is for another channel")

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        body = request.json()
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise InvalidBodyError("notification has no ids list")
        values = {
            str(row.get("record_id")): row.get("values") or {}
            for row in body.get("affected_values") or []
            if isinstance(row, dict)
        }
        fields = {
            str(row.get("record_id")): row.get("fields") or []
            for row in body.get("affected_fields") or []
            if isinstance(row, dict)
        }
        events = []
        for record_id in (str(i) for i in ids):
            item = {
                "module": body.get("module"),
                "operation": body.get("operation"),
                "id": record_id,
                "values": values.get(record_id, {}),
                "affected_fields": fields.get(record_id, []),
                "channel_id": str(body.get("channel_id")),
                "server_time": body.get("server_time"),
            }
            event_id = f"{item['channel_id']}:{record_id}:{item['operation']}:{item['server_time']}"
            events.append(TriggerEvent(data=item, id=event_id))
        return events


def coql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class RecordChanged(TimeWindowPolling):
    key = "record_changed"
    title = "Record created or updated (polling)"
    description = "Polls a module with COQL for records whose Modified_Time moved since the last poll."
    default_interval_s = 300
    min_interval_s = 60
    default_max_pages = 50  # 200 a page: 10 000 records a poll
    config_schema = {
        "type": "object",
        "required": ["module"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE_FIELD,
            "fields": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.]*$"},
                "maxItems": 48,
                "default": ["Deal_Name", "Stage", "Amount"],
                "title": "Fields (API names; id and Modified_Time are always read)",
            },
            "where": {"type": "string", "title": "Extra COQL condition, e.g. Stage = 'Contract'"},
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 120},
        },
    }
    sample = {
        "id": "5725767000000524157",
        "Modified_Time": "2026-11-24T10:00:00+08:00",
        "Deal_Name": "Acme renewal",
        "Stage": "Contract",
        "Amount": 12800.5,
    }

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        offset = int(page_token or 0)
        fields = ", ".join(dict.fromkeys(["id", "Modified_Time", *config.get("fields", [])]))
        where = f"Modified_Time >= '{coql_time(since)}'"
        if config.get("where"):
            where = f"({where} and ({config['where']}))"
        # The module and fields are checked against their patterns; `where` is the recipe author's own
        # COQL, run with the connection's rights on their own CRM.
        query = (
            f"select {fields} from {config['module']} where {where}"  # noqa: S608
            f" order by Modified_Time asc limit 200 offset {offset}"
        )
        response = client(ctx).post(f"/crm/{VERSION}/coql", json={"select_query": query})
        payload = response.json() if response.content and response.status != 204 else {}
        rows = (
            [r for r in (payload.get("data") or []) if isinstance(r, dict)]
            if isinstance(payload, dict)
            else []
        )
        more = bool((payload.get("info") or {}).get("more_records")) if isinstance(payload, dict) else False
        return Page(
            items=rows,
            next_page=offset + len(rows) if more and rows else None,
            vendor_now=vendor_time(response),
        )

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        try:
            return datetime.fromisoformat(str(item["Modified_Time"]))
        except (KeyError, ValueError) as exc:
            raise PermanentError(
                f"Zoho CRM: record without a readable Modified_Time: {item.get('id')}"
            ) from exc

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data=item, id=f"{item.get('id')}:{stamp.isoformat()}")
