"""`new_submission`: Jotform posts each submission to the recipe's hook URL as multipart/form-data.

Jotform does not sign webhook deliveries, so the unguessable token in the hook URL is the only
proof of origin; the trigger also refuses deliveries for a form other than the configured one.
Registration uses the API: `POST /form/{id}/webhooks` (field `webhookURL`) when the recipe is
enabled, and `DELETE /form/{id}/webhooks/{index}` when it is disabled. The index is the position
Jotform reports in `GET /form/{id}/webhooks`, which shifts when others are removed, so it is looked
up again just before deleting.
"""

from __future__ import annotations

from typing import Any

from connectors.jotform import api
from connectors.jotform.submission import event_from_webhook
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import InboundRequest, TriggerEvent

FORM_ID = {
    "type": "string",
    "title": "Form ID",
    "pattern": "^[0-9]+$",
    "description": "The digits in the form's URL.",
}

SUBMISSION_OUTPUT = {
    "type": "object",
    "required": ["form_id", "submission_id", "answers", "answers_by_id"],
    "properties": {
        "form_id": {"type": ["string", "null"]},
        "submission_id": {"type": ["string", "null"]},
        "form_title": {"type": ["string", "null"]},
        "username": {"type": ["string", "null"]},
        "ip": {"type": ["string", "null"]},
        "pretty": {"type": ["string", "null"], "description": "Jotform's 'Label:value, ...' summary."},
        "answers": {"type": "object", "description": "Answers by field name (e.g. email, fullName)."},
        "answers_by_id": {"type": "object", "description": "Answers by question id."},
        "raw_request": {"type": "object", "description": "rawRequest, parsed."},
        "fields": {"type": "object", "description": "Other form fields Jotform sent."},
    },
}


def form_fields(request: InboundRequest) -> dict[str, Any]:
    """The delivery's fields: multipart/form-data as Jotform sends it, or urlencoded."""
    ctype = request.content_type
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise PermanentError(f"Jotform: expected multipart/form-data, got {ctype or 'no content type'}")
    try:
        return request.form()
    except PermanentError as exc:
        raise PermanentError(f"Jotform: {exc.message}") from exc


def _registered(ctx: Context, form_id: str) -> dict[str, str]:
    """{index: url} of the form's webhooks; Jotform answers an object (or a list when empty)."""
    content = api.call(ctx, "GET", f"/form/{form_id}/webhooks", "listing webhooks").get("content")
    if isinstance(content, dict):
        return {str(k): str(v) for k, v in content.items()}
    if isinstance(content, list):
        return {str(i): str(v) for i, v in enumerate(content)}
    return {}


class NewSubmission(WebhookTrigger):
    key = "new_submission"
    title = "New submission (instant)"
    description = (
        "Starts a run for every submission of a form, delivered by Jotform's webhook. Registers the "
        "hook URL with Jotform when the recipe is enabled. Deliveries are unsigned: keep the URL secret."
    )
    config_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "register_webhook": {
                "type": "boolean",
                "default": True,
                "title": "Register the webhook with Jotform",
                "description": "Off: paste the hook URL into the form's Settings > Integrations > Webhooks.",
            },
        },
    }
    output_schema = SUBMISSION_OUTPUT
    sample = {
        "form_id": "241018298765432",
        "submission_id": "5931738482018634071",
        "form_title": "Contact us",
        "username": "acme_sales",
        "ip": "203.0.113.7",
        "pretty": "Name:Li Lei, E-mail:li.lei@example.com",
        "answers": {"name": {"first": "Li", "last": "Lei"}, "email": "li.lei@example.com"},
        "answers_by_id": {"3": {"first": "Li", "last": "Lei"}, "4": "li.lei@example.com"},
        "raw_request": {"q3_name": {"first": "Li", "last": "Lei"}, "q4_email": "li.lei@example.com"},
        "fields": {"type": "WEB"},
    }

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        fields = form_fields(request)
        submission_id = fields.get("submissionID")
        if not submission_id or not isinstance(submission_id, str):
            raise PermanentError("Jotform: the delivery has no submissionID")
        form_id = fields.get("formID")
        if config.get("form_id") and form_id and str(form_id) != str(config["form_id"]):
            raise PermanentError(
                f"Jotform: delivery for form {form_id}, this recipe listens to {config['form_id']}"
            )
        return [TriggerEvent(data=event_from_webhook(fields), id=submission_id)]

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        if config.get("register_webhook") is False:
            return None
        form_id = str(config["form_id"])
        if hook_url not in _registered(ctx, form_id).values():
            api.call(
                ctx,
                "POST",
                f"/form/{form_id}/webhooks",
                "registering the webhook",
                data={"webhookURL": hook_url},
            )
        return {"form_id": form_id, "webhook_url": hook_url}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        form_id, url = str(state["form_id"]), str(state["webhook_url"])
        for index, registered in _registered(ctx, form_id).items():
            if registered == url:
                api.call(ctx, "DELETE", f"/form/{form_id}/webhooks/{index}", "removing the webhook")
                return
