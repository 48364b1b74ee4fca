"""Recipe lifecycle over the API: restore an earlier version, and A/B splits of new runs between versions."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from typing import Any

import pytest
import responses
from sqlalchemy import delete, func, select, text

from hub import recipe_index
from hub.app import create_app
from hub.db.models import Event, Run
from hub.engine.poller import poll_recipe
from hub.runtime import Runtime
from hub.services.recipes import save_recipe
from hub.services.splits import set_split
from tests.hub.api.conftest import audit_log, make_connection, two_step_recipe
from tests.hub.test_scheduler import leading, schedule_doc, travel

H = dict[str, dict[str, str]]
TARGET = "http://127.0.0.1:9/forward"
V1 = ("catch-v1-s3cret-a1", "post-v1-s3cret-b2")
V2 = ("catch-v2-s3cret-c3", "post-v2-s3cret-d4")


def signed_recipe(secrets: tuple[str, str], label: str) -> dict[str, Any]:
    """A webhook checked with one secret whose run forwards the event signed with another."""
    catch, post = secrets
    return {
        "name": "signed forward",
        "trigger": {
            "connector": "webhook",
            "trigger": "catch",
            "config": {"auth": "hmac_sha256", "secret": catch, "id_field": "id"},
        },
        "steps": [
            {
                "id": "forward",
                "connector": "webhook",
                "action": "post",
                "input": {"url": TARGET, "json": {"label": label, "id": "{{ event.id }}"}, "secret": post},
            }
        ],
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client: Any, token: str, secret: str, event_id: str) -> Any:
    body = json.dumps({"id": event_id}).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(secret, body)}
    return client.post(f"/hooks/{token}", data=body, headers=headers)


def run_of_event(runtime: Runtime, event_id: int) -> Run:
    with runtime.db.transaction() as session:
        return session.scalars(select(Run).where(Run.event_id == event_id).order_by(Run.id)).one()


def test_restore_saves_the_old_document_as_a_new_version_that_verifies_and_signs_with_its_secrets(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    editor = headers["editor"]
    made = client.post("/api/v1/recipes", json=signed_recipe(V1, "v1"), headers=editor).get_json()
    recipe_id, token = made["id"], made["webhook_url"].split("/hooks/")[1]
    path = f"/api/v1/recipes/{recipe_id}"
    assert client.put(path, json=signed_recipe(V2, "v2"), headers=editor).status_code == 200
    assert deliver(client, token, V1[0], "before").status_code == 401  # version 2 checks its own secret

    restored = client.post(f"{path}/versions/1/restore", headers=editor)
    assert restored.status_code == 201, restored.get_json()
    assert restored.get_json()["version"] == 3 and restored.get_json()["webhook_url"] == made["webhook_url"]
    first = client.get(f"{path}/versions/1", headers=editor).get_json()["document"]
    assert client.get(f"{path}/versions/3", headers=editor).get_json()["document"] == first
    with runtime.db.transaction() as session:
        stored = dict(session.execute(text("SELECT version, document FROM recipe_versions")).all())
    raw = " ".join(str(document) for document in stored.values())
    assert not any(secret in raw for secret in (*V1, *V2))  # sealed at rest, the restored copy too
    assert stored[1] != stored[3]  # sealed anew for version 3's own place

    with responses.RequestsMock() as vendor:
        forwarded = vendor.post(TARGET, json={"ok": True})
        accepted = deliver(client, token, V1[0], "after")
        assert accepted.status_code == 202, accepted.get_json()
        sent = forwarded.calls[0].request
    assert json.loads(sent.body) == {"label": "v1", "id": "after"}
    assert sent.headers["X-Signature"] == sign(V1[1], sent.body)  # version 1's post secret
    run = run_of_event(runtime, int(accepted.get_json()["event_id"]))
    assert (run.recipe_version, run.status) == (3, "succeeded")
    assert deliver(client, token, V2[0], "old").status_code == 401
    assert ("editor@example.com", "recipe.restore") in audit_log(runtime)

    assert client.post(f"{path}/versions/9/restore", headers=editor).status_code == 404
    assert client.post(f"{path}/versions/1/restore", headers=headers["viewer"]).status_code == 403
    assert client.post("/api/v1/recipes/999/versions/1/restore", headers=editor).status_code == 404


def test_restore_keeps_the_recipe_live_or_not_as_it_was(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    recipe_id = client.post(
        "/api/v1/recipes", json=two_step_recipe(enabled=False), headers=editor
    ).get_json()["id"]
    client.put(f"/api/v1/recipes/{recipe_id}", json=two_step_recipe(name="v2"), headers=editor)
    restored = client.post(f"/api/v1/recipes/{recipe_id}/versions/1/restore", headers=editor).get_json()
    assert restored["enabled"] is True and restored["name"] == "two steps"


def versions_recipe(client: Any, headers: H) -> tuple[int, str]:
    """Version 1 records event.v, version 2 records event.v + '!' (the same inbox trigger): (id, token)."""
    editor = headers["editor"]
    make_connection(client, editor)
    made = client.post("/api/v1/recipes", json=two_step_recipe(), headers=editor).get_json()
    second = two_step_recipe()
    second["steps"][0]["input"]["value"] = "{{ event.v }}!"
    assert client.put(f"/api/v1/recipes/{made['id']}", json=second, headers=editor).status_code == 200
    return made["id"], made["webhook_url"].split("/hooks/")[1]


def split(client: Any, headers: H, recipe_id: int, versions: Any, role: str = "editor") -> Any:
    return client.put(
        f"/api/v1/recipes/{recipe_id}/split", json={"versions": versions}, headers=headers[role]
    )


def versions_of_runs(runtime: Runtime, recipe_id: int) -> Counter[int]:
    with runtime.db.transaction() as session:
        rows = session.execute(
            select(Run.recipe_version, func.count())
            .where(Run.recipe_id == recipe_id)
            .group_by(Run.recipe_version)
        )
        return Counter(dict(rows.all()))


def test_a_50_50_split_over_1000_events_lands_near_half_on_each_version(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    recipe_id, token = versions_recipe(client, headers)
    answer = split(client, headers, recipe_id, {"1": 50, "2": 50.0})  # 50.0 is a JSON integer too
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"active": True, "versions": {"1": 50, "2": 50}, "current_version": 2}
    runtime.executor = None  # runs stay queued: only which version each one starts is looked at
    for number in range(1000):
        assert client.post(f"/hooks/{token}", json={"id": f"evt-{number}", "v": number}).status_code == 202
    counts = versions_of_runs(runtime, recipe_id)
    assert set(counts) == {1, 2} and sum(counts.values()) == 1000
    assert 450 <= counts[1] <= 550 and 450 <= counts[2] <= 550, counts


def test_a_repeated_event_id_and_a_replay_keep_their_version(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    recipe_id, token = versions_recipe(client, headers)
    assert split(client, headers, recipe_id, {"1": 1, "2": 1}).status_code == 200
    first_runs: dict[str, Run] = {}
    for number in range(20):
        answer = client.post(f"/hooks/{token}", json={"id": f"e-{number}", "v": f"n{number}"})
        first_runs[f"e-{number}"] = run_of_event(runtime, int(answer.get_json()["event_id"]))
    by_version = {
        version: [k for k, r in first_runs.items() if r.recipe_version == version] for version in (1, 2)
    }
    assert by_version[1] and by_version[2]
    recorded = {call["inputs"]["value"] for call in kit.calls if call["key"].endswith(":a")}
    behaved = {f"n{key[2:]}" for key in by_version[1]} | {f"n{key[2:]}!" for key in by_version[2]}
    assert recorded == behaved  # each run did what its version says

    for key, run in first_runs.items():  # a vendor's retry is deduplicated: no second run
        again = client.post(f"/hooks/{token}", json={"id": key, "v": 0})
        assert again.status_code == 200 and int(again.get_json()["event_id"]) == run.event_id
    for key in (by_version[1][0], by_version[2][0]):
        original = first_runs[key]
        replay = client.post(f"/api/v1/runs/{original.id}/replay", json={}, headers=headers["editor"])
        assert replay.status_code == 201 and replay.get_json()["recipe_version"] == original.recipe_version

    with runtime.db.transaction() as session:  # the event and its runs gone (retention), then sent again
        ids = [first_runs[key].event_id for key in first_runs]
        session.execute(delete(Run).where(Run.event_id.in_(ids)))
        session.execute(delete(Event).where(Event.id.in_(ids)))
    for key, run in first_runs.items():
        again = client.post(f"/hooks/{token}", json={"id": key, "v": 0})
        assert again.status_code == 202
        assert run_of_event(runtime, int(again.get_json()["event_id"])).recipe_version == run.recipe_version


def test_ending_the_split_sends_every_new_run_to_the_current_version(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    recipe_id, token = versions_recipe(client, headers)
    runtime.executor = None
    assert split(client, headers, recipe_id, {"1": 100, "2": 0}).status_code == 200
    for number in range(10):
        client.post(f"/hooks/{token}", json={"id": f"a-{number}"})
    assert versions_of_runs(runtime, recipe_id) == Counter({1: 10})  # weight 0: none to version 2
    path = f"/api/v1/recipes/{recipe_id}/split"
    assert client.delete(path, headers=headers["viewer"]).status_code == 403
    ended = client.delete(path, headers=headers["editor"])
    assert ended.status_code == 200
    assert ended.get_json() == {"active": False, "versions": None, "current_version": 2}
    assert client.get(path, headers=headers["viewer"]).get_json()["active"] is False
    assert client.delete(path, headers=headers["editor"]).status_code == 200  # nothing left to end
    for number in range(30):
        client.post(f"/hooks/{token}", json={"id": f"b-{number}"})
    assert versions_of_runs(runtime, recipe_id) == Counter({1: 10, 2: 30})
    actions = [action for _actor, action in audit_log(runtime)]
    assert actions.count("recipe.split") == 1 and actions.count("recipe.split_end") == 1


def test_saving_a_new_version_ends_the_split(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    recipe_id, _token = versions_recipe(client, headers)
    assert split(client, headers, recipe_id, {"1": 1, "2": 3}).status_code == 200
    shown = client.get(f"/api/v1/recipes/{recipe_id}", headers=headers["viewer"]).get_json()
    assert shown["split"] == {"1": 1, "2": 3}
    client.put(f"/api/v1/recipes/{recipe_id}", json=two_step_recipe(name="third"), headers=headers["editor"])
    assert client.get(f"/api/v1/recipes/{recipe_id}/split", headers=headers["viewer"]).get_json() == {
        "active": False,
        "versions": None,
        "current_version": 3,
    }


@pytest.mark.parametrize(
    ("versions", "path", "words"),
    [
        ({"1": 50, "9": 50}, "$.versions.9", "has no version 9"),
        ({"1": -1, "2": 5}, "$.versions.1", "0 or more"),
        ({"1": "half", "2": 5}, "$.versions.1", "whole number"),
        ({"1": 2.5, "2": 5}, "$.versions.1", "whole number"),
        ({"v1": 1, "2": 5}, "$.versions.v1", "not a version number"),
        ({"2": 100}, "$.versions", "two or more"),
        ({"1": 0, "2": 0}, "$.versions", "more than 0"),
        ([1, 2], "$.versions", "object of version number to weight"),
    ],
)
def test_a_bad_split_is_refused_naming_the_field(
    client: Any, kit: Any, headers: H, versions: Any, path: str, words: str
) -> None:
    recipe_id, _token = versions_recipe(client, headers)
    answer = split(client, headers, recipe_id, versions)
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["details"]["path"] == path and words in error["message"] and error["code"] == "invalid_split"


def test_a_split_needs_versions_with_the_current_versions_trigger(client: Any, kit: Any, headers: H) -> None:
    recipe_id, _token = versions_recipe(client, headers)
    polled = two_step_recipe(trigger={"connector": "testkit", "trigger": "feed", "connection": "kit1"})
    client.put(f"/api/v1/recipes/{recipe_id}", json=polled, headers=headers["editor"])
    answer = split(client, headers, recipe_id, {"2": 1, "3": 1})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["details"]["path"] == "$.versions.2"
    assert "only allowed between versions whose trigger is the same" in error["message"]
    assert split(client, headers, recipe_id, {"1": 1, "2": 1}).get_json()["error"]["details"]["path"] == (
        "$.versions.1"
    )
    bare = client.put(f"/api/v1/recipes/{recipe_id}/split", data="[", headers=headers["editor"])
    assert bare.status_code == 400


def test_roles_on_restore_and_split(client: Any, kit: Any, headers: H) -> None:
    recipe_id, _token = versions_recipe(client, headers)
    path = f"/api/v1/recipes/{recipe_id}/split"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=headers["viewer"]).status_code == 200
    assert split(client, headers, recipe_id, {"1": 1, "2": 1}, role="viewer").status_code == 403
    assert client.delete(path, headers=headers["viewer"]).status_code == 403
    assert (
        client.post(f"/api/v1/recipes/{recipe_id}/versions/1/restore", headers=headers["viewer"]).status_code
        == 403
    )
    assert split(client, headers, recipe_id, {"1": 1, "2": 1}, role="admin").status_code == 200
    assert client.get("/api/v1/recipes/999/split", headers=headers["viewer"]).status_code == 404


def test_another_process_sees_a_new_split_at_its_next_marker_check(
    client: Any, runtime: Runtime, kit: Any, headers: H, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingress of another process keeps its recipe lookups cached until the change marker moves."""
    monkeypatch.setattr(recipe_index, "CHECK_EVERY_S", 0.0)
    recipe_id, token = versions_recipe(client, headers)
    other = Runtime.create(runtime.settings, registry=runtime.registry)
    try:
        other_client = create_app(other).test_client()
        assert other_client.post(f"/hooks/{token}", json={"id": "warm"}).status_code == 202  # cached now
        assert split(client, headers, recipe_id, {"1": 1, "2": 0}).status_code == 200
        for number in range(5):
            other_client.post(f"/hooks/{token}", json={"id": f"x-{number}"})
    finally:
        other.close()
    assert versions_of_runs(runtime, recipe_id) == Counter({2: 1, 1: 5})


def test_polled_items_are_split_too(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    feed = {"connector": "testkit", "trigger": "feed", "connection": "kit1"}
    recipe_id = client.post("/api/v1/recipes", json=two_step_recipe(trigger=feed), headers=editor).get_json()[
        "id"
    ]
    client.put(f"/api/v1/recipes/{recipe_id}", json=two_step_recipe(trigger=feed, name="v2"), headers=editor)
    assert split(client, headers, recipe_id, {"1": 1, "2": 1}).status_code == 200
    runtime.executor = None
    poll_recipe(runtime, recipe_id)  # the first poll starts "from now"
    kit.items = [{"id": f"item-{number}"} for number in range(200)]
    assert poll_recipe(runtime, recipe_id)["runs"] == 200
    counts = versions_of_runs(runtime, recipe_id)
    assert set(counts) == {1, 2} and 70 <= counts[1] <= 130, counts


def test_scheduled_runs_are_split_too(runtime: Runtime) -> None:
    recipe_id = save_recipe(runtime, schedule_doc({"seconds": 60}), actor="ed").id
    save_recipe(runtime, {**schedule_doc({"seconds": 60}), "name": "v2"}, actor="ed", recipe_id=recipe_id)
    set_split(runtime, recipe_id, {1: 1, 2: 0}, actor="ed")
    scheduler = leading(runtime)
    scheduler.fire_schedules()  # sets the schedule up
    travel(runtime, 61)
    scheduler.fire_schedules()
    assert versions_of_runs(runtime, recipe_id) == Counter({1: 1})  # not the current version 2


def test_a_split_needs_the_same_webhook_wait_steps(client: Any, kit: Any, headers: H) -> None:
    recipe_id, _token = versions_recipe(client, headers)
    waiting = two_step_recipe()
    wait = {
        "id": "reply",
        "type": "wait_for",
        "connector": "testkit",
        "trigger": "inbox",
        "connection": "kit1",
    }
    waiting["steps"].append({**wait, "match": {"id": "{{ event.id }}"}, "timeout_s": 60})
    client.put(f"/api/v1/recipes/{recipe_id}", json=waiting, headers=headers["editor"])
    answer = split(client, headers, recipe_id, {"2": 1, "3": 1})
    assert answer.status_code == 422 and answer.get_json()["error"]["details"]["path"] == "$.versions.2"
    client.put(f"/api/v1/recipes/{recipe_id}", json=waiting, headers=headers["editor"])
    assert split(client, headers, recipe_id, {"3": 1, "4": 1}).status_code == 200
