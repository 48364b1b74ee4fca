"""Scheduler leadership bounds: a leader that stalls past its lease stops acting on its own, and
another takes over within the lease time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hub.config import Settings
from hub.runtime import Runtime
from hub.scheduler import Scheduler


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
