"""Auth.can_refresh: the hub refreshes only what it can, so a static token's 401 keeps the vendor's words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from hub.config import Settings
from hub.connections import create_connection
from hub.db.models import Run
from hub.engine.executor import InlineExecutor
from hub.engine.intake import store_events
from hub.engine.runner import Runner
from hub.recipe_store import save_recipe
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.auth import ApiKeyAuth, Auth, OAuth2, secret_field
from hub.sdk.connector import Action, Connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError
from hub.sdk.oauth import ensure_token
from hub.sdk.types import TriggerEvent
from tests.hub.sdk.test_oauth_refresh import TOKEN_URL

API = "https://api.example.com"


class StaticOrOAuth(OAuth2):
    """OAuth2, or a static token that replaces it (HubSpot's private-app token works like this)."""

    def schema_properties(self) -> dict[str, dict[str, Any]]:
        return {**super().schema_properties(), "static_token": secret_field("Static token")}

    def apply(self, request: requests.PreparedRequest, connection: dict[str, Any]) -> None:
        token = connection.get("static_token") or connection.get("access_token")
        if token:
            request.headers["Authorization"] = f"Bearer {token}"

    def can_refresh(self, connection: dict[str, Any]) -> bool:
        return not connection.get("static_token") and super().can_refresh(connection)


class Vendor(Connector):
    id = "staticvendor"
    name = "Static vendor"
    base_url = API
    auth = StaticOrOAuth(token_url=TOKEN_URL, authorize_url="https://auth.example.com/authorize")


def test_defaults() -> None:
    code = OAuth2(token_url=TOKEN_URL)
    assert code.can_refresh({"refresh_token": "r"}) and not code.can_refresh({"access_token": "a"})
    assert OAuth2(grant="client_credentials").can_refresh({})
    assert not Auth().can_refresh({}) and not ApiKeyAuth().can_refresh({"api_key": "k"})
    assert not Vendor.auth.can_refresh({"static_token": "s", "refresh_token": "r"})


@responses.activate
def test_static_token_is_sent_without_a_token_request_and_its_401_keeps_the_vendor_message() -> None:
    api = responses.get(f"{API}/me", status=401, json={"message": "This token was revoked"})
    ctx = Context(connector=Vendor(), connection={"static_token": "s-123"})
    with pytest.raises(AuthError, match="This token was revoked"):
        ctx.http.get("/me")
    assert len(responses.calls) == 1 and api.calls[0].request.headers["Authorization"] == "Bearer s-123"


@responses.activate
def test_connection_without_refresh_token_is_not_refreshed_unless_forced() -> None:
    ctx = Context(connector=Vendor(), connection={"client_id": "c", "access_token": "a", "expires_at": 1})
    ensure_token(ctx)  # expired, but nothing to refresh with: the vendor will judge the token
    assert len(responses.calls) == 0 and ctx.connection["access_token"] == "a"
    with pytest.raises(AuthError, match="no refresh token"):
        ensure_token(ctx, force=True)


@responses.activate
def test_refreshable_connection_is_still_refreshed() -> None:
    responses.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3600})
    ctx = Context(connector=Vendor(), connection={"client_id": "c", "refresh_token": "r"})
    ensure_token(ctx)
    assert ctx.connection["access_token"] == "new" and len(responses.calls) == 1


# --- the engine: one forced refresh after an AuthError, only when the auth can refresh ---------


class WhoAmI(Action):
    key = "whoami"

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return ctx.http.get("/me").json()


class EngineVendor(Vendor):
    actions = (WhoAmI,)


@pytest.fixture
def engine_rt(settings: Settings) -> Iterator[Runtime]:
    registry = Registry()
    registry.load_entry_points()
    registry.register(EngineVendor(), source="tests")
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    yield rt
    rt.close()


def run_whoami(rt: Runtime, config: dict[str, Any]) -> dict[str, Any]:
    """Run a one-step recipe with the vendor's action and return the run's error (None on success)."""
    document = {
        "name": "who",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {"id": "me", "connector": "staticvendor", "action": "whoami", "connection": "v", "input": {}}
        ],
    }
    with rt.db.transaction() as session:
        create_connection(
            session, rt.registry, rt.vault, name="v", connector_id="staticvendor", config=config
        )
        recipe = save_recipe(session, rt, document)
        stored = store_events(
            session,
            recipe_id=recipe.id,
            recipe_version=recipe.current_version,
            source="test",
            events=[TriggerEvent(data={})],
        )
    run_id = stored[0].run_id
    assert run_id is not None
    Runner(rt).execute(run_id)
    with rt.db.transaction() as session:
        return session.get(Run, run_id).error or {}


@responses.activate
def test_engine_keeps_the_vendor_401_of_a_static_token(engine_rt: Runtime) -> None:
    responses.get(f"{API}/me", status=401, json={"message": "This token was revoked"})
    error = run_whoami(engine_rt, {"static_token": "s-123", "client_id": "c", "client_secret": "x"})
    assert "This token was revoked" in str(error) and "refresh token" not in str(error)
    assert all(call.request.url.startswith(API) for call in responses.calls)  # no token request


@responses.activate
def test_engine_refreshes_once_and_repeats_the_call_for_an_oauth_connection(engine_rt: Runtime) -> None:
    responses.get(f"{API}/me", status=401, json={"message": "expired"})
    responses.get(f"{API}/me", json={"me": "ok"})
    token = responses.post(TOKEN_URL, json={"access_token": "renewed", "expires_in": 3600})
    config = {"client_id": "c", "client_secret": "x", "access_token": "old", "refresh_token": "r"}
    assert run_whoami(engine_rt, config) == {}
    assert len(token.calls) == 1 and responses.calls[-1].request.headers["Authorization"] == "Bearer renewed"
