"""What a step kind is handed: the run's lease and state, and the writes that keep them together.

Each write renews the lease first and updates the kept step row, so a step kind never writes a row
of a run it no longer holds. `park` writes the step and gives the run up in one unit of work; a step
nested in a branch, parallel or for_each only notes its park (`Parks`), and the run is given up once
nothing else can proceed (`Parks.release`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.connections import find_connection, merged_fields
from hub.db.models import Connection
from hub.engine import store
from hub.engine.run.fanout import Threads
from hub.engine.run.lease import Lease
from hub.engine.run.outcomes import Parked
from hub.engine.run.parks import Parks
from hub.engine.run.state import RunState, StepAt
from hub.projects import ensure_reachable
from hub.sdk.errors import RecipeError

if TYPE_CHECKING:
    from hub.runtime import Runtime


@dataclass
class Execution:
    """One run being executed by this worker: its runtime, lease and state."""

    rt: Runtime
    lease: Lease
    state: RunState
    parks: Parks = field(default_factory=Parks)
    threads: Threads = field(default_factory=Threads)
    spreads: bool = False  # fan-outs become tasks of their own (`spread`), not threads of this one
    focus: str = ""  # the one branch this execution runs (`lines.3.`), when it is such a task

    @property
    def db(self) -> Any:
        return self.rt.db

    @property
    def run_id(self) -> int:
        return self.lease.run_id

    def save_step(self, at: StepAt, *, attempts: Sequence[dict[str, Any]] = (), **values: Any) -> None:
        """Write the step's `values` (and the ends of `attempts`) in a write of their own."""

        def save(session: Any) -> None:
            self.lease.renew(session)
            store.end_attempts(session, attempts)
            self.state.write_step(session, at, **values)

        self.db.write(save)

    def park(
        self,
        at: StepAt,
        run_status: str,
        *,
        wake_at: Any = None,
        run_error: dict[str, Any] | None = None,
        attempts: Sequence[dict[str, Any]] = (),
        **values: Any,
    ) -> None:
        """Write the step's `values` (and its last attempt's end) and give the run up as `run_status`
        in one unit of work: an interruption between them would leave a parked step under a run taken
        up again at once (a delay cut short), or an attempt ended `unknown` whose hold was never
        written (the action repeated)."""
        if at.nested:
            self.save_step(at, attempts=attempts, **values)
            self.parks.note(at.run_path, run_status, wake_at=wake_at, error=run_error)
            return
        params = self.lease.release_params(run_status, wake_at=wake_at, error=run_error)

        def park(session: Any) -> None:
            self.lease.renew(session)
            store.end_attempts(session, attempts)
            self.state.write_step(session, at, **values)
            self.lease.release_in(session, params)

        self.db.write(park)
        self.lease.released_as(run_status)

    def stay_parked(self, at: StepAt, status: str, *, wake_at: Any = None, on_event: bool = False) -> Parked:
        """A step found still parked: nested, its park is noted again for the joined release."""
        if at.nested:
            self.parks.note(at.run_path, status, wake_at=wake_at, on_event=on_event)
        return Parked(status)

    def connection(self, name: str, path: str) -> tuple[Connection, dict[str, Any]]:
        """The named connection and its fields, read with the check that the recipe's project reaches
        it in one transaction (every step with a connection asks); an unknown name is the recipe's error."""
        with self.db.read() as session:
            row = find_connection(session, name)
            if row is None:
                raise RecipeError(f"{path}: unknown connection '{name}'", path=path)
            ensure_reachable(session, self.state.recipe.id, name, path, row)
            return row, merged_fields(row, self.rt.vault)
