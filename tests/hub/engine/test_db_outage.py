"""A database that goes away mid-run (failover, restart, dropped connection, lock held past the busy
timeout) delays the run; it never fails it, and an action in flight follows the unknown-outcome rule."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.app import create_app
from hub.config import Settings
from hub.db.models import Run, StepAttempt, StepRun, utcnow
from hub.engine.runner import Runner
from hub.engine.sweeper import sweep
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.scheduler import Scheduler
from hub.sdk.errors import RetryableError
from hub.users import create_token, create_user
from tests.conftest import make_settings
from tests.hub.db.outage import Outage
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, load, make_due, recipe, start


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, sqlite_busy_timeout_s=0.1)


@pytest.fixture
def outage(kit_rt: tuple[Runtime, EngineKit]) -> Iterator[Outage]:
    fault = Outage(kit_rt[0].db)
    yield fault
    fault.close()


def attempts(rt: Runtime, run_id: int, step_id: str) -> list[tuple[str, str]]:
    with rt.db.read() as session:
        step = session.scalar(select(StepRun).where(StepRun.run_id == run_id, StepRun.step_id == step_id))
        assert step is not None
        found = session.execute(
            select(StepAttempt.status, StepAttempt.idempotency_key)
            .where(StepAttempt.step_run_id == step.id)
            .order_by(StepAttempt.number)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def step(step_id: str, action: str) -> dict[str, Any]:
    return {**echo(step_id), "action": action}


@pytest.mark.parametrize(("action", "resumed", "calls"), [("echo", "succeeded", 2), ("charge", "held", 1)])
def test_database_lost_after_the_vendor_call_hands_the_run_back_for_the_unknown_outcome_rule(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage, action: str, resumed: str, calls: int
) -> None:
    rt, kit = kit_rt
    # The vendor call succeeds; the database is gone when its result is written, back 0.5 s later.
    kit.script.append(lambda _ctx: outage.begin(lasting_s=0.5))
    run_id = start(rt, recipe([step("a", action)]), {"name": "x"})
    run, steps = load(rt, run_id)
    assert run.status == "queued" and run.lease_owner is None and run.wake_at is not None
    assert run.error is None and steps["a"].status == "running"
    assert attempts(rt, run_id, "a") == [("started", f"{run_id}:a")]  # never marked done
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    assert load(rt, run_id)[0].status == resumed
    assert [call["key"] for call in kit.calls] == [f"{run_id}:a"] * calls  # repeats keep their key
    assert attempts(rt, run_id, "a")[0][0] == "unknown"


def test_database_lost_inside_the_action_is_not_the_actions_failure(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage
) -> None:
    """A connector's token cache lives in the hub's database: its outage is not a vendor's error."""
    rt, kit = kit_rt

    def cache_during_outage(ctx: Any) -> None:
        with outage:
            ctx.cache.set("token", "t-1", 60)

    kit.script.append(cache_during_outage)
    run_id = start(rt, recipe([echo("a")]), {"name": "x"})
    run, steps = load(rt, run_id)
    assert run.status == "queued" and steps["a"].status == "running" and steps["a"].error is None
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    assert load(rt, run_id)[0].status == "succeeded"
    assert [a[0] for a in attempts(rt, run_id, "a")] == ["unknown", "succeeded"]


def test_a_run_the_database_never_gave_back_resumes_once_its_lease_expires(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage
) -> None:
    rt, kit = kit_rt
    kit.script.append(lambda _ctx: outage.begin())  # still down when every give-back try is spent
    run_id = start(rt, recipe([echo("a")]), {"name": "x"})
    outage.end()
    run = load(rt, run_id)[0]
    assert run.status == "running" and run.lease_owner == rt.owner  # neither failed nor lost
    sweep(rt, fresh_s=0)
    assert load(rt, run_id)[0].status == "running"  # the lease still guards it...
    with rt.db.transaction() as session:
        session.execute(update(Run).where(Run.id == run_id).values(lease_expires_at=utcnow()))
    sweep(rt, fresh_s=0)  # ...until it expires
    assert load(rt, run_id)[0].status == "succeeded"
    assert [call["key"] for call in kit.calls] == [f"{run_id}:a"] * 2


def test_webhook_the_database_cannot_store_now_is_answered_503_with_retry_after(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage
) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, recipe([echo("a")]))
        hook = hook_urls(session, rt, saved)["webhook_url"].removeprefix(rt.settings.base_url)
    client = create_app(rt).test_client()
    with outage:
        answer = client.post(hook, json={"id": "e-1", "name": "x"})
        health = client.get("/healthz")
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert answer.json == {
        "error": {
            "code": "database_unavailable",
            "message": "the event could not be stored now; retry shortly",
        }
    }
    if rt.db.dialect == "postgresql":  # a SQLite lock leaves the database answering reads
        assert health.status_code == 503 and health.json == {"status": "unavailable", "database": "down"}
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.post(hook, json={"id": "e-1", "name": "x"}).status_code == 202  # the vendor's retry
    assert [call["inputs"]["value"] for call in kit.calls] == ["x"]


def test_the_api_answers_503_with_retry_after_while_the_database_is_out(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage
) -> None:
    rt, _kit = kit_rt
    with rt.db.transaction() as session:
        user = create_user(session, "ops@example.com", "admin", password="a long passphrase")
        auth = {"Authorization": f"Bearer {create_token(session, user, 'outage')[1]}"}
    client = create_app(rt).test_client()
    document = recipe([echo("a")])
    with outage:  # a write: on SQLite the lock leaves reads answering
        answer = client.post("/api/v1/recipes", json=document, headers=auth)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert answer.json is not None and answer.json["error"]["code"] == "database_unavailable"
    assert client.post("/api/v1/recipes", json=document, headers=auth).status_code == 201  # the retry


def test_background_jobs_log_one_line_back_off_and_carry_on(
    kit_rt: tuple[Runtime, EngineKit], outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    rt, _kit = kit_rt
    recipe_id = load(rt, start(rt, recipe([echo("a")]), {"name": "x"}))[0].recipe_id
    scheduler = Scheduler(rt)
    assert scheduler.renew_lease()
    poll = scheduler._poll_job(recipe_id)
    caplog.set_level(logging.INFO)
    with outage:
        for _tick in range(3):
            scheduler._sweep()  # raised out of the job before, a traceback every tick
            poll()
        assert not scheduler.renew_lease()
    deferred = [r.getMessage().split()[1] for r in caplog.records if "event=job_deferred" in r.getMessage()]
    assert sorted(deferred) == [f"job=poll:{recipe_id}", "job=sweep"]  # then skipped while backing off
    assert not [r for r in caplog.records if r.exc_info]
    assert scheduler._sweeping.delay_s == 1.0
    assert scheduler.renew_lease()
    scheduler._sweeping._resume_at = 0.0  # the backoff passed
    scheduler._sweep()
    assert scheduler._sweeping.delay_s == 0.0
    assert "event=job_resumed job=sweep" in caplog.text
    scheduler.shutdown()


def test_a_delay_cut_by_the_database_parks_again_for_its_full_length(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    """The step's `waiting` and the run's are one write: the run is never found due with its delay
    step already waiting, which would end the delay at once."""
    rt, _kit = kit_rt
    if rt.db.dialect != "postgresql":
        pytest.skip("terminating the connection at one chosen statement needs PostgreSQL")

    def parking_the_run(statement: str, parameters: Any) -> bool:
        return statement.startswith("UPDATE runs") and dict(parameters or {}).get("status") == "waiting"

    outage = Outage(rt.db, only=parking_the_run)
    outage.begin()
    try:
        run_id = start(
            rt, recipe([{"id": "pause", "type": "delay", "seconds": 3600}, echo("a")]), {"name": "x"}
        )
    finally:
        outage.close()
    assert outage.kills == 1 and load(rt, run_id)[0].status == "queued"  # handed back
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "waiting" and steps["pause"].status == "waiting"
    assert run.wake_at > utcnow() + timedelta(seconds=3000)


def test_an_unknown_outcome_cut_by_the_database_before_its_hold_is_still_held(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    """An attempt ended `unknown` and the hold of its run are one write: an unsafe action whose
    outcome is unknown is never repeated because the hold was not written."""
    rt, kit = kit_rt
    if rt.db.dialect != "postgresql":
        pytest.skip("terminating the connection at one chosen statement needs PostgreSQL")

    def holding_the_run(statement: str, parameters: Any) -> bool:
        return statement.startswith("UPDATE runs") and dict(parameters or {}).get("status") == "held"

    kit.script.append(RetryableError("vendor timed out", outcome_unknown=True))
    outage = Outage(rt.db, only=holding_the_run)
    outage.begin()
    try:
        run_id = start(rt, recipe([step("pay", "charge")]), {"name": "x"})
    finally:
        outage.close()
    assert outage.kills == 1 and load(rt, run_id)[0].status == "queued"  # handed back
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "held" and steps["pay"].status == "held"
    assert len(kit.calls) == 1  # not charged twice
    assert [a[0] for a in attempts(rt, run_id, "pay")] == ["unknown"]
