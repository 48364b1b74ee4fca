"""Executes one run step by step, writing every state change before acting on it.

A run is claimed with a lease (compare-and-set on the runs row), so it is executed by one worker
at a time even when it is dispatched twice, and a run left by a crashed worker is taken up again
once its lease expires. A run never claimed before is read first and claimed by its first write.
An attempt row written before each action call, and still `started` when the run is taken up
again, marks an unknown outcome: repeat-safe actions run again with the same idempotency key,
the others are held for a person to decide.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hub import templating
from hub.db.errors import describe, is_transient
from hub.db.models import Connection, Wait, utcnow
from hub.engine import intake, store
from hub.engine.actions import PARKED, ActionSteps, error_info
from hub.engine.contexts import load_connection
from hub.engine.statements import Record
from hub.recipe_secrets import secret_values
from hub.recipe_store import hook_urls
from hub.recipes import step_type, validate_against
from hub.sdk.connector import PollingTrigger
from hub.sdk.errors import PermanentError, RecipeError

if TYPE_CHECKING:
    from hub.runtime import Runtime

log = logging.getLogger("hub.runner")
FINAL = {"succeeded", "failed", "filtered", "cancelled"}
# Giving an interrupted run back: tries spaced so a dropped connection is replaced in between, all
# within a bound (a SQLite busy wait counts too), and how soon the run is due again (the sweeper
# dispatches it at its next pass after that).
GIVE_BACK_DELAYS_S = (0.0, 0.2, 0.5, 1.0)
GIVE_BACK_WITHIN_S = 3.0
RESUME_AFTER_S = 1.0


class LostLease(Exception):
    """The run was cancelled or taken over; this worker stops touching it."""


class Runner(ActionSteps):
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.db = runtime.db

    # -- leases -------------------------------------------------------------------------------
    def _lease_until(self) -> Any:
        return utcnow() + timedelta(seconds=self.rt.settings.lease_s)

    def claim(self, run_id: int) -> bool:
        params = {"b_id": run_id, "b_now": utcnow(), "b_owner": self.rt.owner, "b_until": self._lease_until()}
        claimed: bool = self.db.write(lambda session: store.claim(session, params))
        return claimed

    def _renew(self, session: Any) -> None:
        """Extend the lease (first taking it, for a fresh run); every write of a run starts here."""
        params = {"b_id": self.run_id, "b_owner": self.rt.owner, "b_until": self._lease_until()}
        if self.claim_lazily:
            params["b_now"] = utcnow()
        if not store.renew(session, params, claim_fresh=self.claim_lazily):
            raise LostLease()

    def release_params(
        self, status: str, *, wake_at: Any = None, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The RELEASE statement's parameters: the lease given up, the run's new status."""
        params: dict[str, Any] = {
            "b_id": self.run_id,
            "b_owner": self.rt.owner,
            "status": status,
            "lease_owner": None,
            "lease_expires_at": None,
            "wake_at": wake_at,
        }
        if status in FINAL:
            params["finished_at"] = utcnow()
        if error is not None:
            params["error"] = error
        return params

    def _release(self, status: str, *, wake_at: Any = None, error: dict[str, Any] | None = None) -> None:
        params = self.release_params(status, wake_at=wake_at, error=error)

        def release(session: Any) -> None:
            self._release_in(session, params)

        self.db.write(release)
        self._released(status)

    def _release_in(self, session: Any, params: dict[str, Any]) -> None:
        if self.claim_lazily:  # a run released by its first write (filtered, crashed) is claimed first
            self._renew(session)
        if not store.release(session, params):
            raise LostLease()

    def _released(self, status: str) -> None:
        self.released = True
        if status in FINAL or status == "held":
            self.rt.metrics.runs_finished.labels(status).inc()

    def ends_run(self, phase: str, index: int) -> bool:
        """Whether a success of this step finishes the run, so both are written in one unit of work."""
        return phase == "main" and index == len(self.document.get("steps") or []) - 1

    # -- entry point --------------------------------------------------------------------------
    def execute(self, run_id: int) -> None:
        """Run (or continue) `run_id` if it is due and nobody else holds it. A database error that
        passes (connection lost, failover, lock timeout) interrupts the run without failing it."""
        self.run_id = run_id
        self.released = False
        self.engaged = False  # set once this worker may have written (and so hold the lease)
        try:
            self._execute(run_id)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("event=run_interrupted run=%s reason=database error=%s", run_id, describe(exc))
            self._give_back()

    def _give_back(self) -> None:
        """Hand an interrupted run back, due again shortly, so the sweeper dispatches it; if the
        database stays away, the lease expires and the sweeper takes the run up then. An attempt
        left `started` is an unknown outcome when the run resumes (repeat-safe or held)."""
        if not self.engaged or self.released:
            return
        deadline = time.monotonic() + GIVE_BACK_WITHIN_S
        for delay in GIVE_BACK_DELAYS_S:
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            try:
                self._release("queued", wake_at=utcnow() + timedelta(seconds=RESUME_AFTER_S))
                return
            except LostLease:  # finished after all (its commit went through), cancelled or taken over
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
        log.warning("event=run_left_for_lease_expiry run=%s", self.run_id)

    def _execute(self, run_id: int) -> None:
        with self.db.read() as session:
            run = self._read_run(session)
            self.claim_lazily = run is not None and self._fresh(run)
            if run is not None and self.claim_lazily:
                self._load(session, run)
        if run is None:
            return
        self.engaged = True
        if not self.claim_lazily:
            if not self.claim(run_id):
                return
            with self.db.read() as session:
                run = self._read_run(session)
                assert run is not None
                self._load(session, run)
        try:
            self._drive()
        except LostLease:
            log.info("event=run_stopped run=%s reason=cancelled_or_taken_over", run_id)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("event=run_crashed run=%s", run_id)
            with contextlib.suppress(LostLease):
                self._release("failed", error=error_info(exc))

    @staticmethod
    def _fresh(run: Record) -> bool:
        """Never claimed and due: nothing of it can change until a worker claims it."""
        due = run.wake_at is None or run.wake_at <= utcnow()
        return run.status == "queued" and run.started_at is None and due

    def _read_run(self, session: Any) -> Record | None:
        return store.read_run(session, self.run_id)

    def _load(self, session: Any, run: Record) -> None:
        self.run = run
        name, self.document, names_hooks = self.rt.recipes.version(
            session, run.recipe_id, run.recipe_version, self.rt.vault, self.rt.registry
        )
        self.recipe = Record(id=run.recipe_id, name=name)
        self.event = store.read_event_payload(session, run.event_id)
        steps = store.read_steps(session, self.run_id)
        self.states = {(s.phase, s.step_id): s for s in steps}
        self.secrets = secret_values(self.document, self.rt.registry)  # kept out of stored inputs
        self.context: dict[str, Any] = {
            "event": self.event,
            "steps": {},
            "run": {"id": run.id, "started_at": (run.started_at or utcnow()).isoformat()},
            "recipe": {"id": self.recipe.id, "name": self.recipe.name, "version": run.recipe_version},
        }
        if names_hooks:  # so a step can hand a vendor the URL its wait_for listens at
            self.context["recipe"].update(hook_urls(session, self.rt, self.recipe))

    def _drive(self) -> None:
        doc = self.document
        if self.run.phase == "main":
            fresh = not self.states and not self.run.from_step
            if (
                fresh
                and doc.get("filter")
                and not templating.evaluate_condition(doc["filter"], self.context, "$.filter")
            ):
                self._release("filtered")
                return
            outcome = self._run_steps("main", doc.get("steps") or [])
            if outcome == PARKED:
                return
            if outcome is None:
                if not self.released:  # else the last step's own write finished the run
                    self._release("succeeded")
                return
            self.run.error = outcome
            if not doc.get("on_failure"):
                self._release("failed", error=outcome)
                return
            with self.db.transaction() as session:
                self._renew(session)
                store.enter_on_failure(session, self.run_id, outcome)
        self.context["error"] = self.run.error or {}
        outcome = self._run_steps("on_failure", doc.get("on_failure") or [])
        if outcome == PARKED:
            return
        self._release("failed", error=self.run.error)

    # -- steps --------------------------------------------------------------------------------
    def _state(self, session: Any, phase: str, index: int, step_id: str, **values: Any) -> Record:
        """The step's record, created on first use, with `values` written to it."""
        state = self.states.get((phase, step_id))
        if state is None:
            keys = {"run_id": self.run_id, "step_id": step_id, "phase": phase, "position": index}
            state = self.states[(phase, step_id)] = store.insert_step(session, keys, values)
        elif values:
            store.update_step(session, state, values)
        return state

    def _park(
        self,
        phase: str,
        index: int,
        step_id: str,
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
        params = self.release_params(run_status, wake_at=wake_at, error=run_error)

        def park(session: Any) -> None:
            self._renew(session)
            store.end_attempts(session, attempts)
            self._state(session, phase, index, step_id, **values)
            self._release_in(session, params)

        self.db.write(park)
        self._released(run_status)

    def _save_step(
        self, phase: str, index: int, step_id: str, *, attempts: Sequence[dict[str, Any]] = (), **values: Any
    ) -> None:
        def save(session: Any) -> None:
            self._renew(session)
            store.end_attempts(session, attempts)
            self._state(session, phase, index, step_id, **values)

        self.db.write(save)

    def _run_steps(self, phase: str, steps: list[dict[str, Any]]) -> Any:
        base = "$.steps" if phase == "main" else "$.on_failure"
        for index, step in enumerate(steps):
            step_id = step["id"]
            state = self.states.get((phase, step_id))
            status = state.status if state else "pending"
            if status in ("succeeded", "skipped"):
                self.context["steps"][step_id] = state.output if state else None
                continue
            if status == "failed":
                if step.get("continue_on_error"):
                    self.context["steps"][step_id] = {"error": state.error if state else None}
                    continue
                return state.error if state else {"message": "step failed", "step": step_id}
            path = f"{base}[{index}]"
            try:
                outcome = self._run_step(phase, index, step, status, path)
            except (RecipeError, PermanentError) as exc:
                error = error_info(exc, step_id)
                self._save_step(phase, index, step_id, status="failed", error=error, finished_at=utcnow())
                outcome = error
            if outcome == PARKED:
                return PARKED
            if isinstance(outcome, dict) and "message" in outcome:
                if step.get("continue_on_error"):
                    self.context["steps"][step_id] = {"error": outcome}
                    continue
                return outcome
        return None

    def _run_step(self, phase: str, index: int, step: dict[str, Any], status: str, path: str) -> Any:
        step_id = step["id"]
        kind = step_type(step)
        if status == "waiting" and kind == "delay":
            self._save_step(phase, index, step_id, status="succeeded", output={}, finished_at=utcnow())
            self.context["steps"][step_id] = {}
            return None
        if status in ("waiting", "held"):
            return PARKED
        if step.get("when") and not templating.evaluate_condition(step["when"], self.context, f"{path}.when"):
            self._save_step(phase, index, step_id, status="skipped", finished_at=utcnow())
            self.context["steps"][step_id] = None
            return None
        if kind == "delay":
            return self._delay(phase, index, step, path)
        if kind == "wait_for":
            return self._wait_for(phase, index, step, path)
        return self._action(phase, index, step, path)

    def _delay(self, phase: str, index: int, step: dict[str, Any], path: str) -> Any:
        seconds = templating.render_value(step["seconds"], self.context, f"{path}.seconds")
        try:
            seconds = float(seconds)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{path}.seconds: not a number: {seconds!r}", path=f"{path}.seconds") from exc
        if self.run.dry_run or seconds <= 0:
            self._save_step(
                phase, index, step["id"], status="succeeded", input={"seconds": seconds}, output={}
            )
            self.context["steps"][step["id"]] = {}
            return None
        wake = utcnow() + timedelta(seconds=seconds)
        self._park(
            phase,
            index,
            step["id"],
            "waiting",
            wake_at=wake,
            status="waiting",
            input={"seconds": seconds},
            started_at=utcnow(),
        )
        return PARKED

    def _wait_for(self, phase: str, index: int, step: dict[str, Any], path: str) -> Any:
        """Park the run on a matching event, or take one that came in before it parked. The wait row and
        the run's release are one write, so an event arriving in between finds a parked run."""
        match = templating.render_value(step.get("match") or {}, self.context, f"{path}.match")
        if self.run.dry_run:
            self._save_step(phase, index, step["id"], status="succeeded", input={"match": match}, output={})
            self.context["steps"][step["id"]] = {}
            return None
        connection_id = None
        if step.get("connection"):
            connection_id = self._connection(step["connection"], f"{path}.connection")[0].id
        connector = self.rt.registry.get(step["connector"])
        trigger = connector.trigger(step["trigger"]) if connector else None
        polled = isinstance(trigger, PollingTrigger)
        config = None
        if isinstance(trigger, PollingTrigger):
            config = templating.render_value(step.get("config") or {}, self.context, f"{path}.config")
            validate_against(trigger.config_schema, config, f"{path}.config", allow_templates=False)
            try:
                trigger.check_config(config)
            except PermanentError as exc:
                raise RecipeError(f"{path}.config: {exc.message}", path=f"{path}.config") from exc
        timeout = step.get("timeout_s")
        release = self.release_params("waiting")
        with self.db.transaction() as session:
            intake.serialize_waits(session, step["connector"], step["trigger"])  # before the run row
            self._renew(session)
            early = intake.take_kept_event(
                session, step["connector"], step["trigger"], connection_id, match, self.run_id
            )
            now = utcnow()
            if early is not None:
                self._state(
                    session,
                    phase,
                    index,
                    step["id"],
                    status="succeeded",
                    input={"match": match},
                    output=early,
                    started_at=now,
                    finished_at=now,
                )
            else:
                waiting = {"status": "waiting", "input": {"match": match}, "started_at": now}
                self._state(session, phase, index, step["id"], **waiting)
                session.add(
                    Wait(
                        run_id=self.run_id,
                        step_id=step["id"],
                        recipe_id=self.run.recipe_id,
                        connector=step["connector"],
                        trigger=step["trigger"],
                        connection_id=connection_id,
                        match=match,
                        expires_at=now + timedelta(seconds=float(timeout)) if timeout else None,
                        config=config,
                        next_poll_at=now if polled else None,
                    )
                )
                self._release_in(session, release)
        if early is not None:
            self.context["steps"][step["id"]] = early
            return None
        self._released("waiting")
        return PARKED

    def _connection(self, name: str, path: str) -> tuple[Connection, dict[str, Any]]:
        row, fields = load_connection(self.rt, name)
        if row is None:
            raise RecipeError(f"{path}: unknown connection '{name}'", path=path)
        return row, fields
