"""Testing while building: listen for a test event, fetch a sample, live previews, private-address
warnings; through the Flask test client against the real app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from hub.app import create_app
from hub.db.models import Event, Run
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from hub.users import create_user
from tests.conftest import make_settings
from tests.web.helpers import PASSWORD, csrf_token, form_fields, sign_in

WEBHOOK = {
    "name": "Hooked",
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
    "steps": [],
}


def editor(client: FlaskClient, email: str = "ed@example.com") -> FlaskClient:
    sign_in(client, email)
    return client


def save_raw(client: FlaskClient, doc: dict[str, Any]) -> str:
    token = csrf_token(client.get("/").text)
    answer = client.post("/recipes/new", data={"csrf_token": token, "op": "save_raw", "raw": json.dumps(doc)})
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


def hook_path(client: FlaskClient, recipe: str) -> str:
    found = re.search(
        r'id="webhook-url" value="http://127\.0\.0\.1:8000(/hooks/[^"]+)"', client.get(recipe).text
    )
    assert found
    return found.group(1)


def picker(page: str) -> dict[str, list[dict[str, str]]]:
    return json.loads(re.search(r'id="picker-data">(.*?)</script>', page, re.S).group(1))


def test_a_draft_listens_and_keeps_the_first_event_without_starting_a_run(
    web_app: Flask, web_runtime: Runtime
) -> None:
    client = editor(web_app.test_client())
    recipe = save_raw(client, WEBHOOK)
    hook = hook_path(client, recipe)
    assert client.post(hook, json={"deal": {"id": "X"}}).status_code == 404  # a draft not listening
    edit = dict(form_fields(client.get(f"{recipe}/edit").text, "editor"))
    unsigned = {k: v for k, v in edit.items() if k != "csrf_token"}
    assert client.post(f"{recipe}/edit", data={**unsigned, "op": "listen"}).status_code == 400  # CSRF
    assert client.get(f"{recipe}/listen").json == {"listening": False, "event": None}
    listen = client.post(f"{recipe}/edit", data={**edit, "op": "listen"}, headers={"X-Hub-Fragment": "1"})
    assert listen.status_code == 200 and listen.headers["X-Hub-Focus"] == "listen-state"
    assert client.get(f"{recipe}/listen").json == {"listening": True, "event": None}
    waiting = client.get(f"{recipe}/edit").text
    assert 'id="listen-state"' in waiting and f'data-listen-url="{recipe}/listen"' in waiting
    answer = client.post(hook, json={"order": {"id": "O-7", "total": 99.5}})
    assert answer.status_code == 202 and answer.json == {"captured": True}
    assert client.post(hook, json={"order": {"id": "O-8"}}).status_code == 404  # only the first is kept
    assert client.get(f"{recipe}/listen").json == {
        "listening": False,
        "event": {"order": {"id": "O-7", "total": 99.5}},
    }
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(func.count()).select_from(Run)) == 0
        assert db.scalar(select(func.count()).select_from(Event)) == 0
    page = client.get(f"{recipe}/edit").text
    assert 'id="sample-state"' in page and "O-7" in page
    assert {"expr": "event.order.id", "example": "O-7"} in picker(page)["_event"]
    preview = json.loads(re.search(r'id="preview-data">(.*?)</script>', page, re.S).group(1))
    assert preview["_base"]["event"]["order"]["id"] == "O-7"
    # the sample rides along in the form, so a later change keeps offering it
    data = dict(form_fields(page, "editor"))
    again = client.post(f"{recipe}/edit", data={**data, "op": "add:action"}, headers={"X-Hub-Fragment": "1"})
    assert {"expr": "event.order.total", "example": "99.5"} in picker(again.text)["s0"]
    # the captured event tests the saved recipe through the test-run machinery (a dry run here)
    assert f'formaction="{recipe}/test"' in page
    tested = client.post(f"{recipe}/test", data={**data, "mode": "dry"})
    assert tested.status_code == 302 and tested.headers["Location"].startswith("/runs/")
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(Event.payload).where(Event.source == "test")) == {
            "order": {"id": "O-7", "total": 99.5}
        }


def test_a_new_recipe_is_saved_as_a_draft_to_listen(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = client.get("/recipes/new").text
    data = dict(form_fields(page, "editor"))
    data.update({"name": "Fresh", "t.connector": "webhook", "t.trigger": "catch", "op": "listen"})
    answer = client.post("/recipes/new", data=data)
    assert answer.status_code == 302 and answer.headers["Location"] == "/recipes/1/edit"
    assert client.get("/recipes/1/listen").json["listening"] is True


def test_viewers_can_neither_listen_nor_preview(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    recipe = save_raw(client, WEBHOOK)
    viewer = editor(web_app.test_client(), "vi@example.com")
    token = csrf_token(viewer.get("/").text)
    assert viewer.post(f"{recipe}/edit", data={"csrf_token": token, "op": "listen"}).status_code == 403
    assert viewer.get(f"{recipe}/listen").status_code == 403
    body = {"template": "{{ 1 }}", "context": {}}
    assert viewer.post("/recipes/preview", json=body, headers={"X-CSRFToken": token}).status_code == 403


def test_the_preview_renders_in_the_run_sandbox(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/recipes/new").text)
    headers = {"X-CSRFToken": token}
    context = {"event": {"deal": {"id": "D-1", "amount": 12.50}}, "line": {"sku": "A"}, "loop": {"index": 0}}

    def preview(template: str) -> Any:
        return client.post(
            "/recipes/preview", json={"template": template, "context": context}, headers=headers
        )

    assert preview("/deals/{{ event.deal.id }}").json == {"ok": True, "value": "/deals/D-1"}
    assert preview("{{ event.deal.amount * 2 }}").json == {"ok": True, "value": "25.0"}
    assert preview("{{ line.sku }}-{{ loop.index }}").json["value"] == "A-0"
    assert preview("{{ event.deal.amount > 10 }}").json["value"] == "true"
    structured = preview('{"n": "{{ event.deal.amount }}", "s": "#{{ line.sku }}"}').json
    assert structured["value"] == '{"n": 12.5, "s": "#A"}'  # a JSON field renders as a run renders it
    broken = preview("{{ event.deal.id ").json
    assert broken["ok"] is False and "$" in broken["error"]
    escaped = preview("{{ ''.__class__.__mro__ }}").json
    assert escaped["ok"] is False
    slow = preview("{% for i in range(10**9) %}{% endfor %}").json
    assert slow["ok"] is False
    refused = client.post("/recipes/preview", json={"template": "{{ 1 }}", "context": {}})
    assert refused.status_code == 400  # no CSRF token
    assert client.post("/recipes/preview", data="[1]", headers=headers).status_code == 400


@responses.activate
def test_fetch_a_sample_polls_once_and_moves_nothing(web_app: Flask, web_runtime: Runtime) -> None:
    items = [{"id": 901, "title": "first"}, {"id": 902, "title": "second"}]
    route = responses.get("https://api.example.com/items", json={"data": items})
    client = editor(web_app.test_client())
    doc = {
        "name": "Poll",
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "config": {"url": "https://api.example.com/items", "items_path": "data", "id_field": "id"},
        },
        "steps": [],
    }
    token = csrf_token(client.get("/recipes/new").text)
    page = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "apply_raw", "raw": json.dumps(doc)}
    ).text
    data = dict(form_fields(page, "editor"))
    answer = client.post("/recipes/new", data={**data, "op": "sample"}, headers={"X-Hub-Fragment": "1"})
    assert route.call_count == 1 and answer.headers["X-Hub-Focus"] == "sample-state"
    assert {"expr": "event.title", "example": "first"} in picker(answer.text)["_event"]
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == 0
    responses.get("https://api.example.com/items", status=500, json={"error": "down"})
    responses.replace(responses.GET, "https://api.example.com/items", status=500, json={"error": "down"})
    failed = client.post("/recipes/new", data={**data, "op": "sample"})
    assert failed.status_code == 200 and "500" in failed.text


def test_calls_to_private_addresses_are_flagged_while_they_are_refused(tmp_path: Path) -> None:
    doc = {
        "name": "Private",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {"id": "inner", "connector": "http", "action": "request", "input": {"url": "http://10.0.0.5/x"}},
            {
                "id": "outer",
                "connector": "http",
                "action": "request",
                "input": {"url": "https://api.example.com/x"},
            },
            {
                "id": "local",
                "connector": "http",
                "action": "request",
                "input": {"url": "http://localhost:8080/{{ x }}"},
            },
            {
                "id": "made",
                "connector": "http",
                "action": "request",
                "input": {"url": "http://{{ event.host }}/x"},
            },
        ],
    }
    for allowed in (False, True):
        rt = Runtime.create(
            make_settings(
                tmp_path / f"h{allowed}", f"sqlite:///{tmp_path}/{allowed}.db", allow_private_network=allowed
            )
        )
        rt.executor = InlineExecutor(rt)
        with rt.db.transaction() as db:
            create_user(db, "ed@example.com", "editor", PASSWORD)
        app = create_app(rt)
        app.config["TESTING"] = True
        client = editor(app.test_client())
        token = csrf_token(client.get("/recipes/new").text)
        page = client.post(
            "/recipes/new", data={"csrf_token": token, "op": "apply_raw", "raw": json.dumps(doc)}
        ).text
        rt.close()
        if allowed:
            assert 'id="private-warnings"' not in page
            continue
        warning = re.search(r'id="private-warnings".*?</div>', page, re.S).group(0)
        assert "step inner calls http://10.0.0.5/x" in warning and "step local calls" in warning
        assert "outer" not in warning and "made" not in warning
