"""API test fixtures: a test connector of our own, a token per role, and helpers to read the audit log.

The `testkit` connector records every action call and fails on demand, so tests do not depend on the
behaviour of the built-in connectors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from hub.app import create_app
from hub.config import Settings
from hub.db.models import AuditEntry
from hub.engine.executor import InlineExecutor
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.auth import ApiKeyAuth, BasicAuth
from hub.sdk.connector import Action, Connector, PollingTrigger, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import AuthError
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent
from hub.users import create_token, create_user

ROLES = ("admin", "editor", "viewer")


class _Recorded(Action):
    input_schema = {"type": "object", "properties": {"value": {}}, "additionalProperties": True}
    output_schema = {"type": "object", "properties": {"echo": {}}}
    sample_output = {"echo": "sample"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        kit: TestKit = self.connector  # type: ignore[assignment]
        kit.calls.append({"action": self.key, "inputs": inputs, "key": ctx.idempotency_key})
        if kit.script:
            outcome = kit.script.popleft()
            if isinstance(outcome, BaseException):
                raise outcome
        return {"echo": inputs.get("value")}


class Record(_Recorded):
    """Safe to repeat: retried on failure."""

    key = "record"
    repeat_safe = True


class Pay(_Recorded):
    """Not safe to repeat: an unknown outcome holds the run for a person."""

    key = "pay"
    repeat_safe = False


class Inbox(WebhookTrigger):
    key = "inbox"

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = request.json()
        return [TriggerEvent(data=data, id=data.get("id"))]


class Feed(PollingTrigger):
    key = "feed"
    config_schema = {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True}}}

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        kit: TestKit = self.connector  # type: ignore[assignment]
        kit.polls.append({"cursor": cursor, "since": ctx.since})
        items = [TriggerEvent(data=dict(i), id=str(i["id"])) for i in kit.items]
        return PollResult(items=items, cursor=f"c{len(kit.items)}")


class TestKit(Connector):
    __test__ = False
    id = "testkit"
    name = "Test kit"
    category = "testing"
    auth = BasicAuth()
    connection_fields = {"region": {"type": "string"}}
    triggers = (Inbox, Feed)
    actions = (Record, Pay)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.script: deque[Any] = deque()
        self.items: list[dict[str, Any]] = []
        self.polls: list[dict[str, Any]] = []

    def test_connection(self, ctx: Context) -> str:
        if ctx.connection.get("region") == "refuse":
            # A careless vendor message that repeats the password: the API must redact it.
            raise AuthError(f"password {ctx.connection['password']} refused for {ctx.connection['username']}")
        return f"signed in as {ctx.connection['username']}"


class OtherKit(Connector):
    """Only here so that a connection of the wrong connector exists."""

    id = "otherkit"
    name = "Other kit"
    auth = ApiKeyAuth()
    actions = (Record,)


@pytest.fixture
def kit(runtime: Runtime) -> TestKit:
    """A fresh registry (built-ins + testkit + otherkit) on the runtime, so nothing leaks between tests."""
    registry = Registry()
    registry.load_entry_points()
    testkit = TestKit()
    registry.register(testkit, source="tests")
    registry.register(OtherKit(), source="tests")
    runtime.registry = registry
    return testkit


@pytest.fixture
def headers(runtime: Runtime) -> dict[str, dict[str, str]]:
    """An Authorization header per role, for users admin@, editor@ and viewer@example.com."""
    found: dict[str, dict[str, str]] = {}
    with runtime.db.transaction() as session:
        for role in ROLES:
            user = create_user(session, f"{role}@example.com", role, password="a long passphrase")
            found[role] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    return found


def audit_log(runtime: Runtime) -> list[tuple[str, str]]:
    """(actor, action) of every audit entry, oldest first."""
    with runtime.db.transaction() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def make_connection(
    client: Any, headers: dict[str, str], name: str = "kit1", **config: Any
) -> dict[str, Any]:
    fields = {"username": "ada", "password": "pa55word-VERY-secret", **config}
    answer = client.post(
        "/api/v1/connections", json={"name": name, "connector": "testkit", "config": fields}, headers=headers
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def two_step_recipe(**extra: Any) -> dict[str, Any]:
    """inbox -> a: record(event.v) -> b: record(steps.a.echo + '+')."""
    step = {"connector": "testkit", "action": "record", "connection": "kit1"}
    return {
        "name": "two steps",
        "trigger": {"connector": "testkit", "trigger": "inbox", "connection": "kit1", "config": {}},
        "steps": [
            {"id": "a", **step, "input": {"value": "{{ event.v }}"}},
            {"id": "b", **step, "input": {"value": "{{ steps.a.echo }}+"}},
        ],
        **extra,
    }


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[Any, Runtime, Any, dict[str, dict[str, str]]]]:
    """Kept for tests/hub/api/test_api_oauth.py: client, runtime, the engine's kit, a header per role."""
    from tests.hub.engine.kit import kit_registry

    registry, engine_kit = kit_registry()
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    found: dict[str, dict[str, str]] = {}
    with rt.db.transaction() as session:
        for role in ROLES:
            user = create_user(session, f"{role}@example.com", role, password="a long passphrase")
            found[role] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    app = create_app(rt)
    yield app.test_client(), rt, engine_kit, found
    rt.close()
