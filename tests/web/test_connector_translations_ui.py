"""Connectors and validation messages in the Chinese UI: translated labels, the same values saved."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from hub.db.models import Connection
from hub.runtime import Runtime
from tests.web.helpers import csrf_token, form_fields, sign_in

ZH = {"Accept-Language": "zh-CN"}


def test_a_connection_form_in_chinese_saves_the_same_values(web_app: Flask, web_runtime: Runtime) -> None:
    client = web_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH["Accept-Language"]
    sign_in(client, "ed@example.com")
    page = client.get("/connections/new?connector=http").text
    assert '<label for="f-c-auth_type">认证方式</label>' in page
    assert '<option value="bearer" >Bearer 令牌</option>' in page.replace("  ", " ")
    assert "（默认：无）" in page  # the default named as its option is
    form = dict(form_fields(page, "conn"))
    form.update({"name": "接收端", "op": "save", "c.auth_type": "bearer", "c.token": "tok-zh"})
    assert client.post("/connections/new?connector=http", data=form).status_code == 302
    with web_runtime.db.transaction() as db:
        saved = db.scalar(select(Connection))
        assert saved is not None and saved.connector == "http"
    assert web_runtime.registry.get("http").connection_schema()["properties"]["auth_type"]["title"] == "Auth"


def test_schema_errors_are_worded_in_the_page_language(web_app: Flask) -> None:
    doc = {
        "name": "坏方法",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {"id": "s1", "connector": "http", "action": "request", "input": {"method": "FOO", "url": "u"}}
        ],
    }
    expectations = (("zh-CN", "请从以下值中选择一个：GET, POST"), ("en", "Choose one of: GET, POST"))
    for language, expected in expectations:
        client = web_app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        sign_in(client, "ed@example.com")
        token = csrf_token(client.get("/").text)
        answer = client.post(
            "/recipes/new",
            data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)},
        )
        assert answer.status_code == 422 and expected in answer.text, (language, answer.text[-1500:])


def test_triggers_are_shown_by_title_in_the_page_language(web_app: Flask) -> None:
    client = web_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH["Accept-Language"]
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get("/").text)
    doc = {"name": "接收", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
    client.post("/recipes/new", data={"csrf_token": token, "op": "save_raw", "raw": json.dumps(doc)})
    assert "Webhook / 接收 Webhook" in client.get("/recipes").text
    assert "Webhook / 接收 Webhook" in client.get("/recipes/1").text
