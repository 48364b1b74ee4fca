"""Acme CRM, a made-up vendor: how a third-party package adds a connector to the hub.

It imports only `hub.sdk`, registers itself through the `hub.connectors` entry point (pyproject.toml),
and runs the hub's connector contract on itself (tests/test_contract.py). Acme's API, as this
example imagines it: bearer API keys; `POST /v1/contacts` honouring an `Idempotency-Key` header;
`GET /v1/contacts?updated_since=<ISO time>&page=<token>` listing contacts oldest change first, with
`next_page` while there are more; webhooks signed with
`X-Acme-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

Two triggers show the two ways a recipe starts: `contact_created` is pushed by Acme (a webhook),
`contact_updated` is polled on a schedule, its cursor kept by the SDK on Acme's own clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.sdk import (
    Action,
    BearerAuth,
    Connector,
    Context,
    InboundRequest,
    Page,
    PermanentError,
    SignatureError,
    TimeWindowPolling,
    TriggerEvent,
    WebhookTrigger,
    check_timestamp,
    hmac_hex,
    secret_field,
    signatures_match,
    vendor_time,
)

SIGNATURE_HEADER = "X-Acme-Signature"
TOLERANCE_S = 300  # a signed delivery older than this is refused as a replay


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={hmac_hex(secret, f'{timestamp}.'.encode() + body)}"


def check_signature(secret: str, header: str | None, body: bytes, now: float | None = None) -> None:
    """Constant-time comparison, and a timestamp window so a captured delivery cannot be replayed."""
    if not secret:
        raise SignatureError("the connection has no webhook_secret to check Acme's signature with")
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts:
        raise SignatureError(f"{SIGNATURE_HEADER} is missing or not of the form t=...,v1=...")
    check_timestamp(parts["t"], tolerance_s=TOLERANCE_S, what=f"{SIGNATURE_HEADER} timestamp (t=)", now=now)
    expected = hmac_hex(secret, f"{parts['t']}.".encode() + body)
    if not signatures_match(expected, parts["v1"]):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


class ContactCreated(WebhookTrigger):
    key = "contact_created"
    title = "Contact created"
    description = "Acme posts each new contact to the recipe's webhook URL."
    output_schema = {
        "type": "object",
        "required": ["id", "email"],
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"}},
    }
    sample = {"id": "c_123", "email": "ada@example.com", "name": "Ada Lovelace"}

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        check_signature(
            ctx.connection.get("webhook_secret") or "", request.header(SIGNATURE_HEADER), request.body
        )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        payload = request.json()
        contact = payload.get("contact") if isinstance(payload, dict) else None
        if not isinstance(contact, dict) or not contact.get("id"):
            raise PermanentError("an Acme contact event carries a contact object with an id")
        return [TriggerEvent(data=contact, id=str(contact["id"]))]


class ContactUpdated(TimeWindowPolling):
    """Polled: the SDK's time-window base keeps the cursor (first poll, overlap, paging, vendor clock);
    this class only says how to ask Acme for a page and how to read one contact."""

    key = "contact_updated"
    title = "Contact updated"
    description = "Every change to a contact, found by asking Acme what changed since the last poll."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"overlap_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 120}},
    }
    output_schema = ContactCreated.output_schema
    sample = ContactCreated.sample

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        params = {"updated_since": since.isoformat(), **({"page": page_token} if page_token else {})}
        response = ctx.http.get("/v1/contacts", params=params)
        body = response.json()
        return Page(items=body["contacts"], next_page=body.get("next_page"), vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        try:
            return datetime.fromisoformat(item["updated_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError(f"an Acme contact without a readable updated_at: {item!r:.200}") from exc

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        # The id names the change, not just the contact: the next change to it is a new event.
        return TriggerEvent(data=item, id=f"{item['id']}@{stamp.isoformat()}")


class CreateContact(Action):
    key = "create_contact"
    title = "Create contact"
    repeat_safe = True  # the Idempotency-Key header makes a repeat return the first result
    input_schema = {
        "type": "object",
        "required": ["email"],
        "additionalProperties": False,
        "properties": {
            "email": {"type": "string", "format": "email", "title": "Email"},
            "name": {"type": "string", "title": "Name"},
        },
    }
    output_schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    sample_output = {"id": "c_123"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        answer = ctx.http.post("/v1/contacts", json=inputs, idempotency_key=ctx.idempotency_key).json()
        return {"id": str(answer["id"])}


class AcmeCrm(Connector):
    id = "acme_crm"
    name = "Acme CRM"
    category = "crm"
    description = "An example third-party connector."
    base_url = "https://api.acme-crm.example"
    auth = BearerAuth()
    connection_fields = {"webhook_secret": secret_field("Webhook signing secret")}
    triggers = (ContactCreated, ContactUpdated)
    actions = (CreateContact,)

    def test_connection(self, ctx: Context) -> str:
        return f"signed in to {ctx.http.get('/v1/me').json().get('account', 'Acme')}"


connector = AcmeCrm()
