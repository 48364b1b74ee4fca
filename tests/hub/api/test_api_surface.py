"""Authentication and roles on every route, JSON errors, and an OpenAPI document that matches the routes."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from hub.app import create_app


def api_rules(client: Any) -> list[Any]:
    return [r for r in client.application.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


def concrete(rule: str) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


def test_every_route_needs_a_token(api: Any) -> None:
    client, *_ = api
    checked = 0
    for rule in api_rules(client):
        if rule.rule == "/api/v1/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            answer = client.open(concrete(rule.rule), method=method)
            assert answer.status_code == 401, (method, rule.rule)
            assert answer.get_json()["error"]["code"] == "unauthorized"
            assert answer.headers.get("Content-Type") == "application/json"
            bad = client.open(
                concrete(rule.rule), method=method, headers={"Authorization": "Bearer hub_nope"}
            )
            assert bad.status_code == 401
            checked += 1
    assert checked >= 25


def test_every_route_declares_a_role(api: Any) -> None:
    client, *_ = api
    for rule in api_rules(client):
        view = client.application.view_functions[rule.endpoint]
        if rule.rule != "/api/v1/openapi.json":
            assert getattr(view, "required_role", None) in ("viewer", "editor", "admin"), rule.rule


def test_roles(api: Any) -> None:
    client, _rt, _kit, headers = api
    assert client.get("/api/v1/connectors", headers=headers["viewer"]).status_code == 200
    refused = client.post("/api/v1/connections", json={}, headers=headers["viewer"])
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/users", headers=headers["editor"]).status_code == 403
    assert client.get("/api/v1/users", headers=headers["admin"]).status_code == 200


def test_revoked_token_is_refused(api: Any) -> None:
    client, _rt, _kit, headers = api
    made = client.post("/api/v1/users/3/tokens", json={"name": "temp"}, headers=headers["admin"])
    assert made.status_code == 201
    token = made.get_json()
    assert (
        client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 200
    )
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=headers["admin"]).status_code == 204
    assert (
        client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 401
    )


def test_unknown_routes_and_bad_json_answer_json(api: Any) -> None:
    client, _rt, _kit, headers = api
    missing = client.get("/api/v1/nothing-here", headers=headers["viewer"])
    assert missing.status_code == 404 and "error" in missing.get_json()
    bad = client.post(
        "/api/v1/recipes", data="{oops", content_type="application/json", headers=headers["editor"]
    )
    assert bad.status_code == 400 and "JSON" in bad.get_json()["error"]["message"]
    assert client.get("/api/v1/runs?limit=abc", headers=headers["viewer"]).status_code == 400
    assert client.get("/api/v1/runs?status=odd", headers=headers["viewer"]).status_code == 400


def test_openapi_lists_exactly_the_routes(api: Any) -> None:
    client, *_ = api
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in api_rules(client):
        if rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:int:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    recipe_schema = {"$defs": {}, **doc["components"]["schemas"]["Recipe"]}
    jsonschema.Draft202012Validator.check_schema(recipe_schema)


def test_healthz_and_metrics(runtime: Any) -> None:
    client = create_app(runtime).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    text = client.get("/metrics").get_data(as_text=True)
    assert "hub_webhooks_total" in text or "hub_webhooks" in text
