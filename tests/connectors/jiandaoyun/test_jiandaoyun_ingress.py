"""简道云 data pushes through the hub's real ingress: a bad signature answers `fail` and starts nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.jiandaoyun.push import push_signature
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime

SECRET = "jdy-push-secret"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def hook(runtime: Runtime) -> str:
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="jdy",
            connector_id="jiandaoyun",
            config={"api_key": "k", "push_secret": SECRET},
        )
        recipe = save_recipe(
            session,
            runtime,
            {
                "name": "jdy pushes",
                "trigger": {
                    "connector": "jiandaoyun",
                    "trigger": "data_push",
                    "connection": "jdy",
                    "config": {},
                },
                "steps": [],
            },
        )
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.transaction() as session:
        return session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Run.id)))


def post(client: Any, path: str, body: bytes, secret: str = SECRET, deliver: str = "d-1") -> Any:
    ts, nonce = str(int(time.time())), "0f5ade"
    return client.post(
        f"{path}?timestamp={ts}&nonce={nonce}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-JDY-Signature": push_signature(nonce, body, secret, ts),
            "X-JDY-DeliverId": deliver,
        },
    )


def test_bad_signature_gets_fail_and_a_good_push_success_once(runtime: Runtime, client: Any) -> None:
    path = hook(runtime)
    body = json.dumps({"op": "data_create", "data": {"_id": "r1", "entryId": "e1", "客户": "张三"}}).encode()
    refused = post(client, path, body, secret="wrong")
    assert refused.status_code == 401 and refused.get_data() == b"fail"
    assert counts(runtime) == (0, 0)
    accepted = post(client, path, body)
    assert accepted.status_code == 200 and accepted.get_data() == b"success"
    again = post(client, path, body)  # 简道云 retries with the same DeliverId
    assert again.status_code == 200 and again.get_data() == b"success"
    assert counts(runtime) == (1, 1)
