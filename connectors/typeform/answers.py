"""Typeform answers as a friendly map: one plain value per question, keyed by field ref and title."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def answer_value(answer: dict[str, Any]) -> Any:
    """The plain value of one answer, whatever its type (text, choice, payment...)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") if value.get("label") is not None else value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        if value.get("other"):
            labels.append(value["other"])
        return labels
    if kind == "payment" and isinstance(value, dict):
        payment = dict(value)
        try:
            payment["amount"] = Decimal(str(payment["amount"])) if "amount" in payment else None
        except (InvalidOperation, ValueError):
            payment["amount"] = None  # not a number: better none than a wrong one
        return payment
    return value


def flatten(form_response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values by field ref, values by question title); titles come from the form definition."""
    titles: dict[str, str] = {}
    definition = form_response.get("definition") or {}
    for field in definition.get("fields") or []:
        if isinstance(field, dict) and field.get("id") and field.get("title"):
            titles[str(field["id"])] = str(field["title"])
    by_ref: dict[str, Any] = {}
    by_title: dict[str, Any] = {}
    for answer in form_response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        field = answer.get("field") or {}
        value = answer_value(answer)
        ref = field.get("ref") or field.get("id")
        if ref:
            by_ref[str(ref)] = value
        title = titles.get(str(field.get("id")))
        if title:
            by_title[title] = value
    return by_ref, by_title


def event_data(form_response: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The event a recipe sees: the response as sent, plus `fields` and `titles`."""
    by_ref, by_title = flatten(form_response)
    return {
        **extra,
        "form_id": form_response.get("form_id"),
        "token": form_response.get("token") or form_response.get("response_id"),
        "landed_at": form_response.get("landed_at"),
        "submitted_at": form_response.get("submitted_at"),
        "hidden": form_response.get("hidden") or {},
        "calculated": form_response.get("calculated") or {},
        "variables": form_response.get("variables") or [],
        "fields": by_ref,
        "titles": by_title,
        "answers": form_response.get("answers") or [],
        "definition": form_response.get("definition"),
    }
