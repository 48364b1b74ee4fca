"""Recipes through the API: validation with JSON paths, versions, enable/disable, test runs, trigger reset."""

from __future__ import annotations

from typing import Any

from flask import request

from hub.engine.poller import poll_recipe
from hub.runtime import Runtime
from tests.hub.api.conftest import audit_log, make_connection, two_step_recipe

H = dict[str, dict[str, str]]


def create(client: Any, headers: dict[str, str], document: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/recipes", json=document, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def error_path(answer: Any) -> str:
    """The path of a 422 on a request field, or of the first problem of an invalid recipe document."""
    return problem_paths(answer)[0]


def problem_paths(answer: Any) -> list[str]:
    """Every path a 422 names: an invalid recipe document lists all its problems."""
    assert answer.status_code == 422, answer.get_json()
    details = answer.get_json()["error"]["details"]
    return [p["path"] for p in details] if isinstance(details, list) else [details["path"]]


def test_create_read_update_versions_and_delete(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor, viewer = headers["editor"], headers["viewer"]
    make_connection(client, editor)
    recipe = create(client, editor, two_step_recipe())
    assert recipe["version"] == 1 and recipe["name"] == "two steps" and recipe["enabled"] is True
    assert recipe["webhook_url"].startswith("http://127.0.0.1:8000/hooks/")

    changed = client.put(
        f"/api/v1/recipes/{recipe['id']}", json=two_step_recipe(name="renamed"), headers=editor
    )
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert changed.get_json()["webhook_url"] == recipe["webhook_url"]  # the address survives new versions
    versions = client.get(f"/api/v1/recipes/{recipe['id']}/versions", headers=viewer).get_json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert all(v["created_by"] == "editor@example.com" and v["created_at"] for v in versions)
    first = client.get(f"/api/v1/recipes/{recipe['id']}/versions/1", headers=viewer).get_json()
    assert first["version"] == 1 and first["document"]["name"] == "two steps"
    assert client.get(f"/api/v1/recipes/{recipe['id']}/versions/9", headers=viewer).status_code == 404

    detail = client.get(f"/api/v1/recipes/{recipe['id']}", headers=viewer).get_json()
    assert detail["document"]["name"] == "renamed" and detail["version"] == 2
    assert detail["webhook_url"] == recipe["webhook_url"]
    listed = client.get("/api/v1/recipes", headers=viewer).get_json()["recipes"]
    assert [(r["id"], r["name"], r["version"]) for r in listed] == [(recipe["id"], "renamed", 2)]
    assert listed[0]["trigger"] == {"connector": "testkit", "trigger": "inbox", "connection": "kit1"}

    assert client.delete(f"/api/v1/recipes/{recipe['id']}", headers=editor).status_code == 204
    assert client.get(f"/api/v1/recipes/{recipe['id']}", headers=viewer).status_code == 404
    assert client.get("/api/v1/recipes", headers=viewer).get_json()["recipes"] == []
    assert (
        client.put(f"/api/v1/recipes/{recipe['id']}", json=two_step_recipe(), headers=editor).status_code
        == 404
    )
    actions = [a for who, a in audit_log(runtime) if who == "editor@example.com"]
    assert actions == ["connection.create", "recipe.create", "recipe.update", "recipe.delete"]


def test_enable_and_disable(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor, viewer = headers["editor"], headers["viewer"]
    make_connection(client, editor)
    recipe = create(client, editor, two_step_recipe(enabled=False))
    assert recipe["enabled"] is False
    enabled = client.post(f"/api/v1/recipes/{recipe['id']}/enable", headers=editor)
    assert enabled.status_code == 200 and enabled.get_json()["enabled"] is True
    assert client.get(f"/api/v1/recipes/{recipe['id']}", headers=viewer).get_json()["enabled"] is True
    disabled = client.post(f"/api/v1/recipes/{recipe['id']}/disable", headers=editor).get_json()
    assert disabled["enabled"] is False
    hook = "/hooks/" + recipe["webhook_url"].rsplit("/", 1)[1]
    assert client.post(hook, json={"v": 1}).status_code == 404  # a disabled recipe takes no events
    assert client.post(f"/api/v1/recipes/{recipe['id']}/enable", headers=viewer).status_code == 403
    assert client.post("/api/v1/recipes/999/enable", headers=editor).status_code == 404
    assert ("editor@example.com", "recipe.enable") in audit_log(runtime)
    assert ("editor@example.com", "recipe.disable") in audit_log(runtime)


def test_validation_errors_name_the_json_path(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    client.post(
        "/api/v1/connections",
        json={"name": "other1", "connector": "otherkit", "config": {"api_key": "k-123456"}},
        headers=editor,
    )

    def post(change: Any) -> Any:
        document = two_step_recipe()
        change(document)
        return client.post("/api/v1/recipes", json=document, headers=editor)

    assert error_path(post(lambda d: d["steps"][0].update(connector="nope"))) == "$.steps[0].connector"
    assert error_path(post(lambda d: d["steps"][1].update(action="nope"))) == "$.steps[1].action"
    assert error_path(post(lambda d: d["steps"][0].update(connection="missing"))) == "$.steps[0].connection"
    wrong = post(lambda d: d["steps"][1].update(connection="other1"))
    assert error_path(wrong) == "$.steps[1].connection" and "otherkit" in wrong.get_json()["error"]["message"]
    syntax = post(lambda d: d["steps"][1]["input"].update(value="{{ steps.a.echo "))
    assert error_path(syntax) == "$.steps[1].input.value"
    assert error_path(post(lambda d: d.pop("name"))) == "$"
    assert error_path(post(lambda d: d["trigger"].update(trigger="nope"))) == "$.trigger.trigger"
    not_object = client.post("/api/v1/recipes", json=["a"], headers=editor)
    assert error_path(not_object) == "$"


def test_a_webhook_wait_steps_config_cannot_be_templated(client: Any, kit: Any, headers: H) -> None:
    """Its hook URL (and the vendor registration) serve every run waiting there: no per-run config."""
    editor = headers["editor"]
    make_connection(client, editor)

    def with_wait(trigger: str, config: dict[str, Any]) -> dict[str, Any]:
        document = two_step_recipe()
        document["steps"].append(
            {
                "id": "reply",
                "type": "wait_for",
                "connector": "testkit",
                "trigger": trigger,
                "connection": "kit1",
                "config": config,
                "match": {"ticket": "{{ steps.a.echo }}"},
            }
        )
        return document

    refused = client.post(
        "/api/v1/recipes", json=with_wait("inbox", {"queue": {"name": "{{ event.queue }}"}}), headers=editor
    )
    assert error_path(refused) == "$.steps[2].config.queue.name"
    message = refused.get_json()["error"]["message"]
    assert message.startswith(
        "$.steps[2].config.queue.name: a wait_for step on the webhook trigger testkit.inbox"
    )
    assert client.get("/api/v1/recipes", headers=editor).get_json()["recipes"] == []  # nothing saved

    fixed = create(client, editor, with_wait("inbox", {"queue": {"name": "support"}}))
    assert set(fixed["wait_urls"]) == {"reply"}
    again = client.put(
        f"/api/v1/recipes/{fixed['id']}", json=with_wait("inbox", {"queue": "{{ event.q }}"}), headers=editor
    )
    assert error_path(again) == "$.steps[2].config.queue"
    # a polling wait renders its config for each run: templates stay allowed there
    polled = create(client, editor, with_wait("feed", {"queue": "{{ event.queue }}"}))
    assert "wait_urls" not in polled


def test_yaml_import(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    text = """
name: from yaml
trigger: {connector: testkit, trigger: inbox, connection: kit1}
steps:
  - id: a
    connector: testkit
    action: record
    connection: kit1
    input: {value: "{{ event.v }}", amount: 12.50}
"""
    for content_type in ("application/yaml", "text/yaml"):
        answer = client.post(
            "/api/v1/recipes", data=text, content_type=content_type, headers=headers["editor"]
        )
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["name"] == "from yaml" and answer.get_json()["version"] == 1
    broken = client.post(
        "/api/v1/recipes", data="name: [unclosed", content_type="application/yaml", headers=headers["editor"]
    )
    assert broken.status_code == 400 and "YAML" in broken.get_json()["error"]["message"]
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    refused = client.post("/api/v1/recipes", data=bomb, content_type="text/yaml", headers=headers["editor"])
    assert refused.status_code == 400 and "aliases" in refused.get_json()["error"]["message"]


def test_dry_run_renders_and_performs_nothing(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    recipe = create(client, headers["editor"], two_step_recipe())
    answer = client.post(
        f"/api/v1/recipes/{recipe['id']}/test",
        json={"event": {"v": "hi"}, "dry_run": True},
        headers=headers["editor"],
    )
    assert answer.status_code == 200
    run = answer.get_json()
    assert run["status"] == "succeeded" and run["dry_run"] is True
    assert run["event"] == {"v": "hi"} and run["recipe_version"] == 1
    assert [s["id"] for s in run["steps"]] == ["a", "b"]
    assert [s["input"] for s in run["steps"]] == [{"value": "hi"}, {"value": "sample+"}]
    assert kit.calls == []
    assert (
        client.post(f"/api/v1/recipes/{recipe['id']}/test", json={}, headers=headers["viewer"]).status_code
        == 403
    )


def test_live_test_run_performs_each_step_once(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    recipe = create(client, headers["editor"], two_step_recipe(enabled=False))  # a test needs no enabling
    run = client.post(
        f"/api/v1/recipes/{recipe['id']}/test",
        json={"event": {"v": "hi"}, "dry_run": False},
        headers=headers["editor"],
    ).get_json()
    assert run["status"] == "succeeded" and run["dry_run"] is False
    assert [s["output"] for s in run["steps"]] == [{"echo": "hi"}, {"echo": "hi+"}]
    assert [c["inputs"] for c in kit.calls] == [{"value": "hi"}, {"value": "hi+"}]
    assert run["steps"][0]["attempt_log"][0]["idempotency_key"] == f"{run['id']}:a"
    same = client.get(f"/api/v1/runs/{run['id']}", headers=headers["viewer"]).get_json()
    assert same == run
    bad = client.post(f"/api/v1/recipes/{recipe['id']}/test", json={"event": [1]}, headers=headers["editor"])
    assert error_path(bad) == "$.event"


def test_decimal_numbers_in_recipes_keep_their_type(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    document = two_step_recipe()
    document["steps"][0]["input"]["amount"] = 12.50
    answer = client.post("/api/v1/recipes", json=document, headers=headers["editor"])
    assert answer.status_code == 201, answer.get_json()
    detail = client.get(f"/api/v1/recipes/{answer.get_json()['id']}", headers=headers["viewer"]).get_json()
    assert detail["document"]["steps"][0]["input"]["amount"] == 12.5


def test_trigger_reset_sets_the_cursor_and_keeps_seen_items(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    document = two_step_recipe(name="feed")
    document["trigger"] = {"connector": "testkit", "trigger": "feed", "connection": "kit1", "config": {}}
    recipe = create(client, editor, document)
    assert "webhook_url" not in recipe
    kit.items = [{"id": 1, "v": "one"}]
    assert poll_recipe(runtime, recipe["id"])["primed"] == 1  # first poll: start from now
    state = client.get(f"/api/v1/recipes/{recipe['id']}", headers=headers["viewer"]).get_json()[
        "trigger_state"
    ]
    assert state["cursor"] == "c1" and state["primed"] is True and state["items_taken"] == 0

    reset = client.post(
        f"/api/v1/recipes/{recipe['id']}/trigger/reset",
        json={"cursor": None, "backfill_from": "2024-01-01T00:00:00Z"},
        headers=editor,
    )
    assert reset.status_code == 200
    state = reset.get_json()["trigger_state"]
    assert state["cursor"] is None and state["primed"] is False
    assert state["backfill_from"].startswith("2024-01-01T00:00:00")
    kit.items.append({"id": 2, "v": "two"})
    result = poll_recipe(runtime, recipe["id"])
    assert kit.polls[-1]["cursor"] is None and kit.polls[-1]["since"].year == 2024
    assert result["new"] == 1  # item 1 was seen before the reset and is not taken again
    assert [c["inputs"]["value"] for c in kit.calls] == ["two", "two+"]

    moved = client.post(
        f"/api/v1/recipes/{recipe['id']}/trigger/reset", json={"cursor": "c9"}, headers=editor
    ).get_json()["trigger_state"]
    assert moved["cursor"] == "c9" and moved["primed"] is False and moved["backfill_from"] is None
    poll_recipe(runtime, recipe["id"])
    assert kit.polls[-1]["cursor"] == "c9"
    bad = client.post(
        f"/api/v1/recipes/{recipe['id']}/trigger/reset", json={"backfill_from": "yesterday"}, headers=editor
    )
    assert error_path(bad) == "$.backfill_from"
    assert ("editor@example.com", "trigger.reset") in audit_log(runtime)


def test_webhooks_get_no_cookie_session_while_the_ui_keeps_its_own(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    recipe = create(client, editor, two_step_recipe())
    hook = "/hooks/" + recipe["webhook_url"].rsplit("/", 1)[1]
    sessions = client.application.session_interface
    with client.application.test_request_context(hook, method="POST"):
        assert sessions.is_null_session(sessions.open_session(client.application, request))
    with client.application.test_request_context("/login"):
        assert not sessions.is_null_session(sessions.open_session(client.application, request))
    answer = client.post(hook, json={"v": 1})
    assert answer.status_code == 202 and "Set-Cookie" not in answer.headers


def test_an_invalid_recipe_answers_every_problem_with_its_path(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    document = two_step_recipe()
    document["steps"][0]["colour"] = "red"
    inner = {"id": "a", "connector": "testkit", "action": "record", "connection": "kit1"}
    loop = {"id": "rows", "type": "for_each", "items": "rows", "steps": [inner]}
    document["steps"].append(loop)
    document["steps"][1]["input"]["value"] = "{{ steps.rows }}"
    answer = client.post("/api/v1/recipes", json=document, headers=headers["editor"])
    error = answer.get_json()["error"]
    assert answer.status_code == 422 and error["code"] == "invalid_recipe"
    assert [p["path"] for p in error["details"]] == [
        "$.steps[0]",
        "$.steps[2].steps[0].id",
        "$.steps[1].input.value",
        "$.steps[2].items",
    ]
    assert error["message"].startswith("$.steps[0]: ") and error["message"].endswith("(and 3 more problems)")
    assert "duplicate step id 'a'" in error["details"][1]["message"]
