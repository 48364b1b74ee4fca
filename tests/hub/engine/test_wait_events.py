"""An event for a wait_for step is never lost to a race with its run: one that comes in at the step's
hook URL before the run has parked is kept for a while and taken, once, by the run when it parks."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.config import Settings
from hub.db.models import PendingWaitEvent, Run, StepRun, Wait, utcnow
from hub.engine.intake import store_events
from hub.engine.runner import Runner
from hub.engine.sweeper import sweep
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.types import TriggerEvent
from tests.hub.engine.kit import EngineKit

Kit = tuple[Runtime, EngineKit]


def approval_doc() -> dict[str, Any]:
    """Ask for an approval (the vendor gets the wait URL), wait for its result, then act on it."""
    return {
        "name": "approval",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "ask",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit",
                "input": {"value": "{{ event.id }}"},
            },
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "enginekit",
                "trigger": "hook",
                "connection": "kit",
                "match": {"instance": "{{ event.id }}"},
                "timeout_s": 600,
            },
            {
                "id": "done",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit",
                "input": {"value": "{{ steps.approved.status }}"},
            },
        ],
    }


def run_state(rt: Runtime, run_id: int) -> tuple[str, dict[str, StepRun]]:
    """A run's status and its steps by id."""
    with rt.db.transaction() as session:
        run = session.get(Run, run_id)
        assert run is not None
        steps = {s.step_id: s for s in session.scalars(select(StepRun).where(StepRun.run_id == run_id))}
        return run.status, steps


class Hub:
    """A recipe with a wait step, its hook URL, and runs of it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.app = create_app(rt)
        with rt.db.transaction() as session:
            recipe = save_recipe(session, rt, approval_doc())
            self.recipe_id, self.version = recipe.id, recipe.current_version
            self.wait_url = hook_urls(session, rt, recipe)["wait_urls"]["approved"]

    def queue(self, instance: str) -> int:
        """A queued run for the approval of `instance` (not executed yet)."""
        with self.rt.db.transaction() as session:
            stored = store_events(
                session,
                recipe_id=self.recipe_id,
                recipe_version=self.version,
                source="test",
                events=[TriggerEvent(data={"id": instance})],
            )
        run_id = stored[0].run_id
        assert run_id is not None
        return run_id

    def call_back(self, instance: str, status: str = "APPROVED", client: FlaskClient | None = None) -> None:
        """The vendor posting the approval's result to the wait step's hook URL."""
        path = self.wait_url.removeprefix(self.rt.settings.base_url)
        body = {"id": f"evt-{instance}-{status}", "instance": instance, "status": status}
        answer = (client or self.app.test_client()).post(path, json=body)
        assert answer.status_code == 202, answer.get_data(as_text=True)

    def run(self, run_id: int) -> tuple[str, dict[str, StepRun]]:
        return run_state(self.rt, run_id)

    def kept(self) -> list[PendingWaitEvent]:
        with self.rt.db.transaction() as session:
            return list(session.scalars(select(PendingWaitEvent).order_by(PendingWaitEvent.id)))


def test_callback_before_the_run_parks_is_taken_when_it_parks(kit_rt: Kit) -> None:
    rt, kit = kit_rt
    hub = Hub(rt)
    run_id = hub.queue("I-1")
    # the vendor answers before the ask step has even returned, so before the run reaches its wait
    kit.during_call = lambda inputs: hub.call_back(inputs["value"]) if inputs["value"] == "I-1" else None
    Runner(rt).execute(run_id)
    status, steps = hub.run(run_id)
    assert status == "succeeded"
    assert steps["approved"].output == {"id": "evt-I-1-APPROVED", "instance": "I-1", "status": "APPROVED"}
    assert kit.calls[-1]["inputs"]["value"] == "APPROVED"
    assert [(k.step_id, k.consumed_by) for k in hub.kept()] == [("approved", run_id)]
    with rt.db.transaction() as session:
        assert session.scalar(select(Wait.id)) is None
    # taken once: a second run waiting for the same instance parks instead of taking it again
    kit.during_call = None
    again = hub.queue("I-1")
    Runner(rt).execute(again)
    assert hub.run(again)[0] == "waiting"


def test_callback_after_the_run_parked_wakes_it_and_is_not_kept(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    hub = Hub(rt)
    run_id = hub.queue("I-2")
    Runner(rt).execute(run_id)
    assert hub.run(run_id)[0] == "waiting"
    hub.call_back("I-2", "REJECTED")  # the InlineExecutor runs the woken run at once
    status, steps = hub.run(run_id)
    assert status == "succeeded" and steps["approved"].output["status"] == "REJECTED"
    assert hub.kept() == []


def test_a_wait_is_never_committed_before_its_run_is_parked(kit_rt: Kit) -> None:
    """An event arriving between the two would find the wait, but a run not yet waiting: the wait was
    dropped with the event and the run waited forever. The wait and the release are one write now."""
    rt, _kit = kit_rt
    hub = Hub(rt)
    run_id = hub.queue("I-3")
    statuses: list[str] = []

    def look(session: Session) -> None:
        found = session.execute(select(Run.status).join(Wait, Wait.run_id == Run.id)).scalars()
        statuses.extend(found)

    event.listen(Session, "before_commit", look)
    try:
        Runner(rt).execute(run_id)
    finally:
        event.remove(Session, "before_commit", look)
    assert statuses and set(statuses) == {"waiting"}


def test_kept_events_are_matched_by_the_same_rules_and_expire(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    hub = Hub(rt)
    hub.call_back("I-4", "APPROVED")
    hub.call_back("I-5", "APPROVED")
    assert [k.data["instance"] for k in hub.kept()] == ["I-4", "I-5"]
    with rt.db.transaction() as session:  # I-4's window has passed
        session.execute(
            update(PendingWaitEvent)
            .where(PendingWaitEvent.data["instance"].as_string() == "I-4")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    late = hub.queue("I-4")
    Runner(rt).execute(late)
    assert hub.run(late)[0] == "waiting"
    sweep(rt)
    assert [k.data["instance"] for k in hub.kept()] == ["I-5"]
    other = hub.queue("I-6")  # matches nothing kept
    Runner(rt).execute(other)
    assert hub.run(other)[0] == "waiting"
    assert hub.kept()[0].consumed_by is None


def test_kept_events_are_capped_oldest_first(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    rt.settings.wait_event_max = 2
    hub = Hub(rt)
    for instance in ("I-7", "I-8", "I-9"):
        hub.call_back(instance)
    assert [k.data["instance"] for k in hub.kept()] == ["I-8", "I-9"]
    with rt.db.transaction() as session:
        kept = hub.kept()[0]
        assert kept.expires_at - kept.received_at == timedelta(seconds=rt.settings.wait_event_window_s)
        assert session.scalar(select(PendingWaitEvent.recipe_id)) == hub.recipe_id


def test_a_polling_wait_config_is_checked_once_rendered(kit_rt: Kit) -> None:
    """Templated values of a polling wait's config are judged when a run renders them, by the same
    schema that judges literal ones at save."""
    rt, _kit = kit_rt
    wait = {
        "id": "approved",
        "type": "wait_for",
        "connector": "enginekit",
        "trigger": "items",
        "connection": "kit",
        "config": {"instance": "{{ event.id }}"},
        "match": {"instance": "{{ event.id }}"},
    }
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, {**approval_doc(), "steps": [wait]})
        stored = store_events(
            session,
            recipe_id=recipe.id,
            recipe_version=1,
            source="test",
            events=[TriggerEvent(data={"id": 7})],
        )
    run_id = stored[0].run_id
    assert run_id is not None
    Runner(rt).execute(run_id)
    status, steps = run_state(rt, run_id)
    assert status == "failed"
    assert steps["approved"].error["message"].startswith("$.steps[0].config.instance: 7 is not of type")
    with rt.db.transaction() as session:
        assert session.scalar(select(Wait.id)) is None


@pytest.fixture
def pg_kit(kit_rt: Kit) -> Kit:
    if kit_rt[0].db.dialect != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer at a time)")
    return kit_rt


def _together(*jobs: Any) -> None:
    """Run the jobs in threads released at the same moment; re-raise the first failure."""
    start = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Any) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # handed to the test thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures


def test_park_and_callback_racing_never_lose_nor_reuse_the_event(pg_kit: Kit) -> None:
    rt, _kit = pg_kit
    hub = Hub(rt)
    instances = [f"R-{n}" for n in range(24)]
    runs = {instance: hub.queue(instance) for instance in instances}
    for instance in instances:
        client = hub.app.test_client()
        _together(
            lambda i=instance: Runner(rt).execute(runs[i]),
            lambda i=instance, c=client: hub.call_back(i, client=c),
        )
    for instance, run_id in runs.items():
        status, steps = hub.run(run_id)
        assert status == "succeeded", (instance, status)
        assert steps["approved"].output["instance"] == instance
    kept = hub.kept()
    assert all(k.consumed_by == runs[k.data["instance"]] for k in kept)  # each taken, by its own run
    with rt.db.transaction() as session:
        assert session.scalar(select(Wait.id)) is None


def test_two_runs_parking_on_one_kept_event_take_it_once(pg_kit: Kit) -> None:
    rt, _kit = pg_kit
    hub = Hub(rt)
    for round_ in range(6):
        instance = f"T-{round_}"
        hub.call_back(instance)
        first, second = hub.queue(instance), hub.queue(instance)
        _together(lambda r=first: Runner(rt).execute(r), lambda r=second: Runner(rt).execute(r))
        statuses = sorted(hub.run(r)[0] for r in (first, second))
        assert statuses == ["succeeded", "waiting"], (round_, statuses)
        taken = [k.consumed_by for k in hub.kept() if k.data["instance"] == instance]
        assert len(taken) == 1 and taken[0] in (first, second)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"HUB_WAIT_EVENT_WINDOW_S": "0"}, "HUB_WAIT_EVENT_WINDOW_S"),
        ({"HUB_WAIT_EVENT_WINDOW_S": "an hour"}, "HUB_WAIT_EVENT_WINDOW_S"),
        ({"HUB_WAIT_EVENT_WINDOW_S": "nan"}, "HUB_WAIT_EVENT_WINDOW_S"),
        ({"HUB_WAIT_EVENT_MAX": "-5"}, "HUB_WAIT_EVENT_MAX"),
        ({"HUB_WAIT_EVENT_MAX": "1.5"}, "HUB_WAIT_EVENT_MAX"),
    ],
)
def test_wait_event_settings_refuse_bad_values(env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Settings.from_env(env)


def test_wait_event_settings_are_read() -> None:
    settings = Settings.from_env({"HUB_WAIT_EVENT_WINDOW_S": "90", "HUB_WAIT_EVENT_MAX": "50"})
    assert (settings.wait_event_window_s, settings.wait_event_max) == (90.0, 50)
    assert (Settings.from_env({}).wait_event_window_s, Settings.from_env({}).wait_event_max) == (
        3600.0,
        10_000,
    )
