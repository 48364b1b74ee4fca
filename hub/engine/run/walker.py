"""Walks a list of steps in order: skips what is done, runs the rest by kind, stops at a park or a
failure. A step's outcome lands in the context (`steps.<id>`) before the next step renders.

A step kind is looked up in `kinds.KINDS`; a recipe or permanent error raised while a step runs is
written as that step's failure here, so every kind fails the same way. A `Scope` says where a list
runs: at the top level of a phase, or inside a branch case, a parallel branch or a for_each item,
whose steps' paths carry the container's id and the case, branch or item index.

An execution focused on one branch (`Execution.focus`, a spread branch's own task) walks down to it:
the steps beside it only give their outputs to the context, the flow steps enclosing it are entered,
and what the outermost of them comes to is the branch's outcome; nothing after it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub import templating
from hub.db.models import utcnow
from hub.engine.run.execution import Execution
from hub.engine.run.kinds import kind_of
from hub.engine.run.outcomes import Done, Failed, Outcome, Parked, Skipped, error_info
from hub.engine.run.state import StepAt
from hub.redaction import redact
from hub.sdk.errors import PermanentError, RecipeError

MAX_DEPTH = 4  # flow steps nest at most this deep (CONTRACT §6)


@dataclass(frozen=True)
class Scope:
    """Where a list of steps runs: its phase, the path prefix of its steps (empty at the top level),
    the JSON path of the list, the for_each item, the nesting depth and the template context."""

    phase: str
    prefix: str
    json_path: str
    context: dict[str, Any]
    item: int | None = None
    depth: int = 0

    @classmethod
    def top(cls, ex: Execution, phase: str) -> Scope:
        return cls(phase, "", "$.steps" if phase == "main" else "$.on_failure", ex.state.context)

    @classmethod
    def inside(
        cls,
        at: StepAt,
        label: str,
        json_path: str,
        context: dict[str, Any] | None = None,
        item: int | None = None,
    ) -> Scope:
        """The steps of flow step `at` under `label` (a case, branch or item index)."""
        if at.depth + 1 > MAX_DEPTH:
            raise RecipeError(f"{json_path}: steps nest more than {MAX_DEPTH} levels deep", path=json_path)
        return cls(
            at.phase,
            f"{at.run_path}.{label}.",
            json_path,
            at.context if context is None else context,
            at.item if item is None else item,
            at.depth + 1,
        )

    def at(self, index: int, step: dict[str, Any]) -> StepAt:
        return StepAt(
            self.phase,
            index,
            step["id"],
            f"{self.json_path}[{index}]",
            f"{self.prefix}{step['id']}",
            self.item,
            self.depth,
            self.context,
        )


def walk(ex: Execution, phase: str, steps: list[dict[str, Any]]) -> Done | Parked | Failed:
    """Run the top-level `steps` of `phase` from where the run stands."""
    return walk_scope(ex, Scope.top(ex, phase), steps)


def walk_scope(ex: Execution, scope: Scope, steps: list[dict[str, Any]]) -> Done | Parked | Failed:
    """Run `steps` in `scope` from where the run stands: `Done` once all ended (or failed with
    `continue_on_error`), else the park or failure that stopped the walk."""
    results = scope.context["steps"]
    for index, step in enumerate(steps):
        at = scope.at(index, step)
        state = ex.state.step(at)
        status = state.status if state else "pending"
        if ex.focus and not at.run_path.startswith(ex.focus):
            if ex.focus.startswith(f"{at.run_path}."):
                entered = _step(ex, at, step, status)  # encloses the focused branch
                return Done() if isinstance(entered, Skipped) else entered
            if status not in ("succeeded", "skipped", "failed"):
                continue  # beside the focused branch, not ours to run
        if status in ("succeeded", "skipped"):
            results[at.step_id] = ex.state.output(at, state.output if state else None)
            continue
        if status == "failed":
            if step.get("continue_on_error"):
                results[at.step_id] = {"error": state.error if state else None}
                continue
            return Failed(state.error if state else {"message": "step failed", "step": at.step_id})
        try:
            outcome = _step(ex, at, step, status)
        except (RecipeError, PermanentError) as exc:
            error = redact(error_info(exc, at.step_id), ex.state.secrets)
            ex.save_step(at, status="failed", error=error, finished_at=utcnow())
            outcome = Failed(error)
        if isinstance(outcome, Parked):
            return outcome
        if isinstance(outcome, Failed):
            if step.get("continue_on_error"):
                results[at.step_id] = {"error": outcome.error}
                continue
            return outcome
        results[at.step_id] = outcome.output if isinstance(outcome, Done) else None
    return Done()


def _step(ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
    kind = kind_of(step)
    if status in ("waiting", "held"):
        return kind.resume(ex, at, step, status)
    if (
        status == "pending"
        and step.get("when")
        and not templating.evaluate_condition(step["when"], at.context, f"{at.path}.when")
    ):
        ex.save_step(at, status="skipped", finished_at=utcnow())
        return Skipped()
    return kind.run(ex, at, step)
