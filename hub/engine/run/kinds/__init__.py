"""The step kinds, by the step's `type`: one module each, with `run` and `resume`.

A new kind is one module in this package with those two functions and one line in `KINDS`; the
walker looks the kind up here and never names one.
"""

from __future__ import annotations

from typing import Any, Protocol

from hub.engine.run.execution import Execution
from hub.engine.run.kinds import action, branch, call, delay, for_each, parallel, set_values, stop, wait_for
from hub.engine.run.outcomes import Outcome
from hub.engine.run.state import StepAt
from hub.recipe_calls import is_call
from hub.recipe_tree import step_type


class StepKind(Protocol):
    def run(self, ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
        """Execute the step (its `when` already found true) and say what it came to."""
        ...

    def resume(self, ex: Execution, at: StepAt, step: dict[str, Any], status: str) -> Outcome:
        """The run was taken up while this step is parked (`waiting` or `held`)."""
        ...


KINDS: dict[str, StepKind] = {
    "action": action,
    "delay": delay,
    "wait_for": wait_for,
    "set": set_values,
    "branch": branch,
    "parallel": parallel,
    "for_each": for_each,
    "stop": stop,
    "call": call,  # an action step on recipe.call: it needs the hub's database, not a connector call
}


def kind_of(step: dict[str, Any]) -> StepKind:
    """The module that runs `step`: its `type`'s, or `call` for the action recipe.call."""
    return KINDS["call" if is_call(step) else step_type(step)]
