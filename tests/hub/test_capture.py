"""Listening for a test event (hub/capture.py) on SQLite and PostgreSQL: the first event is kept,
later ones and expired listening are refused, and a live recipe's own events are what it shows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub import capture
from hub.db.models import HookCapture, HookEndpoint, utcnow
from hub.engine.intake import store_events
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent

DOC = {
    "name": "Listen",
    "enabled": False,
    "trigger": {"connector": "webhook", "trigger": "catch"},
    "steps": [],
}


def _recipe(runtime: Runtime, enabled: bool = False) -> tuple[int, str]:
    with runtime.db.transaction() as db:
        recipe = save_recipe(db, runtime, {**DOC, "enabled": enabled})
        token = db.scalar(select(HookEndpoint.token).where(HookEndpoint.recipe_id == recipe.id))
    assert token
    return recipe.id, token


def test_a_listening_draft_keeps_only_its_first_event(runtime: Runtime) -> None:
    recipe_id, token = _recipe(runtime)
    with runtime.db.transaction() as db:
        assert capture.capture_target(db, token) is None  # not listening
        assert capture.listening(db, recipe_id) == capture.Listening(False, None)
        capture.start_listening(db, recipe_id)
    with runtime.db.transaction() as db:
        target = capture.capture_target(db, token)
        assert target is not None and target[0].id == recipe_id and target[1] == 1
        assert capture.listening(db, recipe_id) == capture.Listening(True, None)
        assert capture.keep(db, recipe_id, {"n": 1}) is True
        assert capture.keep(db, recipe_id, {"n": 2}) is False
    with runtime.db.transaction() as db:
        assert capture.capture_target(db, token) is None
        assert capture.listening(db, recipe_id) == capture.Listening(False, {"n": 1})
        capture.start_listening(db, recipe_id)  # listening again forgets the earlier event
        assert capture.listening(db, recipe_id) == capture.Listening(True, None)


def test_listening_ends_after_its_time(runtime: Runtime) -> None:
    recipe_id, token = _recipe(runtime)
    with runtime.db.transaction() as db:
        capture.start_listening(db, recipe_id)
        row = db.get(HookCapture, recipe_id)
        assert row is not None
        row.listen_until = utcnow() - timedelta(seconds=1)
    with runtime.db.transaction() as db:
        assert capture.capture_target(db, token) is None
        assert capture.listening(db, recipe_id) == capture.Listening(False, None)


def test_a_live_recipe_shows_its_first_event_since_listening_began(runtime: Runtime) -> None:
    recipe_id, _token = _recipe(runtime, enabled=True)
    with runtime.db.transaction() as db:
        store_events(
            db,
            recipe_id=recipe_id,
            recipe_version=1,
            source="webhook",
            events=[TriggerEvent({"old": True}, "e0")],
            start_runs=False,
            split=None,
        )
        capture.start_listening(db, recipe_id)
        row = db.get(HookCapture, recipe_id)
        assert row is not None
        row.started_at = utcnow() + timedelta(microseconds=1)
    with runtime.db.transaction() as db:
        store_events(
            db,
            recipe_id=recipe_id,
            recipe_version=1,
            source="webhook",
            events=[TriggerEvent({"new": 1}, "e1"), TriggerEvent({"new": 2}, "e2")],
            start_runs=False,
            split=None,
        )
    with runtime.db.transaction() as db:
        assert capture.listening(db, recipe_id) == capture.Listening(False, {"new": 1})
