"""`new_entry`: 金数据's data push (数据推送) POSTs `{form, form_name, entry}` as JSON for each entry.

金数据 documents no signature for data pushes, so the unguessable token in the hook URL is the
only proof of origin; the trigger also refuses pushes of a form other than the configured one.
The event id is `<form>:<serial_number>`, so a re-pushed entry (金数据 retries failed pushes,
and can push again when an entry is edited) starts no second run.
"""

from __future__ import annotations

from typing import Any

from connectors.jinshuju.entry import ENTRY_OUTPUT, ENTRY_SAMPLE, to_event
from hub.sdk.connector import WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import InboundRequest, TriggerEvent

FIELD_LABELS = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "title": "Field labels",
    "description": 'Readable names for answers, e.g. {"field_1": "姓名", "field_2": "手机"}.',
}


class NewEntry(WebhookTrigger):
    key = "new_entry"
    title = "New entry (data push)"
    description = (
        "Starts a run for every entry 金数据 pushes to the recipe's hook URL (form settings > "
        "数据推送). Pushes are unsigned: keep the URL secret."
    )
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "form": {
                "type": "string",
                "title": "Form token",
                "description": "When set, pushes of other forms are refused (jinshuju.net/f/<token>).",
            },
            "field_labels": FIELD_LABELS,
        },
    }
    output_schema = ENTRY_OUTPUT
    sample = ENTRY_SAMPLE

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("entry"), dict):
            raise PermanentError("金数据: a push must be a JSON object with an 'entry' object")
        form = str(body.get("form") or "")
        if not form:
            raise PermanentError("金数据: the push has no form token")
        if config.get("form") and form != config["form"]:
            raise PermanentError(f"金数据: push for form {form}, this recipe listens to {config['form']}")
        event = to_event(form, body.get("form_name"), body["entry"], config.get("field_labels") or {})
        return [TriggerEvent(data=event, id=f"{form}:{event['serial_number']}")]
