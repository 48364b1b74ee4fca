"""Test one step while building: what it would do with the sample, rendered as a run renders it.

A dry test: the step's condition is evaluated and its templated values are rendered against the
editor's sample (the event, the earlier steps' sample outputs, the loop item inside a for each) in
the runs' sandbox and limits. Nothing is sent; a saved recipe can be run for real with the sample
through the recipe's test run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from hub import jsonutil, templating
from hub.recipes import step_type
from hub.sdk.errors import HubError
from hub.web.recipe_form import StepView

RENDERED = {
    "action": "input",
    "set": "values",
    "delay": "seconds",
    "wait_for": "match",
    "stop": "message",
    "for_each": "items",
}


@dataclass(frozen=True)
class StepTest:
    ok: bool
    summary: str
    detail: str = ""


def dry_test(step: dict[str, Any], path: str, context: dict[str, Any]) -> StepTest:
    """The outcome of `step` on the sample: skipped, the values it would use, or the template error."""
    kind = step_type(step)
    try:
        if step.get("when") and not templating.evaluate_condition(step["when"], context, f"{path}.when"):
            return StepTest(True, _("With this sample the step is skipped: its condition is false."))
        if kind == "branch":
            for index, case in enumerate(step.get("cases") or []):
                if templating.evaluate_condition(
                    case.get("when") or "", context, f"{path}.cases[{index}].when"
                ):
                    return StepTest(True, _("With this sample case %(n)s is taken.", n=index + 1))
            return StepTest(True, _("With this sample no case matches; the “otherwise” steps run."))
        key = RENDERED.get(kind)
        if key is None or key not in step:
            return StepTest(True, _("With this sample the step runs; it has no templated values."))
        value = templating.render_value(step[key], context, f"{path}.{key}")
    except HubError as exc:
        return StepTest(False, _("The step would fail with this sample:"), exc.message)
    return StepTest(True, _("With this sample the step would use:"), jsonutil.dumps(value, indent=2))


def find_view(views: list[StepView], uid: str) -> StepView | None:
    for view in views:
        if view.uid == uid:
            return view
        for block in view.blocks:
            found = find_view(block.steps, uid)
            if found is not None:
                return found
    return None
