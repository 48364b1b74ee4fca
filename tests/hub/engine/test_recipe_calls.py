"""Recipes calling recipes: a called run's output comes back to the waiting caller; calls are
created once per (run, step), refused when they would cycle or nest deeper than 5, and checked
against the callee's input_schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from hub.db.models import Recipe, Run, StepRun
from hub.engine import control
from hub.engine.runner import Runner
from hub.engine.sweeper import sweep
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, load, make_due, recipe, start

PRICE_SCHEMA = {
    "type": "object",
    "required": ["amount"],
    "properties": {"amount": {"type": "number"}, "rate": {"type": "number"}},
}


def called(name: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    trigger = {"connector": "recipe", "trigger": "called", "config": {"input_schema": PRICE_SCHEMA}}
    return {"name": name, "trigger": trigger, "steps": steps, **extra}


def call(step_id: str, target: Any, event: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "connector": "recipe",
        "action": "call",
        "input": {"recipe": target, "event": event, **extra},
    }


def save(rt: Runtime, document: dict[str, Any]) -> int:
    with rt.db.transaction() as session:
        return save_recipe(session, rt, document).id


def children(rt: Runtime, parent_id: int) -> list[Run]:
    with rt.db.transaction() as session:
        query = select(Run).where(Run.parent_run_id == parent_id).order_by(Run.id)
        return list(session.scalars(query))


def price_recipe() -> dict[str, Any]:
    """The price with tax of an amount, computed by a step and returned through `output`."""
    tax = echo("tax", "{{ (event.amount * (1 + (event.rate or 0.13))) | round(2) }}")
    return called("price with tax", [tax], output="{{ steps.tax.echo }}")


def test_a_sub_recipe_returns_its_output_to_the_waiting_caller(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    price_id = save(rt, price_recipe())
    won = recipe(
        [
            call("price", "price with tax", {"amount": "{{ event.amount }}"}),
            echo("post", "{{ steps.price }}"),
        ]
    )
    run_id = start(rt, won, {"amount": 100})
    run, steps = load(rt, run_id)
    assert run.status == "succeeded", run.error
    assert steps["price"].output == 113
    assert kit.calls[-1]["inputs"] == {"value": steps["price"].output}
    (child,) = children(rt, run_id)
    assert (child.recipe_id, child.parent_path, child.status) == (price_id, "price", "succeeded")
    assert child.output == steps["price"].output
    assert steps["price"].input == {"recipe": "price with tax", "event": {"amount": 100}}


def test_a_call_without_wait_answers_the_run_id_at_once(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    price_id = save(rt, price_recipe())
    run_id = start(
        rt, recipe([call("later", price_id, {"amount": 5}, wait=False), echo("next", "{{ 1 }}")]), {}
    )
    run, steps = load(rt, run_id)
    (child,) = children(rt, run_id)
    assert run.status == "succeeded" and steps["later"].output == {"run_id": child.id}
    assert child.parent_run_id == run_id and child.status == "succeeded"


def test_a_failed_child_fails_the_call_step_with_its_error(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    save(rt, price_recipe())
    kit.script.append(PermanentError("tax service refused"))
    run_id = start(rt, recipe([call("price", "price with tax", {"amount": 1})]), {})
    run, steps = load(rt, run_id)
    (child,) = children(rt, run_id)
    assert child.status == "failed" and run.status == "failed"
    assert steps["price"].status == "failed"
    assert steps["price"].error["run_id"] == child.id
    assert "tax service refused" in steps["price"].error["message"]


def test_the_event_is_checked_against_the_callees_input_schema(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    save(rt, price_recipe())
    run_id = start(rt, recipe([call("price", "price with tax", {"amount": "lots"})]), {})
    run, steps = load(rt, run_id)
    assert run.status == "failed" and children(rt, run_id) == []
    assert steps["price"].error["path"] == "$.steps[0].input.event.amount"
    assert "'lots' is not of type 'number'" in steps["price"].error["message"]


def test_a_parked_child_wakes_its_caller_and_a_stray_wake_up_starts_no_second_child(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, _kit = kit_rt
    slow = called(
        "slow price", [{"id": "pause", "type": "delay", "seconds": 3600}], output="{{ event.amount }}"
    )
    save(rt, slow)
    run_id = start(
        rt, recipe([call("price", "slow price", {"amount": 7}), echo("after", "{{ steps.price }}")]), {}
    )
    (child,) = children(rt, run_id)
    assert load(rt, run_id)[0].status == "waiting" and child.status == "waiting"

    with rt.db.transaction() as session:  # taken up again while the child still runs
        session.execute(update(Run).where(Run.id == run_id).values(status="queued"))
    Runner(rt).execute(run_id)
    assert load(rt, run_id)[0].status == "waiting" and len(children(rt, run_id)) == 1

    make_due(rt, child.id)
    sweep(rt)  # the child's delay ends; its end settles the call and runs the caller on
    run, steps = load(rt, run_id)
    assert run.status == "succeeded" and steps["price"].output == 7 and steps["after"].status == "succeeded"
    assert len(children(rt, run_id)) == 1


def test_cancelling_a_child_fails_the_waiting_call(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    save(rt, called("slow price", [{"id": "pause", "type": "delay", "seconds": 3600}]))
    run_id = start(rt, recipe([call("price", "slow price", {"amount": 7})]), {})
    (child,) = children(rt, run_id)
    with rt.db.transaction() as session:
        control.cancel(session, child.id)
    assert load(rt, run_id)[0].status == "queued"
    sweep(rt, fresh_s=0)
    run, steps = load(rt, run_id)
    assert run.status == "failed" and "cancelled" in steps["price"].error["message"]


def test_calls_nest_at_most_five_deep(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    for level in range(6, 0, -1):  # level n calls level n + 1; level 6 would call a seventh
        save(rt, called(f"level {level}", [call("down", f"level {level + 1}", {"amount": level})]))
    save(rt, called("level 7", [echo("bottom", "{{ 1 }}")]))
    run_id = start(rt, recipe([call("down", "level 1", {"amount": 0})]), {})
    chain = [run_id]
    while found := children(rt, chain[-1]):
        chain.append(found[0].id)
    assert len(chain) == 6  # the root and levels 1 to 5: level 6 is not started
    deepest, steps = load(rt, chain[-1])
    assert deepest.status == "failed" and "calls nest at most 5 deep" in steps["down"].error["message"]
    assert all(load(rt, r)[0].status == "failed" for r in chain)
    with rt.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 6


def test_a_cycle_through_a_template_is_refused_at_run_time(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    save(rt, called("bounce", [call("back", "{{ event.caller }}", {})]))
    run_id = start(
        rt, {**recipe([call("out", "bounce", {"caller": "origin", "amount": 1})]), "name": "origin"}, {}
    )
    (child,) = children(rt, run_id)
    _run, steps = load(rt, child.id)
    assert steps["back"].status == "failed" and children(rt, child.id) == []
    assert "a call cycle" in steps["back"].error["message"]
    assert steps["back"].error["path"] == "$.steps[0].input.recipe"
    assert load(rt, run_id)[0].status == "failed"


def test_only_recipes_with_the_called_trigger_can_be_called(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    save(rt, {**recipe([echo("x")]), "name": "hooked"})
    run_id = start(rt, recipe([call("out", "hooked", {})]), {})
    _run, steps = load(rt, run_id)
    assert "its trigger is webhook.catch, not recipe.called" in steps["out"].error["message"]


def test_a_failing_output_template_fails_the_run(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    run_id = start(rt, recipe([echo("a", "{{ 1 }}")], output="{{ steps.a.echo / 0 }}"), {})
    run, _steps = load(rt, run_id)
    assert run.status == "failed" and run.error["path"] == "$.output" and run.output is None
    done = start(rt, recipe([echo("a", "{{ 2 }}")], output={"doubled": "{{ steps.a.echo * 2 }}"}), {})
    assert load(rt, done)[0].output == {"doubled": 4}


def test_sub_recipe_steps_are_the_run_only_of_their_own(kit_rt: tuple[Runtime, EngineKit]) -> None:
    """The child's own step rows belong to the child; the caller has one row for the call."""
    rt, _kit = kit_rt
    save(rt, price_recipe())
    run_id = start(rt, recipe([call("price", "price with tax", {"amount": 10})]), {})
    (child,) = children(rt, run_id)
    with rt.db.transaction() as session:
        rows = session.execute(select(StepRun.run_id, StepRun.step_id).order_by(StepRun.id)).all()
    assert [tuple(r) for r in rows] == [(run_id, "price"), (child.id, "tax")]


def test_a_split_of_the_called_recipe_chooses_the_version_of_the_called_run(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, _kit = kit_rt
    first = called("split price", [echo("tax", "{{ 1 }}")], output="{{ 'v1' }}")
    price_id = save(rt, first)
    with rt.db.transaction() as session:
        row = session.get(Recipe, price_id)
        save_recipe(session, rt, {**first, "output": "{{ 'v2' }}"}, recipe=row)
        row.split = {"1": 100, "2": 0}  # every new run goes to version 1, not the current one
    run_id = start(rt, recipe([call("price", "split price", {"amount": 1})]), {})
    (child,) = children(rt, run_id)
    assert child.recipe_version == 1 and load(rt, run_id)[1]["price"].output == "v1"
