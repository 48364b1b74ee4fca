"""REST over the storage utility's keys: roles, scopes, paging, TTL, limits, audit."""

from __future__ import annotations

from typing import Any

from hub.runtime import Runtime
from tests.hub.api.conftest import audit_log
from tests.hub.utilities.kit import call

BASE = "/api/v1/storage"


def test_viewer_reads_editor_writes_and_every_change_is_audited(
    runtime: Runtime, client: Any, headers: dict[str, dict[str, str]]
) -> None:
    body = {"value": {"stage": "won", "amount": 12.5}}
    assert client.put(f"{BASE}/global/deal:1", json=body, headers=headers["viewer"]).status_code == 403
    assert client.get(f"{BASE}/global/deal:1").status_code == 401
    answer = client.put(f"{BASE}/global/deal:1", json=body, headers=headers["editor"])
    assert answer.status_code == 200
    assert answer.get_json()["value"] == {"amount": 12.5, "stage": "won"}
    got = client.get(f"{BASE}/global/deal:1", headers=headers["viewer"]).get_json()
    assert got["scope"] == "global" and got["key"] == "deal:1" and got["expires_at"] is None
    assert call(runtime, "storage", "get", {"key": "deal:1", "scope": "global"})["value"]["stage"] == "won"
    assert client.delete(f"{BASE}/global/deal:1", headers=headers["viewer"]).status_code == 403
    assert client.delete(f"{BASE}/global/deal:1", headers=headers["editor"]).status_code == 204
    assert client.delete(f"{BASE}/global/deal:1", headers=headers["editor"]).status_code == 404
    assert client.get(f"{BASE}/global/deal:1", headers=headers["viewer"]).status_code == 404
    changes = [entry for entry in audit_log(runtime) if entry[1].startswith("storage.")]
    assert changes == [("editor@example.com", "storage.set"), ("editor@example.com", "storage.delete")]


def test_a_recipes_keys_are_addressed_by_its_scope_and_listed_by_prefix_in_pages(
    runtime: Runtime, client: Any, headers: dict[str, dict[str, str]]
) -> None:
    for n in range(5):
        call(runtime, "storage", "set", {"key": f"lead:{n}", "value": n}, recipe_id=7)
    call(runtime, "storage", "set", {"key": "other", "value": 1}, recipe_id=7)
    call(runtime, "storage", "set", {"key": "lead:9", "value": 1}, recipe_id=8)
    viewer = headers["viewer"]
    assert client.get(f"{BASE}/recipe:7/lead:3", headers=viewer).get_json()["value"] == 3
    first = client.get(f"{BASE}/recipe:7?prefix=lead:&limit=3", headers=viewer).get_json()
    assert [e["key"] for e in first["entries"]] == ["lead:0", "lead:1", "lead:2"]
    rest = client.get(f"{BASE}/recipe:7?prefix=lead:&limit=3&cursor={first['next_cursor']}", headers=viewer)
    assert [e["key"] for e in rest.get_json()["entries"]] == ["lead:3", "lead:4"]
    assert rest.get_json()["next_cursor"] is None
    # LIKE wildcards in a prefix are plain characters
    assert client.get(f"{BASE}/recipe:7?prefix=lead%25", headers=viewer).get_json()["entries"] == []
    assert client.get(BASE, headers=viewer).get_json() == {"scopes": ["recipe:7", "recipe:8"]}


def test_keys_with_slashes_ttl_and_clear_errors(client: Any, headers: dict[str, dict[str, str]]) -> None:
    editor = headers["editor"]
    answer = client.put(f"{BASE}/global/crm/deals/42", json={"value": 1, "ttl_s": 60}, headers=editor)
    assert answer.status_code == 200 and answer.get_json()["expires_at"] is not None
    assert client.get(f"{BASE}/global/crm/deals/42", headers=editor).get_json()["key"] == "crm/deals/42"
    cases = [
        (f"{BASE}/team/k", {"value": 1}, 400, "scope: must be 'global' or 'recipe:<recipe id>'"),
        (f"{BASE}/global/{'k' * 201}", {"value": 1}, 400, "key: is 201 characters long"),
        (f"{BASE}/global/k", {}, 422, "$.value: required"),
        (f"{BASE}/global/k", {"value": 1, "ttl_s": 0}, 422, "$.ttl_s: must be from 1 to"),
        (f"{BASE}/global/k", {"value": "x" * 70000}, 422, "$.value: is 70002 bytes of JSON; at most 65536"),
    ]
    for url, body, status, message in cases:
        answer = client.put(url, json=body, headers=editor)
        assert answer.status_code == status, (url, answer.get_json())
        assert message in answer.get_json()["error"]["message"]
    assert client.get(f"{BASE}/recipe:0", headers=editor).status_code == 400


def test_the_utilities_are_listed_with_their_schemas(client: Any, headers: dict[str, dict[str, str]]) -> None:
    listed = client.get("/api/v1/connectors", headers=headers["viewer"]).get_json()
    found = {c["id"]: c for c in (listed if isinstance(listed, list) else listed["connectors"])}
    assert found["storage"]["category"] == found["assign"]["category"] == "utility"
    detail = client.get("/api/v1/connectors/assign", headers=headers["viewer"]).get_json()
    action = detail["actions"][0]
    assert action["key"] == "round_robin" and action["repeat_safe"] is True
    assert action["output_schema"]["required"] == ["assignee", "index", "count"]
