"""Fan-outs spread as tasks of their own (the Celery executor's way), driven here by a queue the test
drains one task at a time: each branch or item is its own task under its own sub-lease, the
concurrency holds, the run joins when one branch is parked on a wait, a cancel stops the branches,
and a branch whose worker died is taken up again without repeating what it did."""

from __future__ import annotations

import contextlib
from collections import deque
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.db.models import Run, RunBranch, StepRun, utcnow
from hub.engine import control
from hub.engine.intake import resolve_waits
from hub.engine.run.branch_task import BranchRunner
from hub.engine.runner import Runner
from hub.engine.sweeper import sweep
from hub.runtime import Runtime
from tests.hub.engine.kit import EngineKit
from tests.hub.engine.test_flow import WorkerDied, for_each, rows
from tests.hub.engine.test_runner import echo, recipe, start


class QueuedTasks:
    """An executor that spreads fan-outs, keeping what it is sent until the test drains it."""

    spreads = True

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.sent: deque[tuple[str, int]] = deque()
        self.current: tuple[str, int] | None = None  # the task being executed
        self.most_in_flight = 0

    def submit(self, run_id: int, fresh: object = None) -> None:
        self.sent.append(("run", run_id))

    def submit_branch(self, branch_id: int) -> None:
        self.sent.append(("branch", branch_id))

    def shutdown(self, wait: bool = True) -> None:
        return None

    def drain(self, tasks: int = 10_000) -> None:
        """Execute up to `tasks` sent tasks, in the order sent."""
        for _ in range(tasks):
            if not self.sent:
                return
            self.current = kind, task_id = self.sent.popleft()
            self.most_in_flight = max(self.most_in_flight, in_flight(self.rt))
            if kind == "run":
                Runner(self.rt).execute(task_id)
            else:
                BranchRunner(self.rt).execute(task_id)
            self.current = None


@pytest.fixture
def spread_rt(kit_rt: tuple[Runtime, EngineKit]) -> tuple[Runtime, EngineKit, QueuedTasks]:
    rt, kit = kit_rt
    tasks = QueuedTasks(rt)
    rt.executor = tasks
    kit.during_call = lambda inputs: kit.calls[-1].update(task=tasks.current)
    return rt, kit, tasks


def in_flight(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        found = session.scalars(select(RunBranch.status).where(RunBranch.status.in_(("queued", "running"))))
        return len(list(found))


def branches(rt: Runtime, run_id: int) -> list[RunBranch]:
    with rt.db.transaction() as session:
        found = session.scalars(select(RunBranch).where(RunBranch.run_id == run_id).order_by(RunBranch.label))
        return list(found)


def run_of(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        return int(session.scalars(select(Run.id).order_by(Run.id.desc())).first() or 0)


def begin(rt: Runtime, tasks: QueuedTasks, doc: dict[str, Any], event: dict[str, Any]) -> int:
    """Store the run and execute it once (the lease holder's first pass), sending its branches."""
    start(rt, doc, event)
    return run_of(rt)


def test_each_item_is_a_task_of_its_own_within_the_concurrency(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    doc = recipe(
        [
            for_each("lines", "{{ range(10) | list }}", [echo("post", "{{ item }}")], concurrency=4),
            echo("after", "{{ steps.lines.count }}"),
        ]
    )
    run_id = begin(rt, tasks, doc, {})
    assert kit.calls == []  # the holder ran no item: it sent four and gave the run up as a join
    run, _ = rows(rt, run_id)
    assert run.status == "running" and run.lease_owner is None
    assert [b.status for b in branches(rt, run_id)] == ["queued"] * 4 + ["pending"] * 6
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    items = [c for c in kit.calls if c["key"].startswith(f"{run_id}:lines.")]
    assert sorted(c["inputs"]["value"] for c in items) == list(range(10))
    assert {c["key"] for c in items} == {f"{run_id}:lines.{i}.post" for i in range(10)}
    ran_in = {c["task"] for c in items}
    assert len(ran_in) == 10 and all(kind == "branch" for kind, _ in ran_in)
    assert tasks.most_in_flight == 4
    assert steps["lines"].output["count"] == 10 and steps["lines"].output["failed"] == 0
    assert [i["post"]["echo"] for i in steps["lines"].output["items"]] == list(range(10))
    assert kit.calls[-1]["inputs"]["value"] == 10 and kit.calls[-1]["task"][0] == "run"
    assert {b.status for b in branches(rt, run_id)} == {"done"}


def waiting_beside_two() -> dict[str, Any]:
    """A parallel whose first branch waits for an approval, beside two that post; then a join."""
    wait = {
        "id": "approved",
        "type": "wait_for",
        "connector": "enginekit",
        "trigger": "hook",
        "connection": "kit",
        "match": {"order": "{{ event.order }}"},
    }
    return recipe(
        [
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    [wait, echo("confirm", "{{ steps.approved.by }}")],
                    [echo("one", "1")],
                    [echo("two", "2")],
                ],
            },
            echo("joined", "joined"),
        ]
    )


def test_a_parallel_joins_once_its_branch_parked_on_a_wait_is_resumed(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    run_id = begin(rt, tasks, waiting_beside_two(), {"order": "O-1"})
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "waiting", run.error
    assert [b.status for b in branches(rt, run_id)] == ["parked", "done", "done"]
    assert sorted(c["inputs"]["value"] for c in kit.calls) == ["1", "2"]
    with rt.db.transaction() as session:
        woken = resolve_waits(session, "enginekit", "hook", None, {"order": "O-1", "by": "ops"})
    rt.dispatch(woken)
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert [c["inputs"]["value"] for c in kit.calls][2:] == ["ops", "joined"]
    confirm = next(c for c in kit.calls if c["inputs"]["value"] == "ops")
    assert confirm["task"][0] == "branch" and confirm["key"] == f"{run_id}:both.0.confirm"
    assert len({c["task"] for c in kit.calls[:3]}) == 3  # each branch in a task of its own


def test_an_event_that_comes_while_other_branches_run_resumes_its_branch_at_the_join(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    run_id = begin(rt, tasks, waiting_beside_two(), {"order": "O-2"})
    tasks.drain(1)  # the first branch parks on its wait; the other two are still in flight
    with rt.db.transaction() as session:
        woken = resolve_waits(session, "enginekit", "hook", None, {"order": "O-2", "by": "early"})
    assert woken == []  # the run is a join, held by nobody: its last branch queues it
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert sorted(c["inputs"]["value"] for c in kit.calls) == ["1", "2", "early", "joined"]
    assert [b.status for b in branches(rt, run_id)] == ["done"] * 3
    assert steps["both.0.approved"].output["by"] == "early"


def test_a_failed_item_starts_no_further_item_and_fails_the_loop(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    from hub.sdk.errors import PermanentError

    kit.script.extend([None, PermanentError("refused")])
    doc = recipe([for_each("lines", "{{ range(6) | list }}", [echo("post", "{{ item }}")], concurrency=2)])
    run_id = begin(rt, tasks, doc, {})
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "failed"
    assert steps["lines"].status == "failed" and "item 1 failed" in steps["lines"].error["message"]
    # item 2 took item 0's slot before item 1 failed; nothing started after the failure
    assert [b.status for b in branches(rt, run_id)] == ["done", "failed", "done"] + ["pending"] * 3
    assert [c["inputs"]["value"] for c in kit.calls] == [0, 1, 2]


def test_cancel_stops_the_branches_at_their_next_write(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    doc = recipe([for_each("lines", "{{ range(8) | list }}", [echo("post", "{{ item }}")], concurrency=4)])
    run_id = begin(rt, tasks, doc, {})
    tasks.drain(1)  # item 0
    with rt.db.transaction() as session:
        control.cancel(session, run_id)
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "cancelled"
    assert [c["inputs"]["value"] for c in kit.calls] == [0]
    assert {b.status for b in branches(rt, run_id)} == {"done", "cancelled"}
    assert sweep(rt, fresh_s=0.0) == 0  # nothing of it is sent again


def test_a_branch_whose_worker_died_is_taken_up_again_and_repeats_nothing_done(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    doc = recipe([for_each("lines", "{{ range(6) | list }}", [echo("post", "{{ item }}")], concurrency=3)])
    run_id = begin(rt, tasks, doc, {})
    kit.script.extend([None, WorkerDied()])  # item 0 posts, item 1's worker dies during its call
    tasks.drain(1)
    with contextlib.suppress(WorkerDied):
        tasks.drain(1)
    tasks.drain()  # the others go on; the run cannot join while item 1 is held by the dead worker
    assert rows(rt, run_id)[0].status == "running"
    assert sweep(rt, fresh_s=0.0) == 0  # its sub-lease has not expired yet
    with rt.db.transaction() as session:
        session.execute(
            update(RunBranch)
            .where(RunBranch.run_id == run_id, RunBranch.label == 1)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert sweep(rt, fresh_s=0.0) == 1
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    keys = [c["key"] for c in kit.calls]
    assert sorted(keys) == sorted([f"{run_id}:lines.{i}.post" for i in range(6)] + [f"{run_id}:lines.1.post"])
    with rt.db.transaction() as session:
        step = session.scalar(select(StepRun).where(StepRun.run_id == run_id, StepRun.path == "lines.1.post"))
        assert step is not None and step.attempts == 2


def test_a_fan_out_inside_a_spread_branch_runs_on_its_threads(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    inner = for_each("lines", "{{ range(3) | list }}", [echo("post", "{{ item }}")], concurrency=3)
    doc = recipe([{"id": "both", "type": "parallel", "branches": [[inner], [echo("other", "x")]]}])
    run_id = begin(rt, tasks, doc, {})
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert [(b.fanout, b.label) for b in branches(rt, run_id)] == [("both", 0), ("both", 1)]
    assert steps["both.0.lines"].output["count"] == 3
    first = next(b.id for b in branches(rt, run_id) if b.label == 0)
    assert {c["task"] for c in kit.calls if c["inputs"]["value"] != "x"} == {("branch", first)}


def test_a_stop_in_a_branch_ends_the_run_and_closes_the_other_branches(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    stop = {"id": "enough", "type": "stop", "status": "succeeded", "message": "done early"}
    doc = recipe(
        [{"id": "both", "type": "parallel", "branches": [[stop], [echo("late", "x")]]}, echo("after")]
    )
    run_id = begin(rt, tasks, doc, {})
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded" and steps["both.0.enough"].output["message"] == "done early"
    assert kit.calls == []  # the other branch was closed before it began
    assert [b.status for b in branches(rt, run_id)] == ["cancelled", "cancelled"]
    assert sweep(rt, fresh_s=0.0) == 0


def test_an_unsafe_item_cut_off_is_held_and_a_decision_resumes_just_that_item(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    charge = {**echo("charge", "{{ item }}"), "action": "charge"}
    doc = recipe([for_each("lines", "{{ range(3) | list }}", [charge], concurrency=3), echo("after", "end")])
    run_id = begin(rt, tasks, doc, {})
    kit.script.extend([WorkerDied()])
    with contextlib.suppress(WorkerDied):
        tasks.drain(1)  # item 0's worker dies during the charge
    tasks.drain()
    with rt.db.transaction() as session:
        session.execute(
            update(RunBranch)
            .where(RunBranch.label == 0)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    sweep(rt, fresh_s=0.0)
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "held" and steps["lines.0.charge"].status == "held"
    assert [b.status for b in branches(rt, run_id)] == ["parked", "done", "done"]
    with rt.db.transaction() as session:
        control.resolve(session, run_id, "mark_done", {"charged": True})
    rt.dispatch([run_id])
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert [c["inputs"]["value"] for c in kit.calls] == [0, 1, 2, "end"]  # the charge was not repeated
    assert steps["lines"].output["items"][0]["charge"] == {"charged": True}


def test_an_item_parked_on_a_delay_is_sent_again_once_it_is_due(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    pause = {"id": "pause", "type": "delay", "seconds": "{{ 600 if item == 1 else 0 }}"}
    doc = recipe(
        [for_each("lines", "{{ range(3) | list }}", [pause, echo("post", "{{ item }}")], concurrency=2)]
    )
    run_id = begin(rt, tasks, doc, {})
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "waiting" and run.wake_at is not None
    assert [b.status for b in branches(rt, run_id)] == ["done", "parked", "done"]
    Runner(rt).execute(run_id)  # not due: nothing is sent
    assert not tasks.sent
    with rt.db.transaction() as session:
        step = session.scalar(
            select(StepRun).where(StepRun.run_id == run_id, StepRun.path == "lines.1.pause")
        )
        assert step is not None
        step.started_at = step.started_at - timedelta(seconds=601)
        branch = session.scalar(select(RunBranch).where(RunBranch.run_id == run_id, RunBranch.label == 1))
        assert branch is not None
        branch.parks = [{**branch.parks[0], "wake_at": (utcnow() - timedelta(seconds=1)).isoformat()}]
        session.execute(update(Run).where(Run.id == run_id).values(wake_at=utcnow() - timedelta(seconds=1)))
    assert sweep(rt, fresh_s=0.0) == 1
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert sorted(c["inputs"]["value"] for c in kit.calls) == [0, 1, 2]
    assert kit.calls[-1]["task"][0] == "branch"


def test_branches_that_all_settle_before_the_holder_parks_still_wake_the_run(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt

    def at_once(branch_id: int) -> None:  # a fast worker: done before the holder gives the run up
        BranchRunner(rt).execute(branch_id)

    tasks.submit_branch = at_once  # type: ignore[method-assign]
    doc = recipe([for_each("lines", "{{ range(5) | list }}", [echo("post", "{{ item }}")], concurrency=2)])
    run_id = begin(rt, tasks, doc, {})
    assert sorted(c["inputs"]["value"] for c in kit.calls) == [0, 1, 2, 3, 4]
    run, _steps = rows(rt, run_id)
    assert run.status == "queued" and list(tasks.sent) == [("run", run_id)]  # not left as a join
    tasks.drain()
    run, steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert steps["lines"].output["count"] == 5


def test_a_joined_run_looked_at_again_sends_what_nobody_started(
    spread_rt: tuple[Runtime, EngineKit, QueuedTasks],
) -> None:
    rt, kit, tasks = spread_rt
    doc = recipe([for_each("lines", "{{ range(6) | list }}", [echo("post", "{{ item }}")], concurrency=3)])
    run_id = begin(rt, tasks, doc, {})
    tasks.sent.clear()  # the messages are lost, and with them the items' start
    with rt.db.transaction() as session:
        session.execute(update(RunBranch).where(RunBranch.run_id == run_id).values(status="pending"))
        session.execute(
            update(Run).where(Run.id == run_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert sweep(rt, fresh_s=0.0) == 1  # the join's check is due: the run is sent, not its branches
    tasks.drain(1)
    assert [b.status for b in branches(rt, run_id)] == ["queued"] * 3 + ["pending"] * 3
    tasks.drain()
    run, _steps = rows(rt, run_id)
    assert run.status == "succeeded", run.error
    assert sorted(c["inputs"]["value"] for c in kit.calls) == list(range(6))
