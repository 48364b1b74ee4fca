"""QuickBooks triggers: `entity_changed` polls Change Data Capture; `webhook` takes Intuit's
notifications, both the CloudEvents arrays and the legacy eventNotifications shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.quickbooks import signing
from connectors.quickbooks.api import call, company_path, realm
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

CDC_LOOKBACK = timedelta(days=30)
CDC_MARGIN = timedelta(minutes=5)  # stay clear of the 30-day edge between our clock and Intuit's
CDC_MAX_OBJECTS = 1000
DEFAULT_OVERLAP_S = 60
ENTITY = re.compile(r"^[A-Za-z]+$")
OPERATIONS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "merge": "merged",
    "void": "voided",
}


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"QuickBooks: unreadable time {value!r}") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def operation(value: str) -> str:
    lower = value.strip().lower()
    return OPERATIONS.get(lower, lower)


class EntityChanged(TimeWindowPolling):
    key = "entity_changed"
    title = "Entity created, changed or deleted"
    description = (
        "Polls Change Data Capture for the chosen entities. CDC looks back 30 days at most: a cursor "
        "older than that is moved to 30 days ago (and the poll says so in the hub's log)."
    )
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["entities"],
        "additionalProperties": False,
        "properties": {
            "entities": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "default": ["Customer", "Invoice"],
                "description": "e.g. Customer, Invoice, Payment, Estimate, Bill, Item, Vendor",
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": DEFAULT_OVERLAP_S},
        },
    }
    sample = {
        "entity": "Invoice",
        "id": "130",
        "operation": "changed",
        "last_updated": "2026-11-23T09:16:40Z",
        "object": {"Id": "130", "DocNumber": "1037", "TotalAmt": "1280.50", "MetaData": {}},
    }

    def check_config(self, config: dict[str, Any]) -> None:
        for entity in config.get("entities") or []:
            if not ENTITY.match(str(entity)):
                raise PermanentError(f"QuickBooks: {entity!r} is not an entity name")

    cursor_follows_vendor_clock = True  # a quiet month must not push the cursor out of CDC's reach
    default_overlap_s = DEFAULT_OVERLAP_S
    default_max_pages = 1  # CDC answers everything (up to 1000 objects) at once

    def clamp_since(self, ctx: Context, config: dict[str, Any], since: datetime) -> datetime:
        oldest = datetime.now(UTC) - CDC_LOOKBACK + CDC_MARGIN
        if since >= oldest:
            return since
        ctx.logger.warning(
            "quickbooks CDC looks back 30 days at most: changes from %s to %s cannot be fetched; "
            "polling from %s",
            utc_text(since),
            utc_text(oldest),
            utc_text(oldest),
        )
        return oldest

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        params = {"entities": ",".join(config["entities"]), "changedSince": utc_text(since)}
        answer = call(ctx, "GET", company_path(ctx, "cdc"), params=params)
        objects = list(changed_objects(answer))
        if len(objects) >= CDC_MAX_OBJECTS:
            ctx.logger.warning(
                "quickbooks CDC answered %d objects, its maximum: some changes may be missing; "
                "poll more often",
                len(objects),
            )
        # Intuit's own clock when it answered: the cursor's "now" when nothing changed.
        intuit_now = parse_time(str(answer["time"])) if answer.get("time") else None
        return Page(items=objects, vendor_now=intuit_now)

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        entity, obj = item
        stamp = (obj.get("MetaData") or {}).get("LastUpdatedTime")
        if not stamp:
            raise PermanentError(f"QuickBooks: {entity} {obj['Id']} has no LastUpdatedTime")
        return parse_time(stamp)

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        entity, obj = item
        deleted = str(obj.get("status") or "").lower() == "deleted"
        data = {
            "entity": entity,
            "id": str(obj["Id"]),
            "operation": "deleted" if deleted else "changed",
            "last_updated": utc_text(stamp),
            "object": obj,
        }
        return TriggerEvent(data=data, id=f"{entity}:{obj['Id']}:{utc_text(stamp)}")

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        return parse_time(cursor)

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return utc_text(moment)


def changed_objects(answer: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(entity, object) of every changed object in a CDC answer."""
    for block in answer.get("CDCResponse") or []:
        for group in (block or {}).get("QueryResponse") or []:
            for entity, objects in (group or {}).items():
                if not isinstance(objects, list):
                    continue  # startPosition, maxResults, totalCount
                for obj in objects:
                    if isinstance(obj, dict) and obj.get("Id"):
                        yield entity, obj


class Webhook(WebhookTrigger):
    key = "webhook"
    title = "Entity changed (instant)"
    description = (
        "Intuit posts data-change notifications to the app's webhook URL; only this connection's "
        "company (realm) is taken from deliveries that cover several."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "entities": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Only these (any case)",
            },
            "operations": {
                "type": "array",
                "items": {"enum": ["created", "updated", "deleted", "merged", "voided", "emailed"]},
            },
        },
    }
    sample = {
        "entity": "invoice",
        "id": "95",
        "operation": "created",
        "realm_id": "310687",
        "occurred_at": "2026-05-31T21:31:25.179Z",
        "event_id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
        "format": "cloudevents",
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        signing.check(
            ctx.connection.get("webhook_verifier_token"), request.body, request.header(signing.HEADER)
        )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        payload = request.json()
        mine = realm(ctx)
        if isinstance(payload, list):
            events = [e for e in (cloud_event(item) for item in payload) if e is not None]
        elif isinstance(payload, dict) and "eventNotifications" in payload:
            events = legacy_events(payload)
        else:
            raise PermanentError("QuickBooks: neither a CloudEvents array nor eventNotifications")
        wanted_entities = {str(e).lower() for e in config.get("entities") or []}
        wanted_ops = set(config.get("operations") or [])
        kept = []
        for event in events:
            data = event.data
            if data["realm_id"] != mine:
                continue
            if wanted_entities and data["entity"] not in wanted_entities:
                continue
            if wanted_ops and data["operation"] not in wanted_ops:
                continue
            kept.append(event)
        return kept

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body={"event_ids": event_ids})  # Intuit expects a 200


def cloud_event(item: Any) -> TriggerEvent | None:
    """{specversion, id, source, type: qbo.<entity>.<operation>.v<n>, time, intuitentityid,
    intuitaccountid (the realm), data}."""
    if not isinstance(item, dict):
        return None
    parts = str(item.get("type") or "").split(".")
    if len(parts) < 3 or parts[0] != "qbo":
        return None
    data = {
        "entity": parts[1].lower(),
        "id": str(item.get("intuitentityid") or ""),
        "operation": operation(parts[2]),
        "realm_id": str(item.get("intuitaccountid") or ""),
        "occurred_at": item.get("time"),
        "event_id": item.get("id"),
        "format": "cloudevents",
        "data": item.get("data") or {},
    }
    return TriggerEvent(data=data, id=str(item["id"]) if item.get("id") else None)


def legacy_events(payload: dict[str, Any]) -> list[TriggerEvent]:
    """{eventNotifications: [{realmId, dataChangeEvent: {entities: [{name, id, operation,
    lastUpdated, deletedId?}]}}]}."""
    events = []
    for note in payload.get("eventNotifications") or []:
        if not isinstance(note, dict):
            continue
        realm_id = str(note.get("realmId") or "")
        for entity in (note.get("dataChangeEvent") or {}).get("entities") or []:
            if not isinstance(entity, dict):
                continue
            data = {
                "entity": str(entity.get("name") or "").lower(),
                "id": str(entity.get("id") or ""),
                "operation": operation(str(entity.get("operation") or "")),
                "realm_id": realm_id,
                "occurred_at": entity.get("lastUpdated"),
                "event_id": None,
                "format": "legacy",
                "deleted_id": entity.get("deletedId"),
            }
            event_id = f"{realm_id}:{data['entity']}:{data['id']}:{data['operation']}:{data['occurred_at']}"
            data["event_id"] = event_id
            events.append(TriggerEvent(data=data, id=event_id))
    return events
