"""The recipe lifecycle in the UI: drafts and the live badge, restoring a version, the A/B split form."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.db.models import AuditEntry, Recipe
from hub.runtime import Runtime
from tests.web.helpers import csrf_token, sign_in


def hook_recipe(label: str) -> dict[str, Any]:
    return {
        "name": "Deals",
        "enabled": True,  # the editor makes a draft whatever the document says
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [{"id": "note", "type": "delay", "seconds": 0}],
        "description": label,
    }


def signed_in(app: Flask, email: str = "ed@example.com") -> tuple[FlaskClient, str]:
    client = app.test_client()
    sign_in(client, email)
    return client, csrf_token(client.get("/").text)


def save_in_editor(client: FlaskClient, token: str, doc: dict[str, Any], recipe_id: int | None = None) -> Any:
    url = "/recipes/new" if recipe_id is None else f"/recipes/{recipe_id}/edit"
    form = {"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)}
    return client.post(url, data=form)


def hook_path(client: FlaskClient) -> str:
    found = re.search(
        r'id="webhook-url" value="http://127\.0\.0\.1:8000(/hooks/[^"]+)"', client.get("/recipes/1").text
    )
    assert found
    return found.group(1)


def test_a_recipe_made_in_the_ui_is_a_draft_until_enabled(web_app: Flask) -> None:
    client, token = signed_in(web_app)
    saved = save_in_editor(client, token, hook_recipe("one"))
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).text
    assert "This recipe is a draft: it receives no events until you enable it." in page
    assert 'id="not-live"' in page and ">not live</span>" in page
    path = hook_path(client)
    assert client.post(path, json={"deal": 1}).status_code == 404  # not live: no events taken
    listed = client.get("/recipes").text
    assert ">not live</span>" in listed and 'aria-label="Enable Deals"' in listed

    assert client.post("/recipes/1/enable", data={"csrf_token": token}).status_code == 302
    listed = client.get("/recipes").text
    assert ">live</span>" in listed and 'aria-label="Disable Deals"' in listed
    assert client.post(path, json={"deal": 1}).status_code == 202
    draft_on = {**hook_recipe("two"), "enabled": False}  # an edit in the UI keeps it live
    assert save_in_editor(client, token, draft_on, recipe_id=1).status_code == 302
    assert client.post(path, json={"deal": 2}).status_code == 202
    assert 'id="not-live"' not in client.get("/recipes/1").text

    viewer, _token = signed_in(web_app, "vi@example.com")
    listed = viewer.get("/recipes").text
    assert ">live</span>" in listed and 'aria-label="Disable Deals"' not in listed
    assert viewer.post("/recipes/1/disable", data={"csrf_token": _token}).status_code == 403


def test_the_version_page_restores_a_version(web_app: Flask, web_runtime: Runtime) -> None:
    client, token = signed_in(web_app)
    save_in_editor(client, token, hook_recipe("first"))
    save_in_editor(client, token, hook_recipe("second"), recipe_id=1)
    old = client.get("/recipes/1/versions/1").text
    assert "Restore this version" in old and 'action="/recipes/1/versions/1/restore"' in old
    assert "Restore this version" not in client.get("/recipes/1/versions/2").text  # the current one
    viewer, viewer_token = signed_in(web_app, "vi@example.com")
    assert "Restore this version" not in viewer.get("/recipes/1/versions/1").text
    assert viewer.post("/recipes/1/versions/1/restore", data={"csrf_token": viewer_token}).status_code == 403
    assert client.post("/recipes/1/versions/1/restore").status_code == 400  # no CSRF token

    done = client.post("/recipes/1/versions/1/restore", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/recipes/1"
    page = client.get("/recipes/1").text
    assert "Version 1 restored as version 3." in page and "first" in page
    assert client.post("/recipes/1/versions/8/restore", data={"csrf_token": token}).status_code == 404
    with web_runtime.db.transaction() as db:
        assert db.get(Recipe, 1).current_version == 3
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "recipe.restore"))
        assert entry.actor == "ed@example.com" and entry.details == {"from_version": 1, "version": 3}


def test_the_recipe_page_sets_shows_and_ends_a_split(web_app: Flask, web_runtime: Runtime) -> None:
    client, token = signed_in(web_app)
    save_in_editor(client, token, hook_recipe("first"))
    save_in_editor(client, token, hook_recipe("second"), recipe_id=1)
    page = client.get("/recipes/1").text
    assert "No split: every new run starts the current version (v2)." in page and 'id="split-form"' in page

    refused = client.post("/recipes/1/split", data={"csrf_token": token, "weight-1": "5", "weight-2": ""})
    assert (
        "The split was not changed: $.versions: a split needs two or more versions"
        in client.get(refused.headers["Location"]).text
    )
    bad = client.post("/recipes/1/split", data={"csrf_token": token, "weight-1": "x", "weight-2": "1"})
    assert "$.versions.1: the weight must be a whole number" in client.get(bad.headers["Location"]).text

    done = client.post("/recipes/1/split", data={"csrf_token": token, "weight-1": "30", "weight-2": "70"})
    assert done.status_code == 302 and done.headers["Location"] == "/recipes/1#split"
    page = client.get("/recipes/1").text
    assert "New runs are now split between the versions by weight." in page
    assert re.search(r">v1</a></td><td>30</td><td>30%</td>", page) and re.search(
        r"<td>70</td><td>70%</td>", page
    )
    assert re.search(r'id="weight-2" name="weight-2" value="70"', page)
    with web_runtime.db.transaction() as db:
        assert db.get(Recipe, 1).split == {"1": 30, "2": 70}

    viewer, viewer_token = signed_in(web_app, "vi@example.com")
    shown = viewer.get("/recipes/1").text
    assert "<td>30%</td>" in shown and 'id="split-form"' not in shown and "End the split" not in shown
    assert viewer.post("/recipes/1/split/end", data={"csrf_token": viewer_token}).status_code == 403
    assert client.post("/recipes/1/split/end").status_code == 400  # no CSRF token

    ended = client.post("/recipes/1/split/end", data={"csrf_token": token})
    assert "Split ended: every new run starts version 2." in client.get(ended.headers["Location"]).text
    with web_runtime.db.transaction() as db:
        assert db.get(Recipe, 1).split is None


def test_lifecycle_pages_in_chinese(web_app: Flask) -> None:
    client, token = signed_in(web_app)
    save_in_editor(client, token, hook_recipe("first"))
    save_in_editor(client, token, hook_recipe("second"), recipe_id=1)
    chinese = {"Accept-Language": "zh-CN"}
    page = client.get("/recipes/1", headers=chinese).text
    assert "A/B 分流" in page and "未上线" in page and "此配方未上线" in page and "分流新运行" in page
    assert "恢复此版本" in client.get("/recipes/1/versions/1", headers=chinese).text
    assert "未上线" in client.get("/recipes", headers=chinese).text
