"""Webhooks are answered ahead of Flask (hub.ingress.HookFastPath), exactly as the Flask view answers."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, abort
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client, TestResponse

from hub.app import create_app
from hub.db.models import Event
from hub.ingress import HookFastPath, JsonAnswer
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime


@pytest.fixture
def hooked(runtime: Runtime) -> Iterator[tuple[Flask, str]]:
    doc = {
        "name": "catch",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [],
    }
    with runtime.db.transaction() as session:
        url = hook_urls(session, runtime, save_recipe(session, runtime, doc))["webhook_url"]
    yield create_app(runtime), "/hooks/" + url.split("/hooks/")[1]


def events(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.scalar(select(func.count(Event.id)))


def both(app: Flask, method: str, path: str, **kwargs: Any) -> tuple[TestResponse, TestResponse]:
    """The same request answered by the fast path and by Flask's own routing to the view."""
    fast_path = app.wsgi_app
    assert isinstance(fast_path, HookFastPath)
    return Client(app).open(path, method=method, **kwargs), Client(fast_path.app).open(
        path, method=method, **kwargs
    )


def test_webhooks_do_not_go_through_flask(hooked: tuple[Flask, str], runtime: Runtime) -> None:
    app, path = hooked

    @app.before_request
    def closed() -> None:
        abort(418)

    answer = app.test_client().post(path, json={"deal": 1})
    assert answer.status_code == 202
    assert answer.get_json()["event_id"]
    assert events(runtime) == 1
    assert app.test_client().get("/healthz").status_code == 418  # everything else still does


@pytest.mark.parametrize(
    ("method", "suffix", "kwargs", "status"),
    [
        ("POST", "", {"json": {"deal": 1}}, 202),
        ("PUT", "?source=crm", {"data": b"name=a", "content_type": "application/x-www-form-urlencoded"}, 202),
        ("POST", "", {"data": b'{"deal": NaN}', "content_type": "application/json"}, 400),
        ("POST", "", {"data": b"x" * (1024 * 1024 + 1), "content_type": "text/plain"}, 413),
        ("GET", "", {}, 405),
        ("POST", "-unknown", {"json": {}}, 404),
    ],
    ids=["post", "put_form", "bad_json", "too_large", "get", "unknown"],
)
def test_the_fast_path_answers_as_the_flask_view(
    hooked: tuple[Flask, str], method: str, suffix: str, kwargs: dict[str, Any], status: int
) -> None:
    app, path = hooked
    fast, flask = both(app, method, path + suffix, **kwargs)
    assert fast.status_code == flask.status_code == status
    assert fast.headers["Content-Type"] == flask.headers["Content-Type"]
    if status == 202:
        assert fast.get_json().keys() == flask.get_json().keys()
        assert fast.get_json()["event_id"] != flask.get_json()["event_id"]  # both stored their own
    else:
        assert fast.get_data() == flask.get_data()


def test_a_database_outage_is_a_503_with_retry_after_on_both(
    hooked: tuple[Flask, str], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, path = hooked

    def unavailable(_unit: Any) -> None:
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(runtime.db, "write", unavailable)
    fast, flask = both(app, "POST", path, json={"deal": 1})
    assert fast.status_code == flask.status_code == 503
    assert fast.headers["Retry-After"] == flask.headers["Retry-After"]
    assert fast.get_json() == flask.get_json()
    assert fast.get_json()["error"]["code"] == "database_unavailable"


def test_an_unexpected_error_is_logged_and_answered_500_without_details(
    hooked: tuple[Flask, str],
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, path = hooked

    def broken(_unit: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(runtime.db, "write", broken)
    with caplog.at_level(logging.ERROR, logger="hub.ingress"):
        answer = app.test_client().post(path, json={"deal": 1})
    assert answer.status_code == 500
    assert answer.get_json() == {
        "error": {"code": "internal_error", "message": "the event could not be taken"}
    }
    assert "secret internals" not in answer.get_data(as_text=True)
    assert any("webhook_failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_deeper_paths_and_other_methods_are_left_to_flask(hooked: tuple[Flask, str]) -> None:
    app, path = hooked
    client = app.test_client()
    deeper = client.post(path + "/more", json={})
    assert deeper.status_code == 404
    assert deeper.get_json()["error"]["code"] == "not_found"  # a machine's answer, not the UI's page
    assert client.open(path, method="OPTIONS").status_code == 200
    assert client.delete(path).status_code == 405


@pytest.mark.parametrize(("status", "line"), [(202, "202 Accepted"), (200, "200 OK")])
def test_the_stored_events_answer_is_a_complete_json_response(status: int, line: str) -> None:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    answer = JsonAnswer(status, {"event_id": "7", "event_ids": ["7"]})
    body = b"".join(
        answer({}, lambda status_line, headers, exc_info=None: seen.append((status_line, headers)))
    )
    assert seen == [(line, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])]
    assert json.loads(body) == {"event_id": "7", "event_ids": ["7"]}
