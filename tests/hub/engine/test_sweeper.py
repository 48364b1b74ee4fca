"""The sweeper sends a stale run again once per redispatch period, not at every sweep, and of two
sweepers racing (a scheduler failover) only one sends it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.config import Settings
from hub.db.models import Recipe, Run, utcnow
from hub.engine.sweeper import sweep
from hub.runtime import Runtime

PERIOD_S = 60.0


class SentRuns:
    """An executor that only counts what it is handed (as a broker would queue it)."""

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self._lock = threading.Lock()

    def submit(self, run_id: int, fresh: object = None) -> None:
        with self._lock:
            self.sent[run_id] += 1

    def shutdown(self, wait: bool = True) -> None:
        return None


@pytest.fixture
def sent(runtime: Runtime) -> SentRuns:
    runtime.executor = SentRuns()
    return runtime.executor


def stale_runs(rt: Runtime, count: int, **values: object) -> list[int]:
    """`count` runs created an hour ago that no worker took up."""
    an_hour_ago = utcnow() - timedelta(hours=1)
    with rt.db.transaction() as session:
        recipe = Recipe(name="r", enabled=True)
        session.add(recipe)
        session.flush()
        runs = [
            Run(recipe_id=recipe.id, recipe_version=1, created_at=an_hour_ago, **values) for _ in range(count)
        ]
        session.add_all(runs)
        session.flush()
        return [run.id for run in runs]


def let_period_pass(rt: Runtime) -> None:
    with rt.db.transaction() as session:
        for run in session.scalars(select(Run)):
            run.dispatched_at -= timedelta(seconds=PERIOD_S + 1)


def test_stale_queued_runs_are_sent_once_per_period(runtime: Runtime, sent: SentRuns) -> None:
    run_ids = stale_runs(runtime, 36)
    for _ in range(4):  # sweeps every few seconds, all within one period
        sweep(runtime, fresh_s=PERIOD_S)
    assert sent.sent == Counter(dict.fromkeys(run_ids, 1))
    let_period_pass(runtime)
    sweep(runtime, fresh_s=PERIOD_S)
    sweep(runtime, fresh_s=PERIOD_S)
    assert sent.sent == Counter(dict.fromkeys(run_ids, 2))


def test_a_due_wake_up_and_an_expired_lease_are_sent_once_per_period(
    runtime: Runtime, sent: SentRuns
) -> None:
    past = utcnow() - timedelta(seconds=5)
    [waking] = stale_runs(runtime, 1, status="waiting", wake_at=past)
    [orphan] = stale_runs(runtime, 1, status="running", lease_owner="dead", lease_expires_at=past)
    for _ in range(3):
        sweep(runtime, fresh_s=PERIOD_S)
    assert sent.sent == {waking: 1, orphan: 1}
    with runtime.db.transaction() as session:  # taken up again, parked again, due again
        session.execute(update(Run).where(Run.id == waking).values(wake_at=utcnow()))
    sweep(runtime, fresh_s=PERIOD_S)
    assert sent.sent == {waking: 2, orphan: 1}


@pytest.fixture
def second_runtime(settings: Settings, runtime: Runtime) -> Iterator[Runtime]:
    other = Runtime.create(settings, migrate=False)
    other.executor = SentRuns()
    yield other
    other.close()


def test_two_sweepers_racing_send_each_run_once(
    runtime: Runtime, second_runtime: Runtime, sent: SentRuns
) -> None:
    run_ids = stale_runs(runtime, 200)
    start = threading.Barrier(2)

    def sweeps(rt: Runtime) -> None:
        start.wait()
        for _ in range(3):
            sweep(rt, fresh_s=PERIOD_S)

    threads = [threading.Thread(target=sweeps, args=(rt,)) for rt in (runtime, second_runtime)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sent.sent + second_runtime.executor.sent == Counter(dict.fromkeys(run_ids, 1))
