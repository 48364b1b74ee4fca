"""One Jotform submission as a recipe sees it, whether it came by webhook or by poll.

Jotform names each answer `q<question id>_<field name>` in a webhook's `rawRequest` and gives
`{name, text, answer, prettyFormat}` per question id in the API. Both become `answers` keyed by
field name and `answers_by_id` keyed by question id, so a recipe works with either trigger.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from hub.sdk.errors import PermanentError

RAW_ANSWER_KEY = re.compile(r"^q(\d+)_(.+)$")


def parse_raw_request(raw: str | None) -> dict[str, Any]:
    """The `rawRequest` form field: a JSON object of everything the respondent sent."""
    if raw is None or raw == "":
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise PermanentError(f"Jotform: rawRequest is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PermanentError("Jotform: rawRequest is not a JSON object")
    return data


def answers_from_raw(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers by field name, answers by question id) from a webhook's rawRequest."""
    by_name: dict[str, Any] = {}
    by_id: dict[str, Any] = {}
    for key, value in raw.items():
        match = RAW_ANSWER_KEY.match(key)
        if match:
            by_id[match.group(1)] = value
            by_name[match.group(2)] = value
    return by_name, by_id


def event_from_webhook(fields: dict[str, Any]) -> dict[str, Any]:
    """The event for a webhook delivery's form fields."""
    raw = parse_raw_request(fields.get("rawRequest"))
    by_name, by_id = answers_from_raw(raw)
    known = {"formID", "submissionID", "formTitle", "ip", "pretty", "rawRequest", "username"}
    return {
        "form_id": fields.get("formID"),
        "submission_id": fields.get("submissionID"),
        "form_title": fields.get("formTitle"),
        "username": fields.get("username"),
        "ip": fields.get("ip"),
        "pretty": fields.get("pretty"),
        "answers": by_name,
        "answers_by_id": by_id,
        "raw_request": raw,
        "fields": {k: v for k, v in fields.items() if k not in known},
    }


def event_from_api(item: dict[str, Any]) -> dict[str, Any]:
    """The event for one element of `GET /form/{id}/submissions` content."""
    answers = item.get("answers")
    questions = answers if isinstance(answers, dict) else {}
    by_name: dict[str, Any] = {}
    by_id: dict[str, Any] = {}
    by_label: dict[str, Any] = {}
    for qid, question in questions.items():
        if not isinstance(question, dict) or "answer" not in question:
            continue  # headings, buttons and unanswered fields carry no answer
        value = question["answer"]
        by_id[str(qid)] = value
        if question.get("name"):
            by_name[str(question["name"])] = value
        if question.get("text"):
            by_label[str(question["text"])] = question.get("prettyFormat", value)
    return {
        "form_id": item.get("form_id"),
        "submission_id": item.get("id"),
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
        "status": item.get("status"),
        "ip": item.get("ip"),
        "answers": by_name,
        "answers_by_id": by_id,
        "answers_by_label": by_label,
        "raw": item,
    }
