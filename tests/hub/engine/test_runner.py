"""The runner: steps, templates, retries, holds, delays, waits, failure handlers, cancel, replay."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.db.models import Run, StepAttempt, StepRun, Wait, utcnow
from hub.engine import control
from hub.engine.intake import resolve_waits, store_events
from hub.engine.runner import Runner
from hub.engine.sweeper import sweep
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError, RetryableError
from hub.sdk.types import TriggerEvent
from tests.hub.engine.kit import EngineKit, died_mid_attempt


def recipe(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "test",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": steps,
        **extra,
    }


def echo(step_id: str, value: Any = "{{ event.name }}", **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "connector": "enginekit",
        "action": "echo",
        "connection": "kit",
        "input": {"value": value},
        **extra,
    }


def start(rt: Runtime, document: dict[str, Any], event: dict[str, Any]) -> int:
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, document)
    return start_saved(rt, r.id, r.current_version, event)


def start_saved(rt: Runtime, recipe_id: int, version: int, event: dict[str, Any]) -> int:
    """Store `event` for a saved recipe version and execute its run once."""
    with rt.db.transaction() as session:
        stored = store_events(
            session,
            recipe_id=recipe_id,
            recipe_version=version,
            source="test",
            events=[TriggerEvent(data=event)],
        )
    run_id = stored[0].run_id
    assert run_id is not None
    Runner(rt).execute(run_id)
    return run_id


def load(rt: Runtime, run_id: int) -> tuple[Run, dict[str, StepRun]]:
    with rt.db.transaction() as session:
        run = session.get(Run, run_id)
        steps = {s.step_id: s for s in session.scalars(select(StepRun).where(StepRun.run_id == run_id))}
        return run, steps


def make_due(rt: Runtime, run_id: int) -> None:
    with rt.db.transaction() as session:
        session.execute(update(Run).where(Run.id == run_id).values(wake_at=utcnow() - timedelta(seconds=1)))


def test_steps_run_in_order_with_templates_and_typed_values(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [echo("first"), echo("second", "{{ steps.first.echo }}!"), echo("amount", "{{ event.amount }}")]
    )
    run_id = start(rt, doc, {"name": "Ada", "amount": Decimal("12.30")})
    run, steps = load(rt, run_id)
    assert run.status == "succeeded", run.error
    assert [c["inputs"]["value"] for c in kit.calls] == ["Ada", "Ada!", Decimal("12.30")]
    assert isinstance(kit.calls[2]["inputs"]["value"], Decimal)
    assert kit.calls[0]["key"] == f"{run_id}:first"
    assert steps["second"].output["echo"] == "Ada!"
    assert steps["first"].attempts == 1


def test_filter_false_marks_run_filtered_and_performs_nothing(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, recipe([echo("a")], filter="{{ event.amount > 100 }}"), {"amount": 5})
    assert load(rt, run_id)[0].status == "filtered"
    assert kit.calls == []


def test_when_false_skips_the_step(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, recipe([echo("a", when="{{ event.vip }}"), echo("b")]), {"vip": False, "name": "x"})
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert steps["a"].status == "skipped"
    assert len(kit.calls) == 1


def test_retryable_error_reschedules_with_the_same_idempotency_key(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([RetryableError("busy", retry_after=120)])
    run_id = start(rt, recipe([echo("a")]), {"name": "x"})
    run, steps = load(rt, run_id)
    assert run.status == "queued"
    assert steps["a"].status == "retrying"
    assert 119 <= (run.wake_at - utcnow()).total_seconds() <= 121  # Retry-After honoured
    Runner(rt).execute(run_id)  # not due yet: nothing happens
    assert len(kit.calls) == 1
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert steps["a"].attempts == 2
    assert {c["key"] for c in kit.calls} == {f"{run_id}:a"}


def test_retries_stop_at_max_attempts_then_on_failure_runs(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([RetryableError("down"), RetryableError("still down")])
    doc = recipe(
        [echo("a", retry={"max_attempts": 2, "backoff_s": 0})],
        on_failure=[echo("alert", "failed: {{ error.message }} at {{ error.step }}")],
    )
    run_id = start(rt, doc, {"name": "x"})
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "failed"
    assert steps["a"].status == "failed" and steps["a"].attempts == 2
    assert kit.calls[-1]["inputs"]["value"] == "failed: still down at a"
    assert run.error["step"] == "a"


def test_permanent_error_fails_at_once_and_continue_on_error_goes_on(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    kit.script.extend([PermanentError("bad request", vendor_code="E42")])
    run_id = start(
        rt, recipe([echo("a", continue_on_error=True), echo("b", "{{ steps.a.error.vendor_code }}")]), {}
    )
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert steps["a"].status == "failed" and steps["a"].attempts == 1
    assert steps["a"].error["vendor_code"] == "E42"
    assert kit.calls[-1]["inputs"]["value"] == "E42"


def test_unknown_outcome_of_unsafe_action_is_held_and_resolved_by_a_person(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    kit.script.extend([RetryableError("read timeout", outcome_unknown=True)])
    doc = recipe(
        [
            {"id": "pay", "connector": "enginekit", "action": "charge", "connection": "kit", "input": {}},
            echo("after"),
        ]
    )
    run_id = start(rt, doc, {"name": "x"})
    run, steps = load(rt, run_id)
    assert run.status == "held" and steps["pay"].status == "held"
    sweep(rt, fresh_s=0)
    assert len(kit.calls) == 1  # never retried blindly
    with rt.db.transaction() as session:
        control.resolve(session, run_id, "mark_done", {"charge_id": "ch_1"})
    Runner(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert [c["action"] for c in kit.calls] == ["charge", "echo"]
    assert steps["pay"].output == {"charge_id": "ch_1"}


def test_unknown_outcome_of_repeat_safe_action_is_retried(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([RetryableError("reset", outcome_unknown=True)])
    run_id = start(rt, recipe([echo("a", retry={"backoff_s": 0})]), {"name": "x"})
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    assert load(rt, run_id)[0].status == "succeeded"
    assert len(kit.calls) == 2


def test_crash_mid_attempt_resumes_safe_actions_and_holds_unsafe_ones(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            echo("a"),
            {"id": "pay", "connector": "enginekit", "action": "charge", "connection": "kit", "input": {}},
        ]
    )
    run_id = start(rt, doc, {"name": "x"})
    # Simulate a worker that died after writing the attempt row of step "pay" but before its result.
    died_mid_attempt(rt, run_id, "pay")
    calls_before = len(kit.calls)
    sweep(rt, fresh_s=0)
    run, steps = load(rt, run_id)
    assert run.status == "held"
    assert len(kit.calls) == calls_before
    with rt.db.transaction() as session:
        statuses = list(
            session.scalars(select(StepAttempt.status).where(StepAttempt.step_run_id == steps["pay"].id))
        )
    assert "unknown" in statuses


def test_live_lease_is_not_stolen(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a")]))
        stored = store_events(
            session, recipe_id=r.id, recipe_version=1, source="test", events=[TriggerEvent(data={})]
        )
        session.execute(
            update(Run)
            .where(Run.id == stored[0].run_id)
            .values(status="running", lease_owner="other", lease_expires_at=utcnow() + timedelta(seconds=60))
        )
    Runner(rt).execute(stored[0].run_id)
    assert kit.calls == []


def test_fresh_run_read_by_two_workers_is_executed_by_one(kit_rt: tuple[Runtime, EngineKit]) -> None:
    """A fresh run is read before it is claimed: a worker whose first write finds it taken stops."""
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a"), echo("b")]))
        stored = store_events(
            session,
            recipe_id=r.id,
            recipe_version=1,
            source="test",
            events=[TriggerEvent(data={"name": "x"})],
        )
    run_id = stored[0].run_id
    assert run_id is not None

    class Overtaken(Runner):
        def _drive(self) -> None:
            assert self.claim_lazily  # read as fresh, not yet claimed
            Runner(self.rt).execute(self.run_id)  # another worker takes and finishes the run meanwhile
            super()._drive()

    Overtaken(rt).execute(run_id)
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert [c["action"] for c in kit.calls] == ["echo", "echo"]  # a and b once each, by the other worker
    with rt.db.read() as session:
        attempts = session.scalars(select(StepAttempt)).all()
    assert len(attempts) == 2 and {s.attempts for s in steps.values()} == {1}


def test_fresh_run_failing_before_its_first_write_is_claimed_and_failed(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    run_id = start(rt, recipe([echo("a", value="{{ event.n / 0 }}")]), {"n": 1})
    run, steps = load(rt, run_id)
    assert run.status == "failed" and run.lease_owner is None and run.started_at is not None
    assert steps["a"].status == "failed" and kit.calls == []


def test_delay_parks_the_run_until_due(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, recipe([{"id": "pause", "type": "delay", "seconds": 3600}, echo("a")]), {"name": "x"})
    run, _ = load(rt, run_id)
    assert run.status == "waiting" and kit.calls == []
    make_due(rt, run_id)
    sweep(rt)
    assert load(rt, run_id)[0].status == "succeeded"
    assert len(kit.calls) == 1


def wait_doc() -> dict[str, Any]:
    return recipe(
        [
            echo("start"),
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "enginekit",
                "trigger": "hook",
                "connection": "kit",
                "match": {"instance": "{{ event.id }}"},
                "timeout_s": 600,
            },
            echo("done", "{{ steps.approved.status }}", when="{{ steps.approved.status == 'APPROVED' }}"),
        ]
    )


def test_wait_for_resumes_on_a_matching_event_only(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, wait_doc(), {"id": "I-7", "name": "x"})
    assert load(rt, run_id)[0].status == "waiting"
    with rt.db.transaction() as session:
        assert (
            resolve_waits(session, "enginekit", "hook", None, {"instance": "I-8", "status": "APPROVED"}) == []
        )
        woken = resolve_waits(session, "enginekit", "hook", None, {"instance": "I-7", "status": "APPROVED"})
    assert woken == [run_id]
    Runner(rt).execute(run_id)
    run, _steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert kit.calls[-1]["inputs"]["value"] == "APPROVED"
    with rt.db.transaction() as session:
        assert session.scalar(select(Wait.id)) is None


def test_wait_for_times_out_into_failure(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    run_id = start(rt, wait_doc(), {"id": "I-9"})
    with rt.db.transaction() as session:
        session.execute(update(Wait).values(expires_at=utcnow() - timedelta(seconds=1)))
    sweep(rt)
    run, steps = load(rt, run_id)
    assert run.status == "failed"
    assert steps["approved"].error["code"] == "timeout"


def test_cancel_takes_effect_on_a_waiting_run(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, recipe([{"id": "pause", "type": "delay", "seconds": 60}, echo("a")]), {})
    with rt.db.transaction() as session:
        control.cancel(session, run_id)
    make_due(rt, run_id)
    sweep(rt)
    assert load(rt, run_id)[0].status == "cancelled"
    assert kit.calls == []


def test_replay_from_a_step_reuses_earlier_outputs(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([None, PermanentError("boom")])
    run_id = start(rt, recipe([echo("a"), echo("b", "{{ steps.a.echo }}")]), {"name": "Ada"})
    assert load(rt, run_id)[0].status == "failed"
    with rt.db.transaction() as session:
        new = control.replay(session, run_id, from_step="b")
    Runner(rt).execute(new.id)
    run, steps = load(rt, new.id)
    assert run.status == "succeeded" and run.replay_of == run_id
    assert [c["inputs"]["value"] for c in kit.calls] == ["Ada", "Ada", "Ada"]  # a once, b twice
    assert steps["b"].attempts == 1


def test_secrets_are_redacted_from_stored_input(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(
        rt,
        recipe(
            [
                echo(
                    "a",
                    "key is {{ event.k }}",
                )
            ]
        ),
        {"k": "sk_live_SECRET123"},
    )
    _, steps = load(rt, run_id)
    assert kit.calls[0]["inputs"]["value"] == "key is sk_live_SECRET123"
    assert "sk_live_SECRET123" not in str(steps["a"].input)


def test_dry_run_renders_inputs_and_performs_nothing(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        r = save_recipe(session, rt, recipe([echo("a"), echo("b", "{{ steps.a.echo }}")]))
        stored = store_events(
            session,
            recipe_id=r.id,
            recipe_version=1,
            source="test",
            events=[TriggerEvent(data={"name": "Ada"})],
        )
        session.execute(update(Run).where(Run.id == stored[0].run_id).values(dry_run=True))
    Runner(rt).execute(stored[0].run_id)
    run, steps = load(rt, stored[0].run_id)
    assert run.status == "succeeded" and kit.calls == []
    assert steps["a"].input == {"value": "Ada"}
    assert steps["b"].input == {"value": "sample"}


def test_wait_for_on_a_polling_trigger_polls_until_a_match(kit_rt: tuple[Runtime, EngineKit]) -> None:
    from hub.engine.wait_poller import poll_waits

    rt, kit = kit_rt
    doc = recipe(
        [
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "enginekit",
                "trigger": "items",
                "connection": "kit",
                "config": {"instance": "{{ event.id }}"},
                "match": {"instance": "{{ event.id }}", "status": "APPROVED"},
            },
            echo("done", "{{ steps.approved.status }}"),
        ]
    )
    run_id = start(rt, doc, {"id": "I-5"})
    kit.items = [{"id": 1, "instance": "I-5", "status": "RUNNING"}]
    assert poll_waits(rt) == []
    with rt.db.transaction() as session:
        wait = session.scalar(select(Wait))
        assert wait.config == {"instance": "I-5"} and wait.cursor == "1"
        assert wait.next_poll_at > utcnow()
    assert poll_waits(rt) == []  # not due again yet
    assert len(kit.polls) == 1
    kit.items.append({"id": 2, "instance": "I-5", "status": "APPROVED"})
    with rt.db.transaction() as session:
        session.execute(update(Wait).values(next_poll_at=utcnow()))
    assert poll_waits(rt) == [run_id]  # the InlineExecutor ran it on dispatch
    assert kit.polls[-1]["cursor"] == "1"
    run, steps = load(rt, run_id)
    assert run.status == "succeeded"
    assert steps["approved"].output["status"] == "APPROVED"
    assert kit.calls[-1]["inputs"]["value"] == "APPROVED"


def test_steps_can_hand_a_vendor_the_url_their_wait_for_listens_at(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = wait_doc()
    doc["steps"][0]["input"] = {"value": "{{ recipe.wait_urls.approved }}|{{ recipe.webhook_url }}"}
    run_id = start(rt, doc, {"id": "I-1", "name": "x"})
    assert load(rt, run_id)[0].status == "waiting"
    wait_url, webhook_url = kit.calls[0]["inputs"]["value"].split("|")
    assert wait_url.startswith(f"{rt.settings.base_url}/hooks/")
    assert webhook_url.startswith(f"{rt.settings.base_url}/hooks/")
    assert wait_url != webhook_url


def test_a_step_reads_its_connection_and_checks_its_project_in_one_transaction(
    kit_rt: tuple[Runtime, EngineKit], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, kit = kit_rt
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, recipe([echo("only")]))
    start_saved(rt, saved.id, saved.current_version, {"name": "warm"})  # the version is cached now
    reads = 0
    read = rt.db.read

    def counted() -> Any:
        nonlocal reads
        reads += 1
        return read()

    monkeypatch.setattr(rt.db, "read", counted)
    run_id = start_saved(rt, saved.id, saved.current_version, {"name": "Ada"})
    assert load(rt, run_id)[0].status == "succeeded"
    assert kit.calls[-1]["inputs"]["value"] == "Ada"
    assert reads == 2  # the run (read back by id), then the connection with its project check
