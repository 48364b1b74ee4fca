"""A scriptable connector for engine tests: actions record their calls and fail on demand."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from hub.registry import Registry
from hub.sdk.auth import ApiKeyAuth
from hub.sdk.connector import Action, Connector, PollingTrigger, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent


class _Scripted(Action):
    input_schema = {"type": "object", "properties": {"value": {}, "amount": {}}, "additionalProperties": True}
    sample_output = {"echo": "sample"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        kit: EngineKit = self.connector  # type: ignore[assignment]
        kit.calls.append(
            {"action": self.key, "inputs": inputs, "key": ctx.idempotency_key, "conn": ctx.connection}
        )
        if kit.during_call is not None:
            kit.during_call(inputs)
        if kit.script:
            outcome = kit.script.popleft()
            if isinstance(outcome, BaseException):
                raise outcome
            if callable(outcome):  # something that happens while the vendor is being called
                outcome(ctx)
        return {"echo": inputs.get("value"), "key": ctx.idempotency_key}


class Echo(_Scripted):
    key = "echo"
    repeat_safe = True


class Charge(_Scripted):
    key = "charge"
    repeat_safe = False


class Items(PollingTrigger):
    key = "items"
    default_interval_s = 60
    config_schema = {"type": "object", "properties": {"instance": {"type": "string"}}}

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        kit: EngineKit = self.connector  # type: ignore[assignment]
        kit.polls.append({"cursor": cursor, "since": ctx.since})
        if kit.poll_error is not None:
            raise kit.poll_error
        return PollResult(
            items=[TriggerEvent(data=dict(i), id=str(i["id"])) for i in kit.items], cursor=str(len(kit.items))
        )


class Hook(WebhookTrigger):
    key = "hook"
    config_schema = {"type": "object", "properties": {"topic": {"type": "string"}}}

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        kit: EngineKit = self.connector  # type: ignore[assignment]
        if kit.subscribe_error is not None:
            raise kit.subscribe_error
        registration = {"id": f"sub-{len(kit.registered) + 1}", "url": hook_url, "topic": config.get("topic")}
        kit.registered.append(registration)
        return {"id": registration["id"]}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        kit: EngineKit = self.connector  # type: ignore[assignment]
        kit.registered = [r for r in kit.registered if r["id"] != state["id"]]

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = request.json()
        return [TriggerEvent(data=data, id=data.get("id"))]


class EngineKit(Connector):
    id = "enginekit"
    name = "Engine kit"
    auth = ApiKeyAuth()
    triggers = (Items, Hook)
    actions = (Echo, Charge)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.script: deque[Any] = deque()
        self.items: list[dict[str, Any]] = []
        self.poll_error: BaseException | None = None
        self.polls: list[dict[str, Any]] = []
        self.registered: list[dict[str, Any]] = []
        self.subscribe_error: BaseException | None = None
        self.during_call: Callable[[dict[str, Any]], None] | None = None  # e.g. a vendor calling back


def kit_registry() -> tuple[Registry, EngineKit]:
    registry = Registry()
    registry.load_entry_points()
    kit = EngineKit()
    registry.register(kit, source="tests")
    return registry, kit


def died_mid_attempt(rt: Any, run_id: int, step_id: str) -> None:
    """Leave a run as a worker killed during step `step_id` leaves it: the step running with an
    attempt row `started` (its outcome unknown) and the run's lease expired, for the sweeper to find."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from hub.db.models import Run, StepAttempt, StepRun, utcnow

    with rt.db.transaction() as session:
        step = session.scalar(select(StepRun).where(StepRun.run_id == run_id, StepRun.step_id == step_id))
        step.status, step.output = "running", None
        key = f"{run_id}:{step_id}"
        session.add(
            StepAttempt(step_run_id=step.id, number=step.attempts + 1, idempotency_key=key, status="started")
        )
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status="running", lease_owner="dead", lease_expires_at=utcnow() - timedelta(seconds=1))
        )
