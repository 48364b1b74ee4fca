"""Bearer tokens on every route, roles, and errors in one JSON shape (never a stack trace)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.api.auth import ROUTE_ROLES
from hub.db.models import User
from hub.runtime import Runtime
from tests.hub.api.conftest import audit_log

OPENAPI = "/api/v1/openapi.json"


def api_rules(app: Flask) -> list[Any]:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


def concrete(rule: str) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


def test_every_route_but_the_openapi_document_needs_a_token(app: Flask, client: Any) -> None:
    checked = 0
    for rule in api_rules(app):
        if rule.rule == OPENAPI:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in ({}, {"Authorization": "Bearer hub_forged"}, {"Authorization": "Basic YTpi"}):
                answer = client.open(concrete(rule.rule), method=method, headers=headers)
                assert answer.status_code == 401, (method, rule.rule, headers)
                assert answer.get_json()["error"]["code"] == "unauthorized"
                assert answer.headers["WWW-Authenticate"].startswith("Bearer")
                assert answer.mimetype == "application/json"
            checked += 1
    assert checked >= 30
    assert client.get(OPENAPI).status_code == 200


def test_every_route_declares_a_role(app: Flask) -> None:
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        if rule.rule == OPENAPI:
            assert getattr(view, "public", False)
        else:
            assert getattr(view, "required_role", None) in ROUTE_ROLES, rule.rule


def test_a_route_without_a_role_is_closed(
    app: Flask, client: Any, headers: dict[str, dict[str, str]]
) -> None:
    app.add_url_rule("/api/v1/forgotten", endpoint="api.forgotten", view_func=lambda: "open to all")
    assert client.get("/api/v1/forgotten").status_code == 401
    assert client.get("/api/v1/forgotten", headers=headers["admin"]).status_code == 403


def test_roles(client: Any, kit: Any, headers: dict[str, dict[str, str]]) -> None:
    viewer, editor, admin = headers["viewer"], headers["editor"], headers["admin"]
    for path in ("/api/v1/connectors", "/api/v1/connections", "/api/v1/recipes", "/api/v1/runs"):
        assert client.get(path, headers=viewer).status_code == 200, path
    refused = client.post("/api/v1/connections", json={}, headers=viewer)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/recipes", json={}, headers=viewer).status_code == 403
    assert client.get("/api/v1/users", headers=editor).status_code == 403
    assert client.post("/api/v1/users", json={}, headers=editor).status_code == 403
    assert client.get("/api/v1/audit", headers=editor).status_code == 403
    assert client.get("/api/v1/users", headers=admin).status_code == 200


def test_users_and_tokens_over_the_api(
    client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]
) -> None:
    admin = headers["admin"]
    made = client.post(
        "/api/v1/users", json={"email": "New@Example.com", "role": "editor"}, headers=admin
    ).get_json()
    assert made["email"] == "new@example.com" and made["role"] == "editor"
    assert (
        client.post(
            "/api/v1/users", json={"email": "new@example.com", "role": "editor"}, headers=admin
        ).status_code
        == 409
    )
    bad = client.post("/api/v1/users", json={"email": "nope", "role": "editor"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.email"
    bad = client.post("/api/v1/users", json={"email": "x@example.com", "role": "root"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.role"
    emails = [u["email"] for u in client.get("/api/v1/users", headers=admin).get_json()["users"]]
    assert "new@example.com" in emails

    token = client.post(f"/api/v1/users/{made['id']}/tokens", json={"name": "ci"}, headers=admin)
    assert token.status_code == 201
    token = token.get_json()
    assert token["token"].startswith("hub_") and token["prefix"] == token["token"][:8]
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/runs", headers=bearer).status_code == 200
    listed = client.get("/api/v1/tokens", headers=admin).get_data(as_text=True)
    assert token["token"] not in listed  # shown once, never again
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/runs", headers=bearer).status_code == 401
    assert client.delete("/api/v1/tokens/999", headers=admin).status_code == 404
    assert client.post("/api/v1/users/999/tokens", json={}, headers=admin).status_code == 404

    entries = audit_log(runtime)
    assert ("admin@example.com", "user.create") in entries
    assert ("admin@example.com", "token.create") in entries
    assert ("admin@example.com", "token.revoke") in entries
    log = client.get("/api/v1/audit?limit=2", headers=admin).get_json()["entries"]
    assert len(log) == 2 and log[0]["action"] == "token.revoke"


def test_disabled_users_tokens_stop_working(
    client: Any, runtime: Runtime, headers: dict[str, dict[str, str]]
) -> None:
    assert client.get("/api/v1/runs", headers=headers["viewer"]).status_code == 200
    with runtime.db.transaction() as session:
        session.scalar(select(User).where(User.email == "viewer@example.com")).disabled = True
    assert client.get("/api/v1/runs", headers=headers["viewer"]).status_code == 401


def test_errors_share_one_shape(client: Any, headers: dict[str, dict[str, str]]) -> None:
    viewer, editor = headers["viewer"], headers["editor"]
    missing = client.get("/api/v1/nothing-here", headers=viewer)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.patch("/api/v1/runs", headers=viewer)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/api/v1/runs/12345", headers=viewer).status_code == 404
    bad = client.post("/api/v1/recipes", data="{oops", content_type="application/json", headers=editor)
    assert bad.status_code == 400 and "JSON" in bad.get_json()["error"]["message"]
    not_object = client.post("/api/v1/connections", json=[1, 2], headers=editor)
    assert not_object.status_code == 400
    for query, name in (("limit=abc", "limit"), ("limit=500", "limit"), ("cursor=x", "cursor")):
        answer = client.get(f"/api/v1/runs?{query}", headers=viewer)
        assert answer.status_code == 400 and f"'{name}'" in answer.get_json()["error"]["message"]
    assert client.get("/api/v1/runs?status=odd", headers=viewer).status_code == 400


def test_unexpected_failures_answer_500_without_a_trace(
    client: Any, headers: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: Any) -> Any:
        raise RuntimeError("secret internals /srv/hub/db.py line 12")

    monkeypatch.setattr("hub.api.connectors.runtime", explode)
    answer = client.get("/api/v1/connectors", headers=headers["viewer"])
    assert answer.status_code == 500 and answer.get_json()["error"]["code"] == "internal_error"
    text = answer.get_data(as_text=True)
    assert "Traceback" not in text and "secret internals" not in text
