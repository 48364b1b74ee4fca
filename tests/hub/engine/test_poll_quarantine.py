"""An unstorable poll item is quarantined as a visible failed run; the trigger goes on polling."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub.db.models import AuditEntry, Event, Run, TriggerState
from hub.engine.poller import poll_recipe
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit


def deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


BAD_VALUES = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "lone_surrogate": "\ud800",
    "surrogate_key": {"\udc00": 1},
    "nul": "a\x00b",
    "deep": deep(100_000),
}


def poll_doc(on_failure: bool = True) -> dict[str, Any]:
    step = {"connector": "enginekit", "action": "echo", "connection": "kit"}
    doc: dict[str, Any] = {
        "name": "poll",
        "trigger": {
            "connector": "enginekit",
            "trigger": "items",
            "connection": "kit",
            "config": {},
            "start": {"backfill_from": "2025-01-01T00:00:00+00:00"},
        },
        "steps": [{"id": "a", **step, "input": {"value": "{{ event.id }}"}}],
    }
    if on_failure:
        doc["on_failure"] = [{"id": "alert", **step, "input": {"value": "alert: {{ error.message }}"}}]
    return doc


def create(rt: Runtime, document: dict[str, Any]) -> int:
    with rt.db.transaction() as session:
        return save_recipe(session, rt, document).id


@pytest.mark.parametrize("bad", BAD_VALUES, ids=list(BAD_VALUES))
def test_a_bad_item_is_quarantined_and_the_others_are_stored(
    kit_rt: tuple[Runtime, EngineKit], bad: str
) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc())
    kit.items = [{"id": 1}, {"id": 2, "bad": BAD_VALUES[bad]}, {"id": 3}]
    assert poll_recipe(rt, recipe_id) == {"new": 3, "primed": 0, "runs": 3, "quarantined": 1}
    with rt.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        assert state.cursor == "3" and state.last_error is None and state.consecutive_failures == 0
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        assert [r.status for r in runs] == ["succeeded", "failed", "succeeded"]
        failed = runs[1]
        assert failed.error["code"] == "unstorable_item"
        assert failed.error["message"].startswith("poll item 2 could not be stored: ")
        preview = session.get(Event, failed.event_id).payload["quarantined"]
        assert preview["item_id"] == "2" and "bad" in preview["preview"]
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "trigger.item_quarantined"))
        assert audit.details["run_id"] == failed.id
    # the main steps ran for the good items; the failure path (on_failure) ran for the bad one
    values = [c["inputs"]["value"] for c in kit.calls]
    assert values[0] == 1 and values[-1] == 3
    assert any(str(v).startswith("alert: poll item 2 could not be stored") for v in values)
    # the trigger keeps polling and neither repeats the bad item nor stops at it
    kit.items.append({"id": 4})
    assert poll_recipe(rt, recipe_id) == {"new": 1, "primed": 0, "runs": 1}


def test_quarantine_without_on_failure_steps_still_ends_failed(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc(on_failure=False))
    kit.items = [{"id": "x\ud800", "v": 1}]
    assert poll_recipe(rt, recipe_id)["quarantined"] == 1
    with rt.db.transaction() as session:
        run = session.scalar(select(Run))
        assert run.status == "failed"
        assert run.error["message"].startswith("poll item x\\ud800 could not be stored: lone surrogate")
    assert kit.calls == []
    assert poll_recipe(rt, recipe_id)["new"] == 0  # the escaped id was remembered as seen


def test_an_item_the_database_refuses_is_quarantined(kit_rt: tuple[Runtime, EngineKit]) -> None:
    """'Any error storing it': PostgreSQL refuses a dedupe key over 255 characters, which the JSON
    check cannot see; the item's savepoint is rolled back and the rest of the poll kept."""
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc(on_failure=False))
    long_id = "x" * 300
    kit.items = [{"id": long_id}, {"id": 2}]
    outcome = poll_recipe(rt, recipe_id)
    with rt.db.transaction() as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
    if rt.db.engine.dialect.name == "postgresql":
        assert outcome["quarantined"] == 1
        assert [r.status for r in runs] == ["failed", "succeeded"]
        assert "the database refused it" in runs[0].error["message"]
    else:  # SQLite does not enforce the column length
        assert [r.status for r in runs] == ["succeeded", "succeeded"]


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    # every code point below U+E000, NUL and lone surrogates included
    st.text(alphabet=st.characters(max_codepoint=0xDFFF, exclude_categories=()), max_size=8),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_any_item_data_is_stored_or_quarantined_never_stuck(
    kit_rt: tuple[Runtime, EngineKit], data: Any
) -> None:
    rt, kit = kit_rt
    recipe_id = create(rt, poll_doc(on_failure=False))
    with rt.db.transaction() as session:
        before = session.scalar(select(func.count(Run.id)))
    kit.items = [{"id": f"{recipe_id}-1", "data": data}, {"id": f"{recipe_id}-2"}]
    outcome = poll_recipe(rt, recipe_id)
    assert outcome["new"] == 2 and outcome["runs"] == 2
    with rt.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        assert state.cursor == "2"
        assert session.scalar(select(func.count(Run.id))) == before + 2
