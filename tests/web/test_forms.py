"""Forms generated from JSON Schema, connections through them, and the guided recipe editor."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub import jsonutil
from hub.connections import create_connection, merged_fields
from hub.db.models import Connection, RecipeVersion
from hub.runtime import Runtime
from hub.sdk.auth import secret_field
from hub.sdk.connector import Connector
from hub.sdk.errors import PermanentError
from hub.web.schema_form import FormErrors, build_fields, parse_fields
from tests.web.helpers import csrf_token, form_fields, sign_in

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "title": "Name"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "mode": {"enum": ["a", "b"]},
        "flag": {"type": "boolean"},
        "nested": {
            "type": "object",
            "properties": {"inner": {"type": "string"}, "deep": {"type": "boolean"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "anything": {},
        "secret": {"type": "string", "writeOnly": True},
    },
}


def editor(client: FlaskClient) -> FlaskClient:
    sign_in(client, "ed@example.com")
    return client


def test_each_schema_type_gets_its_control_and_parses_back() -> None:
    values = {
        "name": "n",
        "count": 3,
        "ratio": jsonutil.loads("0.25"),
        "mode": "b",
        "flag": False,
        "nested": {"inner": "x", "deep": True},
        "tags": ["a", "b"],
        "headers": {"X-A": "1"},
        "anything": [1, {"k": "v"}],
        "secret": "s3cret-value",
        "unknown": {"kept": True},
    }
    fields = build_fields(SCHEMA, values, "c", "$", templatable=False)
    kinds = {f.name: f.kind for f in fields}
    assert kinds == {
        "c.name": "text",
        "c.count": "number",
        "c.ratio": "number",
        "c.mode": "select",
        "c.flag": "bool",
        "c.nested": "group",
        "c.tags": "lines",
        "c.headers": "json",
        "c.anything": "json",
        "c.secret": "secret",
    }
    secret = next(f for f in fields if f.kind == "secret")
    assert secret.value == "" and secret.secret_set  # the stored value is never put in the page
    form: MultiDict[str, str] = MultiDict()
    for f in fields:
        for item in f.children or [f]:
            form[item.name] = item.value
    form["c.secret"] = ""
    form["c.__extra"] = jsonutil.dumps({"unknown": {"kept": True}})
    errors = FormErrors()
    parsed = parse_fields(SCHEMA, form, "c", "$", templatable=False, errors=errors)
    assert not errors
    assert parsed == {k: v for k, v in values.items() if k != "secret"}
    form["c.count"], form["c.headers"], form["c.ratio"], form["c.flag"] = "three", "{not json", "NaN", "maybe"
    errors = FormErrors()
    parse_fields(SCHEMA, form, "c", "$", templatable=False, errors=errors)
    assert set(errors) == {"$.count", "$.headers", "$.ratio", "$.flag"}


def test_templated_values_pass_through_number_fields_only_where_templates_are_allowed() -> None:
    form = MultiDict({"s.count": "{{ event.n }}"})
    errors = FormErrors()
    assert parse_fields(SCHEMA, form, "s", "$", templatable=True, errors=errors) == {"count": "{{ event.n }}"}
    errors = FormErrors()
    parse_fields(SCHEMA, form, "s", "$", templatable=False, errors=errors)
    assert "$.count" in errors


def test_connection_form_keeps_secrets_write_only(web_app: Flask, web_runtime: Runtime) -> None:
    client = editor(web_app.test_client())
    page = client.get("/connections/new?connector=http")
    assert 'type="password" id="f-c-token"' in page.text and '<label for="f-c-token">' in page.text
    token = csrf_token(page.text)
    form = {
        "csrf_token": token,
        "connector": "http",
        "op": "save",
        "name": "Sink API",
        "c.auth_type": "bearer",
        "c.token": "tok-very-secret-123",
        "c.api_key_header": "X-Key",
    }
    created = client.post("/connections/new", data=form)
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    page = client.get(edit_url).text
    assert "tok-very-secret-123" not in page
    assert 'name="c.token.__set" value="1"' in page
    fields = dict(form_fields(page, "conn"))
    fields.update({"c.api_key_header": "", "name": "Sink API"})
    assert client.post(edit_url, data={**fields, "op": "save"}).status_code == 302
    with web_runtime.db.transaction() as db:
        stored = db.query(Connection).one()
        merged = merged_fields(stored, web_runtime.vault)
    assert merged["token"] == "tok-very-secret-123"  # an empty password field keeps the stored secret
    assert merged["auth_type"] == "bearer" and "api_key_header" not in merged  # emptied field cleared


def test_connection_form_asks_for_secrets_again_when_the_host_changes(
    web_app: Flask, web_runtime: Runtime
) -> None:
    client = editor(web_app.test_client())
    form = {
        "csrf_token": csrf_token(client.get("/connections/new?connector=http").text),
        "connector": "http",
        "op": "save",
        "name": "Sink API",
        "c.base_url": "https://api.example.com",
        "c.auth_type": "bearer",
        "c.token": "tok-very-secret-123",
    }
    edit_url = client.post("/connections/new", data=form).headers["Location"]
    fields = dict(form_fields(client.get(edit_url).text, "conn"))
    fields.update({"c.base_url": "https://collector.example.net", "op": "save"})
    answer = client.post(edit_url, data=fields)
    assert answer.status_code == 422
    assert "enter token again" in answer.text
    assert re.search(r'id="f-c-token".*?class="error"', answer.text, re.S)
    with web_runtime.db.transaction() as db:
        assert db.query(Connection).one().config["base_url"] == "https://api.example.com"
    assert client.post(edit_url, data={**fields, "c.token": "tok-very-secret-123"}).status_code == 302


def test_connection_form_shows_errors_beside_fields(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/").text)
    answer = client.post(
        "/connections/new",
        data={"csrf_token": token, "connector": "http", "op": "save", "name": "", "rate_limit": "fast"},
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-rate".*?\n?.*?class="error"', answer.text, re.S)
    answer = client.post(
        "/connections/new", data={"csrf_token": token, "connector": "http", "op": "save", "name": ""}
    )
    assert answer.status_code == 422 and 'id="f-name-error"' in answer.text


RECIPE: dict[str, Any] = {
    "name": "Round trip",
    "description": "every kind of step",
    "enabled": False,
    "trigger": {
        "connector": "webhook",
        "trigger": "catch",
        "config": {"id_field": "deal.id", "auth": "hmac_sha256", "secret": "[REDACTED]"},
    },
    "filter": "{{ event.deal.stage == 'won' }}",
    "steps": [
        {
            "id": "notify",
            "connector": "http",
            "action": "request",
            "when": "{{ event.deal.amount > 10 }}",
            "continue_on_error": True,
            "retry": {"max_attempts": 3},
            "input": {
                "method": "POST",
                "url": "http://127.0.0.1:9/deals/{{ event.deal.id }}",
                "headers": {"X-Deal": "{{ event.deal.id }}"},
                "json": {"amount": "{{ event.deal.amount }}", "n": 1.5},
                "timeout_s": 12,
                "raise_for_status": False,
            },
        },
        {"id": "pause", "type": "delay", "seconds": 30},
        {
            "id": "answer",
            "type": "wait_for",
            "connector": "webhook",
            "trigger": "catch",
            "match": {"deal.id": "{{ event.deal.id }}"},
            "timeout_s": 3600,
        },
    ],
    "on_failure": [
        {
            "id": "alarm",
            "connector": "http",
            "action": "request",
            "input": {"url": "http://127.0.0.1:9/alarm"},
        }
    ],
}


def test_raw_view_round_trips_through_the_guided_form(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/recipes/new").text)
    guided = client.post(
        "/recipes/new",
        data={"csrf_token": token, "op": "apply_raw", "format": "json", "raw": json.dumps(RECIPE)},
    )
    assert guided.status_code == 200
    fields = form_fields(guided.text, "editor")
    raw = client.post("/recipes/new", data=MultiDict([*fields, ("op", "raw")]))
    text = re.search(r'<textarea id="raw"[^>]*>(.*?)</textarea>', raw.text, re.S).group(1)
    import html

    assert json.loads(html.unescape(text)) == RECIPE
    yaml_view = client.post(
        "/recipes/new",
        data={
            "csrf_token": token,
            "op": "raw_format",
            "format": "yaml",
            "from_format": "json",
            "raw": json.dumps(RECIPE),
        },
    )
    yaml_text = html.unescape(
        re.search(r'<textarea id="raw"[^>]*>(.*?)</textarea>', yaml_view.text, re.S).group(1)
    )
    back = client.post(
        "/recipes/new",
        data={
            "csrf_token": token,
            "op": "raw_format",
            "format": "json",
            "from_format": "yaml",
            "raw": yaml_text,
        },
    )
    again = html.unescape(re.search(r'<textarea id="raw"[^>]*>(.*?)</textarea>', back.text, re.S).group(1))
    assert json.loads(again) == RECIPE


def _post(client: FlaskClient, url: str, page: str, op: str, **changes: str) -> Any:
    data = MultiDict(form_fields(page, "editor"))
    for key, value in changes.items():
        data[key] = value
    data["op"] = op
    return client.post(url, data=data)


def test_guided_editor_builds_reorders_and_reports_errors_beside_fields(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = client.get("/recipes/new").text
    page = _post(client, "/recipes/new", page, "refresh", **{"name": "Guided", "t.connector": "webhook"}).text
    assert 'option value="catch" selected' in page
    page = _post(client, "/recipes/new", page, "add:action").text
    page = _post(client, "/recipes/new", page, "refresh", **{"s0.connector": "http"}).text
    assert 'name="s0.in.url"' in page and 'data-picker-target="f-s0-in-url"' in page
    picker = json.loads(
        re.search(r'<script type="application/json" id="picker-data">(.*?)</script>', page, re.S).group(1)
    )
    assert {"expr": "event.deal.id", "example": "D-1001"} in picker["s0"]
    page = _post(client, "/recipes/new", page, "add:delay").text
    picker = json.loads(re.search(r'id="picker-data">(.*?)</script>', page, re.S).group(1))
    assert any(e["expr"] == "steps.step_1.status" for e in picker["s1"])  # earlier steps' outputs
    failed = _post(client, "/recipes/new", page, "save", **{"s1.seconds": "soon"})
    assert failed.status_code == 422
    assert re.search(r'id="s1-seconds".*?class="error" role="alert">Enter a number', failed.text, re.S)
    missing_url = _post(client, "/recipes/new", page, "save")
    assert missing_url.status_code == 422
    assert re.search(r'data-path="\$\.steps\[0\]\.input\.url">.*?class="error"', missing_url.text, re.S)
    page = _post(client, "/recipes/new", missing_url.text, "up:s1").text
    assert [v for k, v in form_fields(page, "editor") if k == "step"] == ["s1", "s0"]
    page = _post(client, "/recipes/new", page, "remove:s1").text
    saved = _post(
        client, "/recipes/new", page, "save", **{"s0.in.url": "http://127.0.0.1:9/x/{{ event.deal.id }}"}
    )
    assert saved.status_code == 302 and saved.headers["Location"] == "/recipes/1"
    recipe_page = client.get("/recipes/1").text
    assert re.search(r'id="webhook-url" value="http://127\.0\.0\.1:8000/hooks/[^"]+"', recipe_page)


def test_versions_show_a_diff(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/").text)
    doc = {
        "name": "v",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {"id": "a", "connector": "http", "action": "request", "input": {"url": "http://127.0.0.1:9/one"}}
        ],
    }
    assert (
        client.post(
            "/recipes/new",
            data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)},
        ).status_code
        == 302
    )
    doc["steps"][0]["input"]["url"] = "http://127.0.0.1:9/two"
    assert (
        client.post(
            "/recipes/1/edit",
            data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)},
        ).status_code
        == 302
    )
    diff = client.get("/recipes/1/versions/2").text
    assert '<span class="del">-        &#34;url&#34;: &#34;http://127.0.0.1:9/one&#34;' in diff
    assert '<span class="add">+        &#34;url&#34;: &#34;http://127.0.0.1:9/two&#34;' in diff
    bad = client.post(
        "/recipes/1/edit",
        data={"csrf_token": token, "op": "save_raw", "format": "yaml", "raw": "name: [unclosed"},
    )
    assert bad.status_code == 422 and "not valid YAML" in bad.text


def test_polling_triggers_get_interval_and_start_fields_that_round_trip(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/").text)
    doc = {
        "name": "Poll",
        "trigger": {
            "connector": "http",
            "trigger": "poll_json",
            "config": {"url": "http://127.0.0.1:9/items", "id_field": "id"},
            "start": {"backfill_from": "2026-01-01T00:00:00+08:00"},
            "interval_s": 60,
        },
        "steps": [],
    }
    guided = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "apply_raw", "raw": json.dumps(doc)}
    )
    assert 'id="t-interval" name="t.interval_s" value="60"' in guided.text
    fields = form_fields(guided.text, "editor")
    raw = client.post("/recipes/new", data=MultiDict([*fields, ("op", "raw")]))
    import html

    text = html.unescape(re.search(r'<textarea id="raw"[^>]*>(.*?)</textarea>', raw.text, re.S).group(1))
    assert json.loads(text) == doc
    changed = MultiDict(fields)
    changed["t.interval_s"], changed["t.start"], changed["op"] = "soon", "backfill", "save"
    changed["t.backfill_from"] = ""
    refused = client.post("/recipes/new", data=changed)
    assert refused.status_code == 422
    assert re.search(r'id="t-interval".*?class="error" role="alert">Enter a whole number', refused.text, re.S)
    assert re.search(r'id="t-backfill".*?class="error" role="alert">Give the date', refused.text, re.S)


def test_on_failure_steps_are_edited_in_their_own_list(web_app: Flask, web_runtime: Runtime) -> None:
    client = editor(web_app.test_client())
    page = client.get("/recipes/new").text
    page = _post(client, "/recipes/new", page, "refresh", **{"name": "F", "t.connector": "webhook"}).text
    page = _post(client, "/recipes/new", page, "add:action").text
    page = _post(client, "/recipes/new", page, "refresh", **{"s0.connector": "http"}).text
    page = _post(client, "/recipes/new", page, "fadd:action").text
    page = _post(client, "/recipes/new", page, "refresh", **{"f0.connector": "http"}).text
    assert [v for k, v in form_fields(page, "editor") if k == "fstep"] == ["f0"]
    picker = json.loads(re.search(r'id="picker-data">(.*?)</script>', page, re.S).group(1))
    exprs = {e["expr"] for e in picker["f0"]}
    assert {"error.message", "steps.step_1.status", "event.deal.id"} <= exprs
    assert "error.message" not in {e["expr"] for e in picker["s0"]}
    refused = _post(client, "/recipes/new", page, "save", **{"s0.in.url": "http://127.0.0.1:9/a"})
    assert re.search(r'data-path="\$\.on_failure\[0\]\.input\.url">.*?class="error"', refused.text, re.S)
    saved = _post(
        client,
        "/recipes/new",
        page,
        "save",
        **{
            "s0.in.url": "http://127.0.0.1:9/a",
            "f0.in.url": "http://127.0.0.1:9/alarm?m={{ error.message }}",
        },
    )
    assert saved.status_code == 302
    with web_runtime.db.transaction() as db:
        document = db.scalar(select(RecipeVersion.document))
    assert document["on_failure"] == [
        {
            "id": "step_2",
            "connector": "http",
            "action": "request",
            "input": {"url": "http://127.0.0.1:9/alarm?m={{ error.message }}"},
        }
    ]


def test_raw_documents_the_guided_editor_cannot_draw_stay_in_the_raw_view(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/").text)
    for raw, where in (
        ('{"name": "x", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": "no"}', "$.steps"),
        ('{"name": "x", "trigger": [], "steps": []}', "$.trigger"),
        ('{"name": "x", "trigger": {}, "steps": [{"id": "a", "input": [1]}]}', "$.steps[0]"),
        ("[1, 2]", "A recipe must be an object."),
    ):
        answer = client.post("/recipes/new", data={"csrf_token": token, "op": "apply_raw", "raw": raw})
        assert answer.status_code == 422, raw
        assert where in answer.text and 'id="raw-error"' in answer.text


class Probe(Connector):
    """Signs in with the token "good"; otherwise refuses, quoting the token as careless vendors do."""

    id = "probe"
    name = "Probe"
    connection_fields = {"token": secret_field("Token")}

    def test_connection(self, ctx: Any) -> str:
        if ctx.connection["token"] == "good":
            return "signed in"
        raise PermanentError(f"token {ctx.connection['token']} refused")


def test_test_connection_reports_the_outcome_with_secrets_redacted(
    web_app: Flask, web_runtime: Runtime
) -> None:
    web_runtime.registry.register(Probe(), source="tests")
    with web_runtime.db.transaction() as db:
        ids = [
            create_connection(
                db,
                web_runtime.registry,
                web_runtime.vault,
                name=name,
                connector_id="probe",
                config={"token": token},
            ).id
            for name, token in (("ok", "good"), ("bad", "tok-leaky-98765"))
        ]
    client = editor(web_app.test_client())
    for connection_id, expected in zip(ids, ("Test passed: signed in", "Test failed: token"), strict=True):
        token = csrf_token(client.get(f"/connections/{connection_id}").text)
        answer = client.post(
            f"/connections/{connection_id}/test", data={"csrf_token": token}, follow_redirects=True
        )
        assert expected in answer.text
        assert "tok-leaky-98765" not in answer.text
    assert "token [REDACTED] refused" in answer.text
