"""The storage page: browse by scope and prefix, edit and delete with CSRF and roles, in both languages."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.db.models import AuditEntry, Recipe
from hub.runtime import Runtime
from tests.hub.utilities.kit import call
from tests.web.helpers import csrf_token, sign_in


def signed_in(app: Flask, email: str, **headers: str) -> Any:
    client = app.test_client()
    client.environ_base.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    sign_in(client, email)
    return client


def test_viewers_browse_by_scope_and_prefix_but_cannot_change(web_app: Flask, web_runtime: Runtime) -> None:
    with web_runtime.db.transaction() as db:
        db.add(Recipe(id=5, name="Lead router"))
    call(web_runtime, "storage", "set", {"key": "lead:1", "value": {"stage": "won"}}, recipe_id=5)
    call(web_runtime, "storage", "set", {"key": "other", "value": 1}, recipe_id=5)
    call(web_runtime, "storage", "set", {"key": "shared", "value": 2, "scope": "global"})
    viewer = signed_in(web_app, "vi@example.com")
    page = viewer.get("/storage")
    assert page.status_code == 200 and 'href="/storage"' in page.text
    assert "shared" in page.text and "lead:1" not in page.text and "Recipe: Lead router" in page.text
    page = viewer.get("/storage?scope=recipe:5&prefix=lead")
    assert (
        "lead:1" in page.text and "&#34;stage&#34;: &#34;won&#34;" in page.text and "other" not in page.text
    )
    assert "Set a key" not in page.text and "Delete" not in page.text
    token = csrf_token(page.text)
    refused = viewer.post("/storage", data={"csrf_token": token, "scope": "global", "key": "k", "value": "1"})
    assert refused.status_code == 403
    assert viewer.post("/storage/delete", data={"csrf_token": token, "key": "shared"}).status_code == 403
    assert call(web_runtime, "storage", "get", {"key": "k", "scope": "global"})["found"] is False


def test_editors_set_edit_and_delete_keys_with_csrf_and_audit(web_app: Flask, web_runtime: Runtime) -> None:
    editor = signed_in(web_app, "ed@example.com")
    form = {"scope": "global", "key": "crm/last_sync", "value": '{"at": "2026-12-01"}', "ttl_s": ""}
    assert editor.post("/storage", data=form).status_code == 400  # no CSRF token
    token = csrf_token(editor.get("/storage").text)
    assert editor.post("/storage", data={**form, "csrf_token": token}).status_code == 302
    got = call(web_runtime, "storage", "get", {"key": "crm/last_sync", "scope": "global"})
    assert got == {"value": {"at": "2026-12-01"}, "found": True}
    edit = editor.get("/storage?scope=global&edit=crm/last_sync").text
    assert 'value="crm/last_sync"' in edit and "&#34;at&#34;: &#34;2026-12-01&#34;" in edit
    vanished = editor.get("/storage?scope=global&edit=nothing-here")
    assert vanished.status_code == 200 and "Key nothing-here no longer exists." in vanished.text
    bad = editor.post("/storage", data={**form, "value": "{not json", "csrf_token": token})
    assert bad.status_code == 422 and "The value is not valid JSON" in bad.text
    long_key = editor.post("/storage", data={**form, "key": "k" * 201, "csrf_token": token})
    assert long_key.status_code == 422 and "is 201 characters long" in long_key.text
    gone = editor.post(
        "/storage/delete", data={"scope": "global", "key": "crm/last_sync", "csrf_token": token}
    )
    assert gone.status_code == 302
    assert call(web_runtime, "storage", "get", {"key": "crm/last_sync", "scope": "global"})["found"] is False
    with web_runtime.db.read() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "storage")))
    assert actions == ["storage.set", "storage.delete"]


def test_the_page_speaks_chinese(web_app: Flask, web_runtime: Runtime) -> None:
    editor = signed_in(web_app, "ed@example.com", accept_language="zh-CN,zh;q=0.9")
    page = editor.get("/storage").text
    assert "存储" in page and "设置键" in page and "全局（所有配方）" in page
