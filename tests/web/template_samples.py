"""Two small recipe templates for the web tests, in a catalogue of their own (not the shipped one),
so the page tests do not change when the shipped catalogue grows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.templates import catalogue

RELAY: dict[str, Any] = {
    "template": 1,
    "name": "deal-relay",
    "title": {"en": "Relay big deals to an API", "zh": "把大额商机转发到接口"},
    "description": {
        "en": "Posts each deal above an amount to an HTTP endpoint.",
        "zh": "把超过某金额的商机发送到 HTTP 接口。",
    },
    "category": "alerts",
    "systems": ["webhook", "http"],
    "parameters": [
        {
            "name": "api",
            "kind": "connection",
            "connector": "http",
            "title": {"en": "Receiving API", "zh": "接收接口"},
        },
        {
            "name": "min_amount",
            "kind": "value",
            "schema": {"type": "number", "minimum": 0},
            "example": 1000,
            "title": {"en": "Smallest amount", "zh": "最小金额"},
            "description": {"en": "Deals below it are not sent.", "zh": "低于此金额的商机不发送。"},
        },
        {
            "name": "path",
            "kind": "value",
            "schema": {"type": "string", "minLength": 1},
            "default": "/deals",
            "example": "/deals",
            "title": {"en": "Path on the API", "zh": "接口路径"},
        },
    ],
    "recipe": {
        "name": "Relay big deals",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "deal.id"}},
        "steps": [
            {
                "id": "settings",
                "type": "set",
                "values": {"min": {"$param": "min_amount"}, "path": {"$param": "path"}},
            },
            {
                "id": "send",
                "connector": "http",
                "action": "request",
                "connection": {"$param": "api"},
                "when": "{{ event.deal.amount >= steps.settings.min }}",
                "input": {
                    "method": "POST",
                    "url": "{{ steps.settings.path }}",
                    "json": {"deal": "{{ event.deal.id }}", "amount": "{{ event.deal.amount }}"},
                },
            },
        ],
    },
}

DIGEST: dict[str, Any] = {
    "template": 1,
    "name": "daily-digest",
    "title": {"en": "Daily digest request", "zh": "每日摘要请求"},
    "description": {"en": "Calls a report endpoint every morning.", "zh": "每天早上调用报表接口。"},
    "category": "reports",
    "systems": ["schedule", "http"],
    "parameters": [
        {
            "name": "api",
            "kind": "connection",
            "connector": "http",
            "title": {"en": "Report API", "zh": "报表接口"},
        },
        {
            "name": "cron",
            "kind": "value",
            "schema": {"type": "string"},
            "default": "0 9 * * *",
            "example": "0 9 * * *",
            "title": {"en": "When (cron)", "zh": "时间（cron）"},
        },
    ],
    "recipe": {
        "name": "Daily digest",
        "trigger": {
            "connector": "schedule",
            "trigger": "cron",
            "config": {"expression": {"$param": "cron"}, "timezone": "Asia/Shanghai"},
        },
        "steps": [
            {
                "id": "fetch",
                "connector": "http",
                "action": "request",
                "connection": {"$param": "api"},
                "input": {"method": "GET", "url": "/report"},
            }
        ],
    },
}


@pytest.fixture
def sample_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The catalogue read from a folder holding RELAY and DIGEST only."""
    folder = tmp_path / "templates"
    folder.mkdir()
    for document in (RELAY, DIGEST):
        (folder / f"{document['name']}.json").write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(catalogue, "TEMPLATES_DIR", folder)
    catalogue.load.cache_clear()
    yield folder
    catalogue.load.cache_clear()
