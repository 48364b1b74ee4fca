"""DocuSign envelope status: Connect messages (webhook) and a polling counterpart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from connectors.docusign.api import account_path, call
from connectors.docusign.signing import check, split_keys
from hub.sdk.connector import PollingTrigger, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse
from hub.sdk.polling import vendor_time
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent, WebhookResponse

# Envelope statuses the list API filters on (eSignature v2.1 spec, `status` parameter).
STATUSES = [
    "completed",
    "created",
    "declined",
    "deleted",
    "delivered",
    "processing",
    "sent",
    "signed",
    "timedout",
    "voided",
]
PAGE_SIZE = 100
MAX_PAGES = 50


def status_of(event: str, summary: dict[str, Any]) -> str | None:
    """The envelope status: from the summary when included, else from `envelope-<status>`."""
    if summary.get("status"):
        return str(summary["status"]).lower()
    if event.startswith("envelope-"):
        return event[len("envelope-") :]
    return None


class EnvelopeStatus(WebhookTrigger):
    key = "envelope_status"
    title = "Envelope status changed (Connect)"
    description = (
        "DocuSign Connect posts envelope events (JSON, HMAC-signed) to the hook URL: set it as a "
        "Connect configuration's URL, or per envelope through send_envelope's status_webhook_url."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "statuses": {
                "type": "array",
                "items": {"type": "string", "examples": STATUSES},
                "title": "Envelope statuses",
                "description": "Only these start runs (e.g. completed, declined); empty = every event.",
            },
        },
    }
    sample = {
        "event": "envelope-completed",
        "envelope_id": "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11",
        "status": "completed",
        "account_id": "8f1c5e7a-0000-4000-8000-000000000001",
        "generated_date_time": "2026-11-24T02:11:10.123Z",
        "envelope_summary": {"status": "completed", "emailSubject": "Please sign C-7"},
    }

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        check(split_keys(ctx.connection.get("connect_hmac_keys")), request.headers, request.body)

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        if request.content_type in ("text/xml", "application/xml"):
            raise PermanentError("DocuSign: XML Connect messages are not supported; choose JSON (REST v2.1)")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise PermanentError("DocuSign: not a Connect JSON message (no `data` object)")
        data = body["data"]
        account = ctx.connection.get("account_id")
        if account and data.get("accountId") and str(data["accountId"]).lower() != str(account).lower():
            raise PermanentError(f"DocuSign: the message is for account {data['accountId']}, not {account}")
        summary = data.get("envelopeSummary") if isinstance(data.get("envelopeSummary"), dict) else {}
        event = str(body.get("event") or "")
        envelope_id = data.get("envelopeId") or summary.get("envelopeId")
        if not envelope_id or not event:
            raise PermanentError("DocuSign: the message has no event or envelopeId")
        status = status_of(event, summary) if event.startswith("envelope-") else None
        wanted = config.get("statuses")
        if wanted and status not in wanted:
            return []
        item = {
            "event": event,
            "envelope_id": envelope_id,
            "status": status,
            "recipient_id": data.get("recipientId") or None,
            "account_id": data.get("accountId"),
            "user_id": data.get("userId"),
            "generated_date_time": body.get("generatedDateTime"),
            "retry_count": body.get("retryCount"),
            "configuration_id": body.get("configurationId"),
            "envelope_summary": summary,
        }
        key = f"{envelope_id}:{event}" + (f":{item['recipient_id']}" if item["recipient_id"] else "")
        return [TriggerEvent(data=item, id=key)]

    def acknowledge(
        self, ctx: Context, config: dict[str, Any], request: InboundRequest, event_ids: list[str]
    ) -> WebhookResponse | None:
        """Connect's requireAcknowledgment counts HTTP 200 as delivered."""
        return WebhookResponse(status=200, body={"event_ids": event_ids})


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class EnvelopeChanges(PollingTrigger):
    key = "envelope_changes"
    title = "Envelope status changed (polling)"
    description = (
        "Lists the account's envelopes whose status changed since the last poll. DocuSign asks "
        "integrations to poll at most every 15 minutes; prefer Connect where the hub is reachable."
    )
    default_interval_s = 900
    min_interval_s = 900
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "statuses": {
                "type": "array",
                "items": {"enum": STATUSES},
                "default": ["completed"],
                "title": "Envelope statuses",
            },
        },
    }
    sample = {
        "envelope_id": "4b728be4-4d4a-4c8e-9b1c-3f5a4f2b9d11",
        "status": "completed",
        "email_subject": "Please sign C-7",
        "status_changed_date_time": "2026-11-24T02:11:09.0000000Z",
    }

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """DocuSign hands back the next cursor itself (`lastQueriedDateTime`), so no time window base."""
        # Without a cursor: a backfill's start, or the last day before a first poll (stored as seen).
        from_date = cursor or iso(ctx.since or dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        statuses = config.get("statuses") or ["completed"]
        items: dict[str, TriggerEvent] = {}
        last_queried: str | None = None
        started: str | None = None  # DocuSign's clock at the first answer, if it sends no lastQueried
        for page, response in self._pages(ctx, from_date, statuses):
            started = started or iso(vendor_time(response) or dt.datetime.now(dt.UTC))
            last_queried = last_queried or page.get("lastQueriedDateTime")
            for envelope in page.get("envelopes") or []:
                event = envelope_event(envelope)
                if event.data["status"] in statuses:
                    items.setdefault(str(event.id), event)
        return PollResult(items=list(items.values()), cursor=last_queried or started)

    @staticmethod
    def _pages(
        ctx: Context, from_date: str, statuses: list[str]
    ) -> Iterator[tuple[dict[str, Any], HttpResponse]]:
        """The envelope list's pages (oldest change first), by start_position against totalSetSize."""
        start = 0
        for _ in range(MAX_PAGES):
            params = {
                "from_date": from_date,
                "from_to_status": "changed",
                "status": ",".join(statuses),
                "order_by": "status_changed",
                "order": "asc",
                "start_position": str(start),
                "count": str(PAGE_SIZE),
            }
            response = call(ctx, "GET", account_path(ctx, "envelopes"), params=params)
            page = response.json()
            yield page, response
            end, total = _int(page.get("endPosition")), _int(page.get("totalSetSize"))
            if not page.get("envelopes") or end is None or total is None or end + 1 >= total:
                return
            start = end + 1


def envelope_event(envelope: dict[str, Any]) -> TriggerEvent:
    """One envelope status, keyed so each status of an envelope runs once."""
    status = str(envelope.get("status") or "").lower()
    data = {
        "envelope_id": envelope.get("envelopeId"),
        "status": status,
        "email_subject": envelope.get("emailSubject"),
        "status_changed_date_time": envelope.get("statusChangedDateTime"),
        "envelope": envelope,
    }
    return TriggerEvent(id=f"{envelope.get('envelopeId')}:{status}", data=data)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
