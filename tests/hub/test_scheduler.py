"""Scheduler: one leader at a time, jobs follow recipe versions, schedules fire once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hub.config import Settings
from hub.db.models import Event, Lease, Recipe, Run, utcnow
from hub.engine.executor import InlineExecutor
from hub.recipe_store import save_recipe, set_enabled
from hub.runtime import Runtime
from hub.scheduler import Scheduler


@pytest.fixture
def second_runtime(settings: Settings, runtime: Runtime) -> Iterator[Runtime]:
    """Another process on the same database and keys."""
    other = Runtime.create(settings, migrate=False)
    other.executor = InlineExecutor(other)
    yield other
    other.close()


def poll_doc(interval: int = 60) -> dict[str, Any]:
    return {
        "name": "poll",
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "interval_s": interval,
            "config": {"url": "http://127.0.0.1:9/items", "id_field": "id"},
        },
        "steps": [],
    }


def test_one_leader_and_takeover_when_the_lease_expires(runtime: Runtime, second_runtime: Runtime) -> None:
    first, second = Scheduler(runtime, lease_s=30), Scheduler(second_runtime, lease_s=30)
    assert first.renew_lease() is True
    assert second.renew_lease() is False
    assert first.is_leader and not second.is_leader
    assert first.renew_lease() is True  # the holder keeps it
    with runtime.db.transaction() as session:  # the leader dies: its lease runs out
        session.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert second.renew_lease() is True
    assert first.renew_lease() is False
    assert second.is_leader and not first.is_leader


def test_clean_shutdown_hands_over_at_once(runtime: Runtime, second_runtime: Runtime) -> None:
    first, second = Scheduler(runtime), Scheduler(second_runtime)
    first.renew_lease()
    first.shutdown()
    assert second.renew_lease() is True


def test_jobs_follow_versions_and_enablement(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime)
    with runtime.db.transaction() as session:
        recipe_id = save_recipe(session, runtime, poll_doc(60)).id
    scheduler.sync_jobs()
    jobs = scheduler.jobs()
    assert [job.id for job in jobs] == [f"recipe:{recipe_id}"]
    assert jobs[0].trigger.interval == timedelta(seconds=60)
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, poll_doc(120), recipe=session.get(Recipe, recipe_id))
    scheduler.sync_jobs()
    jobs = scheduler.jobs()
    assert len(jobs) == 1 and jobs[0].trigger.interval == timedelta(seconds=120)  # replaced, never both
    with runtime.db.transaction() as session:
        set_enabled(session, session.get(Recipe, recipe_id), False)
    scheduler.sync_jobs()
    assert scheduler.jobs() == []


def test_schedule_fires_once_per_tick_and_only_on_the_leader(
    runtime: Runtime, second_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    tick = utcnow().replace(microsecond=500_000)  # both fires in one second, not straddling two
    monkeypatch.setattr("hub.scheduler.utcnow", lambda: tick)
    doc = {
        "name": "tick",
        "trigger": {"connector": "schedule", "trigger": "interval", "config": {"seconds": 60}},
        "steps": [],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, doc)
    leader, follower = Scheduler(runtime), Scheduler(second_runtime)
    leader.renew_lease()
    follower.renew_lease()
    leader._schedule_job(recipe.id, 1)()
    leader._schedule_job(recipe.id, 1)()  # the same second: deduped
    follower._schedule_job(recipe.id, 1)()  # not the leader: does nothing
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id))) == 1
        event = session.scalar(select(Event))
        assert "scheduled_at" in event.payload
        assert session.scalar(select(Run.status)) == "succeeded"


def test_cron_jobs_use_the_time_zone(runtime: Runtime) -> None:
    doc = {
        "name": "cron",
        "trigger": {
            "connector": "schedule",
            "trigger": "cron",
            "config": {"expression": "0 9 * * *", "timezone": "Asia/Shanghai"},
        },
        "steps": [],
    }
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, doc)
    scheduler = Scheduler(runtime)
    scheduler.sync_jobs()
    job = scheduler.jobs()[0]
    fire = job.trigger.get_next_fire_time(None, utcnow())
    assert fire.utcoffset() == timedelta(hours=8) and fire.hour == 9


def test_sync_rereads_recipes_only_after_one_changed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = Scheduler(runtime)
    reads: list[int] = []
    original = scheduler.wanted_jobs
    monkeypatch.setattr(scheduler, "wanted_jobs", lambda: reads.append(1) or original())
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, poll_doc())
    scheduler.sync_jobs()
    scheduler.sync_jobs()  # nothing changed: one aggregate query, no recipe documents read
    assert len(reads) == 1 and {job.id for job in scheduler.jobs()} == {f"recipe:{recipe.id}"}
    with runtime.db.transaction() as session:
        set_enabled(session, session.get(Recipe, recipe.id), False)
    scheduler.sync_jobs()
    assert len(reads) == 2 and scheduler.jobs() == []
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, poll_doc(120), recipe=session.get(Recipe, recipe.id))
        set_enabled(session, session.get(Recipe, recipe.id), True)
    scheduler.sync_jobs()
    assert len(reads) == 3 and [job.trigger.interval.total_seconds() for job in scheduler.jobs()] == [120]
