"""Typeform triggers: the `form_response` webhook (registered through the Webhooks API) and a
`new_response` poll of the Responses API for hubs Typeform cannot reach."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors.typeform import signing
from connectors.typeform.answers import event_data
from connectors.typeform.auth import client
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import ConnectorError, PermanentError
from hub.sdk.polling import NewestIdPolling, Page
from hub.sdk.types import InboundRequest, TriggerEvent

PAGE_SIZE = 1000  # Typeform's maximum
MAX_PAGES_PER_POLL = 10
BASE_PARAMS = {"completed": "true"}

SAMPLE = {
    "event_id": "01HZX4VJ8Q8M3T6F3K2B5N7R9C",
    "event_type": "form_response",
    "form_id": "lT4Z3j",
    "token": "a3a12ec67a1365927098a606107fac15",
    "landed_at": "2026-11-23T09:15:02Z",
    "submitted_at": "2026-11-23T09:16:40Z",
    "hidden": {"utm_source": "newsletter"},
    "calculated": {"score": 0},
    "variables": [],
    "fields": {"first_name": "Lei", "last_name": "Li", "email": "li.lei@example.com", "company": "Acme"},
    "titles": {"What is your email?": "li.lei@example.com"},
    "answers": [
        {
            "type": "email",
            "email": "li.lei@example.com",
            "field": {"id": "SMEUb7", "type": "email", "ref": "email"},
        }
    ],
    "definition": {"id": "lT4Z3j", "title": "Contact us", "fields": []},
}


def webhook_tag(hook_url: str) -> str:
    """A tag unique to this recipe's hook URL, so two recipes on one form do not overwrite each other."""
    return "hub-" + hashlib.sha256(hook_url.encode("utf-8")).hexdigest()[:16]


def new_secret() -> str:
    """A signing secret for one webhook (32 random bytes); kept in the hub's sealed subscription state."""
    return secrets.token_urlsafe(32)


def delivery_secret(ctx: Context) -> str | None:
    """The secret the webhook being hit was registered with.

    Webhooks registered by this version carry their own secret in ctx.subscription; ones registered
    before (or added by hand in Typeform) were signed with the connection's `webhook_secret`."""
    own = (ctx.subscription or {}).get("secret")
    if own:
        return str(own)
    return str(ctx.connection["webhook_secret"]) if ctx.connection.get("webhook_secret") else None


def webhook_path(form_id: str, tag: str) -> str:
    return f"/forms/{quote(form_id, safe='')}/webhooks/{quote(tag, safe='')}"


FORM_ID = {"type": "string", "title": "Form ID", "description": "From the form URL: .../to/<form_id>"}


class FormResponse(WebhookTrigger):
    key = "form_response"
    title = "New form response (instant)"
    description = (
        "Typeform posts each submitted response; the hub registers the webhook when the recipe is "
        "enabled and removes it when the recipe is disabled or deleted."
    )
    config_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "tag": {
                "type": "string",
                "title": "Webhook tag",
                "description": "Webhook name in Typeform; default: hub-<hash of the recipe's hook URL>.",
            },
            "verify_ssl": {
                "type": "boolean",
                "default": True,
                "title": "Typeform checks the hub's TLS certificate",
            },
        },
    }
    sample = SAMPLE

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        tag = config.get("tag") or webhook_tag(hook_url)
        secret = new_secret()
        body = {
            "url": hook_url,
            "enabled": True,
            "secret": secret,
            "verify_ssl": bool(config.get("verify_ssl", True)),
            "event_types": {"form_response": True},
        }
        response = client(ctx).put(webhook_path(config["form_id"], tag), json=body)
        answer = response.json() if response.content and response.is_json else {}
        webhook_id = answer.get("id") if isinstance(answer, dict) else None
        return {"form_id": config["form_id"], "tag": tag, "webhook_id": webhook_id, "secret": secret}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        try:
            client(ctx).delete(webhook_path(state["form_id"], state["tag"]))
        except ConnectorError as exc:
            if exc.status != 404:  # already removed in Typeform: nothing left to do
                raise

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        signing.check(delivery_secret(ctx), request.body, request.header(signing.HEADER))

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        payload = request.json()
        if not isinstance(payload, dict):
            raise PermanentError("Typeform payload is not a JSON object")
        if payload.get("event_type") != "form_response":
            return []  # e.g. form_response_partial: not what this trigger starts recipes for
        response = payload.get("form_response")
        if not isinstance(response, dict):
            raise PermanentError("Typeform payload has no form_response object")
        form_id = config.get("form_id")
        if form_id and response.get("form_id") and response["form_id"] != form_id:
            raise PermanentError(
                f"response is for form {response['form_id']}, this recipe listens to {form_id}"
            )
        data = event_data(response, event_id=payload.get("event_id"), event_type=payload["event_type"])
        event_id = payload.get("event_id") or response.get("token")
        return [TriggerEvent(data=data, id=str(event_id) if event_id else None)]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class NewResponse(NewestIdPolling):
    key = "new_response"
    title = "New form response (polling)"
    description = "Polls the Responses API for completed responses, in the order Typeform processed them."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {"form_id": FORM_ID},
    }
    sample = SAMPLE

    default_max_pages = MAX_PAGES_PER_POLL

    def newest_id(self, ctx: Context, config: dict[str, Any]) -> str | None:
        params = {**BASE_PARAMS, "page_size": 1, "sort": "submitted_at,desc"}
        items = client(ctx).get(self._path(config), params=params).json().get("items") or []
        return str(items[0]["token"]) if items and items[0].get("token") else None

    def fetch_after(
        self, ctx: Context, config: dict[str, Any], after: str | None, since: datetime | None, page_token: Any
    ) -> Page:
        params: dict[str, Any] = {"page_size": PAGE_SIZE, **BASE_PARAMS}
        if page_token or after:
            params["after"] = page_token or after
        elif since is not None:
            params.update(since=_iso(since), sort="submitted_at,asc")
        else:  # the form had no responses when the recipe started: from its first one
            params["sort"] = "submitted_at,asc"
        page = client(ctx).get(self._path(config), params=params).json()
        items = [i for i in page.get("items") or [] if isinstance(i, dict) and i.get("token")]
        return Page(items=items, next_page=items[-1]["token"] if len(items) >= PAGE_SIZE else None)

    def item_id(self, item: Any) -> str:
        return str(item["token"])

    def newer(self, candidate: str, than: str) -> bool:
        return True  # tokens are opaque (even all-digit ones) and come in the order they were submitted

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any) -> TriggerEvent:
        data = event_data({"form_id": config["form_id"], **item}, event_type="form_response")
        return TriggerEvent(data=data, id=str(item["token"]))

    @staticmethod
    def _path(config: dict[str, Any]) -> str:
        return f"/forms/{quote(config['form_id'], safe='')}/responses"
