"""Scheduler leadership bounds: a leader that stalls past its lease stops acting on its own, and
another takes over within the lease time; a schedule slot due while none leads fires once, late,
on the next leader, which keeps the schedule's phase."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.db.clock import database_now
from hub.db.models import Event, ScheduleState
from hub.engine.schedules import fire_due
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.scheduler import Scheduler
from tests.conftest import make_settings


@pytest.fixture
def second_runtime(settings: Settings, runtime: Runtime) -> Iterator[Runtime]:
    other = Runtime.create(settings, migrate=False)
    yield other
    other.close()


def test_a_stalled_leader_stops_acting_before_anyone_can_replace_it(
    runtime: Runtime, second_runtime: Runtime
) -> None:
    first, second = Scheduler(runtime, lease_s=1.0), Scheduler(second_runtime, lease_s=1.0)
    assert first.renew_lease() is True and first.is_leader
    assert second.renew_lease() is False
    time.sleep(1.1)  # the leader misses its renewals (a long pause, a lost network)
    assert not first.is_leader  # it knows by its own clock, without asking the database
    started = time.monotonic()
    assert second.renew_lease() is True and second.is_leader
    assert time.monotonic() - started < 1.0
    assert first.renew_lease() is False and not first.is_leader  # deposed: it stays a follower


def test_renewing_keeps_leadership_past_the_first_lease(runtime: Runtime, second_runtime: Runtime) -> None:
    first, second = Scheduler(runtime, lease_s=1.0), Scheduler(second_runtime, lease_s=1.0)
    assert first.renew_lease()
    for _ in range(3):
        time.sleep(0.4)
        assert first.renew_lease() and first.is_leader
        assert second.renew_lease() is False


def _until(check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _kill(scheduler: Scheduler) -> None:
    """Stop a scheduler dead, as SIGKILL would: no more jobs, and its lease is left to run out."""
    scheduler._aps.shutdown(wait=False)


def test_a_slot_due_while_the_leader_is_dead_fires_once_late_and_in_phase(
    tmp_path: Path, pg_url: str
) -> None:
    settings = make_settings(tmp_path / "home", pg_url)
    runtimes = [Runtime.create(settings), Runtime.create(settings, migrate=False)]
    first, second = (Scheduler(rt, lease_s=3.0, sync_interval_s=0.5) for rt in runtimes)
    try:
        with runtimes[0].db.transaction() as session:
            doc = {
                "name": "every ten seconds",
                "trigger": {"connector": "schedule", "trigger": "interval", "config": {"seconds": 10}},
                "steps": [],
            }
            recipe_id = save_recipe(session, runtimes[0], doc).id
        first.start()
        second.start()
        assert first.is_leader and not second.is_leader

        def state() -> ScheduleState | None:
            with runtimes[0].db.read() as session:
                return session.get(ScheduleState, recipe_id)

        _until(lambda: state() is not None, 5)
        with runtimes[0].db.transaction() as session:  # the next slot: a second or two from now
            row = session.get(ScheduleState, recipe_id)
            slot = database_now(session).replace(microsecond=0) + timedelta(seconds=2)
            row.anchor_at, row.last_slot_at, row.next_slot_at = slot, slot - timedelta(seconds=10), slot
        assert first.renew_lease()  # its lease now outlasts the slot by about two seconds
        _kill(first)

        def fired() -> list[Event]:
            with runtimes[0].db.read() as session:
                return list(session.scalars(select(Event).where(Event.recipe_id == recipe_id)))

        _until(lambda: fired(), 10)
        assert second.is_leader
        time.sleep(1.5)  # a few more ticks of the new leader
        fire_due(runtimes[0], first.schedules(), grace_s=300)  # and the old one's logic, as if it woke
        [event] = fired()
        assert event.payload == {"scheduled_at": slot.isoformat()}
        assert event.received_at > slot + timedelta(seconds=0.5)  # late: nobody led at the slot
        assert state().next_slot_at == slot + timedelta(seconds=10)  # the phase is the stored one
    finally:
        for scheduler in (first, second):
            scheduler.shutdown()
        for rt in runtimes:
            rt.close()
