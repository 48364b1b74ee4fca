"""Flow control steps: set, branch, parallel, for_each, stop; paths, keys, parks inside, replay."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub.db.models import PendingWaitEvent, RecipeVersion, Run, StepRun, Wait, utcnow
from hub.engine import control
from hub.engine.intake import resolve_waits
from hub.engine.runner import Runner
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError, RetryableError
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_runner import echo, make_due, recipe, start, start_saved


def rows(rt: Runtime, run_id: int) -> tuple[Run, dict[str, StepRun]]:
    """The run and its step rows by path."""
    with rt.db.transaction() as session:
        run = session.get(Run, run_id)
        steps = {s.path: s for s in session.scalars(select(StepRun).where(StepRun.run_id == run_id))}
        return run, steps


def for_each(step_id: str, items: Any, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "for_each", "items": items, "steps": steps, **extra}


def values(kit: EngineKit) -> list[Any]:
    return [c["inputs"]["value"] for c in kit.calls]


def test_set_renders_values_as_its_output(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            {"id": "totals", "type": "set", "values": {"n": "{{ event.n * 2 }}", "label": "x{{ event.n }}"}},
            echo("use", "{{ steps.totals.n }}-{{ steps.totals.label }}"),
        ]
    )
    run, steps = rows(rt, start(rt, doc, {"n": 4}))
    assert run.status == "succeeded", run.error
    assert steps["totals"].output == {"n": 8, "label": "x4"}
    assert values(kit) == ["8-x4"]


def branch_doc() -> dict[str, Any]:
    return recipe(
        [
            {
                "id": "route",
                "type": "branch",
                "cases": [
                    {"when": "{{ event.amount > 1000 }}", "steps": [echo("big", "big")]},
                    {"when": "{{ event.amount > 100 }}", "steps": [echo("mid", "mid")]},
                ],
                "default": [echo("small", "small")],
            },
            echo("after", "{{ steps.big.echo if steps.big is defined else 'none' }}/{{ steps.route.case }}"),
        ]
    )


def test_branch_takes_the_first_true_case_and_keeps_its_outputs(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run_id = start(rt, branch_doc(), {"amount": 5000})
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == ["big", "big/0"]
    assert steps["route"].output == {"case": 0}
    assert steps["route.0.big"].status == "succeeded"
    assert kit.calls[0]["key"] == f"{run_id}:route.0.big"
    assert "route.1.mid" not in steps


def test_branch_default_and_no_match(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    run, steps = rows(rt, start(rt, branch_doc(), {"amount": 5}))
    assert run.status == "succeeded", run.error
    assert values(kit) == ["small", "none/default"]
    assert steps["route.default.small"].status == "succeeded"
    doc = recipe(
        [{"id": "route", "type": "branch", "cases": [{"when": "{{ false }}", "steps": [echo("x")]}]}]
    )
    run, steps = rows(rt, start(rt, doc, {}))
    assert steps["route"].output == {"case": None}


def test_for_each_runs_inner_steps_per_item_with_paths_and_keys(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            for_each(
                "lines",
                "{{ event.lines }}",
                [
                    {"id": "calc", "type": "set", "values": {"total": "{{ line.qty * line.price }}"}},
                    echo("post", "{{ loop.index }}/{{ loop.length }}:{{ steps.calc.total }}"),
                ],
                **{"as": "line"},
            ),
            echo("last", "{{ steps.post.echo }}|{{ steps.lines.count }}"),
        ]
    )
    lines = [{"qty": 1, "price": 2}, {"qty": 3, "price": 4}, {"qty": 5, "price": 6}]
    run_id = start(rt, doc, {"lines": lines})
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == ["0/3:2", "1/3:12", "2/3:30", "2/3:30|3"]
    assert [c["key"] for c in kit.calls[:3]] == [f"{run_id}:lines.{i}.post" for i in range(3)]
    output = steps["lines"].output
    assert output["count"] == 3 and output["failed"] == 0
    assert output["items"][1]["calc"] == {"total": 12}
    assert output["items"][1]["post"]["echo"] == "1/3:12"
    assert steps["lines.2.post"].item == 2 and steps["lines.2.post"].step_id == "post"


def test_for_each_over_max_items_fails_before_any_item(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe([for_each("lines", "{{ event.lines }}", [echo("post")], max_items=2)])
    run, steps = rows(rt, start(rt, doc, {"lines": [1, 2, 3]}))
    assert run.status == "failed"
    assert "3 items, more than max_items (2)" in steps["lines"].error["message"]
    assert kit.calls == []


def test_a_failed_item_fails_the_loop_unless_it_continues(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([None, RetryableError("down")])
    doc = recipe(
        [for_each("lines", "{{ [1, 2, 3] }}", [echo("post", "{{ item }}", retry={"max_attempts": 1})])]
    )
    run, steps = rows(rt, start(rt, doc, {}))
    assert run.status == "failed"
    assert steps["lines"].error["item"] == 1
    assert values(kit) == [1, 2]  # item 2 never started
    kit.calls.clear()
    kit.script.extend([None, RetryableError("down")])
    doc["steps"][0]["continue_on_error"] = True
    run, steps = rows(rt, start(rt, doc, {}))
    assert run.status == "succeeded", run.error
    assert values(kit) == [1, 2, 3]
    assert steps["lines"].output["count"] == 3 and steps["lines"].output["failed"] == 1
    assert "error" in steps["lines"].output["items"][1]["post"]


def test_parallel_runs_every_branch_and_fails_if_one_failed(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            {"id": "both", "type": "parallel", "branches": [[echo("sms", "sms")], [echo("mail", "mail")]]},
            echo("crm", "{{ steps.sms.echo }}+{{ steps.mail.echo }}+{{ steps.both.branches }}"),
        ]
    )
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert sorted(values(kit)[:2]) == ["mail", "sms"] and values(kit)[2] == "sms+mail+2"
    assert steps["both.1.mail"].status == "succeeded"
    kit.calls.clear()
    kit.script.extend([RetryableError("down"), RetryableError("down")])
    doc["steps"][0]["branches"][0][0]["retry"] = {"max_attempts": 1}
    doc["steps"][0]["branches"][1][0]["retry"] = {"max_attempts": 1}
    run, steps = rows(rt, start(rt, doc, {}))
    assert run.status == "failed"
    assert steps["both"].status == "failed"


def test_stop_ends_the_run_with_its_status(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            for_each(
                "levels",
                "{{ ['a', 'b', 'c'] }}",
                [
                    echo("ask", "{{ item }}"),
                    {
                        "id": "halt",
                        "type": "stop",
                        "status": "failed",
                        "message": "rejected at {{ item }}",
                        "when": "{{ item == 'b' }}",
                    },
                ],
            ),
            echo("never"),
        ]
    )
    run, steps = rows(rt, start(rt, doc, {}))
    assert run.status == "failed"
    assert run.error["message"] == "rejected at b" and run.error["code"] == "stopped"
    assert values(kit) == ["a", "b"]
    assert steps["levels.1.halt"].output == {"status": "failed", "message": "rejected at b"}
    run, _ = rows(
        rt, start(rt, recipe([{"id": "quiet", "type": "stop", "status": "filtered"}, echo("x")]), {})
    )
    assert run.status == "filtered"


def test_a_delay_inside_a_loop_parks_and_resumes_at_that_item(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            for_each(
                "lines",
                "{{ [1, 2, 3] }}",
                [
                    echo("post", "{{ item }}"),
                    {"id": "pause", "type": "delay", "seconds": 60, "when": "{{ item == 2 }}"},
                ],
            )
        ]
    )
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "waiting" and run.wake_at is not None
    assert steps["lines.1.pause"].status == "waiting"
    assert values(kit) == [1, 2]
    Runner(rt).execute(run_id)  # taken up before the delay's time: the delay stays
    assert rows(rt, run_id)[0].status == "waiting"
    with rt.db.transaction() as session:  # the delay's time passed
        step = session.scalar(select(StepRun).where(StepRun.path == "lines.1.pause"))
        step.started_at = step.started_at.replace(year=2000)
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == [1, 2, 3]  # no item repeated


def test_a_retry_inside_a_loop_resumes_without_repeating_items(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    kit.script.extend([None, None, RetryableError("busy")])
    doc = recipe([for_each("lines", "{{ range(5) | list }}", [echo("post", "{{ item }}")])])
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "queued" and steps["lines.2.post"].status == "retrying"
    make_due(rt, run_id)
    Runner(rt).execute(run_id)
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == [0, 1, 2, 2, 3, 4]
    assert [c["key"] for c in kit.calls][2:4] == [f"{run_id}:lines.2.post"] * 2


def wait_step(step_id: str, instance: str) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "wait_for",
        "connector": "enginekit",
        "trigger": "hook",
        "connection": "kit",
        "match": {"instance": instance},
        "timeout_s": 600,
    }


def test_a_branch_parked_on_a_wait_lets_the_others_go_on(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [wait_step("approved", "{{ event.id }}"), echo("then", "{{ steps.approved.status }}")],
                    [echo("meanwhile", "m")],
                ],
            },
            echo("joined", "{{ steps.then.echo }}+{{ steps.meanwhile.echo }}"),
        ]
    )
    run_id = start(rt, doc, {"id": "I-1"})
    run, _steps = rows(rt, run_id)
    assert run.status == "waiting" and run.wake_at is None
    assert values(kit) == ["m"]
    with rt.db.transaction() as session:
        assert session.scalar(select(Wait.path)) == "both.0.approved"
        woken = resolve_waits(session, "enginekit", "hook", None, {"instance": "I-1", "status": "OK"})
    assert woken == [run_id]
    Runner(rt).execute(run_id)
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == ["m", "OK", "OK+m"]


def test_a_wait_that_ends_while_the_run_is_held_is_seen_before_it_parks(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    woken: list[list[int]] = []

    def event_arrives(inputs: dict[str, Any]) -> None:  # while the other branch calls its vendor
        for _ in range(200):
            with rt.db.transaction() as session:
                if session.scalar(select(Wait.id)) is not None:
                    woken.append(
                        resolve_waits(session, "enginekit", "hook", None, {"instance": "I-2", "s": 1})
                    )
                    return
            time.sleep(0.01)

    kit.during_call = event_arrives
    branches = [[wait_step("approved", "I-2")], [echo("slow", "s")]]
    run_id = start(rt, recipe([{"id": "both", "type": "parallel", "branches": branches}]), {})
    run, steps = rows(rt, run_id)
    assert woken == [[]]  # the run was still held by its worker: not dispatched again
    assert run.status == "succeeded", run.error
    assert steps["both.0.approved"].output == {"instance": "I-2", "s": 1}


def test_for_each_items_run_at_once_up_to_concurrency(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def busy(inputs: dict[str, Any]) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1

    kit.during_call = busy
    doc = recipe([for_each("lines", "{{ range(12) | list }}", [echo("post", "{{ item }}")], concurrency=4)])
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert 2 <= state["most"] <= 4
    assert sorted(values(kit)) == list(range(12))
    assert [e["post"]["echo"] for e in steps["lines"].output["items"]] == list(range(12))


def test_dry_run_walks_the_first_three_items_and_counts_them(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe([for_each("lines", "{{ range(7) | list }}", [echo("post", "n{{ item }}")])])
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, doc)
        run_id = control.start_test_run(session, saved, {}, dry_run=True)
    Runner(rt).execute(run_id)
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert kit.calls == []
    assert [steps[f"lines.{i}.post"].input for i in range(3)] == [{"value": f"n{i}"} for i in range(3)]
    assert "lines.3.post" not in steps
    assert steps["lines"].output["count"] == 7 and len(steps["lines"].output["items"]) == 3


def test_replay_from_an_inner_path_keeps_what_came_before(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    doc = recipe([echo("first", "f"), for_each("lines", "{{ [1, 2, 3] }}", [echo("post", "{{ item }}")])])
    run_id = start(rt, doc, {})
    kit.calls.clear()
    with rt.db.transaction() as session:
        new_id = control.replay(session, run_id, from_step="lines.1.post").id
    Runner(rt).execute(new_id)
    run, steps = rows(rt, new_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == [2, 3]
    assert [c["key"] for c in kit.calls] == [f"{new_id}:lines.1.post", f"{new_id}:lines.2.post"]
    assert steps["lines"].output["items"][0]["post"]["echo"] == 1


def test_outputs_reach_later_steps_unredacted_but_are_stored_redacted(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    url = "https://files.example.com/a.pdf?sig=abc123secret"
    run, steps = rows(rt, start(rt, recipe([echo("sign", url), echo("use", "{{ steps.sign.echo }}")]), {}))
    assert run.status == "succeeded", run.error
    assert kit.calls[1]["inputs"]["value"] == url
    assert "abc123secret" not in str(steps["sign"].output)


class WorkerDied(BaseException):
    """Stands for the worker process dying mid-call: nothing after it runs, no row is written."""


def test_a_worker_dying_mid_item_resumes_there_and_holds_an_unsafe_repeat(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    doc = recipe(
        [
            for_each(
                "lines",
                "{{ range(5) | list }}",
                [echo("post", "{{ item }}"), {**echo("charge", "{{ item }}"), "action": "charge"}],
            )
        ]
    )
    kit.script.extend([None, None, None, None, WorkerDied()])  # items 0 and 1, then item 2's post
    with contextlib.suppress(WorkerDied):
        start(rt, doc, {})
    with rt.db.transaction() as session:
        run = session.scalar(select(Run))
        run.lease_expires_at = run.lease_expires_at.replace(year=2000)  # the dead worker's lease lapses
        run_id = run.id
    Runner(rt).execute(run_id)  # item 2's post is repeat-safe: repeated with its own key
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert values(kit) == [0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4]
    assert kit.calls[5]["key"] == kit.calls[4]["key"] == f"{run_id}:lines.2.post"

    kit.calls.clear()
    kit.script.extend([None, WorkerDied()])  # item 0's post, then item 0's charge dies
    with contextlib.suppress(WorkerDied):
        start(rt, doc, {})
    with rt.db.transaction() as session:
        run = session.scalars(select(Run).order_by(Run.id.desc())).first()
        run.lease_expires_at = run.lease_expires_at.replace(year=2000)
        run_id = run.id
    Runner(rt).execute(run_id)
    run, steps = rows(rt, run_id)
    assert run.status == "held" and steps["lines.0.charge"].status == "held"
    assert values(kit) == [0, 0]  # the charge is not repeated blindly
    with rt.db.transaction() as session:
        control.resolve(session, run_id, "mark_done", {"charged": True})
    Runner(rt).execute(run_id)
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert steps["lines"].output["items"][0]["charge"] == {"charged": True}


def test_cancel_stops_every_item_at_its_next_write(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    seen: list[Any] = []
    calls_at_cancel: list[int] = []

    def cancel_at_the_third(inputs: dict[str, Any]) -> None:
        seen.append(inputs["value"])
        if len(seen) == 3:
            with rt.db.transaction() as session:
                control.cancel(session, session.scalar(select(Run.id)))
            calls_at_cancel.append(len(kit.calls))

    kit.during_call = cancel_at_the_third
    doc = recipe([for_each("lines", "{{ range(40) | list }}", [echo("post", "{{ item }}")], concurrency=3)])
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "cancelled"
    # The calls under way when the cancel committed end (the other two threads may each have begun
    # one); no item starts after it.
    assert len(kit.calls) <= calls_at_cancel[0] + 2 < 40
    assert not [s for s in steps.values() if s.status in ("running", "pending", "retrying")]


def start_unchecked(rt: Runtime, document: dict[str, Any]) -> int:
    """Run `document` as a version stored without the checks at save (written before they existed,
    or edited in the database): the engine's own bounds must still hold."""
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, recipe([echo("placeholder", "x")]))
        version = session.scalar(select(RecipeVersion).where(RecipeVersion.recipe_id == saved.id))
        version.document = {**version.document, "steps": document["steps"]}
    return start_saved(rt, saved.id, saved.current_version, {})


def test_run_time_bounds_on_depth_and_step_count(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    inner: list[dict[str, Any]] = [echo("deep", "x")]
    for level in range(5):  # five branches deep: the fifth level of steps is refused
        inner = [{"id": f"b{level}", "type": "branch", "cases": [{"when": "{{ true }}", "steps": inner}]}]
    run, steps = rows(rt, start_unchecked(rt, recipe(inner)))
    assert run.status == "failed" and kit.calls == []
    assert "nest more than 4 levels" in run.error["message"]
    many = [for_each(f"loop{n}", "{{ [1] }}", [echo(f"s{n}_{i}") for i in range(251)]) for n in range(2)]
    run, steps = rows(rt, start_unchecked(rt, recipe(many)))
    assert run.status == "failed" and steps == {}
    assert run.error["message"] == "the recipe has 504 steps, more than 500"


def test_a_nested_wait_takes_a_kept_event_and_records_its_path(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, _kit = kit_rt
    doc = recipe([for_each("asks", "{{ ['I-5', 'I-6'] }}", [wait_step("approved", "{{ item }}")])])
    with rt.db.transaction() as session:
        saved = save_recipe(session, rt, doc)
        session.add(
            PendingWaitEvent(
                connector="enginekit",
                trigger="hook",
                recipe_id=saved.id,
                step_id="approved",
                data={"instance": "I-5", "status": "OK"},
                expires_at=utcnow() + timedelta(minutes=5),
            )
        )
    run_id = start(rt, doc, {})
    run, steps = rows(rt, run_id)
    assert run.status == "waiting"  # item 0 took the kept event; item 1 waits
    assert steps["asks.0.approved"].output == {"instance": "I-5", "status": "OK"}
    with rt.db.transaction() as session:
        kept = session.scalar(select(PendingWaitEvent))
        assert (kept.consumed_by, kept.consumed_path) == (run_id, "asks.0.approved")
        assert session.scalar(select(Wait.path)) == "asks.1.approved"


def test_joined_parks_wake_at_the_earliest_delay_and_hold_for_a_person_first(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    branches = [
        [{"id": "short", "type": "delay", "seconds": 30}],
        [{"id": "long", "type": "delay", "seconds": 3600}],
        [wait_step("approved", "I-9")],
    ]
    run_id = start(rt, recipe([{"id": "all", "type": "parallel", "branches": branches}]), {})
    run, steps = rows(rt, run_id)
    assert run.status == "waiting"
    short_wake = steps["all.0.short"].started_at.timestamp() + 30
    assert abs(run.wake_at.timestamp() - short_wake) < 2
    kit.script.append(WorkerDied())
    branches = [[{**echo("pay", "p"), "action": "charge"}], [{"id": "pause", "type": "delay", "seconds": 60}]]
    with contextlib.suppress(WorkerDied):
        start(rt, recipe([{"id": "all", "type": "parallel", "branches": branches}]), {})
    with rt.db.transaction() as session:
        run = session.scalars(select(Run).order_by(Run.id.desc())).first()
        run.lease_expires_at = run.lease_expires_at.replace(year=2000)
        second = run.id
    Runner(rt).execute(second)
    run, steps = rows(rt, second)
    assert run.status == "held" and run.error["code"] == "outcome_unknown"
    assert steps["all.1.pause"].status in ("waiting", "succeeded")


def test_a_loop_failing_beside_a_parked_item_fails_and_forgets_the_park(
    kit_rt: tuple[Runtime, EngineKit],
) -> None:
    rt, kit = kit_rt
    kit.script.extend([PermanentError("refused")])
    steps = [
        {"id": "pause", "type": "delay", "seconds": 5, "when": "{{ item == 1 }}"},
        echo("post", "{{ item }}", when="{{ item == 0 }}"),
    ]
    later = {
        "id": "later",
        "type": "parallel",
        "branches": [
            [{"id": "cool", "type": "delay", "seconds": 600}],
            [{"id": "note", "type": "set", "values": {}}],
        ],
    }
    doc = recipe([for_each("lines", "{{ [0, 1] }}", steps, concurrency=2)], on_failure=[later])
    run, found = rows(rt, start(rt, doc, {}))
    assert found["lines"].status == "failed" and found["lines"].error["item"] == 0
    assert found["lines.1.pause"].status == "waiting"  # left behind: the loop failed
    assert run.status == "waiting" and run.phase == "on_failure"
    assert (run.wake_at - utcnow()).total_seconds() > 500  # the on_failure delay, not the item's


def test_nested_fan_outs_share_one_budget_of_threads(kit_rt: tuple[Runtime, EngineKit]) -> None:
    rt, kit = kit_rt
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def busy(inputs: dict[str, Any]) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1

    kit.during_call = busy
    branches = [
        [for_each(f"loop{b}", "{{ range(12) | list }}", [echo(f"post{b}", "{{ item }}")], concurrency=10)]
        for b in range(3)
    ]
    run_id = start(rt, recipe([{"id": "all", "type": "parallel", "branches": branches}]), {})
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert len(kit.calls) == 36
    assert 2 <= state["most"] <= 16  # three loops of ten would be thirty at once
