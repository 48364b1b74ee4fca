"""Vendor tokens of the wave-3 connectors are fetched once by two hub runtimes over one database.

Each worker of each runtime builds its own DbTokenCache (as the engine does per step); the token
endpoint is slow, so workers that did not share the database lease would all fetch."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from hub.config import Settings
from hub.engine.stores import DbTokenCache
from hub.runtime import Runtime
from hub.sdk.context import Context

WORKERS = 6


@pytest.fixture
def two_runtimes(settings: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    first = Runtime.create(settings)
    second = Runtime.create(settings, migrate=False)
    yield first, second
    second.close()
    first.close()


def slow_json(body: dict[str, Any], counter: list[int]) -> Callable[[Any], tuple[int, dict[str, str], str]]:
    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        counter.append(1)
        time.sleep(0.2)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    return answer


def run_together(
    runtimes: tuple[Runtime, Runtime], work: Callable[[Context], Any], context: Callable[[Any], Context]
) -> list[Any]:
    barrier, results = threading.Barrier(WORKERS), [None] * WORKERS

    def one(i: int) -> None:
        rt = runtimes[i % 2]
        barrier.wait()
        try:
            results[i] = work(context(DbTokenCache(rt.db, rt.vault)))
        except Exception as exc:  # collected for the assertion
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@responses.activate
def test_yonyou_token_is_fetched_once_by_two_runtimes(two_runtimes: tuple[Runtime, Runtime]) -> None:
    from connectors.yonyou import connector

    gateway, auth = "https://c2.yonyoucloud.com/iuap-api-gateway", "https://c2.yonyoucloud.com/iuap-api-auth"
    tokens: list[int] = []
    responses.add_callback(
        responses.GET,
        f"{auth}/open-auth/selfAppAuth/base/v1/getAccessToken",
        callback=slow_json({"code": "00000", "data": {"access_token": "shared", "expire": 7200}}, tokens),
    )
    responses.get(f"{gateway}/yonbip/x/detail", json={"code": "200", "data": {"ok": True}})
    connection = {"app_key": "k", "app_secret": "s", "gateway_url": gateway, "token_url": auth}
    results = run_together(
        two_runtimes,
        lambda c: connector.action("call_api").perform(c, {"method": "GET", "path": "/yonbip/x/detail"}),
        lambda cache: Context(connector=connector, connection=connection, connection_id=1, cache=cache),
    )
    assert all(r == {"code": "200", "data": {"ok": True}} for r in results), results
    assert len(tokens) == 1


@responses.activate
def test_fxiaoke_corp_access_token_is_fetched_once_by_two_runtimes(
    two_runtimes: tuple[Runtime, Runtime],
) -> None:
    from connectors.fxiaoke import connector

    tokens: list[int] = []
    answer = {"errorCode": 0, "corpAccessToken": "shared", "corpId": "FSCID_9", "expiresIn": 7200}
    responses.add_callback(
        responses.POST,
        "https://open.fxiaoke.com/cgi/corpAccessToken/get/V2",
        callback=slow_json(answer, tokens),
    )
    responses.post(
        "https://open.fxiaoke.com/cgi/crm/v2/data/get", json={"errorCode": 0, "data": {"_id": "a1"}}
    )
    connection = {"app_id": "a", "app_secret": "s", "permanent_code": "p", "current_open_user_id": "FSUID_1"}
    results = run_together(
        two_runtimes,
        lambda c: connector.action("get_object").perform(c, {"object": "AccountObj", "id": "a1"}),
        lambda cache: Context(connector=connector, connection=connection, connection_id=2, cache=cache),
    )
    assert results == [{"_id": "a1"}] * WORKERS and len(tokens) == 1


@responses.activate
def test_xiaoshouyi_password_grant_token_is_fetched_once_by_two_runtimes(
    two_runtimes: tuple[Runtime, Runtime],
) -> None:
    from connectors.xiaoshouyi import connector

    tokens: list[int] = []
    responses.add_callback(
        responses.POST,
        "https://login.xiaoshouyi.com/auc/oauth2/token",
        callback=slow_json({"access_token": "shared", "expires_in": 7200}, tokens),
    )
    responses.get(
        "https://api.xiaoshouyi.com/rest/data/v2.0/xobjects/account/1", json={"code": 200, "data": {"id": 1}}
    )
    connection = {"client_id": "c", "client_secret": "s", "username": "u", "password": "p"}
    results = run_together(
        two_runtimes,
        lambda c: connector.action("get_object").perform(c, {"object": "account", "id": 1}),
        lambda cache: Context(connector=connector, connection=connection, connection_id=3, cache=cache),
    )
    assert results == [{"id": 1}] * WORKERS and len(tokens) == 1
