"""OAuth2 token_fields and callback_fields: extra values of the token answer and of the consent
redirect are stored on the connection, through the locked secret store, on exchange and on refresh."""

from __future__ import annotations

import time

import pytest
import responses

from hub.connections import create_connection, merged_fields
from hub.db.models import Connection
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.auth import OAuth2
from hub.sdk.connector import Connector
from hub.sdk.oauth import callback_updates, ensure_token, exchange_code
from tests.hub.sdk.test_oauth_refresh import TOKEN_URL, context

REDIRECT = "https://hub.example.com/oauth/callback"


class Org(Connector):
    id = "orgvendor"
    name = "Org vendor"
    base_url = "https://api.example.com"
    auth = OAuth2(
        token_url=TOKEN_URL,
        authorize_url="https://auth.example.com/authorize",
        token_fields=("instance_url",),
        callback_fields={"realmId": "realm_id"},
    )


@pytest.fixture
def org_rt(runtime: Runtime) -> tuple[Runtime, int]:
    registry = Registry()
    registry.register(Org())
    runtime.registry = registry
    with runtime.db.transaction() as session:
        row = create_connection(
            session,
            registry,
            runtime.vault,
            name="org",
            connector_id="orgvendor",
            config={"client_id": "cid", "client_secret": "csecret"},
        )
        return runtime, row.id


def stored(rt: Runtime, connection_id: int) -> dict[str, object]:
    with rt.db.transaction() as session:
        return merged_fields(session.get(Connection, connection_id), rt.vault)


def test_declared_fields_are_connection_fields_a_person_can_also_set() -> None:
    props = Org().connection_schema()["properties"]
    assert {"instance_url", "realm_id"} <= set(props)
    assert "instance_url" not in Org().secret_fields()


@responses.activate
def test_code_exchange_stores_declared_token_and_callback_fields(org_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = org_rt
    responses.post(
        TOKEN_URL,
        json={
            "access_token": "at",
            "refresh_token": "rt",
            "instance_url": "https://acme.my.example.com",
            "id_token": "not-declared",
        },
    )
    exchange_code(
        context(rt, connection_id, Org()), "code", REDIRECT, {"realmId": "9130", "state": "s", "code": "c"}
    )
    fields = stored(rt, connection_id)
    assert fields["instance_url"] == "https://acme.my.example.com" and fields["realm_id"] == "9130"
    assert "id_token" not in fields and "state" not in fields and fields["refresh_token"] == "rt"


@responses.activate
def test_refresh_answer_updates_a_declared_field(org_rt: tuple[Runtime, int]) -> None:
    rt, connection_id = org_rt
    responses.post(
        TOKEN_URL, json={"access_token": "a1", "refresh_token": "r1", "instance_url": "https://one"}
    )
    exchange_code(context(rt, connection_id, Org()), "code", REDIRECT)
    responses.replace(
        responses.POST,
        TOKEN_URL,
        json={"access_token": "a2", "instance_url": "https://moved", "expires_in": 60},
    )
    ctx = context(rt, connection_id, Org())
    ensure_token(ctx, force=True)
    assert ctx.connection["instance_url"] == "https://moved"
    assert stored(rt, connection_id)["instance_url"] == "https://moved"
    assert stored(rt, connection_id)["refresh_token"] == "r1"  # kept: the answer had no new one


def test_callback_updates_keep_only_declared_non_empty_parameters() -> None:
    auth = Org.auth
    assert callback_updates(auth, {"realmId": "42", "code": "x"}) == {"realm_id": "42"}
    assert callback_updates(auth, {"realmId": ""}) == {}
    assert callback_updates(OAuth2(), {"realmId": "42"}) == {}


def test_token_fields_absent_from_the_answer_leave_the_stored_value() -> None:
    ctx_fields = {"instance_url": "https://typed-by-hand", "refresh_token": "r", "client_id": "c"}
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={"access_token": "a", "expires_in": 3600})
        from hub.sdk.context import Context

        ctx = Context(connector=Org(), connection=dict(ctx_fields))
        ensure_token(ctx, force=True)
    assert ctx.connection["instance_url"] == "https://typed-by-hand" and ctx.connection["access_token"] == "a"
    assert ctx.connection["expires_at"] > time.time()
