"""Webhook ingress under the JSON policy: any body is answered 2xx, 400 or 413, never 500.

NaN, lone surrogates, NUL and 100k-deep nesting used to reach the database or blow the stack, so
senders got 500s and retried the same poison delivery for days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub.app import create_app
from hub.config import Settings
from hub.db.models import Event
from hub.engine.executor import InlineExecutor
from hub.recipe_store import hook_urls, save_recipe
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.auth import NoAuth
from hub.sdk.connector import Connector, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.types import InboundRequest, TriggerEvent


class RawJson(WebhookTrigger):
    """A connector that parses with the standard library itself, as some vendors' connectors must."""

    key = "raw"

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        return [TriggerEvent(data={"value": json.loads(request.body)})]


class RawKit(Connector):
    id = "rawkit"
    name = "Raw kit"
    auth = NoAuth()
    triggers = (RawJson,)
    actions = ()


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[Runtime, FlaskClient, dict[str, str]]]:
    registry = Registry()
    registry.load_entry_points()
    registry.register(RawKit(), source="tests")
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    paths = {}
    for name, connector, trigger in (("catch", "webhook", "catch"), ("raw", "rawkit", "raw")):
        doc = {
            "name": name,
            "trigger": {"connector": connector, "trigger": trigger, "config": {}},
            "steps": [],
        }
        with rt.db.transaction() as session:
            url = hook_urls(session, rt, save_recipe(session, rt, doc))["webhook_url"]
        paths[name] = "/hooks/" + url.split("/hooks/")[1]
    yield rt, create_app(rt).test_client(), paths
    rt.close()


def events(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.scalar(select(func.count(Event.id)))


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"amount": NaN}', JSON, "body is not valid JSON: NaN is not allowed"),
        (b'{"amount": Infinity}', JSON, "body is not valid JSON: Infinity is not allowed"),
        (
            b'{"name": "\\ud800"}',
            JSON,
            "body is not valid JSON: lone surrogate \\ud800 is not allowed at $.name",
        ),
        (
            b'{"\\udc00": 1}',
            JSON,
            "body is not valid JSON: lone surrogate \\udc00 is not allowed in a key at $",
        ),
        (b'{"a": "\\u0000"}', JSON, "body is not valid JSON: NUL character (\\u0000) is not allowed at $.a"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, "body is not valid JSON: nesting deeper than 256"),
        (
            b"name=%ED%A0%80",
            FORM,
            "form body is not UTF-8: a percent-encoded field has an invalid continuation byte",
        ),
        (b"name=a%00b", FORM, "event cannot be stored: NUL character (\\u0000) is not allowed at $.name"),
    ],
    ids=["nan", "infinity", "surrogate", "surrogate_key", "nul", "deep", "form_surrogate", "form_nul"],
)
def test_poison_bodies_get_a_400_naming_the_problem(
    hub: tuple[Runtime, FlaskClient, dict[str, str]], body: bytes, headers: dict[str, str], message: str
) -> None:
    rt, client, paths = hub
    answer = client.post(paths["catch"], data=body, headers=headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {"code": "bad_request", "message": message}
    assert events(rt) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
        (b'{"amount": NaN}', "event cannot be stored: Out of range float values are not JSON compliant"),
        (b'"\\ud800"', "event cannot be stored: lone surrogate \\ud800 is not allowed at $.value"),
    ],
    ids=["deep", "nan", "surrogate"],
)
def test_a_connector_parsing_on_its_own_still_cannot_store_poison(
    hub: tuple[Runtime, FlaskClient, dict[str, str]], body: bytes, message: str
) -> None:
    rt, client, paths = hub
    answer = client.post(paths["raw"], data=body, headers=JSON)
    assert (answer.status_code, answer.get_json()["error"]["message"]) == (400, message)
    assert events(rt) == 0


def test_clean_bodies_are_still_accepted(hub: tuple[Runtime, FlaskClient, dict[str, str]]) -> None:
    rt, client, paths = hub
    assert (
        client.post(paths["catch"], data=b'{"emoji": "\\ud83d\\ude00", "n": 1.5}', headers=JSON).status_code
        == 202
    )
    assert client.post(paths["catch"], data=b"name=%E6%9D%8E", headers=FORM).status_code == 202
    assert client.post(paths["raw"], data=b"[" * 200 + b"]" * 200, headers=JSON).status_code == 202
    assert events(rt) == 3


bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.integers(min_value=0, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.lists(st.sampled_from(['"\\ud800"', "NaN", "1", '"\\u0000"', "-Infinity", '"x"']), max_size=4).map(
        lambda xs: ("[" + ",".join(xs) + "]").encode()
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies,
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
    target=st.sampled_from(["catch", "raw"]),
)
def test_any_body_is_answered_without_a_server_error(
    hub: tuple[Runtime, FlaskClient, dict[str, str]], body: bytes, content_type: str, target: str
) -> None:
    _rt, client, paths = hub
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.post(paths[target], data=body, headers=headers)
    assert answer.status_code in (200, 202, 400, 413), answer.get_data()
