"""The template gallery, a template's page and its install form, and a recipe exported as a template,
with the Flask test client on a catalogue of two sample templates (tests/web/template_samples.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.access import DEFAULT_PROJECT_ID
from hub.db.models import AuditEntry, Recipe
from hub.runtime import Runtime
from hub.services import connections as connection_service
from hub.services import projects as project_service
from hub.templates import catalogue
from tests.web.helpers import csrf_token, form_fields, sign_in
from tests.web.template_samples import sample_catalogue

__all__ = ["sample_catalogue"]  # the fixture, used by name
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _client(app: Flask, email: str) -> Any:
    client = app.test_client()
    sign_in(client, email)
    return client


def _connection(rt: Runtime, name: str, project_id: int = DEFAULT_PROJECT_ID, connector: str = "http") -> int:
    config = {"auth_type": "none", "base_url": "https://api.example.com"}
    if connector != "http":
        config = {}
    made = connection_service.create_connection(
        rt, actor="tests", name=name, connector_id=connector, config=config, limits={}, project_id=project_id
    )
    return int(made["id"])


def _cards(html: str) -> list[str]:
    return re.findall(r'data-template="([^"]+)"', html)


def _connection_options(html: str) -> list[tuple[str, str]]:
    select = html[html.index('id="p-api"') : html.index("</select>", html.index('id="p-api"'))]
    return re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', select)


def _install_form(html: str, **changes: str) -> dict[str, str]:
    data = dict(form_fields(html, "install-form"))
    data.update(changes)
    return data


def test_the_gallery_searches_and_filters_with_a_get_form(web_app: Flask, sample_catalogue: Any) -> None:
    viewer = _client(web_app, "vi@example.com")
    page = viewer.get("/")
    assert '<a href="/templates">Templates</a>' in page.text  # in the main navigation
    page = viewer.get("/templates")
    assert page.status_code == 200
    assert _cards(page.text) == ["daily-digest", "deal-relay"]  # by title
    assert '<form method="get" class="card filters" id="template-filters"' in page.text
    for control in ("q", "category", "system"):
        assert f'<label for="{control}">' in page.text and f'id="{control}" name="{control}"' in page.text
    assert 'id="filters-apply">Apply</button>' in page.text  # the lists never submit by themselves
    assert 'data-system="webhook">Webhook</span>' in page.text
    assert _cards(viewer.get("/templates?category=alerts").text) == ["deal-relay"]
    assert _cards(viewer.get("/templates?system=schedule").text) == ["daily-digest"]
    assert _cards(viewer.get("/templates?q=MORNING").text) == ["daily-digest"]  # descriptions, any case
    assert _cards(viewer.get("/templates?q=大额商机").text) == ["deal-relay"]  # Chinese texts too
    narrowed = viewer.get("/templates?category=alerts&system=schedule")
    assert _cards(narrowed.text) == [] and "No template matches" in narrowed.text
    assert "0 of 2 templates" in narrowed.text and 'href="/templates">Show all</a>' in narrowed.text
    chosen = viewer.get("/templates?category=reports&system=http")
    assert '<option value="reports" selected>Reports</option>' in chosen.text
    assert '<option value="http" selected>' in chosen.text


def test_the_gallery_and_a_template_page_in_chinese(web_app: Flask, sample_catalogue: Any) -> None:
    editor = _client(web_app, "ed@example.com")
    page = editor.get("/templates", headers=ZH)
    assert "配方模板" in page.text and "把大额商机转发到接口" in page.text
    assert '<option value="alerts">告警</option>' in page.text and ">应用</button>" in page.text
    assert "显示 2 个模板，共 2 个" in page.text
    detail = editor.get("/templates/deal-relay", headers=ZH)
    assert (
        "配方做什么" in detail.text
        and "最小金额" in detail.text
        and "低于此金额的商机不发送。" in detail.text
    )
    assert "此项目还没有" in detail.text and "创建配方草稿" in detail.text


def test_a_template_page_previews_the_steps_and_offers_usable_connections(
    web_app: Flask, web_runtime: Runtime, sample_catalogue: Any
) -> None:
    editor = _client(web_app, "ed@example.com")
    empty = editor.get("/templates/deal-relay")
    assert "This project has no HTTP connection yet." in empty.text
    assert 'href="/connections/new?connector=http"' in empty.text
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    own = _connection(web_runtime, "Deals API")
    _connection(web_runtime, "Sales API", sales)  # another project's: not offered
    _connection(web_runtime, "Hooks", connector="webhook")  # another connector's: not offered
    page = editor.get("/templates/deal-relay")
    assert page.status_code == 200
    assert "Relay big deals to an API" in page.text and "Posts each deal above an amount" in page.text
    preview = page.text[page.text.index('id="preview"') : page.text.index('id="install"')]
    assert 'data-step="settings"' in preview and 'data-step="send"' in preview
    assert "HTTP: Make an HTTP request" in preview and "Webhook / " in preview
    assert "min, path" in preview  # the set step's summary, as the editor's closed card shows it
    assert "$param" not in page.text
    assert _connection_options(page.text) == [(str(own), "Deals API")]
    fields = dict(form_fields(page.text, "install-form"))
    assert fields["recipe_name"] == "Relay big deals to an API"
    assert fields["p.path"] == "/deals" and fields["p.min_amount"] == ""  # defaults filled in
    assert '<input type="number" step="any" id="f-p-min_amount" name="p.min_amount"' in page.text
    assert '<label for="f-p-min_amount">Smallest amount' in page.text
    examples = editor.get("/templates/deal-relay?examples=1")
    assert dict(form_fields(examples.text, "install-form"))["p.min_amount"] == "1000"
    assert editor.get("/templates/nothing-like-this").status_code == 404


def test_install_errors_are_shown_beside_their_fields_in_both_languages(
    web_app: Flask, web_runtime: Runtime, sample_catalogue: Any
) -> None:
    foreign = _connection(
        web_runtime, "Elsewhere", project_service.create_project(web_runtime, "x", actor="t")["id"]
    )
    _connection(web_runtime, "Deals API")
    editor = _client(web_app, "ed@example.com")
    page = editor.get("/templates/deal-relay")
    answer = editor.post("/templates/deal-relay/install", data=_install_form(page.text, **{"p.path": ""}))
    assert answer.status_code == 422
    assert re.search(r'id="p-api-error" role="alert">Choose a connection.</p>', answer.text)
    assert 'id="f-p-min_amount-error" role="alert">This field is required.</p>' in answer.text
    assert "f-p-path-error" not in answer.text  # empty, so its default is used
    assert "The recipe was not created:" in answer.text
    forged = _install_form(page.text, **{"p.api": str(foreign), "p.min_amount": "lots"})
    answer = editor.post("/templates/deal-relay/install", data=forged)
    assert "Choose one of the listed connections." in answer.text
    assert 'id="f-p-min_amount-error" role="alert">Enter a number.</p>' in answer.text
    assert 'value="lots"' in answer.text  # kept as typed
    chosen = _connection_options(page.text)[0][0]
    negative = _install_form(page.text, **{"p.api": chosen, "p.min_amount": "-5"})
    answer = editor.post("/templates/deal-relay/install", data=negative)
    assert answer.status_code == 422  # the template's schema, checked by install
    assert 'id="f-p-min_amount-error" role="alert">The smallest allowed value is 0.</p>' in answer.text
    zh = editor.post("/templates/deal-relay/install", data=negative, headers=ZH)
    assert 'id="f-p-min_amount-error" role="alert">允许的最小值为 0。</p>' in zh.text
    zh = editor.post("/templates/deal-relay/install", data=_install_form(page.text), headers=ZH)
    assert "请选择一个连接。" in zh.text and "此字段为必填项。" in zh.text and "配方未创建：" in zh.text
    broken = _install_form(page.text, **{"p.api": chosen, "p.min_amount": "5", "p.path": "{{ steps.oops"})
    answer = editor.post("/templates/deal-relay/install", data=broken)
    assert answer.status_code == 422  # the filled recipe is checked as any saved recipe
    top = answer.text[answer.text.index('id="install-errors"') : answer.text.index('id="install-form"')]
    assert "$.steps[0].values.path" in top and 'value="{{ steps.oops"' in answer.text
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(Recipe.id)) is None


def test_install_creates_a_draft_in_the_current_project_and_opens_the_editor(
    web_app: Flask, web_runtime: Runtime, sample_catalogue: Any
) -> None:
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.set_member(web_runtime, sales, "ed@example.com", "editor", actor="tests")
    connection = _connection(web_runtime, "Sales API", sales)
    editor = _client(web_app, "ed@example.com")
    home = editor.get("/")
    editor.post("/projects/switch", data={"csrf_token": csrf_token(home.text), "project": sales, "next": "/"})
    page = editor.get("/templates/deal-relay")
    data = _install_form(
        page.text,
        **{"p.api": str(connection), "p.min_amount": "2500.50", "recipe_name": "Big deals to sales"},
    )
    answer = editor.post("/templates/deal-relay/install", data=data)
    assert answer.status_code == 302
    with web_runtime.db.transaction() as db:
        recipe = db.scalars(select(Recipe)).one()
        recipe_id, project_id, enabled, name = recipe.id, recipe.project_id, recipe.enabled, recipe.name
        actions = [
            a.action for a in db.scalars(select(AuditEntry).where(AuditEntry.target_id == str(recipe_id)))
        ]
    assert answer.headers["Location"].endswith(f"/recipes/{recipe_id}/edit")
    assert (project_id, enabled, name) == (sales, False, "Big deals to sales")
    assert "template.install" in actions
    editor_page = editor.get(answer.headers["Location"])
    assert "Recipe created from the template as a draft" in editor_page.text
    assert '<option value="Sales API" selected>Sales API</option>' in editor_page.text
    exported = editor.get(f"/recipes/{recipe_id}")
    assert f'href="/recipes/{recipe_id}/template"' in exported.text and "Export as template" in exported.text
    document = json.loads(editor.get(f"/recipes/{recipe_id}/template").text)
    assert document["recipe"]["steps"][0]["values"]["min"] == 2500.50  # a number, as typed
    assert [p["connector"] for p in document["parameters"] if p["kind"] == "connection"] == ["http"]


def test_viewers_see_the_gallery_but_cannot_install_and_forms_need_their_csrf_token(
    web_app: Flask, web_runtime: Runtime, sample_catalogue: Any
) -> None:
    connection = _connection(web_runtime, "Deals API")
    viewer = _client(web_app, "vi@example.com")
    page = viewer.get("/templates/deal-relay")
    assert page.status_code == 200 and 'id="preview"' in page.text
    assert 'id="install-form"' not in page.text and "Create the recipe as a draft" not in page.text
    assert "Editors of this project can create a recipe from this template." in page.text
    assert "<dt>Smallest amount</dt>" in page.text
    data = {"csrf_token": csrf_token(page.text), "p.api": str(connection), "p.min_amount": "1"}
    assert viewer.post("/templates/deal-relay/install", data=data).status_code == 403
    editor = _client(web_app, "ed@example.com")
    form = _install_form(
        editor.get("/templates/deal-relay").text, **{"p.api": str(connection), "p.min_amount": "1"}
    )
    missing = {k: v for k, v in form.items() if k != "csrf_token"}
    assert editor.post("/templates/deal-relay/install", data=missing).status_code == 400
    assert (
        editor.post("/templates/deal-relay/install", data={**form, "csrf_token": "forged"}).status_code == 400
    )
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(Recipe.id)) is None
    assert editor.post("/templates/deal-relay/install", data=form).status_code == 302


def test_the_shipped_catalogue_draws_every_template_page(web_app: Flask) -> None:
    catalogue.load.cache_clear()
    assert catalogue.load(), "recipes/templates/ holds no template"
    editor = _client(web_app, "ed@example.com")
    gallery = editor.get("/templates")
    assert gallery.status_code == 200
    for name in catalogue.load():
        for headers in ({}, ZH):
            page = editor.get(f"/templates/{name}", headers=headers)
            assert page.status_code == 200, name
            assert "$param" not in page.text and 'id="install-form"' in page.text, name
