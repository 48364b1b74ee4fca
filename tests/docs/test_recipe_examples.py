"""The recipe language reference's examples are valid recipes: each whole document, and the step
examples of the flow-control sections together in one CRM recipe, in the order they appear."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hub.recipes import validate_document
from hub.registry import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"
CONNECTIONS = {
    "xero-main": "xero",
    "twilio": "twilio",
    "smtp": "email",
    "feishu-oa": "feishu",
    "aliyun": "aliyun_sms",
    "k3cloud": "kingdee",
    "crm": "http",
}


def examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return [json.loads(block) for block in blocks]


@pytest.fixture(scope="module")
def registry() -> Registry:
    found = Registry()
    found.load_entry_points()
    return found


def test_every_whole_recipe_in_the_reference_is_valid(registry: Registry) -> None:
    documents = [e for e in examples() if "name" in e]
    assert {d["name"] for d in documents} >= {"Price with tax", "Won deal"}
    for document in documents:
        validate_document(document, registry, CONNECTIONS.get)


def test_the_step_examples_make_one_valid_recipe(registry: Registry) -> None:
    steps = [e for e in examples() if "id" in e and "type" in e]
    assert {s["type"] for s in steps} >= {"set", "branch", "parallel", "for_each", "stop"}
    trigger = {"connector": "webhook", "trigger": "catch", "config": {}}
    validate_document({"name": "CRM", "trigger": trigger, "steps": steps}, registry, CONNECTIONS.get)
