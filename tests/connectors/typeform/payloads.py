"""A Typeform `form_response` delivery shaped like the example in Typeform's webhook docs."""

from __future__ import annotations

import json
from typing import Any


def delivery(
    event_id: str = "01HZX4VJ8Q8M3T6F3K2B5N7R9C", token: str = "a3a12ec67a1365927098a606107fac15"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": token,
            "landed_at": "2026-11-23T09:15:02Z",
            "submitted_at": "2026-11-23T09:16:40Z",
            "hidden": {"utm_source": "newsletter"},
            "calculated": {"score": 9},
            "definition": {
                "id": "lT4Z3j",
                "title": "Contact us",
                "fields": [
                    {"id": "DlXFaesGBpoF", "title": "First name", "type": "short_text", "ref": "first_name"},
                    {"id": "SMEUb7VJz92Q", "title": "Your email?", "type": "email", "ref": "email"},
                    {"id": "JwWggjAKtOkA", "title": "Plan", "type": "multiple_choice", "ref": "plan"},
                    {"id": "pn48RmPazVdM", "title": "Topics", "type": "multiple_choice", "ref": "topics"},
                    {"id": "Q7M2gyT868wU", "title": "Seats", "type": "number", "ref": "seats"},
                    {"id": "gFFf3xAkJKsr", "title": "Newsletter?", "type": "yes_no", "ref": "newsletter"},
                    {"id": "k6TP9oLGgHjl", "title": "Deposit", "type": "payment", "ref": "deposit"},
                ],
            },
            "answers": [
                {
                    "type": "text",
                    "text": "Lei",
                    "field": {"id": "DlXFaesGBpoF", "type": "short_text", "ref": "first_name"},
                },
                {
                    "type": "email",
                    "email": "li.lei@example.com",
                    "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "email"},
                },
                {
                    "type": "choice",
                    "choice": {"label": "Business"},
                    "field": {"id": "JwWggjAKtOkA", "type": "multiple_choice", "ref": "plan"},
                },
                {
                    "type": "choices",
                    "choices": {"labels": ["CRM", "Finance"], "other": "Forms"},
                    "field": {"id": "pn48RmPazVdM", "type": "multiple_choice", "ref": "topics"},
                },
                {
                    "type": "number",
                    "number": 12,
                    "field": {"id": "Q7M2gyT868wU", "type": "number", "ref": "seats"},
                },
                {
                    "type": "boolean",
                    "boolean": True,
                    "field": {"id": "gFFf3xAkJKsr", "type": "yes_no", "ref": "newsletter"},
                },
                {
                    "type": "payment",
                    "payment": {"amount": "4.50", "last4": "4242", "name": "Li Lei", "success": True},
                    "field": {"id": "k6TP9oLGgHjl", "type": "payment", "ref": "deposit"},
                },
            ],
        },
    }


def raw(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode("utf-8")
