"""Xero triggers: an invoice poll (If-Modified-Since + page=N) and signed webhooks with their handshake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.xero.api import exchange, iso, parse_date, quoted
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.polling import Page, TimeWindowPolling, vendor_time
from hub.sdk.signing import hmac_base64, signatures_match
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse

PAGE_SIZE = 100  # what GET /Invoices returns per page


class InvoiceChanged(TimeWindowPolling):
    key = "invoice_changed"
    title = "Invoice created or changed"
    description = (
        "GET /Invoices with If-Modified-Since (the cursor minus an overlap window), oldest change first, "
        "100 per page; one run per invoice version (InvoiceID + UpdatedDateUTC)."
    )
    default_interval_s = 300
    min_interval_s = 60  # 60 calls per minute per organisation is Xero's whole budget
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"enum": ["ACCREC", "ACCPAY", "ANY"], "default": "ACCREC", "title": "Invoice type"},
            "statuses": {
                "type": "array",
                "items": {"enum": ["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]},
                "title": "Only these statuses",
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 120},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
        },
    }
    sample = {
        "InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
        "InvoiceNumber": "INV-0001",
        "Type": "ACCREC",
        "Status": "AUTHORISED",
        "Total": "40.00",
        "AmountDue": "40.00",
        "Contact": {"ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7", "Name": "Barney Rubble"},
        "updated_at": "2026-11-20T10:00:00.000Z",
    }

    default_max_pages = 10
    overlap_on_backfill = True

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        params: dict[str, Any] = {"order": "UpdatedDateUTC ASC"}
        if config["type"] != "ANY":
            params["where"] = f"Type=={quoted(config['type'])}"
        if config.get("statuses"):
            params["Statuses"] = ",".join(config["statuses"])
        params["page"] = page_token or 1
        headers = {"If-Modified-Since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")}
        answer, response = exchange(ctx, "GET", "/Invoices", params=params, headers=headers)
        invoices = answer.get("Invoices") or []
        following = params["page"] + 1 if len(invoices) >= PAGE_SIZE else None
        return Page(items=invoices, next_page=following, vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        updated = parse_date(item.get("UpdatedDateUTC"))
        if updated is None or not item.get("InvoiceID"):
            raise PermanentError("Xero: an invoice in the answer has no InvoiceID or UpdatedDateUTC")
        return updated

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        item_id = f"{item['InvoiceID']}:{int(stamp.timestamp() * 1000)}"
        return TriggerEvent(data={**item, "updated_at": iso(stamp)}, id=item_id)

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        start = parse_date(cursor)
        if start is None:
            raise PermanentError(f"Xero: stored cursor {cursor!r} is not a date")
        return start


def signature_ok(ctx: Context, request: InboundRequest) -> bool:
    """x-xero-signature = base64(HMAC-SHA256(webhook key, raw body))."""
    key = str(ctx.connection.get("webhook_key") or "")
    return bool(key) and signatures_match(hmac_base64(key, request.body), request.header("x-xero-signature"))


class Webhook(WebhookTrigger):
    key = "webhook"
    title = "Contact or invoice event (webhook)"
    description = (
        "Xero's webhook events, checked with x-xero-signature and the connection's webhook key; answers "
        "the intent-to-receive check with 200 or 401 and an empty body, as Xero requires."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "categories": {
                "type": "array",
                "items": {"enum": ["INVOICE", "CONTACT", "CREDITNOTE", "SUBSCRIPTION"]},
                "title": "Only these event categories",
            },
            "event_types": {"type": "array", "items": {"enum": ["CREATE", "UPDATE"]}},
            "all_tenants": {
                "type": "boolean",
                "default": False,
                "title": "Keep events of every organisation (default: only the connection's tenant)",
            },
        },
    }
    sample = {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
        "resourceId": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
        "eventDateUtc": "2026-11-20T10:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
        "tenantType": "ORGANISATION",
    }

    def handshake(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest
    ) -> WebhookResponse | None:
        """Intent to receive: a correctly signed batch with no events gets an empty 200. A wrongly
        signed one is not a handshake: verify() refuses it with the empty 401 Xero expects."""
        try:
            events = request.json().get("events")
        except (PermanentError, AttributeError):
            return None  # parse() reports the malformed body
        if events == [] and signature_ok(ctx, request):
            return WebhookResponse(status=200, body=b"")
        return None

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        if not signature_ok(ctx, request):
            raise SignatureError(
                "Xero: x-xero-signature does not match the body",
                response=WebhookResponse(status=401, body=b""),
            )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise PermanentError("Xero: webhook body has no events list")
        categories = set(config.get("categories") or [])
        kinds = set(config.get("event_types") or [])
        tenant = ctx.connection.get("tenant_id")
        out = []
        for event in body["events"]:
            if not isinstance(event, dict) or not event.get("resourceId"):
                raise PermanentError("Xero: a webhook event has no resourceId")
            if categories and event.get("eventCategory") not in categories:
                continue
            if kinds and event.get("eventType") not in kinds:
                continue
            if tenant and not config.get("all_tenants") and event.get("tenantId") != tenant:
                continue
            # Xero events carry no id of their own; a redelivery repeats all of these.
            event_id = ":".join(
                str(event.get(k) or "")
                for k in ("tenantId", "eventCategory", "resourceId", "eventType", "eventDateUtc")
            )
            out.append(TriggerEvent(data=event, id=event_id))
        return out

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        return WebhookResponse(status=200, body=b"")
