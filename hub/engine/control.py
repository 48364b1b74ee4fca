"""What people do to runs: cancel, replay (whole, from a step, in bulk) and resolve held runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.connections import NotFound
from hub.db.models import Event, Recipe, RecipeVersion, Run, StepRun, Wait, utcnow
from hub.engine.calls import end_child
from hub.engine.run import branch_rows
from hub.engine.run.nesting import position
from hub.recipe_split import choose_version, event_key
from hub.recipe_tree import step_type, walk_steps
from hub.sdk.errors import HubError

if TYPE_CHECKING:
    pass

FINAL = ("succeeded", "failed", "filtered", "cancelled")


class InvalidState(HubError):
    """The run is not in a state that allows this."""

    code = "invalid_state"


def start_test_run(session: Session, recipe: Recipe, event: dict[str, Any], *, dry_run: bool) -> int:
    """A run of the recipe's current version on a given event (the API's and the UI's "test"); the
    caller executes it once this transaction committed. A dry run renders every step, performs none."""
    stored = Event(recipe_id=recipe.id, source="test", payload=event)
    session.add(stored)
    session.flush()
    run = Run(recipe_id=recipe.id, recipe_version=recipe.current_version, event_id=stored.id, dry_run=dry_run)
    session.add(run)
    session.flush()
    return run.id


NOT_ALONE = ("delay", "wait_for")  # they park the run for a time or an event: no quick answer


def start_step_test_run(
    session: Session, recipe: Recipe, event: dict[str, Any], step_id: str, outputs: dict[str, Any]
) -> int:
    """A real test run of one top-level main step of the recipe's current version (the editor's "run
    this step for real"): the earlier steps are recorded as succeeded with `outputs` (their sample
    outputs, seen as `steps.<id>`), the later ones and the failure steps as skipped, so the walker
    performs this step alone, with its connection, limits, retries and idempotency key."""
    document = session.scalar(
        select(RecipeVersion.document).where(
            RecipeVersion.recipe_id == recipe.id, RecipeVersion.version == recipe.current_version
        )
    )
    steps = (document or {}).get("steps") or []
    ids = [step.get("id") for step in steps]
    if step_id not in ids:
        raise InvalidState(f"the saved recipe has no top-level step '{step_id}'")
    target = ids.index(step_id)
    if any(step_type(step) in NOT_ALONE for step in walk_steps([steps[target]])):
        raise InvalidState(f"step '{step_id}' waits (a delay or a wait for an event): test it dry")
    run_id = start_test_run(session, recipe, event, dry_run=False)
    run = get_run(session, run_id)
    run.from_step = step_id
    kept = [("main", i, s, i < target) for i, s in enumerate(steps) if i != target]
    kept += [("on_failure", i, s, False) for i, s in enumerate((document or {}).get("on_failure") or [])]
    for phase, index, step, before in kept:
        session.add(
            StepRun(
                run_id=run_id,
                step_id=step["id"],
                path=step["id"],
                phase=phase,
                position=index,
                status="succeeded" if before else "skipped",
                output=outputs.get(step["id"]) if before else None,
                finished_at=utcnow(),
            )
        )
    return run_id


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run


def cancel(session: Session, run_id: int) -> Run:
    """Takes effect at once: the run is final now; a worker mid-step stops at its next write."""
    run = get_run(session, run_id)
    if run.status in FINAL:
        raise InvalidState(f"run {run_id} is already {run.status}")
    run.status, run.finished_at, run.wake_at = "cancelled", utcnow(), None
    run.lease_owner = run.lease_expires_at = None
    session.execute(delete(Wait).where(Wait.run_id == run_id))
    branch_rows.cancel(session, run_id)
    for step in run.steps:
        if step.status in ("pending", "running", "retrying", "waiting", "held"):
            step.status = "cancelled"
    if run.parent_run_id is not None and run.parent_path is not None:  # a caller waiting for it goes on
        end_child(session, run, run.parent_run_id, run.parent_path, dispatching=False)
    return run


def replay_version(session: Session, recipe: Recipe, event_id: int | None) -> int:
    """The version a replay of an event's run starts: the current one, or under an A/B split the one
    the event's key picks (the version its first run had, while the split is the same)."""
    if not recipe.split or event_id is None:
        return recipe.current_version
    dedupe_key = session.scalar(select(Event.dedupe_key).where(Event.id == event_id))
    return choose_version(recipe.id, recipe.split, recipe.current_version, event_key(dedupe_key, event_id))


def replay(session: Session, run_id: int, from_step: str | None = None) -> Run:
    """A new run of the same event on the recipe's current version (or the version an A/B split
    picks for the event), from the start or from a step."""
    original = get_run(session, run_id)
    recipe = session.get(Recipe, original.recipe_id)
    if recipe is None or recipe.deleted_at is not None:
        raise NotFound(f"recipe {original.recipe_id} not found")
    new = Run(
        recipe_id=original.recipe_id,
        recipe_version=replay_version(session, recipe, original.event_id),
        event_id=original.event_id,
        status="queued",
        replay_of=original.id,
        from_step=from_step,
    )
    session.add(new)
    session.flush()
    if from_step:
        document = session.scalar(
            select(RecipeVersion.document).where(
                RecipeVersion.recipe_id == recipe.id, RecipeVersion.version == new.recipe_version
            )
        )
        for step in _steps_before(original, document or {}, from_step):
            session.add(
                StepRun(
                    run_id=new.id,
                    step_id=step.step_id,
                    path=step.path,
                    item=step.item,
                    phase="main",
                    position=step.position,
                    status=step.status,
                    input=step.input,
                    output=step.output,
                    finished_at=step.finished_at,
                )
            )
    return new


def _steps_before(original: Run, document: dict[str, Any], from_step: str) -> list[StepRun]:
    """The main steps of `original` that come before the step path `from_step` in document order,
    kept by a replay from it: all of the run's steps before it, those of other for_each items, and
    the inner steps before it in its own item or branch; not the flow steps enclosing it (they run
    again, skipping what was kept)."""
    main = [s for s in original.steps if s.phase == "main"]
    target = position(document, "main", from_step)
    if target is None or from_step not in {s.path for s in main}:
        raise InvalidState(f"run {original.id} has no step '{from_step}' to replay from")
    kept = []
    for step in main:
        key = position(document, "main", step.path)
        if key is None or key >= target or target[: len(key)] == key:
            continue
        if step.status not in ("succeeded", "skipped"):
            raise InvalidState(f"step '{step.path}' before '{from_step}' did not succeed; replay from it")
        kept.append(step)
    return kept


def replay_failed(session: Session, recipe_id: int, since: datetime | None) -> list[Run]:
    """Replay every failed run of a recipe (since a time) that has not been replayed already."""
    query = select(Run).where(Run.recipe_id == recipe_id, Run.status == "failed")
    if since is not None:
        query = query.where(Run.created_at >= since)
    replayed = set(session.scalars(select(Run.replay_of).where(Run.replay_of.is_not(None))))
    return [
        replay(session, run.id) for run in session.scalars(query.order_by(Run.id)) if run.id not in replayed
    ]


def resolve(session: Session, run_id: int, action: str, output: dict[str, Any] | None = None) -> Run:
    """A person's decision on a held run: try the step again, take it as done, or fail it."""
    run = get_run(session, run_id)
    if run.status != "held":
        raise InvalidState(f"run {run_id} is {run.status}, not held")
    step = next((s for s in run.steps if s.status == "held"), None)
    if step is None:
        raise InvalidState(f"run {run_id} has no held step")
    if action == "retry":
        step.status = "pending"
    elif action == "mark_done":
        step.status, step.output, step.error, step.finished_at = "succeeded", output or {}, None, utcnow()
    elif action == "fail":
        step.status, step.finished_at = "failed", utcnow()
        step.error = {**(step.error or {}), "message": "failed by a person after an unknown outcome"}
    else:
        raise InvalidState(f"unknown action '{action}': use retry, mark_done or fail")
    run.status, run.wake_at, run.error, run.dispatched_at = "queued", None, None, utcnow()
    return run
