"""Test runs from the recipe page, the run page (redacted), replay, the dashboard and languages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.db.models import TriggerState
from hub.runtime import Runtime
from tests.e2e.harness import Sink
from tests.web.helpers import csrf_token, sign_in


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def make_recipe(client: FlaskClient, sink_url: str) -> str:
    doc = {
        "name": "Relay",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "first",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/a/{{{{ event.deal.id }}}}",
                    "headers": {"Authorization": "Bearer tok-hidden-42"},
                    "json": {"id": "{{ event.deal.id }}"},
                },
            },
            {
                "id": "second",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink_url}/b",
                    "json": {"status": "{{ steps.first.status }}"},
                },
            },
        ],
    }
    token = csrf_token(client.get("/").text)
    saved = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)}
    )
    assert saved.status_code == 302
    return token


def test_dry_run_renders_every_step_and_performs_none(web_app: Flask, sink: Sink) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = make_recipe(client, sink.url)
    answer = client.post(
        "/recipes/1/test", data={"csrf_token": token, "mode": "dry", "event": '{"deal": {"id": "D-7"}}'}
    )
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).text
    assert "dry run" in page and "/a/D-7" in page
    assert "tok-hidden-42" not in page and "[REDACTED]" in page
    assert sink.requests == []


def test_live_run_then_replay_from_a_step(web_app: Flask, sink: Sink) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = make_recipe(client, sink.url)
    answer = client.post(
        "/recipes/1/test", data={"csrf_token": token, "mode": "live", "event": '{"deal": {"id": "D-8"}}'}
    )
    run_url = answer.headers["Location"]
    page = client.get(run_url).text
    assert re.search(r'<h1>Run #1</h1> <span class="status status-succeeded">', page)
    assert [r["path"] for r in sink.requests] == ["/a/D-8", "/b"]
    replay = client.post(f"{run_url}/replay", data={"csrf_token": token, "from_step": "second"})
    assert replay.status_code == 302 and replay.headers["Location"] == "/runs/2"
    page = client.get("/runs/2").text
    assert "replay of #1" in page and "from step second" in page
    assert [r["path"] for r in sink.requests] == ["/a/D-8", "/b", "/b"]  # the first step was not repeated
    listing = client.get("/runs?status=succeeded&recipe_id=1").text
    assert 'href="/runs/1"' in listing and 'href="/runs/2"' in listing
    assert 'href="/runs/1"' not in client.get("/runs?status=failed").text
    assert 'href="/runs/1"' not in client.get("/runs?since=2999-01-01T00:00").text


def test_dashboard_charts_runs_and_lists_failures(web_app: Flask, sink: Sink) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = make_recipe(client, sink.url)
    client.post(
        "/recipes/1/test", data={"csrf_token": token, "mode": "live", "event": '{"deal": {"id": "ok"}}'}
    )
    failing = {
        "name": "Fails",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "boom",
                "connector": "http",
                "action": "request",
                "retry": {"max_attempts": 1},
                "input": {"url": "{{ event.missing.key }}"},
            }
        ],
    }
    client.post("/recipes/new", data={"csrf_token": token, "op": "save_raw", "raw": json.dumps(failing)})
    client.post("/recipes/2/test", data={"csrf_token": token, "mode": "live", "event": "{}"})
    assert "status-failed" in client.get("/runs/2").text
    page = client.get("/").text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'role="img"' in page
    assert re.search(r'<rect [^>]*fill="#2e7d32"><title>\d\d:00 succeeded: 1</title>', page)
    assert re.search(r'<rect [^>]*fill="#c62828"><title>\d\d:00 failed: 1</title>', page)
    assert 'href="/runs/2">#2</a>' in page  # the failed run needs attention


def test_language_from_the_browser_then_from_the_user_setting(web_app: Flask) -> None:
    client = web_app.test_client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    assert 'lang="zh-Hans"' in page and "登录" in page
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-US"}).text
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get("/").text)
    client.post("/language", data={"csrf_token": token, "language": "zh", "next": "/"})
    other = web_app.test_client()  # a new session of the same user, browser asking for English
    sign_in(other, "ed@example.com")
    page = other.get("/recipes", headers={"Accept-Language": "en"}).text
    assert "新建配方" in page or "配方" in page


def test_dashboard_lists_polling_triggers_with_their_last_poll_and_error(
    web_app: Flask, web_runtime: Runtime
) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get("/").text)
    doc = {
        "name": "Poll items",
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "config": {"url": "http://127.0.0.1:9/items", "id_field": "id"},
        },
        "steps": [],
    }
    client.post("/recipes/new", data={"csrf_token": token, "op": "save_raw", "raw": json.dumps(doc)})
    assert re.search(r">Poll items</a> <span [^>]*>not live</span></td>", client.get("/").text)  # a draft
    assert client.post("/recipes/1/enable", data={"csrf_token": token}).status_code == 302
    page = client.get("/").text
    shown = r">Poll items</a></td>\s*<td>HTTP / New items in a JSON endpoint</td>\s*<td>never</td>"
    assert re.search(shown, page)  # the trigger by its title, not its ids
    with web_runtime.db.transaction() as db:
        state = db.scalar(select(TriggerState))
        state.last_poll_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        state.last_error, state.consecutive_failures = "Connection refused by 127.0.0.1:9", 3
    page = client.get("/").text
    assert "2026-01-02T03:04:05" in page and "Connection refused by 127.0.0.1:9 (3 failures in a row)" in page


def test_static_assets_are_served(web_app: Flask) -> None:
    client = web_app.test_client()
    assert "openPicker" in client.get("/assets/hub.js").text
    assert client.get("/assets/hub.css").status_code == 200
