"""The OpenAPI document lists exactly the served routes and is structurally sound."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from flask import Flask

from hub.recipes import recipe_schema

METHODS = {"get", "put", "post", "delete", "patch"}


def served(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_document_lists_exactly_the_routes(app: Flask, client: Any) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    doc = answer.get_json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == served(app)


def test_document_structure(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1.") and doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    for path, operations in doc["paths"].items():
        declared = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            assert method in METHODS, (path, method)
            assert operation["summary"] and operation["responses"], (path, method)
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == declared, (path, method)
    connector = next(
        p for p in doc["paths"]["/connectors/{connector_id}"]["get"]["parameters"] if p["in"] == "path"
    )
    assert connector["schema"]["type"] == "string"
    schemas = doc["components"]["schemas"]
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; components refer to each other, so check them together.
    jsonschema.Draft202012Validator.check_schema({"$defs": {}, **schemas["Recipe"]})
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', answer_text(client)))
    assert refs <= set(schemas)


def test_recipe_body_reuses_the_recipe_schema(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    create = doc["paths"]["/recipes"]["post"]["requestBody"]["content"]
    assert create["application/json"]["schema"] == {"$ref": "#/components/schemas/Recipe"}
    assert "application/yaml" in create
    recipe = doc["components"]["schemas"]["Recipe"]
    assert set(recipe["properties"]) == set(recipe_schema()["properties"])


def answer_text(client: Any) -> str:
    return client.get("/api/v1/openapi.json").get_data(as_text=True)
