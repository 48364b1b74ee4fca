"""The utilities inside recipes run by the engine: the documented examples, dry runs, repeats."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import responses
from sqlalchemy import func, select

from hub.db.models import Rotation, Run, StepRun, StorageEntry
from hub.engine.sweeper import sweep
from hub.runtime import Runtime
from hub.services import recipes as service
from tests.hub.engine.kit import died_mid_attempt
from tests.hub.utilities.kit import call

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


def test_a_step_repeated_after_its_worker_died_counts_once(runtime: Runtime) -> None:
    """The worker dies after the increment committed but before the step's result was written; the
    sweeper finds the run, the engine repeats the repeat-safe step with the same idempotency key."""
    document = {
        "name": "count leads",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [{"id": "count", "connector": "storage", "action": "increment", "input": {"key": "leads"}}],
    }
    recipe = service.save_recipe(runtime, document, actor="tests")
    first = service.run_test(runtime, recipe.id, {}, dry_run=False, actor="tests")
    service.run_test(runtime, recipe.id, {}, dry_run=False, actor="tests")  # another run, meanwhile
    died_mid_attempt(runtime, first, "count")
    sweep(runtime, fresh_s=0)
    with runtime.db.read() as session:
        assert session.get(Run, first).status == "succeeded"
        step = session.scalar(select(StepRun).where(StepRun.run_id == first, StepRun.step_id == "count"))
        assert step.output == {"value": 1}  # the first attempt's answer, not a third count
    assert call(runtime, "storage", "get", {"key": "leads"}, recipe_id=recipe.id)["value"] == 2
