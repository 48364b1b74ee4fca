"""HubSpot triggers: signed webhook events (v3) and a search-based poll for apps without webhooks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.hubspot import signing
from connectors.hubspot.actions import record
from connectors.hubspot.api import OBJECT_TYPE, next_after, search_exchange
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling, vendor_time
from hub.sdk.types import InboundRequest, TriggerEvent

# Generic `object.*` subscriptions name the type by id instead of in the subscription type.
OBJECT_TYPE_IDS = {"0-1": "contact", "0-2": "company", "0-3": "deal", "0-5": "ticket", "0-27": "task"}


class ObjectChanged(WebhookTrigger):
    key = "object_changed"
    title = "CRM record created, changed or deleted (webhook)"
    description = (
        "Events HubSpot sends to the app's target URL, checked with X-HubSpot-Signature-v3 and the "
        "connection's client secret; one run per event in the batch."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "subscription_types": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Only these subscription types",
                "description": "e.g. deal.propertyChange, contact.creation; empty: all.",
            },
            "property_names": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Only changes of these properties",
            },
            "allow_legacy_signatures": {
                "type": "boolean",
                "default": False,
                "title": "Also accept v1/v2 signatures (no timestamp, so no replay protection)",
            },
        },
    }
    sample = {
        "eventId": 100,
        "subscriptionId": 2400,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1764000000000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": 7001,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM",
        "objectType": "deal",
        "change": "propertyChange",
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        signing.check(
            str(ctx.connection.get("client_secret") or ""),
            request,
            allow_legacy=bool(config.get("allow_legacy_signatures")),
        )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        body = request.json()
        if isinstance(body, dict):
            body = [body]
        if not isinstance(body, list):
            raise PermanentError("HubSpot: webhook body is not an array of events")
        types = set(config.get("subscription_types") or [])
        names = set(config.get("property_names") or [])
        events = []
        for event in body:
            if not isinstance(event, dict) or event.get("objectId") is None:
                raise PermanentError("HubSpot: a webhook event has no objectId")
            kind = str(event.get("subscriptionType") or "")
            if types and kind not in types:
                continue
            if names and event.get("propertyName") not in names:
                continue
            object_type, _, change = kind.partition(".")
            if object_type == "object" and event.get("objectTypeId"):
                type_id = str(event["objectTypeId"])
                object_type = OBJECT_TYPE_IDS.get(type_id, type_id)
            data = {**event, "objectType": object_type, "change": change}
            # eventId alone is not promised unique; retries keep all three of these the same.
            event_id = f"{event.get('eventId')}:{event.get('objectId')}:{event.get('occurredAt')}"
            events.append(TriggerEvent(data=data, id=event_id))
        return events


def modified_property(object_type: str) -> str:
    """Contacts keep their own `lastmodifieddate`; every other object type uses hs_lastmodifieddate."""
    return "lastmodifieddate" if object_type in ("contacts", "0-1") else "hs_lastmodifieddate"


def to_ms(value: Any) -> int | None:
    """HubSpot datetimes come as ISO-8601 ('2026-11-20T10:00:00.123Z') or epoch milliseconds."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


class ObjectChangedPoll(TimeWindowPolling):
    key = "object_changed_poll"
    title = "CRM record created or changed (poll)"
    description = (
        "Searches records whose last-modified date is at or after the cursor minus an overlap window, "
        "oldest first; one run per record version."
    )
    default_interval_s = 300
    config_schema = {
        "type": "object",
        "required": ["object_type"],
        "additionalProperties": False,
        "properties": {
            "object_type": OBJECT_TYPE,
            "properties": {"type": "array", "items": {"type": "string"}, "title": "Properties to return"},
            "filters": {
                "type": "array",
                "items": {"type": "object"},
                "title": "Extra filters (ANDed): {propertyName, operator, value}",
            },
            "overlap_s": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3600,
                "default": 120,
                "title": "Overlap window (clock skew, search index lag)",
            },
            "page_size": {"type": "integer", "minimum": 1, "maximum": 200, "default": 100},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
    }
    sample = {
        "id": "7001",
        "objectType": "deals",
        "properties": {"dealname": "Acme", "hs_lastmodifieddate": "2026-11-20T10:00:00.000Z"},
        "created_at": "2026-11-01T09:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "archived": False,
    }

    overlap_on_backfill = True

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        modified = modified_property(str(config["object_type"]))
        filters = [
            {"propertyName": modified, "operator": "GTE", "value": str(max(0, to_ms_of(since)))},
            *(config.get("filters") or []),
        ]
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": list(dict.fromkeys([*(config.get("properties") or []), modified])),
            "limit": int(config["page_size"]),
            **({"after": page_token} if page_token else {}),
        }
        page, response = search_exchange(ctx, str(config["object_type"]), body)
        items = [{**record(raw), "objectType": config["object_type"]} for raw in page.get("results") or []]
        return Page(items=items, next_page=next_after(page), vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        modified = modified_property(str(item["objectType"]))
        stamp = to_ms(item["properties"].get(modified)) or to_ms(item["updated_at"])
        if stamp is None:
            raise PermanentError(f"HubSpot: record {item['id']} has no {modified}")
        return datetime.fromtimestamp(stamp / 1000, UTC)

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data=item, id=f"{item['id']}:{to_ms_of(stamp)}")

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        if not cursor.isdigit():
            raise PermanentError(f"HubSpot: stored cursor {cursor!r} is not epoch milliseconds")
        return datetime.fromtimestamp(int(cursor) / 1000, UTC)

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return str(to_ms_of(moment))


def to_ms_of(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
