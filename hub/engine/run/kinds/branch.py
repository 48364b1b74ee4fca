"""`branch` steps: the first case whose `when` is true runs its steps, else `default` (if any).

The case taken is written before its steps run, so a run resumed inside it goes on in the same case.
Output: `{"case": index}`, `{"case": "default"}`, or `{"case": null}` when nothing matched.
"""

from __future__ import annotations

from typing import Any

from hub import templating
from hub.engine.run import walker
from hub.engine.run.execution import Execution
from hub.engine.run.kinds import flow
from hub.engine.run.kinds.flow import resume
from hub.engine.run.outcomes import Failed, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.recipe_tree import DEFAULT_LABEL

__all__ = ["resume", "run"]


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    known = flow.decided(ex, at)
    case = known["case"] if known is not None and "case" in known else _choose(at, step)
    if case is None:
        return flow.end(ex, at, {"case": None})
    if known is None:
        flow.start(ex, at, {"case": case})
    if case == DEFAULT_LABEL:
        steps, json_path = step.get("default") or [], f"{at.path}.default"
    else:
        steps, json_path = step["cases"][case].get("steps") or [], f"{at.path}.cases[{case}].steps"
    outcome = walker.walk_scope(ex, walker.Scope.inside(at, str(case), json_path), steps)
    if isinstance(outcome, Parked):
        return outcome
    if isinstance(outcome, Failed):
        return flow.fail(ex, at, outcome.error)
    return flow.end(ex, at, {"case": case})


def _choose(at: StepAt, step: dict[str, Any]) -> int | str | None:
    for index, case in enumerate(step.get("cases") or []):
        if templating.evaluate_condition(case["when"], at.context, f"{at.path}.cases[{index}].when"):
            return index
    return DEFAULT_LABEL if "default" in step else None
