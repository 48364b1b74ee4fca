"""Ids beyond 64 bits in a URL or a query answer 404 or a named 400, never a 500 (OverflowError)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from hub.ids import MAX_ID, parse_id

TOO_BIG = str(2**64)


def _id_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path with every int placeholder set to TOO_BIG) for each route taking an id."""
    found = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        path = re.sub(r"<int:[a-z_]+>", TOO_BIG, rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_route_with_an_id_answers_404_beyond_64_bits(
    app: Flask, client: Any, headers: dict[str, dict[str, str]]
) -> None:
    routes = _id_routes(app)
    assert len([r for r in routes if r[1].startswith("/api/v1/")]) >= 15
    for method, path in routes:
        answer = client.open(path, method=method, json={}, headers=headers["admin"])
        if path.startswith("/api/"):
            assert answer.status_code == 404, (method, path, answer.status_code)
            assert answer.get_json()["error"]["code"] == "not_found"
        else:  # web pages: 404 once signed in, the sign-in page before
            assert answer.status_code in (302, 404), (method, path, answer.status_code)


def test_query_ids_beyond_64_bits_are_a_named_400(client: Any, headers: dict[str, dict[str, str]]) -> None:
    for name in ("recipe_id", "cursor"):
        answer = client.get(f"/api/v1/runs?{name}={TOO_BIG}", headers=headers["viewer"])
        assert answer.status_code == 400
        assert f"'{name}'" in answer.get_json()["error"]["message"]
    assert client.get(f"/api/v1/runs?cursor={MAX_ID}", headers=headers["viewer"]).status_code == 200
    assert client.get(f"/api/v1/audit?limit={TOO_BIG}", headers=headers["admin"]).status_code == 400


def test_parse_id_takes_only_ids_that_fit_a_bigint() -> None:
    assert parse_id("42") == 42 and parse_id(str(MAX_ID)) == MAX_ID
    for text in (None, "", "0", "-1", TOO_BIG, str(MAX_ID + 1), "1e3", "４２", " 7"):
        assert parse_id(text) is None, text
