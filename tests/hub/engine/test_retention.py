"""Retention: exactly the old finished runs go (with their steps, attempts and unreferenced events),
waiting and held runs stay, seen ids past their window go, and webhooks keep flowing meanwhile."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from hub.app import create_app
from hub.cli import main
from hub.db.models import Event, Run, SeenItem, StepAttempt, StepRun, TriggerState, utcnow
from hub.recipe_store import hook_urls, save_recipe
from hub.retention import Pruned, preview, prune
from hub.runtime import Runtime
from hub.scheduler import Scheduler
from tests.hub.engine.kit import EngineKit

Kit = tuple[Runtime, EngineKit]
OLD = utcnow() - timedelta(days=45)


def webhook_recipe(rt: Runtime) -> tuple[int, str]:
    document = {
        "name": "relay",
        "enabled": True,
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "id"}},
        "steps": [
            {
                "id": "echo",
                "connector": "enginekit",
                "action": "echo",
                "connection": "kit",
                "input": {"value": 1},
            }
        ],
    }
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, document)
        return recipe.id, hook_urls(session, rt, recipe)["webhook_url"].removeprefix(rt.settings.base_url)


def add_run(rt: Runtime, recipe_id: int, status: str, at: Any, *, event: bool = True) -> int:
    """A run created and (when final) finished at `at`, with its event, a step and an attempt."""
    with rt.db.transaction() as session:
        event_id = None
        if event:
            values = {"recipe_id": recipe_id, "source": "test", "payload": {}, "received_at": at}
            event_id = session.scalar(insert(Event).values(**values).returning(Event.id))
        final = status in ("succeeded", "failed", "filtered", "cancelled")
        run = {"recipe_id": recipe_id, "recipe_version": 1, "status": status, "created_at": at}
        run_id = session.scalar(
            insert(Run).values(**run, event_id=event_id, finished_at=at if final else None).returning(Run.id)
        )
        step = {"run_id": run_id, "step_id": "echo", "position": 0, "status": "succeeded", "attempts": 1}
        step_id = session.scalar(
            insert(StepRun).values(**step, started_at=at, finished_at=at).returning(StepRun.id)
        )
        session.execute(
            insert(StepAttempt).values(
                step_run_id=step_id,
                number=1,
                idempotency_key=f"{run_id}:echo",
                status="succeeded",
                started_at=at,
            )
        )
        return int(run_id)


def counts(rt: Runtime) -> dict[str, int]:
    with rt.db.read() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Run, StepRun, StepAttempt, Event, SeenItem)
        }


def test_prune_deletes_exactly_the_old_finished_runs(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    old_final = [add_run(rt, recipe_id, s, OLD) for s in ("succeeded", "failed", "filtered", "cancelled")]
    kept = [add_run(rt, recipe_id, s, OLD) for s in ("waiting", "held", "queued")]
    kept.append(add_run(rt, recipe_id, "succeeded", utcnow() - timedelta(days=29)))
    with rt.db.transaction() as session:  # a replay of an old run, still held, shares its event
        shared = session.scalar(select(Run.event_id).where(Run.id == old_final[1]))
        kept.append(
            int(
                session.scalar(
                    insert(Run)
                    .values(
                        recipe_id=recipe_id, recipe_version=1, status="held", event_id=shared, created_at=OLD
                    )
                    .returning(Run.id)
                )
            )
        )
        session.add(Event(recipe_id=recipe_id, source="test", payload={}, received_at=OLD))  # loose
    before = counts(rt)
    wanted = preview(rt)
    # the four old ones and the recent one go into the roll-ups; the old ones are deleted
    assert wanted == Pruned(rolled_up=5, runs=4, steps=4, attempts=4, events=4, seen_items=0)
    assert counts(rt) == before  # a dry run deletes nothing
    assert prune(rt) == wanted
    with rt.db.read() as session:
        assert sorted(session.scalars(select(Run.id))) == sorted(kept)
        left_events = set(session.scalars(select(Event.id)))
        assert shared in left_events  # still referenced by the held replay
        assert set(session.scalars(select(Run.event_id).where(Run.event_id.is_not(None)))) == left_events
    after = counts(rt)
    assert after["runs"] == before["runs"] - 4 and after["step_attempts"] == before["step_attempts"] - 4
    assert prune(rt) == Pruned()


def test_zero_days_keeps_runs_forever(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    add_run(rt, recipe_id, "succeeded", utcnow() - timedelta(days=4000))
    rt.settings.retention_days = 0
    assert preview(rt) == Pruned(rolled_up=1) and prune(rt) == Pruned(rolled_up=1)
    assert counts(rt)["runs"] == 1


def test_seen_ids_go_after_the_triggers_window_plus_a_day(
    kit_rt: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, kit = kit_rt
    document = {
        "name": "poll",
        "trigger": {"connector": "enginekit", "trigger": "items", "connection": "kit", "config": {}},
        "steps": [],
    }
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, document)
        state = session.scalars(select(TriggerState).where(TriggerState.recipe_id == recipe.id)).one()
        now = utcnow()
        for item, age in (("old", timedelta(days=1, seconds=700)), ("new", timedelta(days=1, seconds=500))):
            session.add(SeenItem(trigger_state_id=state.id, item_id=item, seen_at=now - age))
    assert preview(rt).seen_items == 0  # a trigger that does not declare its window keeps its ids
    monkeypatch.setattr(type(kit.trigger("items")), "reread_window_s", lambda self, config: 600.0)
    assert preview(rt).seen_items == 1
    assert prune(rt).seen_items == 1
    with rt.db.read() as session:
        assert list(session.scalars(select(SeenItem.item_id))) == ["new"]


def test_webhooks_are_accepted_while_a_prune_runs(kit_rt: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, _kit = kit_rt
    recipe_id, path = webhook_recipe(rt)
    for _ in range(3):
        with rt.db.transaction() as session:  # 600 old runs without steps, quick to seed
            rows = [
                {
                    "recipe_id": recipe_id,
                    "recipe_version": 1,
                    "status": "succeeded",
                    "created_at": OLD,
                    "finished_at": OLD,
                }
            ] * 200
            session.execute(insert(Run), rows)
    monkeypatch.setattr("hub.retention.BATCH", 50)
    client = create_app(rt).test_client()
    answers: list[int] = []
    pruning = threading.Event()

    def send() -> None:
        pruning.wait(5)
        for i in range(40):
            answers.append(client.post(path, json={"id": f"evt-{i}"}).status_code)

    sender = threading.Thread(target=send)
    sender.start()

    def keep_going() -> bool:
        pruning.set()
        return True

    pruned = prune(rt, keep_going=keep_going)
    sender.join(30)
    assert pruned.runs == 600
    assert answers == [202] * 40
    with rt.db.read() as session:
        payloads = session.scalars(select(Event.payload)).all()
        assert sorted(p["id"] for p in payloads) == sorted(f"evt-{i}" for i in range(40))  # none lost
        assert session.scalar(select(func.count()).select_from(Run)) == 40


def test_the_cli_prints_what_it_would_delete_and_what_it_deleted(
    kit_rt: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    add_run(rt, recipe_id, "failed", OLD)
    monkeypatch.setenv("HUB_HOME", str(rt.settings.home))
    monkeypatch.setenv("HUB_DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("HUB_VAULT_KEYS", rt.settings.vault_keys or "")
    dry = CliRunner().invoke(main, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.output and "runs\t1" in dry.output and "events\t1" in dry.output
    assert counts(rt)["runs"] == 1
    done = CliRunner().invoke(main, ["prune"])
    assert done.exit_code == 0, done.output
    assert "deleted" in done.output and "runs\t1" in done.output
    assert counts(rt)["runs"] == 0


def test_only_the_schedulers_leader_prunes(kit_rt: Kit) -> None:
    rt, _kit = kit_rt
    recipe_id, _path = webhook_recipe(rt)
    add_run(rt, recipe_id, "succeeded", OLD)
    follower = Scheduler(rt)
    follower.prune()  # never took the lease
    assert counts(rt)["runs"] == 1
    leader = Scheduler(rt)
    assert leader.renew_lease()
    leader.prune()
    assert counts(rt)["runs"] == 0
