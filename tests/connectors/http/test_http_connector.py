"""http.request and http.poll_json, and webhook.post, against faked vendors (responses)."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
import responses

from connectors.http import connector as http
from connectors.webhook import connector as webhook
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError


def ctx(connector: Any, **connection: Any) -> Context:
    return Context(connector=connector, connection=connection, idempotency_key="42:notify")


@responses.activate
def test_request_sends_json_query_headers_auth_and_idempotency_key() -> None:
    route = responses.post("https://api.example.com/v1/deals", json={"id": 7, "total": 12.5})
    out = http.action("request").perform(
        ctx(http, base_url="https://api.example.com/v1", auth_type="bearer", token="tok-123"),
        {
            "method": "POST",
            "url": "deals",
            "query": {"expand": "owner"},
            "headers": {"X-Trace": "t1"},
            "json": {"amount": Decimal("12345678901234567.89")},
        },
    )
    sent = route.calls[0].request
    assert sent.url == "https://api.example.com/v1/deals?expand=owner"
    assert sent.headers["Authorization"] == "Bearer tok-123" and sent.headers["X-Trace"] == "t1"
    assert sent.headers["Idempotency-Key"] == "42:notify"
    assert sent.body == b'{"amount":12345678901234567.89}'
    assert out["status"] == 200 and out["json"] == {"id": 7, "total": Decimal("12.5")}


@responses.activate
@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        ({"auth_type": "basic", "username": "u", "password": "p"}, "Authorization", "Basic dTpw"),
        ({"auth_type": "api_key", "api_key_header": "X-Key", "api_key": "k1"}, "X-Key", "k1"),
    ],
)
def test_connection_auth_kinds(auth: dict[str, str], header: str, value: str) -> None:
    route = responses.get("https://api.example.com/x", body="plain")
    connection = ctx(http, allowed_hosts=["api.example.com"], **auth)
    out = http.action("request").perform(connection, {"url": "https://api.example.com/x"})
    assert route.calls[0].request.headers[header] == value
    assert out["json"] is None and out["text"] == "plain"


@responses.activate
def test_credentials_are_refused_for_a_host_the_connection_does_not_name() -> None:
    """A step naming another host must not receive the connection's bearer token or API key."""
    route = responses.get("https://collector.example.net/x")
    for auth in ({"auth_type": "bearer", "token": "tok-123"}, {"auth_type": "api_key", "api_key": "k-123"}):
        connection = ctx(http, base_url="https://api.example.com/v1", **auth)
        with pytest.raises(
            PermanentError, match=r"credentials to collector\.example\.net.*api\.example\.com"
        ):
            http.action("request").perform(connection, {"url": "https://collector.example.net/x"})
    assert not route.calls


@responses.activate
def test_allowed_hosts_name_exact_hosts_and_subdomain_wildcards() -> None:
    eu, other = responses.get("https://eu.example.com/x"), responses.get("https://files.example.org/y")
    connection = ctx(
        http, allowed_hosts=["*.example.com", "files.example.org"], auth_type="bearer", token="tok-123"
    )
    http.action("request").perform(connection, {"url": "https://eu.example.com/x"})
    http.action("request").perform(connection, {"url": "https://files.example.org/y"})
    assert eu.calls[0].request.headers["Authorization"] == "Bearer tok-123"
    assert other.calls[0].request.headers["Authorization"] == "Bearer tok-123"
    with pytest.raises(PermanentError, match=r"credentials to example\.com"):
        http.action("request").perform(connection, {"url": "https://example.com/"})


@responses.activate
def test_connection_without_credentials_may_call_any_host() -> None:
    route = responses.get("https://anywhere.example.net/x")
    connection = ctx(http, base_url="https://api.example.com", auth_type="none")
    http.action("request").perform(connection, {"url": "https://anywhere.example.net/x"})
    assert "Authorization" not in route.calls[0].request.headers


def test_credentials_without_base_url_or_allowed_hosts_are_refused() -> None:
    with pytest.raises(PermanentError, match="neither allowed_hosts nor a base_url"):
        http.action("request").perform(
            ctx(http, auth_type="bearer", token="tok-123"), {"url": "https://api.example.com/x"}
        )


@responses.activate
def test_redirect_keeps_credentials_only_on_allowed_hosts() -> None:
    responses.get("https://api.example.com/a", status=302, headers={"Location": "https://eu.example.com/b"})
    responses.get("https://eu.example.com/b", status=302, headers={"Location": "https://cdn.example.net/c"})
    final = responses.get("https://cdn.example.net/c")
    connection = ctx(
        http, allowed_hosts=["api.example.com", "eu.example.com"], auth_type="bearer", token="t-1"
    )
    http.action("request").perform(connection, {"url": "https://api.example.com/a"})
    assert responses.calls[1].request.headers["Authorization"] == "Bearer t-1"
    assert "Authorization" not in final.calls[0].request.headers


@responses.activate
def test_form_and_raw_bodies_and_one_body_only() -> None:
    route = responses.put("https://api.example.com/f")
    http.action("request").perform(
        ctx(http), {"method": "PUT", "url": "https://api.example.com/f", "form": {"a": "1"}}
    )
    assert route.calls[0].request.body == "a=1"
    with pytest.raises(PermanentError, match="only one of"):
        http.action("request").perform(
            ctx(http), {"url": "https://api.example.com/f", "form": {"a": 1}, "body": "x"}
        )


@responses.activate
def test_status_classification_and_raise_for_status_off() -> None:
    responses.get("https://api.example.com/503", status=503, headers={"Retry-After": "7"})
    responses.get("https://api.example.com/401", status=401)
    responses.get("https://api.example.com/404", status=404, json={"error": "no such deal"})
    request = http.action("request")
    with pytest.raises(RetryableError) as busy:
        request.perform(ctx(http), {"url": "https://api.example.com/503"})
    assert busy.value.retry_after == 7
    with pytest.raises(AuthError):
        request.perform(ctx(http), {"url": "https://api.example.com/401"})
    with pytest.raises(PermanentError, match="404"):
        request.perform(ctx(http), {"url": "https://api.example.com/404"})
    out = request.perform(ctx(http), {"url": "https://api.example.com/404", "raise_for_status": False})
    assert out["status"] == 404 and out["json"] == {"error": "no such deal"}


@responses.activate
def test_poll_json_takes_items_at_a_path_with_ids() -> None:
    responses.get(
        "https://api.example.com/items", json={"data": {"items": [{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]}}
    )
    result = http.trigger("poll_json").poll(
        ctx(http),
        {"url": "https://api.example.com/items", "items_path": "data.items", "id_field": "id"},
        None,
    )
    assert [(i.id, i.data["n"]) for i in result.items] == [("1", "a"), ("2", "b")]
    responses.get("https://api.example.com/bad", json={"data": {}})
    with pytest.raises(PermanentError, match="no list"):
        http.trigger("poll_json").poll(
            ctx(http),
            {"url": "https://api.example.com/bad", "items_path": "data.items", "id_field": "id"},
            None,
        )


@responses.activate
def test_webhook_post_signs_like_catch_checks() -> None:
    route = responses.post("https://crm.example.com/in", json={"ok": True})
    out = webhook.action("post").perform(
        ctx(webhook), {"url": "https://crm.example.com/in", "json": {"deal": "D-1"}, "secret": "shh"}
    )
    sent = route.calls[0].request
    assert json.loads(sent.body) == {"deal": "D-1"}
    expected = "sha256=" + hmac.new(b"shh", sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["X-Signature"] == expected and sent.headers["Idempotency-Key"] == "42:notify"
    assert out == {"status": 200, "json": {"ok": True}, "text": '{"ok": true}'}
