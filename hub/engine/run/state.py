"""What a worker knows of the run it executes: the rows read at the start and the template context.

Step rows are read once and kept here, updated in place by every write, so the walker never reads
them again; `StepAt` names where a step sits (phase, position, JSON path), which is what a step's
row and its messages are keyed by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.db.models import utcnow
from hub.engine import store
from hub.engine.statements import Record
from hub.recipe_store import hook_urls
from hub.utilities import lookup
from hub.utilities.secrets import SecretsView, loader, refuse_outside_inputs

if TYPE_CHECKING:
    from hub.runtime import Runtime


@dataclass(frozen=True)
class StepAt:
    """One step of the document: its phase (`main` or `on_failure`), position in its list of steps,
    id and JSON path; where it runs (`run_path`: the id at the top level, `lines.3.post` inside item
    3 of the for_each `lines`), the for_each item it runs for, and the template context it sees."""

    phase: str
    index: int
    step_id: str
    path: str
    run_path: str = ""
    item: int | None = None
    depth: int = 0  # how many flow steps enclose it
    context: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.run_path:
            object.__setattr__(self, "run_path", self.step_id)

    @property
    def nested(self) -> bool:
        """Inside a branch, parallel or for_each: its parks are joined, not the run's own."""
        return self.run_path != self.step_id


class RunState:
    """The run, its recipe version, its event, its step rows, the secrets to redact and the context."""

    def __init__(
        self, session: Any, runtime: Runtime, run: Record, fresh_event: dict[str, Any] | None = None
    ) -> None:
        """`fresh_event`: a run this process just stored comes with its event and has no steps yet."""
        self.run = run
        version = runtime.recipes.version(
            session, run.recipe_id, run.recipe_version, runtime.vault, runtime.registry
        )
        self.document, project_id = version.document, version.project_id
        self.recipe = Record(id=run.recipe_id, name=version.name)
        if fresh_event is None:
            self.event = store.read_event_payload(session, run.event_id)
            self.steps = {(s.phase, s.path): s for s in store.read_steps(session, run.id)}
        else:
            self.event, self.steps = fresh_event, {}
        # Outputs as the steps gave them, for the life of this execution: only what is stored is
        # redacted, so a presigned URL reaches later steps intact (a resumed run reads the stored ones).
        self.live: dict[tuple[str, str], Any] = {}
        self.secrets = list(version.secrets)  # kept out of stored inputs; grows with the ones used
        # Named secrets open in action inputs only; each one used joins `secrets` before it renders.
        self.secrets_view = SecretsView(loader(runtime.db, runtime.vault, project_id), self.secrets.append)
        self.context: dict[str, Any] = {
            "event": self.event,
            "steps": {},
            "run": {"id": run.id, "started_at": (run.started_at or utcnow()).isoformat()},
            "recipe": {
                "id": self.recipe.id,
                "name": self.recipe.name,
                "version": run.recipe_version,
                "timezone": self.document.get("timezone") or "UTC",
            },
            "secrets": SecretsView(refuse_outside_inputs, self.secrets.append),
            "lookup": lookup.template_function(runtime.db, project_id),
        }
        if version.names_hooks:  # so a step can hand a vendor the URL its wait_for listens at
            self.context["recipe"].update(hook_urls(session, runtime, self.recipe))

    def step(self, at: StepAt) -> Record | None:
        return self.steps.get((at.phase, at.run_path))

    def output(self, at: StepAt, stored: Any) -> Any:
        """The step's output as later templates see it: as given in this execution, else as stored."""
        return self.live.get((at.phase, at.run_path), stored)

    def write_step(self, session: Any, at: StepAt, **values: Any) -> Record:
        """The step's row, inserted on first use, with `values` written to it."""
        state = self.steps.get((at.phase, at.run_path))
        if state is None:
            keys = {
                "run_id": self.run.id,
                "step_id": at.step_id,
                "phase": at.phase,
                "position": at.index,
                "path": at.run_path,
                "item": at.item,
            }
            state = self.steps[(at.phase, at.run_path)] = store.insert_step(session, keys, values)
        elif values:
            store.update_step(session, state, values)
        return state

    def ends_run(self, at: StepAt) -> bool:
        """Whether a success of this step finishes the run, so both are written in one unit of work
        (not when the recipe has an `output`: it is rendered once the step's output is in the context)."""
        last = at.phase == "main" and not at.nested and at.index == len(self.document.get("steps") or []) - 1
        return last and "output" not in self.document
