"""Webhook registrations that expire are renewed by the scheduler's leader, once, before they end:
Zoho CRM's watch channel is extended in place (a stand-in on 127.0.0.1 checks the PATCH), and a
trigger without an in-place renewal is registered anew before the old registration is removed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hub.config import Settings
from hub.connections import create_connection
from hub.db.models import TriggerState
from hub.engine.executor import InlineExecutor
from hub.engine.subscriptions import (
    endpoint_subscription,
    open_registrations,
    renew_due,
    reseal_all,
    seal_registrations,
    sync_subscription,
)
from hub.recipe_store import save_recipe
from hub.registry import Registry
from hub.runtime import Runtime
from hub.scheduler import Scheduler
from hub.sdk.connector import RENEW_AFTER, Connector, WebhookTrigger
from hub.sdk.context import Context
from tests.e2e.harness import VendorStub

WATCH = "/crm/v7/actions/watch"
TOKEN = "zoho-at-renewal"


class ZohoWatch:
    """Zoho CRM's watch API: POST opens a channel, PATCH moves its expiry, DELETE closes it."""

    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.patch_s = 0.0  # how long an extension takes (widens a race between two processes)
        self.stub = VendorStub(self.handle)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        assert headers.get("authorization") == f"Zoho-oauthtoken {TOKEN}", "missing Zoho-oauthtoken"
        parts = urlsplit(path)
        assert parts.path == WATCH, parts.path
        if method == "DELETE":
            for channel_id in parse_qs(parts.query)["channel_ids"][0].split(","):
                self.channels.pop(channel_id)
            return 200, {"watch": [{"status": "success", "code": "SUCCESS"}]}
        [watch] = json.loads(body)["watch"]
        channel_id = str(watch["channel_id"])
        expiry = datetime.fromisoformat(watch["channel_expiry"])
        assert expiry <= datetime.now(UTC) + timedelta(hours=168, minutes=1), "past Zoho's longest lifetime"
        if method == "PATCH":
            time.sleep(self.patch_s)
            assert channel_id in self.channels, "no such channel"
            assert watch["token"] == self.channels[channel_id]["token"], "the token changed"
            self.channels[channel_id].update(watch)
        else:
            assert method == "POST", method
            self.channels[channel_id] = watch
        return 200, {"watch": [{"status": "success", "code": "SUCCESS", "details": {"events": []}}]}

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [c for c in self.stub.calls if c["method"] == method]


@pytest.fixture
def zoho() -> Iterator[ZohoWatch]:
    vendor = ZohoWatch()
    yield vendor
    vendor.stub.close()


@pytest.fixture
def two_processes(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    """Two hub processes on one database and one set of keys."""
    first = Runtime.create(settings)
    second = Runtime.create(settings, migrate=False)
    for rt in (first, second):
        rt.executor = InlineExecutor(rt)
    yield first, second
    second.close()
    first.close()


def zoho_recipe(rt: Runtime, vendor: ZohoWatch) -> int:
    document = {
        "name": "Zoho deals",
        "trigger": {
            "connector": "zoho_crm",
            "trigger": "record_notification",
            "connection": "zoho",
            "config": {"module": "Deals", "expiry_hours": 168},
        },
        "steps": [],
    }
    with rt.db.transaction() as session:
        create_connection(
            session,
            rt.registry,
            rt.vault,
            name="zoho",
            connector_id="zoho_crm",
            config={
                "base_url": vendor.stub.url,
                "client_id": "1000.RENEW",
                "client_secret": "zoho-cs",
                "access_token": TOKEN,
                "refresh_token": "zoho-rt",
                "expires_at": int(time.time()) + 3600,
            },
        )
        recipe_id = save_recipe(session, rt, document).id
    assert sync_subscription(rt, recipe_id) is None
    return recipe_id


def registrations(rt: Runtime, recipe_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the stored column as it is, the trigger's registration inside the seal)."""
    with rt.db.read() as session:
        stored = session.scalar(select(TriggerState.subscription).where(TriggerState.recipe_id == recipe_id))
    return stored, open_registrations(rt.vault, recipe_id, stored)["trigger"]


def make_due(rt: Runtime, recipe_id: int) -> None:
    """Wind the registration's clock on: its renew_after (and the copy beside the seal) has passed."""
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with rt.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        opened = open_registrations(rt.vault, recipe_id, state.subscription)
        opened["trigger"]["state"][RENEW_AFTER] = past
        state.subscription = seal_registrations(rt.vault, recipe_id, opened)


def test_a_zoho_channel_near_expiry_is_extended_in_place_once_by_the_leader_only(
    two_processes: tuple[Runtime, Runtime], zoho: ZohoWatch
) -> None:
    first, second = two_processes
    recipe_id = zoho_recipe(first, zoho)
    [opened] = zoho.calls("POST")
    stored, registration = registrations(first, recipe_id)
    state = registration["state"]
    expiry = datetime.fromisoformat(state["channel_expiry"])
    assert timedelta(hours=167) < expiry - datetime.now(UTC) <= timedelta(hours=168)
    assert datetime.fromisoformat(stored[RENEW_AFTER]) == datetime.fromisoformat(state[RENEW_AFTER])
    assert datetime.fromisoformat(state[RENEW_AFTER]) - datetime.now(UTC) > timedelta(hours=83)
    assert "token" not in json.dumps(stored)  # the channel's token stays sealed; only the time is beside it

    leader, follower = Scheduler(first), Scheduler(second)
    assert leader.renew_lease() and not follower.renew_lease()
    assert leader.renew_subscriptions() == 0 and zoho.calls("PATCH") == []  # not due yet

    make_due(first, recipe_id)
    assert follower.renew_subscriptions() == 0 and zoho.calls("PATCH") == []  # only the leader renews
    assert leader.renew_subscriptions() == 1
    [patch] = zoho.calls("PATCH")
    [watch] = json.loads(patch["body"])["watch"]
    assert watch["channel_id"] == int(state["channel_id"]) and watch["token"] == state["token"]
    assert watch["events"] == ["Deals.create", "Deals.edit"]
    assert watch["notify_url"] == json.loads(opened["body"])["watch"][0]["notify_url"]
    assert zoho.calls("DELETE") == [] and list(zoho.channels) == [state["channel_id"]]  # no gap, no new one
    stored, renewed = registrations(first, recipe_id)
    assert (
        renewed["state"]["channel_id"] == state["channel_id"] and renewed["state"]["token"] == state["token"]
    )
    assert datetime.fromisoformat(stored[RENEW_AFTER]) > datetime.now(UTC) + timedelta(hours=83)
    assert leader.renew_subscriptions() == 0 and len(zoho.calls("PATCH")) == 1  # renewed once
    with first.db.read() as session:  # verify() reads the same channel id and token as before
        assert endpoint_subscription(session, first.vault, recipe_id, None) == renewed["state"]
    assert zoho.stub.errors == []


def test_two_processes_renewing_at_once_extend_the_channel_once(
    two_processes: tuple[Runtime, Runtime], zoho: ZohoWatch
) -> None:
    first, second = two_processes
    recipe_id = zoho_recipe(first, zoho)
    make_due(first, recipe_id)
    zoho.patch_s = 0.3
    counts: list[int] = []
    threads = [threading.Thread(target=lambda rt=rt: counts.append(renew_due(rt))) for rt in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(counts) == [0, 1] and len(zoho.calls("PATCH")) == 1
    assert zoho.stub.errors == []


class Expiring(WebhookTrigger):
    """A vendor whose webhooks end after a while and cannot be extended: the default renew applies."""

    key = "expiring"

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        vendor: Lapsing = self.connector  # type: ignore[assignment]
        vendor.serial += 1
        webhook_id = f"wh-{vendor.serial}"
        vendor.log.append(("subscribe", webhook_id))
        renew_at = datetime.now(UTC) + timedelta(days=vendor.lifetime_days)
        return {"id": webhook_id, RENEW_AFTER: renew_at.isoformat()}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        vendor: Lapsing = self.connector  # type: ignore[assignment]
        vendor.log.append(("unsubscribe", state["id"]))


class Lapsing(Connector):
    id = "lapsing"
    name = "Lapsing vendor"
    triggers = (Expiring,)

    def __init__(self) -> None:
        super().__init__()
        self.serial = 0
        self.lifetime_days = -1  # registered already due: the first renewal check renews it
        self.log: list[tuple[str, str]] = []


def test_without_an_in_place_renewal_the_new_registration_comes_before_the_old_one_goes(
    settings: Settings,
) -> None:
    registry = Registry()
    registry.load_entry_points()
    vendor = Lapsing()
    registry.register(vendor, source="tests")
    rt = Runtime.create(settings, registry=registry)
    try:
        document = {
            "name": "lapsing",
            "trigger": {"connector": "lapsing", "trigger": "expiring"},
            "steps": [],
        }
        with rt.db.transaction() as session:
            recipe_id = save_recipe(session, rt, document).id
        assert sync_subscription(rt, recipe_id) is None
        vendor.lifetime_days = 3
        assert renew_due(rt) == 1
        assert vendor.log == [("subscribe", "wh-1"), ("subscribe", "wh-2"), ("unsubscribe", "wh-1")]
        stored, registration = registrations(rt, recipe_id)
        assert registration["state"]["id"] == "wh-2"
        with rt.db.transaction() as session:  # a vault key rotation keeps the due time beside the seal
            reseal_all(session, rt.vault)
        assert registrations(rt, recipe_id)[0][RENEW_AFTER] == stored[RENEW_AFTER]
        assert renew_due(rt) == 0 and len(vendor.log) == 3
    finally:
        rt.close()
