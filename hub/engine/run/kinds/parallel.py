"""`parallel` steps: every branch runs at once (threads of the run's lease holder, see `fanout`, or
under the Celery executor tasks of their own, see `spread`).

The step ends when every branch has ended, and fails if one failed. A branch that parks (a delay, a
wait_for) does not hold the others up: the run is given up only once no branch can go on, and the
wait's end resumes just that branch (the others' steps are done and skipped). Output: `{"branches": n}`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hub.engine.run import walker
from hub.engine.run.execution import Execution
from hub.engine.run.kinds import flow
from hub.engine.run.kinds.flow import resume
from hub.engine.run.outcomes import Failed, Outcome
from hub.engine.run.state import StepAt

__all__ = ["resume", "run"]


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    branches = step.get("branches") or []
    if flow.decided(ex, at) is None:
        flow.start(ex, at, {"branches": len(branches)})
    tasks = [
        partial(
            walker.walk_scope, ex, walker.Scope.inside(at, str(i), f"{at.path}.branches[{i}]"), steps or []
        )
        for i, steps in enumerate(branches)
    ]
    outcomes = flow.branches(ex, at, tasks, len(tasks), lambda outcome: False, keep_going=True)
    parked = flow.stopped(ex, outcomes)
    if parked is not None:
        return parked
    failed = next((o for o in outcomes if isinstance(o, Failed)), None)
    if failed is not None:
        return flow.fail(ex, at, failed.error)
    return flow.end(ex, at, {"branches": len(branches)})
