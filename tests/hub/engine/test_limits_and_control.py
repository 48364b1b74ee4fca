"""Per-connection limits, cancelling a run mid-step, and bulk replay of failed runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from hub.db.models import Connection, Run, StepRun, utcnow
from hub.engine import control
from hub.engine.intake import store_events
from hub.engine.limits import ConnectionLimiter
from hub.engine.runner import Runner
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError
from hub.sdk.types import TriggerEvent
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, load, recipe


def test_token_bucket_and_concurrency_slots() -> None:
    limiter = ConnectionLimiter()
    assert limiter.try_acquire(1, concurrency=None, rate=2.0) == 0.0
    assert limiter.try_acquire(1, concurrency=None, rate=2.0) == 0.0
    wait = limiter.try_acquire(1, concurrency=None, rate=2.0)
    assert 0.3 < wait <= 0.5  # the third request in the same instant waits for a token
    assert limiter.try_acquire(2, concurrency=1, rate=None) == 0.0
    assert limiter.try_acquire(2, concurrency=1, rate=None) > 0  # the only slot is taken
    limiter.release(2)
    assert limiter.try_acquire(2, concurrency=1, rate=None) == 0.0


def test_rate_limit_reschedules_instead_of_sleeping(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        session.execute(update(Connection).values(rate_limit=0.5))
        r = save_recipe(session, rt, recipe([echo("a")]))
        stored = store_events(
            session,
            recipe_id=r.id,
            recipe_version=1,
            source="test",
            events=[TriggerEvent(data={"name": str(n)}) for n in range(2)],
        )
    first, second = (s.run_id for s in stored)
    Runner(rt).execute(first)
    Runner(rt).execute(second)
    assert len(kit.calls) == 1
    run, steps = load(rt, second)
    assert run.status == "queued" and run.wake_at > utcnow() + timedelta(seconds=1)
    assert steps["a"].attempts == 0  # no attempt was spent waiting for the vendor's limit


def test_cancel_while_a_step_runs_stops_the_run(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a"), echo("b")]))
        stored = store_events(
            session, recipe_id=r.id, recipe_version=1, source="test", events=[TriggerEvent(data={})]
        )
    run_id = stored[0].run_id
    inside = threading.Event()
    release = threading.Event()

    original = kit.action("echo").perform

    def slow(ctx: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        inside.set()
        release.wait(10)
        return original(ctx, inputs)

    kit.action("echo").perform = slow  # type: ignore[method-assign]
    worker = threading.Thread(target=Runner(rt).execute, args=(run_id,))
    worker.start()
    assert inside.wait(10)
    with rt.db.transaction() as session:
        control.cancel(session, run_id)
    release.set()
    worker.join(10)
    run, steps = load(rt, run_id)
    assert run.status == "cancelled"
    assert "b" not in steps  # nothing after the step in flight
    assert len(kit.calls) == 1


def test_bulk_replay_of_failed_runs_since_a_time(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([PermanentError("down")] * 3)
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a")]))
        stored = store_events(
            session,
            recipe_id=r.id,
            recipe_version=1,
            source="test",
            events=[TriggerEvent(data={"name": str(n)}) for n in range(3)],
        )
    for s in stored:
        Runner(rt).execute(s.run_id)
    with rt.db.transaction() as session:
        session.execute(
            update(Run).where(Run.id == stored[0].run_id).values(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
        replays = control.replay_failed(session, r.id, since=datetime(2021, 1, 1, tzinfo=UTC))
        ids = [x.id for x in replays]
    assert len(ids) == 2
    for run_id in ids:
        Runner(rt).execute(run_id)
    with rt.db.transaction() as session:
        assert {s for s in session.scalars(select(Run.status).where(Run.id.in_(ids)))} == {"succeeded"}
        assert control.replay_failed(session, r.id, since=None)[0].replay_of == stored[0].run_id  # not twice
        assert session.scalar(select(StepRun.status).where(StepRun.run_id == ids[0])) == "succeeded"
