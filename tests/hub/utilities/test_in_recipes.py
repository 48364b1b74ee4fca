"""The utilities inside recipes run by the engine: the documented examples, and dry runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import responses
from sqlalchemy import func, select

from hub.db.models import Rotation, StorageEntry
from hub.runtime import Runtime
from hub.services import recipes as service

DOCS = Path(__file__).resolve().parents[3] / "docs" / "utilities"


def documented_recipe(page: str) -> dict[str, Any]:
    """The first complete recipe (a JSON block with a trigger) on a docs/utilities page."""
    for block in re.findall(r"```json\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S):
        if '"trigger"' in block:
            return json.loads(block)
    raise AssertionError(f"{page} shows no recipe")


@responses.activate
def test_the_documented_lead_assignment_recipe_weights_and_skips(runtime: Runtime) -> None:
    responses.post("https://crm.example.com/api/leads", json={"id": "lead"})
    recipe = service.save_recipe(runtime, documented_recipe("assign.md"), actor="tests")
    events = [{"lead": {"id": n, "email": f"lead{n}@example.com"}} for n in range(4)]
    events.append({"lead": {"id": 4, "email": "lead4@example.com"}, "on_leave": ["ann"]})
    for event in events:
        service.run_test(runtime, recipe.id, event, dry_run=False, actor="tests")
    owners = [json.loads(call.request.body)["owner"] for call in responses.calls]
    # ann has two turns a cycle (a, b, c, a), then is skipped while on leave: bob takes the turn
    assert owners == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "ann@example.com",
        "bob@example.com",
    ]


@responses.activate
def test_the_documented_change_detection_recipe_notifies_on_changes_only(runtime: Runtime) -> None:
    responses.post("https://chat.example.com/hooks/sales", json={"ok": True})
    recipe = service.save_recipe(runtime, documented_recipe("storage.md"), actor="tests")
    for status in ("new", "new", "qualified", "qualified", "won"):
        service.run_test(
            runtime, recipe.id, {"deal": {"id": "D1", "status": status}}, dry_run=False, actor="t"
        )
    texts = [json.loads(call.request.body)["text"] for call in responses.calls]
    assert texts == ["Deal D1: None -> new", "Deal D1: new -> qualified", "Deal D1: qualified -> won"]


def test_a_dry_run_writes_nothing(runtime: Runtime) -> None:
    recipe = service.save_recipe(runtime, documented_recipe("storage.md"), actor="tests")
    service.run_test(runtime, recipe.id, {"deal": {"id": "D1", "status": "new"}}, dry_run=True, actor="t")
    lead = service.save_recipe(runtime, documented_recipe("assign.md"), actor="tests")
    service.run_test(runtime, lead.id, {"lead": {"id": 1, "email": "x@example.com"}}, dry_run=True, actor="t")
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(StorageEntry)) == 0
        assert session.scalar(select(func.count()).select_from(Rotation)) == 0
