"""Polling: start from now, backfill, dedupe with overlap, atomic storage, backoff and auth pause."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hub.db.models import AuditEntry, Event, Recipe, Run, SeenItem, TriggerState
from hub.engine import poller
from hub.engine.poller import poll_recipe
from hub.recipe_store import save_recipe, set_enabled
from hub.runtime import Runtime
from hub.sdk.errors import AuthError, RetryableError
from tests.hub.engine.kit import EngineKit


def poll_doc(**trigger: Any) -> dict[str, Any]:
    return {
        "name": "poll",
        "trigger": {
            "connector": "enginekit",
            "trigger": "items",
            "connection": "kit",
            "config": {},
            **trigger,
        },
        "steps": [
            {
                "id": "a",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit",
                "input": {"value": "{{ event.id }}"},
            }
        ],
    }


def create(rt: Runtime, document: dict[str, Any]) -> int:
    with rt.db.transaction() as session:
        return save_recipe(session, rt, document).id


def state(rt: Runtime, recipe_id: int) -> TriggerState:
    with rt.db.transaction() as session:
        return session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))


def event_count(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        return session.scalar(select(func.count(Event.id)))


def test_first_poll_starts_from_now_then_takes_only_new_items(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc())
    kit.items = [{"id": 1}, {"id": 2}]
    assert poll_recipe(rt, recipe_id) == {"new": 0, "primed": 2, "runs": 0}
    assert event_count(rt) == 0
    kit.items = [{"id": 1}, {"id": 2}, {"id": 3}]  # the overlap re-reads 1 and 2
    assert poll_recipe(rt, recipe_id)["new"] == 1
    assert poll_recipe(rt, recipe_id)["new"] == 0  # an unchanged source yields nothing
    assert [c["inputs"]["value"] for c in kit.calls] == [3]
    assert state(rt, recipe_id).cursor == "3"
    assert kit.polls[1]["cursor"] == "2"


def test_backfill_takes_existing_items_and_passes_since(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc(start={"backfill_from": "2025-01-01T00:00:00+00:00"}))
    kit.items = [{"id": 1}, {"id": 2}]
    assert poll_recipe(rt, recipe_id)["new"] == 2
    assert kit.polls[0]["since"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert len(kit.calls) == 2


def test_a_failure_while_storing_keeps_nothing_and_the_cursor(
    kit_rt: tuple[Runtime, EngineKit], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc(start={"backfill_from": "2025-01-01T00:00:00+00:00"}))
    kit.items = [{"id": 1}, {"id": 2}, {"id": 3}]
    real = poller.store_events
    calls = {"n": 0}

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process died mid-store")
        return real(*args, **kwargs)

    monkeypatch.setattr(poller, "store_events", crash_on_second)
    with pytest.raises(RuntimeError):
        poll_recipe(rt, recipe_id)
    with rt.db.transaction() as session:
        assert session.scalar(select(func.count(SeenItem.id))) == 0
        assert session.scalar(select(func.count(Run.id))) == 0
    assert state(rt, recipe_id).cursor is None
    monkeypatch.setattr(poller, "store_events", real)
    assert poll_recipe(rt, recipe_id)["new"] == 3
    assert poll_recipe(rt, recipe_id)["new"] == 0
    assert sorted(c["inputs"]["value"] for c in kit.calls) == [1, 2, 3]


def test_errors_back_off_and_retry_after_is_honoured(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc())
    kit.poll_error = RetryableError("429", retry_after=900)
    assert "error" in poll_recipe(rt, recipe_id)
    current = state(rt, recipe_id)
    assert current.consecutive_failures == 1 and "429" in current.last_error
    assert (current.next_poll_at - datetime.now(UTC)).total_seconds() > 800
    assert poll_recipe(rt, recipe_id) == {"skipped": "backing_off"}
    assert len(kit.polls) == 1


def test_repeated_auth_failures_pause_the_trigger_visibly(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc())
    kit.poll_error = AuthError("token revoked")
    for _ in range(3):
        poll_recipe(rt, recipe_id)
        with rt.db.transaction() as session:
            session.execute(update(TriggerState).values(next_poll_at=None))
    current = state(rt, recipe_id)
    assert current.paused and "authentication" in current.paused_reason
    assert poll_recipe(rt, recipe_id) == {"skipped": "paused"}
    with rt.db.transaction() as session:
        assert session.scalar(select(AuditEntry.action)) == "trigger.paused"
        recipe = session.get(Recipe, recipe_id)
        set_enabled(session, recipe, False)
        set_enabled(session, recipe, True)
    kit.poll_error = None
    assert "skipped" not in poll_recipe(rt, recipe_id)


def test_a_changed_trigger_starts_over_but_a_new_version_of_steps_keeps_the_cursor(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc())
    kit.items = [{"id": 1}]
    poll_recipe(rt, recipe_id)
    first = state(rt, recipe_id)
    with rt.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        doc = poll_doc()
        doc["steps"][0]["input"]["value"] = "changed {{ event.id }}"
        save_recipe(session, rt, doc, recipe=recipe)
    assert state(rt, recipe_id).id == first.id and state(rt, recipe_id).primed
    with rt.db.transaction() as session:
        recipe = session.get(Recipe, recipe_id)
        save_recipe(session, rt, poll_doc(config={"other": True}), recipe=recipe)
    assert not state(rt, recipe_id).primed
