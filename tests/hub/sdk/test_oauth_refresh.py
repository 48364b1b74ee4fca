"""OAuth2 tokens: refreshed before expiry, saved back encrypted, one refresh when two workers race."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import select

from hub.connections import create_connection, merged_fields
from hub.db.models import Connection
from hub.engine.stores import DbSecretStore
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.auth import OAuth2
from hub.sdk.connector import Connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError
from hub.sdk.oauth import authorize_url, ensure_token, exchange_code

TOKEN_URL = "https://auth.example.com/oauth/token"


class Vendor(Connector):
    id = "oauthvendor"
    name = "OAuth vendor"
    base_url = "https://api.example.com"
    auth = OAuth2(
        token_url=TOKEN_URL, authorize_url="https://auth.example.com/authorize", scopes=["read", "write"]
    )


class Machine(Connector):
    id = "machinevendor"
    name = "Machine vendor"
    base_url = "https://api.example.com"
    auth = OAuth2(token_url=TOKEN_URL, grant="client_credentials", client_auth="basic")


@pytest.fixture
def oauth_rt(runtime: Runtime) -> tuple[Runtime, int]:
    registry = Registry()
    registry.register(Vendor())
    registry.register(Machine())
    runtime.registry = registry
    with runtime.db.transaction() as session:
        row = create_connection(
            session,
            registry,
            runtime.vault,
            name="v",
            connector_id="oauthvendor",
            config={
                "client_id": "cid",
                "client_secret": "csecret",
                "access_token": "old-access",
                "refresh_token": "refresh-1",
                "expires_at": int(time.time()) + 10,
            },
        )
        return runtime, row.id


def context(rt: Runtime, connection_id: int, connector: Connector) -> Context:
    with rt.db.transaction() as session:
        fields = merged_fields(session.get(Connection, connection_id), rt.vault)
    return Context(
        connector=connector,
        connection=fields,
        connection_id=connection_id,
        secret_store=DbSecretStore(rt.db, rt.vault, connector, connection_id),
    )


@responses.activate
def test_expiring_token_is_refreshed_and_saved_encrypted(oauth_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = oauth_rt
    responses.post(
        TOKEN_URL, json={"access_token": "new-access", "refresh_token": "refresh-2", "expires_in": 3600}
    )
    api = responses.get("https://api.example.com/me", json={"ok": True})
    ctx = context(rt, connection_id, Vendor())
    ctx.http.get("/me")
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["grant_type"] == ["refresh_token"] and sent["refresh_token"] == ["refresh-1"]
    assert api.calls[0].request.headers["Authorization"] == "Bearer new-access"
    with rt.db.transaction() as session:
        row = session.scalar(select(Connection))
        assert "refresh-2" not in (row.secrets or "") and "new-access" not in str(row.config)
        stored = merged_fields(row, rt.vault)
    assert stored["refresh_token"] == "refresh-2" and stored["expires_at"] > time.time() + 3000


@responses.activate
def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(oauth_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = oauth_rt
    calls: list[str] = []

    def token_endpoint(request: Any) -> tuple[int, dict[str, str], str]:
        refresh = parse_qs(request.body)["refresh_token"][0]
        calls.append(refresh)
        time.sleep(0.2)
        if refresh != "refresh-1":
            return 400, {}, '{"error": "invalid_grant"}'
        return (
            200,
            {"Content-Type": "application/json"},
            '{"access_token": "A2", "refresh_token": "refresh-2", "expires_in": 3600}',
        )

    responses.add_callback(responses.POST, TOKEN_URL, callback=token_endpoint)
    workers = [context(rt, connection_id, Vendor()) for _ in range(2)]
    errors: list[BaseException] = []

    def refresh(ctx: Context) -> None:
        try:
            ensure_token(ctx)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and calls == ["refresh-1"]
    assert {w.connection["access_token"] for w in workers} == {"A2"}


@responses.activate
def test_refused_refresh_is_an_auth_error(oauth_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = oauth_rt
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(AuthError, match="invalid_grant"):
        ensure_token(context(rt, connection_id, Vendor()))


@responses.activate
def test_client_credentials_grant_with_basic_client_auth(oauth_rt: tuple[Runtime, int]) -> None:
    rt, _ = oauth_rt
    with rt.db.transaction() as session:
        row = create_connection(
            session,
            rt.registry,
            rt.vault,
            name="m",
            connector_id="machinevendor",
            config={"client_id": "cid", "client_secret": "csecret"},
        )
        connection_id = row.id
    responses.post(TOKEN_URL, json={"access_token": "machine-token", "expires_in": 7200})
    ctx = context(rt, connection_id, Machine())
    ensure_token(ctx)
    request = responses.calls[0].request
    assert parse_qs(request.body) == {"grant_type": ["client_credentials"]}
    assert request.headers["Authorization"].startswith("Basic ")
    assert ctx.connection["access_token"] == "machine-token"
    ensure_token(ctx)  # still fresh: no second call
    assert len(responses.calls) == 1


@responses.activate
def test_authorization_code_exchange_and_consent_url(oauth_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = oauth_rt
    ctx = context(rt, connection_id, Vendor())
    url = authorize_url(Vendor.auth, ctx.connection, "https://hub.example.com/oauth/callback", "state-123")
    assert (
        url.startswith("https://auth.example.com/authorize?")
        and "state=state-123" in url
        and "scope=read+write" in url
    )
    responses.post(
        TOKEN_URL, json={"access_token": "granted", "refresh_token": "r-granted", "expires_in": 60}
    )
    exchange_code(ctx, "code-xyz", "https://hub.example.com/oauth/callback")
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["code"] == ["code-xyz"] and sent["grant_type"] == ["authorization_code"]
    with rt.db.transaction() as session:
        assert merged_fields(session.get(Connection, connection_id), rt.vault)["refresh_token"] == "r-granted"
