"""`for_each` steps: the inner steps once per item of a list, up to `concurrency` items at once.

The list is rendered once and written on the step's row before any item runs, so a resumed run goes
on over the same items: each item's steps have paths of their own (`lines.3.post`), so items already
done are skipped and an item's retries never repeat another item's effect. More items than
`max_items` fails the step before any item runs. A failed item fails the step (items not yet started
never start), unless the step has `continue_on_error`: then every item runs and the output counts the
failed ones. A dry run walks the first three items and reports the count.

Inside, templates see the item under the `as` name, `loop.index` and `loop.length`, and `steps.<id>`
is the item's own output; after the loop the last item's outputs are addressable as `steps.<id>`.
"""

from __future__ import annotations

from collections import ChainMap
from functools import partial
from typing import Any

from hub import templating
from hub.engine.run import walker
from hub.engine.run.execution import Execution
from hub.engine.run.kinds import flow
from hub.engine.run.kinds.flow import resume
from hub.engine.run.outcomes import Failed, Outcome, Parked
from hub.engine.run.state import StepAt
from hub.sdk.errors import RecipeError

__all__ = ["resume", "run"]

DEFAULT_MAX_ITEMS = 1000
MOST_ITEMS = 10_000
DRY_RUN_ITEMS = 3


def run(ex: Execution, at: StepAt, step: dict[str, Any]) -> Outcome:
    items = _items(ex, at, step)
    shown = items[:DRY_RUN_ITEMS] if ex.state.run.dry_run else items
    keep_going = bool(step.get("continue_on_error"))
    results: list[dict[str, Any]] = [{} for _ in shown]
    tasks = [partial(_item, ex, at, step, items, index, results[index]) for index in range(len(shown))]
    width = max(1, min(int(step.get("concurrency") or 1), 10))

    def stop(outcome: Outcome) -> bool:
        return (
            ex.lease.released
            or (isinstance(outcome, Failed) and not keep_going)
            or (width == 1 and isinstance(outcome, Parked))
        )

    outcomes = flow.branches(ex, at, tasks, width, stop, keep_going)
    parked = flow.stopped(ex, outcomes)
    failures = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Failed)]
    if parked is not None and (keep_going or not failures):
        return parked
    if failures and not keep_going:
        ex.parks.drop(f"{at.run_path}.")  # items still parked are left: the loop failed
        index, first = failures[0]
        message = f"{at.run_path}: item {index} failed: {first.error.get('message')}"
        return flow.fail(ex, at, {**first.error, "message": message, "step": at.step_id, "item": index})
    scope_steps = at.context["steps"]
    for entry in results:  # the last item wins as `steps.<inner id>` after the loop
        scope_steps.update(entry)
    return flow.end(ex, at, {"count": len(items), "failed": len(failures), "items": results})


def _items(ex: Execution, at: StepAt, step: dict[str, Any]) -> list[Any]:
    """The items, rendered and checked once and kept on the row (and unredacted for this execution)."""
    live = ex.state.live.get((at.phase, f"{at.run_path}#items"))
    known = flow.decided(ex, at)
    if known is not None and isinstance(known.get("items"), list):
        kept: list[Any] = live if live is not None else known["items"]
        return kept
    path = f"{at.path}.items"
    items = templating.render_value(step.get("items"), at.context, path)
    if not isinstance(items, list):
        raise RecipeError(f"{path}: must give a list, got {type(items).__name__}", path=path)
    limit = min(int(step.get("max_items") or DEFAULT_MAX_ITEMS), MOST_ITEMS)
    if len(items) > limit:
        raise RecipeError(
            f"{path}: {len(items)} items, more than max_items ({limit}); no item was run", path=path
        )
    shown = items[:DRY_RUN_ITEMS] if ex.state.run.dry_run else items
    flow.start(ex, at, {"count": len(items), "items": shown})
    ex.state.live[(at.phase, f"{at.run_path}#items")] = items
    return items


def _item(
    ex: Execution, at: StepAt, step: dict[str, Any], items: list[Any], index: int, results: dict[str, Any]
) -> Outcome:
    """One item's steps, seeing the item, `loop` and their own outputs over the enclosing ones."""
    context = {
        **at.context,
        "steps": ChainMap(results, at.context["steps"]),
        step.get("as") or "item": items[index],
        "loop": {"index": index, "length": len(items)},
    }
    scope = walker.Scope.inside(at, str(index), f"{at.path}.steps", context, item=index)
    outcome = walker.walk_scope(ex, scope, step.get("steps") or [])
    if isinstance(outcome, Failed) and outcome.error.get("step"):
        results[outcome.error["step"]] = {"error": outcome.error}
    return outcome
