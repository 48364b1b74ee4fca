"""Vendor-side webhook registrations follow the recipe: its trigger and each wait_for step on a webhook
trigger are registered at their own hook URL with their own config, kept sealed with the vault, given
back to verify/parse as ctx.subscription, and removed when the step, the config or the recipe goes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.app import create_app
from hub.config import Settings
from hub.db.models import Lease, TriggerState, utcnow
from hub.engine.executor import InlineExecutor
from hub.engine.subscriptions import open_registrations, reseal_all, sync_subscription
from hub.recipe_store import delete_recipe, get_recipe, hook_urls, save_recipe, set_enabled
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.connector import Connector, PollingTrigger, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, SignatureError
from hub.sdk.types import InboundRequest, PollResult, TriggerEvent
from hub.vault import Vault


class Topic(WebhookTrigger):
    """Registers one vendor webhook per hook URL, each with its own secret, like Typeform does."""

    key = "topic"
    config_schema = {"type": "object", "properties": {"topic": {"type": "string"}}}

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        vendor: Vendor = self.connector  # type: ignore[assignment]
        if config.get("topic") in vendor.refuse:
            raise PermanentError(f"topic {config['topic']} is not allowed")
        time.sleep(vendor.answer_s)
        with vendor.lock:
            vendor.serial += 1
            serial = vendor.serial
        webhook = {"id": f"wh-{serial}", "url": hook_url, "topic": config.get("topic")}
        vendor.webhooks[webhook["id"]] = webhook
        return {"id": webhook["id"], "secret": f"secret-{serial}"}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        vendor: Vendor = self.connector  # type: ignore[assignment]
        if vendor.refuse_removal:
            raise PermanentError("vendor is down for maintenance")
        vendor.webhooks.pop(state["id"])

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        vendor: Vendor = self.connector  # type: ignore[assignment]
        vendor.seen.append(ctx.subscription)
        if not ctx.subscription or request.header("X-Secret") != ctx.subscription["secret"]:
            raise SignatureError("wrong secret")

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        data = request.json()
        return [TriggerEvent(data=data, id=data.get("id"))]


class Plain(WebhookTrigger):
    """A webhook trigger with nothing to register."""

    key = "plain"


class Feed(PollingTrigger):
    key = "feed"

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        return PollResult(items=[], cursor=cursor)


class Vendor(Connector):
    id = "vendorkit"
    name = "Vendor kit"
    triggers = (Topic, Plain, Feed)

    def __init__(self) -> None:
        super().__init__()
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.serial = 0
        self.refuse: set[str] = set()
        self.refuse_removal = False
        self.seen: list[dict[str, Any] | None] = []
        self.answer_s = 0.0  # how long a registration takes
        self.lock = threading.Lock()

    def topics(self) -> dict[str, str]:
        """topic -> the hook URL it is registered at."""
        return {w["topic"]: w["url"] for w in self.webhooks.values()}


@pytest.fixture
def rt(settings: Settings) -> Iterator[tuple[Runtime, Vendor]]:
    registry = Registry()
    registry.load_entry_points()
    vendor = Vendor()
    registry.register(vendor, source="tests")
    runtime = Runtime.create(settings, registry=registry)
    runtime.executor = InlineExecutor(runtime)
    yield runtime, vendor
    runtime.close()


def wait(step_id: str, topic: str, trigger: str = "topic", **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "wait_for",
        "connector": "vendorkit",
        "trigger": trigger,
        "config": {"topic": topic},
        "match": {"id": "{{ event.id }}"},
        **extra,
    }


def document(steps: list[dict[str, Any]], on_failure: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": "orders",
        "trigger": {"connector": "vendorkit", "trigger": "topic", "config": {"topic": "orders"}},
        "steps": steps,
        "on_failure": on_failure or [],
    }


def save(runtime: Runtime, doc: dict[str, Any], recipe_id: int | None = None) -> tuple[int, dict[str, Any]]:
    with runtime.db.transaction() as session:
        recipe = get_recipe(session, recipe_id) if recipe_id else None
        saved = save_recipe(session, runtime, doc, recipe=recipe)
        return saved.id, hook_urls(session, runtime, saved)


def stored(runtime: Runtime, recipe_id: int) -> dict[str, Any] | None:
    with runtime.db.transaction() as session:
        return session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))


def enable(runtime: Runtime, recipe_id: int, enabled: bool) -> str | None:
    with runtime.db.transaction() as session:
        set_enabled(session, get_recipe(session, recipe_id), enabled)
    return sync_subscription(runtime, recipe_id)


def test_trigger_and_each_webhook_wait_step_are_registered_at_their_own_url(
    rt: tuple[Runtime, Vendor],
) -> None:
    runtime, vendor = rt
    steps = [wait("paid", "payments"), wait("polled", "x", trigger="feed"), wait("plain", "y", "plain")]
    recipe_id, urls = save(runtime, document(steps, on_failure=[wait("refund", "refunds")]))
    assert sync_subscription(runtime, recipe_id) is None
    assert vendor.topics() == {
        "orders": urls["webhook_url"],
        "payments": urls["wait_urls"]["paid"],
        "refunds": urls["wait_urls"]["refund"],
    }  # the polling wait and the trigger with no `subscribe` register nothing
    column = stored(runtime, recipe_id)
    assert set(column) == {"sealed"} and "secret-" not in json.dumps(column)
    registrations = open_registrations(runtime.vault, recipe_id, column)
    assert registrations["trigger"]["state"]["id"] == "wh-1"
    assert {k: v["state"]["id"] for k, v in registrations["waits"].items()} == {
        "paid": "wh-2",
        "refund": "wh-3",
    }
    assert registrations["waits"]["paid"]["hook_url"] == urls["wait_urls"]["paid"]
    assert sync_subscription(runtime, recipe_id) is None and vendor.serial == 3  # nothing changed

    # a changed step is registered again, a removed one removed; the others stay as they are
    _, again = save(runtime, document([wait("paid", "payments-v2")]), recipe_id)
    assert again["wait_urls"]["paid"] == urls["wait_urls"]["paid"]
    assert sync_subscription(runtime, recipe_id) is None
    assert vendor.topics() == {"orders": urls["webhook_url"], "payments-v2": urls["wait_urls"]["paid"]}
    assert sorted(vendor.webhooks) == ["wh-1", "wh-4"]
    waits = open_registrations(runtime.vault, recipe_id, stored(runtime, recipe_id))["waits"]
    assert list(waits) == ["paid"] and waits["paid"]["spec"][3] == {"topic": "payments-v2"}

    assert enable(runtime, recipe_id, False) is None
    assert vendor.webhooks == {} and stored(runtime, recipe_id) is None
    assert enable(runtime, recipe_id, True) is None
    assert set(vendor.topics()) == {"orders", "payments-v2"}
    with runtime.db.transaction() as session:
        delete_recipe(session, get_recipe(session, recipe_id))
    assert sync_subscription(runtime, recipe_id) is None and vendor.webhooks == {}


def test_two_syncs_at_once_register_the_webhook_once(rt: tuple[Runtime, Vendor]) -> None:
    """Both would find nothing registered and register: the second now waits for the first."""
    runtime, vendor = rt
    vendor.answer_s = 0.3  # a vendor answering slowly keeps the first sync busy while the second starts
    recipe_id, urls = save(runtime, document([wait("paid", "payments")]))
    start = threading.Barrier(2)
    problems: list[str | None] = []

    def sync() -> None:
        start.wait()
        problems.append(sync_subscription(runtime, recipe_id))

    threads = [threading.Thread(target=sync) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert problems == [None, None]
    assert vendor.serial == 2  # the trigger and the wait step, once each
    assert vendor.topics() == {"orders": urls["webhook_url"], "payments": urls["wait_urls"]["paid"]}
    registrations = open_registrations(runtime.vault, recipe_id, stored(runtime, recipe_id))
    assert {registrations["trigger"]["state"]["id"], registrations["waits"]["paid"]["state"]["id"]} == set(
        vendor.webhooks
    )


def test_a_sync_lease_left_by_a_crashed_process_lapses(rt: tuple[Runtime, Vendor]) -> None:
    runtime, vendor = rt
    recipe_id, _urls = save(runtime, document([]))
    with runtime.db.transaction() as session:
        expired = utcnow() - timedelta(seconds=1)
        session.add(Lease(name=f"subscriptions:{recipe_id}", owner="gone", expires_at=expired))
    assert sync_subscription(runtime, recipe_id) is None and vendor.serial == 1
    with runtime.db.transaction() as session:
        assert session.scalar(select(Lease.name).where(Lease.name.like("subscriptions:%"))) is None


def test_verify_gets_the_state_of_the_endpoint_being_hit(rt: tuple[Runtime, Vendor]) -> None:
    runtime, vendor = rt
    recipe_id, urls = save(runtime, document([wait("paid", "payments")]))
    assert sync_subscription(runtime, recipe_id) is None
    client = create_app(runtime).test_client()
    trigger_path = "/hooks/" + urls["webhook_url"].split("/hooks/")[1]
    wait_path = "/hooks/" + urls["wait_urls"]["paid"].split("/hooks/")[1]

    assert client.post(trigger_path, json={"id": "e1"}, headers={"X-Secret": "secret-1"}).status_code == 202
    assert client.post(wait_path, json={"id": "e2"}, headers={"X-Secret": "secret-2"}).status_code == 202
    assert vendor.seen == [{"id": "wh-1", "secret": "secret-1"}, {"id": "wh-2", "secret": "secret-2"}]
    # each endpoint accepts only its own webhook's secret
    assert client.post(wait_path, json={"id": "e3"}, headers={"X-Secret": "secret-1"}).status_code == 401

    # registered again under a new config: the new secret is seen at once in this process
    save(runtime, document([wait("paid", "payments-v2")]), recipe_id)
    assert sync_subscription(runtime, recipe_id) is None
    assert client.post(wait_path, json={"id": "e4"}, headers={"X-Secret": "secret-2"}).status_code == 401
    assert client.post(wait_path, json={"id": "e4"}, headers={"X-Secret": "secret-3"}).status_code == 202


def test_a_refused_step_is_reported_by_name_and_the_rest_still_registered(rt: tuple[Runtime, Vendor]) -> None:
    runtime, vendor = rt
    vendor.refuse = {"payments"}
    recipe_id, _urls = save(runtime, document([wait("paid", "payments"), wait("shipped", "shipping")]))
    problem = sync_subscription(runtime, recipe_id)
    assert problem == (
        "could not register the webhook for wait step 'paid' with Vendor kit: topic payments is not allowed"
    )
    assert set(vendor.topics()) == {"orders", "shipping"}
    with runtime.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        assert state.last_error == problem
    vendor.refuse = set()
    assert sync_subscription(runtime, recipe_id) is None  # tried again at the next sync
    assert set(vendor.topics()) == {"orders", "payments", "shipping"}

    # a removal the vendor refuses keeps the old registration, to be removed at the next sync
    vendor.refuse_removal = True
    save(runtime, document([wait("shipped", "shipping")]), recipe_id)
    problem = sync_subscription(runtime, recipe_id)
    assert problem == (
        "could not remove the webhook for wait step 'paid' registered with Vendor kit: "
        "vendor is down for maintenance"
    )
    assert "paid" in open_registrations(runtime.vault, recipe_id, stored(runtime, recipe_id))["waits"]
    vendor.refuse_removal = False
    assert sync_subscription(runtime, recipe_id) is None
    assert set(vendor.topics()) == {"orders", "shipping"}


def test_a_plaintext_row_from_before_is_read_sealed_and_removed(rt: tuple[Runtime, Vendor]) -> None:
    runtime, vendor = rt
    recipe_id, urls = save(runtime, document([]))
    vendor.webhooks["wh-old"] = {"id": "wh-old", "url": urls["webhook_url"], "topic": "orders"}
    old = {
        "spec": ["vendorkit", "topic", None, {"topic": "orders"}],
        "hook_url": urls["webhook_url"],
        "state": {"id": "wh-old", "secret": "old-secret"},
    }
    with runtime.db.transaction() as session:
        session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id)).subscription = old
    client = create_app(runtime).test_client()
    path = "/hooks/" + urls["webhook_url"].split("/hooks/")[1]
    assert client.post(path, json={"id": "e1"}, headers={"X-Secret": "old-secret"}).status_code == 202

    assert sync_subscription(runtime, recipe_id) is None and vendor.serial == 0  # unchanged: kept
    column = stored(runtime, recipe_id)
    assert set(column) == {"sealed"}
    assert open_registrations(runtime.vault, recipe_id, column)["trigger"] == old
    assert enable(runtime, recipe_id, False) is None
    assert vendor.webhooks == {} and stored(runtime, recipe_id) is None


def test_vault_rotation_reseals_and_an_unreadable_row_is_reported(
    rt: tuple[Runtime, Vendor], settings: Settings
) -> None:
    runtime, vendor = rt
    recipe_id, _urls = save(runtime, document([wait("paid", "payments")]))
    assert sync_subscription(runtime, recipe_id) is None
    new_key = Fernet.generate_key().decode()
    rotated = Vault([new_key, str(settings.vault_keys)])
    with runtime.db.transaction() as session:
        assert reseal_all(session, rotated) == 1
    readable = open_registrations(Vault([new_key]), recipe_id, stored(runtime, recipe_id))
    assert set(readable["waits"]) == {"paid"} and readable["trigger"]["state"]["id"] == "wh-1"

    # the runtime's key can no longer read it: reported, and what the recipe needs registered anew
    problem = sync_subscription(runtime, recipe_id)
    assert problem == "the stored webhook registrations cannot be decrypted with the vault keys"
    assert vendor.serial == 4
    registrations = open_registrations(runtime.vault, recipe_id, stored(runtime, recipe_id))
    assert (
        registrations["trigger"]["state"]["id"] == "wh-3"
        and registrations["waits"]["paid"]["state"]["id"] == "wh-4"
    )


def test_wait_steps_nested_in_flow_steps_are_registered_and_take_events(rt: tuple[Runtime, Vendor]) -> None:
    """A wait_for inside a branch case or a for_each gets its own endpoint, registration and ingress."""
    runtime, vendor = rt
    route = {
        "id": "route",
        "type": "branch",
        "cases": [{"when": "{{ true }}", "steps": [wait("paid", "payments")]}],
    }
    loop = {
        "id": "lines",
        "type": "for_each",
        "items": "{{ event.lines }}",
        "steps": [wait("shipped", "ships")],
    }
    recipe_id, urls = save(runtime, document([route, loop]))
    assert set(urls["wait_urls"]) == {"paid", "shipped"}
    assert sync_subscription(runtime, recipe_id) is None
    assert vendor.topics() == {
        "orders": urls["webhook_url"],
        "payments": urls["wait_urls"]["paid"],
        "ships": urls["wait_urls"]["shipped"],
    }
    client = create_app(runtime).test_client()
    wait_path = "/hooks/" + urls["wait_urls"]["shipped"].split("/hooks/")[1]
    assert client.post(wait_path, json={"id": "s1"}, headers={"X-Secret": "secret-3"}).status_code == 202
    assert client.post(wait_path, json={"id": "s2"}, headers={"X-Secret": "secret-2"}).status_code == 401
    assert vendor.seen[0] == {"id": "wh-3", "secret": "secret-3"}
