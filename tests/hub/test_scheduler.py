"""Scheduler: one leader at a time by the database's clock, jobs follow recipe versions, schedule
slots fire once (late after a failover, within the grace) and keep their phase."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from hub.config import Settings
from hub.db.models import Event, Lease, Recipe, Run, ScheduleState, utcnow
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


def schedule_doc(config: dict[str, Any], trigger: str = "interval") -> dict[str, Any]:
    return {
        "name": "tick",
        "trigger": {"connector": "schedule", "trigger": trigger, "config": config},
        "steps": [],
    }


def leading(rt: Runtime) -> Scheduler:
    """A scheduler that holds the lease and knows the recipes (its jobs are not started)."""
    scheduler = Scheduler(rt)
    assert scheduler.renew_lease()
    scheduler.sync_jobs()
    return scheduler


def schedule_state(rt: Runtime) -> ScheduleState:
    with rt.db.read() as session:
        state = session.scalar(select(ScheduleState))
        assert state is not None
        return state


def travel(rt: Runtime, seconds: float) -> None:
    """Let `seconds` pass for the stored schedules (their times move back, the clock stays)."""
    back = timedelta(seconds=seconds)
    with rt.db.transaction() as session:
        for state in session.scalars(select(ScheduleState)):
            state.anchor_at -= back
            state.last_slot_at -= back
            state.next_slot_at -= back


def scheduled(rt: Runtime) -> list[str]:
    with rt.db.read() as session:
        return [event.payload["scheduled_at"] for event in session.scalars(select(Event).order_by(Event.id))]


def test_a_slot_fires_once_and_only_on_the_leader(runtime: Runtime, second_runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, schedule_doc({"seconds": 60}))
    leader = leading(runtime)
    follower = Scheduler(second_runtime)
    follower.sync_jobs()
    assert follower.renew_lease() is False
    leader.fire_schedules()  # sets the schedule up: its first slot is one interval from now
    anchor = schedule_state(runtime).anchor_at
    assert scheduled(runtime) == []
    travel(runtime, 61)
    leader.fire_schedules()
    leader.fire_schedules()  # the same slot: nothing more
    follower.fire_schedules()  # not the leader: does nothing
    slot = (anchor - timedelta(seconds=61)).isoformat()
    assert scheduled(runtime) == [slot]
    with runtime.db.read() as session:
        assert session.scalar(select(Run.status)) == "succeeded"
    assert schedule_state(runtime).next_slot_at == anchor - timedelta(seconds=1)  # the phase is kept


def test_a_missed_slot_fires_late_within_the_grace_and_is_skipped_past_it(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, schedule_doc({"seconds": 60}))
    scheduler = leading(runtime)
    scheduler.fire_schedules()
    anchor = schedule_state(runtime).anchor_at
    # An hour without a leader: the latest slot due is 45 s old, 59 older ones before it.
    travel(runtime, 3600 + 45)
    latest = anchor - timedelta(seconds=3600 + 45) + timedelta(seconds=59 * 60)
    runtime.settings.schedule_grace_s = 30
    with caplog.at_level(logging.WARNING, logger="hub.schedules"):
        scheduler.fire_schedules()
    assert scheduled(runtime) == []  # too late: passed over, and said so
    assert "event=schedule_slots_skipped" in caplog.text
    assert schedule_state(runtime).next_slot_at == latest + timedelta(seconds=60)

    travel(runtime, 60)  # a minute on, with the default grace: the latest slot (45 s old) fires, once
    runtime.settings.schedule_grace_s = 300
    scheduler.fire_schedules()
    scheduler.fire_schedules()
    assert scheduled(runtime) == [latest.isoformat()]  # 45 s late again, on the same grid


def test_a_new_leader_keeps_the_schedule_phase(runtime: Runtime, second_runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, schedule_doc({"seconds": 60}))
    first = leading(runtime)
    first.fire_schedules()
    before = schedule_state(runtime)
    with runtime.db.transaction() as session:  # the leader dies: its lease runs out
        session.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    second = leading(second_runtime)
    second.fire_schedules()
    after = schedule_state(runtime)
    assert (after.anchor_at, after.next_slot_at) == (before.anchor_at, before.next_slot_at)


def test_a_leader_that_has_not_read_the_recipes_leaves_the_schedules_alone(
    runtime: Runtime, second_runtime: Runtime
) -> None:
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, schedule_doc({"seconds": 60}))
    leading(runtime).fire_schedules()
    before = schedule_state(runtime)
    with runtime.db.transaction() as session:
        session.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    unsynced = Scheduler(second_runtime)  # its first sync has not happened (or failed)
    assert unsynced.renew_lease()
    unsynced.fire_schedules()
    after = schedule_state(runtime)
    assert (after.anchor_at, after.last_slot_at) == (before.anchor_at, before.last_slot_at)


def test_a_changed_schedule_restarts_and_a_disabled_one_is_dropped(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        recipe_id = save_recipe(session, runtime, schedule_doc({"seconds": 60})).id
    scheduler = leading(runtime)
    scheduler.fire_schedules()
    travel(runtime, 3600)
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, schedule_doc({"seconds": 120}), recipe=session.get(Recipe, recipe_id))
    scheduler.sync_jobs()
    scheduler.fire_schedules()
    state = schedule_state(runtime)
    assert state.next_slot_at == state.anchor_at and state.anchor_at > utcnow() + timedelta(seconds=100)
    assert scheduled(runtime) == []  # the old schedule's missed slots are not caught up
    with runtime.db.transaction() as session:
        set_enabled(session, session.get(Recipe, recipe_id), False)
    scheduler.sync_jobs()
    scheduler.fire_schedules()
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ScheduleState)) == 0


def test_cron_slots_use_the_time_zone(runtime: Runtime) -> None:
    doc = schedule_doc({"expression": "0 9 * * *", "timezone": "Asia/Shanghai"}, trigger="cron")
    with runtime.db.transaction() as session:
        save_recipe(session, runtime, doc)
    leading(runtime).fire_schedules()
    slot = schedule_state(runtime).next_slot_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (slot.hour, slot.minute) == (9, 0) and timedelta(0) < slot - utcnow() <= timedelta(days=1)


def test_the_lease_goes_by_the_database_clock_not_the_local_ones(
    runtime: Runtime, second_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = Scheduler(runtime, lease_s=30), Scheduler(second_runtime, lease_s=30)
    real_clock = utcnow
    with monkeypatch.context() as skew:  # the leader's clock is an hour slow
        skew.setattr("hub.scheduler.utcnow", lambda: real_clock() - timedelta(hours=1))
        assert first.renew_lease() is True
    with monkeypatch.context() as skew:  # the other's an hour fast: the lease is still not expired
        skew.setattr("hub.scheduler.utcnow", lambda: real_clock() + timedelta(hours=1))
        assert second.renew_lease() is False
    assert first.is_leader and not second.is_leader


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
