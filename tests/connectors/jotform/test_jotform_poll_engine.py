"""jotform.new_submission_poll driven by the hub's poller: priming, new runs, overlap repeats ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from sqlalchemy import select

from hub.connections import create_connection
from hub.db.models import Event, Run, TriggerState
from hub.engine.poller import poll_recipe
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from tests.connectors.jotform.fixtures import FORM_ID, KEY, page, submission

URL = f"https://api.jotform.com/form/{FORM_ID}/submissions"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def make_recipe(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="jf",
            connector_id="jotform",
            config={"api_key": KEY},
        )
        document = {
            "name": "poll jotform",
            "trigger": {
                "connector": "jotform",
                "trigger": "new_submission_poll",
                "connection": "jf",
                "config": {"form_id": FORM_ID, "overlap_s": 600},
            },
            "steps": [],
        }
        return save_recipe(session, runtime, document).id


def state(runtime: Runtime, recipe_id: int) -> tuple[str | None, int]:
    with runtime.db.transaction() as session:
        row = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        runs = len(session.scalars(select(Run).where(Run.recipe_id == recipe_id)).all())
        return row.cursor, runs


def run_events(runtime: Runtime, recipe_id: int) -> list[Any]:
    with runtime.db.transaction() as session:
        events = session.scalars(select(Event).where(Event.recipe_id == recipe_id).order_by(Event.id)).all()
        return [e.payload["submission_id"] for e in events]


@responses.activate
def test_the_poller_primes_then_starts_one_run_per_new_submission(runtime: Runtime) -> None:
    recipe_id = make_recipe(runtime)
    responses.get(
        URL, json=page([submission("2", "2026-11-23 09:00:02"), submission("1", "2026-11-23 09:00:01")])
    )
    assert poll_recipe(runtime, recipe_id)["primed"] == 2
    assert state(runtime, recipe_id) == ("2026-11-23 09:00:02", 0)

    responses.replace(
        responses.GET,
        URL,
        json=page(
            [
                submission("1", "2026-11-23 09:00:01"),
                submission("2", "2026-11-23 09:00:02"),
                submission("3", "2026-11-23 09:05:00"),
            ]
        ),
    )
    assert poll_recipe(runtime, recipe_id)["new"] == 1
    assert state(runtime, recipe_id) == ("2026-11-23 09:05:00", 1)
    filt = json.loads(responses.calls[-1].request.params["filter"])
    assert filt == {"created_at:gt": "2026-11-23 08:50:02"}

    assert poll_recipe(runtime, recipe_id)["new"] == 0  # the overlap re-reads 3: no second run
    assert state(runtime, recipe_id) == ("2026-11-23 09:05:00", 1)
    assert run_events(runtime, recipe_id) == ["3"]


@responses.activate
def test_a_failed_poll_keeps_the_cursor(runtime: Runtime) -> None:
    recipe_id = make_recipe(runtime)
    responses.get(URL, json=page([submission("1", "2026-11-23 09:00:01")]))
    poll_recipe(runtime, recipe_id)
    responses.replace(
        responses.GET, URL, status=503, json={"responseCode": 503, "message": "Service unavailable"}
    )
    assert "Service unavailable" in poll_recipe(runtime, recipe_id)["error"]
    assert state(runtime, recipe_id) == ("2026-11-23 09:00:01", 0)
