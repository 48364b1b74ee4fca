"""Runs started by `recipe.call`: creating the called (child) run, and waking its caller when it ends.

The child run records its parent run and the path of the calling step (unique together, so a call
creates one child however often the step is taken up again). A caller that waits parks its step
`waiting` in the same unit of work that creates the child, so the child cannot end before the
caller has parked; the child's final release writes the caller's step (its output, or the failure)
and queues the caller, in the child's own unit of work. A caller taken up while its step still
waits looks at the child itself (`settled`), so a wake-up is never needed twice and never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub import templating
from hub.db.models import Event, Recipe, Run, StepRun, utcnow
from hub.engine import store
from hub.engine.run.lease import FINAL
from hub.recipe_calls import CALLED_TRIGGER, CALLER_CONNECTOR, MAX_CALL_DEPTH, find_recipe
from hub.recipe_split import choose_version
from hub.recipes import validate_against
from hub.redaction import redact
from hub.sdk.errors import RecipeError

if TYPE_CHECKING:
    from hub.engine.run.state import RunState


def child_of(session: Session, parent_id: int, path: str) -> Run | None:
    """The run a call step already started, if any."""
    query = select(Run).where(Run.parent_run_id == parent_id, Run.parent_path == path)
    return session.scalars(query).first()


def ancestry(session: Session, run_id: int) -> list[tuple[int, int]]:
    """(run id, recipe id) of the run and each run above it, nearest first (bounded by the depth limit)."""
    chain: list[tuple[int, int]] = []
    current: int | None = run_id
    while current is not None and len(chain) <= MAX_CALL_DEPTH:
        row = session.execute(select(Run.recipe_id, Run.parent_run_id).where(Run.id == current)).first()
        if row is None:
            break
        chain.append((current, row.recipe_id))
        current = row.parent_run_id
    return chain


def start_child(session: Session, parent_id: int, path: str, inputs: dict[str, Any], where: str) -> Run:
    """Create the called run (queued, with its event) after the checks a call must pass: the recipe
    exists, is enabled and has the `recipe.called` trigger, is not already in the chain of callers,
    the chain stays within the depth limit, and the event meets the callee's `input_schema`.
    `where` is the step's JSON path, for errors."""
    ref_path = f"{where}.input.recipe"
    target = find_recipe(session, inputs["recipe"])
    if target is None:
        raise RecipeError(f"{ref_path}: no recipe with the id or name '{inputs['recipe']}'", path=ref_path)
    chain = ancestry(session, parent_id)
    if target.id in [recipe_id for _run, recipe_id in chain]:
        callers = " -> ".join(f"recipe {recipe_id} (run {run})" for run, recipe_id in reversed(chain))
        raise RecipeError(f"{ref_path}: a call cycle: {callers} -> recipe {target.id}", path=ref_path)
    if len(chain) > MAX_CALL_DEPTH:
        raise RecipeError(
            f"{ref_path}: calls nest at most {MAX_CALL_DEPTH} deep; this run is {len(chain) - 1} deep",
            path=ref_path,
        )
    # the call's event id, like a vendor's: a split chooses the version by it, as a replay does
    dedupe_key = f"call:{parent_id}:{path}"[:255]
    version = choose_version(target.id, target.split, target.current_version, dedupe_key)
    _name, document = store.read_version(session, target.id, version)
    _check_callee(target, document, ref_path)
    event = inputs.get("event") or {}
    schema = document["trigger"].get("config", {}).get("input_schema")
    if schema:
        validate_against(schema, event, f"{where}.input.event", allow_templates=False)
    stored = Event(
        recipe_id=target.id, source="call", dedupe_key=dedupe_key, payload=event, received_at=utcnow()
    )
    session.add(stored)
    session.flush()
    child = Run(
        recipe_id=target.id,
        recipe_version=version,
        event_id=stored.id,
        status="queued",
        parent_run_id=parent_id,
        parent_path=path,
    )
    session.add(child)
    session.flush()
    return child


def _check_callee(target: Recipe, document: dict[str, Any], path: str) -> None:
    trigger = document["trigger"]
    if (trigger["connector"], trigger["trigger"]) != (CALLER_CONNECTOR, CALLED_TRIGGER):
        raise RecipeError(
            f"{path}: recipe {target.id} ('{target.name}') cannot be called: its trigger is "
            f"{trigger['connector']}.{trigger['trigger']}, not {CALLER_CONNECTOR}.{CALLED_TRIGGER}",
            path=path,
        )
    if not target.enabled:
        raise RecipeError(f"{path}: recipe {target.id} ('{target.name}') is disabled", path=path)


def outcome_of(child: Run | Ended) -> tuple[str, Any]:
    """('succeeded', output) or ('failed', error) for a child that ended; a filtered child gives null."""
    if child.status in ("succeeded", "filtered"):
        return "succeeded", child.output if child.status == "succeeded" else None
    error = dict(child.error or {})
    message = error.get("message") or f"the called run was {child.status}"
    return "failed", {
        "message": f"called run {child.id} {child.status}: {message}",
        "code": error.get("code") or "call_failed",
        "run_id": child.id,
    }


def end_child(
    session: Session, child: Run | Ended, parent_id: int, path: str, *, dispatching: bool
) -> int | None:
    """In the child's final write: settle the caller's waiting step and queue the caller; answers the
    caller's id when it should be dispatched. `child` has the child's id, final status, output, error.
    With `dispatching`, the caller is marked sent (the caller of this dispatches it after commit);
    otherwise the sweeper sends it."""
    # Core statements, not ORM changes: this runs inside a worker's grouped write on SQLite, where a
    # unit is undone by a plain savepoint that pending ORM changes would outlive.
    parent = session.execute(select(Run.status).where(Run.id == parent_id).with_for_update()).first()
    if parent is None or parent.status in FINAL:
        return None
    query = select(StepRun.id, StepRun.step_id, StepRun.status)
    step = session.execute(query.where(StepRun.run_id == parent_id, StepRun.path == path)).first()
    if step is None or step.status != "waiting":
        return None  # not waiting for it (no `wait`, or settled already): nothing to wake
    status, value = outcome_of(child)
    settled: dict[str, Any] = {"status": status, "finished_at": utcnow()}
    if status == "succeeded":
        settled.update(output=value, error=None)
    else:
        settled["error"] = {**value, "step": step.step_id}
    _execute(session, update(StepRun).where(StepRun.id == step.id).values(**settled))
    if parent.status != "waiting":
        return None  # a caller still held by its worker finds the settled step itself
    woken: dict[str, Any] = {"status": "queued", "wake_at": None}
    if dispatching:
        woken["dispatched_at"] = utcnow()
    _execute(session, update(Run).where(Run.id == parent_id, Run.status == "waiting").values(**woken))
    return parent_id


def _execute(session: Session, statement: Any) -> None:
    session.execute(statement, execution_options={"synchronize_session": False})


class RunEnd:
    """What a run's final release writes besides its status: the recipe's rendered `output` (when it
    succeeds) and, for a called run, its caller's wake-up. Made only for runs that have either."""

    def __init__(self, state: RunState, run: Any) -> None:
        self.state = state
        self.parent: tuple[int, str] | None = (
            (run.parent_run_id, run.parent_path) if getattr(run, "parent_run_id", None) else None
        )

    @staticmethod
    def wanted(state: RunState, run: Any) -> bool:
        return "output" in state.document or getattr(run, "parent_run_id", None) is not None

    def complete(self, params: dict[str, Any]) -> None:
        """Add the rendered output to a succeeding release; a template that fails fails the run."""
        if params["status"] != "succeeded" or "output" not in self.state.document:
            return
        try:
            value = templating.render_value(self.state.document["output"], self.state.context, "$.output")
        except RecipeError as exc:
            params["status"] = "failed"
            params["error"] = {"message": exc.message, "code": exc.code, "path": exc.path}
            return
        params["output"] = redact(value, self.state.secrets)

    def write(self, session: Session, run_id: int, params: dict[str, Any]) -> int | None:
        """In the release's unit of work: wake the caller of a called run."""
        if self.parent is None or params["status"] not in FINAL:
            return None
        child = Ended(run_id, params["status"], params.get("output"), params.get("error"))
        return end_child(session, child, *self.parent, dispatching=True)


@dataclass(frozen=True)
class Ended:
    """A child run as its final release describes it (the row is not read back)."""

    id: int
    status: str
    output: Any
    error: dict[str, Any] | None
