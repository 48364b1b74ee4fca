"""Projects in the browser: the switcher scopes every page, owners manage members, others only read."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hub.access import DEFAULT_PROJECT_ID
from hub.runtime import Runtime
from hub.services import projects as project_service
from hub.services import recipes as recipe_service
from tests.web.helpers import csrf_token, sign_in


def _client(app: Flask, email: str) -> Any:
    client = app.test_client()
    sign_in(client, email)
    return client


def test_the_switcher_scopes_the_pages_to_the_current_project(web_app: Flask, web_runtime: Runtime) -> None:
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.set_member(web_runtime, sales, "ed@example.com", "viewer", actor="tests")
    for name, project in (("Lead router", sales), ("Receivable sync", DEFAULT_PROJECT_ID)):
        document = {"name": name, "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
        recipe_service.save_recipe(web_runtime, document, actor="tests", project_id=project)
    editor = _client(web_app, "ed@example.com")
    page = editor.get("/recipes")
    assert "Receivable sync" in page.text and "Lead router" not in page.text
    assert 'id="project-switch"' in page.text and ">sales</option>" in page.text
    switched = editor.post(
        "/projects/switch", data={"csrf_token": csrf_token(page.text), "project": sales, "next": "/recipes"}
    )
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/recipes")
    page = editor.get("/recipes")
    assert "Lead router" in page.text and "Receivable sync" not in page.text
    assert editor.get("/recipes/new").status_code == 403  # only a viewer in sales
    viewer = _client(web_app, "vi@example.com")
    assert ">sales</option>" not in viewer.get("/recipes").text
    refused = viewer.post(
        "/projects/switch", data={"csrf_token": csrf_token(viewer.get("/").text), "project": sales}
    )
    assert refused.status_code == 404


def test_owners_manage_members_in_both_languages(web_app: Flask, web_runtime: Runtime) -> None:
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.set_member(web_runtime, sales, "ed@example.com", "owner", actor="tests")
    owner = _client(web_app, "ed@example.com")
    page = owner.get(f"/projects/{sales}/members")
    assert page.status_code == 200 and "Add a member or change a role" in page.text
    added = owner.post(
        f"/projects/{sales}/members",
        data={"csrf_token": csrf_token(page.text), "email": "vi@example.com", "role": "operator"},
        follow_redirects=True,
    )
    assert "vi@example.com is now operator here." in added.text
    viewer = _client(web_app, "vi@example.com")
    seen = viewer.get(f"/projects/{sales}/members", headers={"Accept-Language": "zh"})
    assert seen.status_code == 200 and "的成员" in seen.text and "添加成员" not in seen.text
    assert (
        viewer.post(f"/projects/{sales}/members", data={"csrf_token": csrf_token(seen.text)}).status_code
        == 403
    )
    admin = _client(web_app, "admin@example.com")
    listing = admin.get("/projects")
    made = admin.post(
        "/projects", data={"csrf_token": csrf_token(listing.text), "name": "finance"}, follow_redirects=True
    )
    assert "Project “finance” created." in made.text
    assert owner.post("/projects", data={"csrf_token": csrf_token(page.text), "name": "x"}).status_code == 403


def test_admins_read_the_audit_log_of_one_project(web_app: Flask, web_runtime: Runtime) -> None:
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.rename_project(web_runtime, sales, "sales-ops", actor="lin@example.com")
    document = {
        "name": "Receivable sync",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [],
    }
    recipe_service.save_recipe(web_runtime, document, actor="kim@example.com")
    admin = _client(web_app, "admin@example.com")
    everything = admin.get("/audit")
    assert "lin@example.com" in everything.text and "kim@example.com" in everything.text
    one = admin.get(f"/audit?project={sales}", headers={"Accept-Language": "zh"})
    assert "审计日志" in one.text and "lin@example.com" in one.text and "kim@example.com" not in one.text
    assert _client(web_app, "ed@example.com").get("/audit").status_code == 403


def test_the_storage_page_shows_the_current_projects_keys(web_app: Flask, web_runtime: Runtime) -> None:
    from tests.hub.utilities.kit import call

    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.set_member(web_runtime, sales, "vi@example.com", "editor", actor="tests")
    document = {"name": "Lead router", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
    router = recipe_service.save_recipe(web_runtime, document, actor="tests", project_id=sales).id
    call(web_runtime, "storage", "set", {"key": "lead:1", "value": 1}, recipe_id=router)
    call(web_runtime, "storage", "set", {"key": "hub-wide", "value": 2, "scope": "global"})
    member = _client(web_app, "vi@example.com")
    home = member.get("/storage")
    assert "hub-wide" in home.text and "lead:1" not in home.text  # the default project, where vi reads
    member.post("/projects/switch", data={"csrf_token": csrf_token(home.text), "project": sales})
    page = member.get("/storage")
    assert page.status_code == 200 and "lead:1" in page.text and "hub-wide" not in page.text
    token = csrf_token(page.text)
    mine = member.post(
        "/storage", data={"csrf_token": token, "scope": f"recipe:{router}", "key": "k", "value": "3"}
    )
    assert mine.status_code == 302
    hub_wide = member.post(
        "/storage", data={"csrf_token": token, "scope": "global", "key": "k", "value": "3"}
    )
    assert hub_wide.status_code == 403  # only a viewer in the default project, which holds `global`


def test_a_borrowed_connection_is_read_only_in_the_browser(web_app: Flask, web_runtime: Runtime) -> None:
    from hub.services import connections as connection_service

    finance = project_service.create_project(web_runtime, "finance", actor="tests")["id"]
    fields = {"auth_type": "bearer", "token": "fin-token-0042-secret", "allowed_hosts": ["erp.example.com"]}
    made = connection_service.create_connection(
        web_runtime,
        actor="tests",
        name="erp",
        connector_id="http",
        config=fields,
        limits={},
        project_id=finance,
    )
    project_service.share_connection(web_runtime, made["id"], "default", actor="tests")
    editor = _client(web_app, "ed@example.com")  # an editor of the default project only
    page = editor.get(f"/connections/{made['id']}")
    assert page.status_code == 200 and "fin-token-0042-secret" not in page.text
    renamed = editor.post(
        f"/connections/{made['id']}", data={"csrf_token": csrf_token(page.text), "name": "mine"}
    )
    assert renamed.status_code == 403
    assert "(editor)" in page.text  # the header names the role in the current project
