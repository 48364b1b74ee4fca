"""Two worker processes over one database need the vendor's token at the same moment, each through
the connector as a worker runs it: the vendor (a slow stand-in on 127.0.0.1) is asked once, and
both processes use that one token. WeCom and 法大大 tokens live in the shared TokenCache; Zoho's
OAuth refresh runs under the connection's row lock. Runs on SQLite and, with HUB_TEST_DATABASE_URL,
on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.oauth import ensure_token
from tests.connectors.token_race import race_on_new_connection
from tests.e2e.harness import VendorStub

Answer = Callable[[str, dict[str, str], bytes, int], Any]


def one_fetch_for_two_processes(
    runtime: Runtime,
    connector_id: str,
    config: Callable[[str], dict[str, Any]],
    function: str,
    answer: Answer,
) -> None:
    def vendor(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        time.sleep(0.5)  # a slow vendor: both processes are asking while the first fetch runs
        return 200, answer(path, headers, body, len(stub.calls))

    stub = VendorStub(vendor)
    try:
        tokens = race_on_new_connection(runtime, connector_id, config(stub.url), function)
    finally:
        stub.close()
    assert stub.errors == [] and len(stub.calls) == 1, stub.calls
    assert tokens == ["tok-1", "tok-1"]


def test_wecom_token_is_fetched_once(runtime: Runtime) -> None:
    def answer(path: str, headers: dict[str, str], body: bytes, number: int) -> Any:
        assert path == "/cgi-bin/gettoken?corpid=ww0c1d2e3f&corpsecret=app-secret", path
        return {"errcode": 0, "errmsg": "ok", "access_token": f"tok-{number}", "expires_in": 7200}

    one_fetch_for_two_processes(
        runtime,
        "wecom",
        lambda url: {"base_url": url, "corp_id": "ww0c1d2e3f", "corp_secret": "app-secret"},
        "connectors.wecom.api:access_token",
        answer,
    )


def test_fadada_token_is_fetched_once(runtime: Runtime) -> None:
    def answer(path: str, headers: dict[str, str], body: bytes, number: int) -> Any:
        assert path == "/api/v5/service/get-access-token" and headers["x-fasc-app-id"] == "80000123", path
        return {
            "code": "100000",
            "msg": "success",
            "data": {"accessToken": f"tok-{number}", "expiresIn": 7200},
        }

    one_fetch_for_two_processes(
        runtime,
        "fadada",
        lambda url: {"base_url": f"{url}/api/v5", "app_id": "80000123", "app_secret": "fasc-secret"},
        "connectors.fadada.api:access_token",
        answer,
    )


def refreshed_token(context: Context) -> str:
    """What a worker does before a Zoho call: refresh the OAuth token when it is due."""
    ensure_token(context)
    return str(context.connection["access_token"])


def test_zoho_token_is_refreshed_once(runtime: Runtime) -> None:
    def answer(path: str, headers: dict[str, str], body: bytes, number: int) -> Any:
        assert path == "/oauth/v2/token" and b"grant_type=refresh_token" in body, path
        return {
            "access_token": f"tok-{number}",
            "api_domain": "https://www.zohoapis.com.cn",
            "expires_in": 3600,
        }

    one_fetch_for_two_processes(
        runtime,
        "zoho_crm",
        lambda url: {
            "data_center": "cn",
            "accounts_url": url,
            "client_id": "1000.CID",
            "client_secret": "csec",
            "access_token": "tok-old",
            "refresh_token": "rt-1",
            "expires_at": int(time.time()) - 60,
        },
        "tests.connectors.test_wave3_token_race:refreshed_token",
        answer,
    )
