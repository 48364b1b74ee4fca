"""Runs through the API: list with filters and keyset pages, detail, replay, cancel, resolve held runs."""

from __future__ import annotations

from typing import Any

import jsonschema

from hub.api.openapi import RUN_SCHEMA
from hub.runtime import Runtime
from hub.sdk.errors import PermanentError, RetryableError
from tests.hub.api.conftest import audit_log, make_connection, two_step_recipe

H = dict[str, dict[str, str]]


def recipe(client: Any, headers: H, **extra: Any) -> int:
    answer = client.post("/api/v1/recipes", json=two_step_recipe(**extra), headers=headers["editor"])
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def run_live(client: Any, headers: H, recipe_id: int, event: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(
        f"/api/v1/recipes/{recipe_id}/test",
        json={"event": event, "dry_run": False},
        headers=headers["editor"],
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_list_filters_and_pages(client: Any, kit: Any, headers: H) -> None:
    viewer = headers["viewer"]
    make_connection(client, headers["editor"])
    first, second = recipe(client, headers), recipe(client, headers, name="second")
    ids = [run_live(client, headers, first, {"v": n})["id"] for n in range(5)]
    kit.script.append(PermanentError("vendor said no"))
    failed = run_live(client, headers, second, {"v": "x"})
    assert failed["status"] == "failed"

    everything = client.get("/api/v1/runs", headers=viewer).get_json()
    assert [r["id"] for r in everything["runs"]] == [failed["id"], *reversed(ids)]  # newest first
    assert everything["next_cursor"] is None and "steps" not in everything["runs"][0]
    page = client.get(f"/api/v1/runs?recipe_id={first}&limit=2", headers=viewer).get_json()
    assert [r["id"] for r in page["runs"]] == [ids[4], ids[3]] and page["next_cursor"]
    rest = client.get(
        f"/api/v1/runs?recipe_id={first}&limit=2&cursor={page['next_cursor']}", headers=viewer
    ).get_json()
    assert [r["id"] for r in rest["runs"]] == [ids[2], ids[1]]
    last = client.get(
        f"/api/v1/runs?recipe_id={first}&limit=2&cursor={rest['next_cursor']}", headers=viewer
    ).get_json()
    assert [r["id"] for r in last["runs"]] == [ids[0]] and last["next_cursor"] is None
    by_status = client.get("/api/v1/runs?status=failed", headers=viewer).get_json()["runs"]
    assert [r["id"] for r in by_status] == [failed["id"]]
    assert (
        client.get(f"/api/v1/runs?recipe_id={second}&status=succeeded", headers=viewer).get_json()["runs"]
        == []
    )
    assert client.get("/api/v1/runs?limit=0", headers=viewer).status_code == 400
    assert client.get("/api/v1/runs?limit=201", headers=viewer).status_code == 400
    assert len(client.get("/api/v1/runs?limit=200", headers=viewer).get_json()["runs"]) == 6

    listed = client.get("/api/v1/recipes", headers=viewer).get_json()["recipes"]
    summary = {r["id"]: r for r in listed}
    assert (
        summary[first]["run_counts"] == {"succeeded": 5} and summary[second]["last_run"]["status"] == "failed"
    )


def test_detail_shape_and_redaction(client: Any, kit: Any, headers: H) -> None:
    make_connection(client, headers["editor"])
    recipe_id = recipe(client, headers)
    event = {"v": "hi", "_headers": {"X-Signature": "sig-123456", "Content-Type": "application/json"}}
    run = run_live(client, headers, recipe_id, event)
    detail = client.get(f"/api/v1/runs/{run['id']}", headers=headers["viewer"]).get_json()
    jsonschema.validate(detail, RUN_SCHEMA)
    assert detail["event"]["_headers"] == {"X-Signature": "[REDACTED]", "Content-Type": "application/json"}
    assert "sig-123456" not in str(detail)
    assert {
        "id",
        "recipe_id",
        "recipe_version",
        "status",
        "event",
        "steps",
        "error",
        "dry_run",
        "replay_of",
    } <= set(detail)
    step = detail["steps"][0]
    assert {"id", "status", "attempts", "input", "output", "error", "started_at", "finished_at"} <= set(step)
    attempt = step["attempt_log"][0]
    assert attempt["number"] == 1 and attempt["status"] == "succeeded" and attempt["duration_ms"] >= 0


def test_secret_query_parameters_never_reach_run_history(
    client: Any, runtime: Runtime, kit: Any, headers: H
) -> None:
    """A step URL with ?api_key= is stored (input, output, attempt error) with the value hidden."""
    from hub.db.models import StepAttempt, StepRun

    make_connection(client, headers["editor"])
    recipe_id = recipe(client, headers)
    url = "https://api.example.com/items?api_key=k-live-123456&page=2"
    run_live(client, headers, recipe_id, {"v": url})
    kit.script.append(PermanentError(f"GET {url} failed"))
    failed = run_live(client, headers, recipe_id, {"v": url})
    with runtime.db.transaction() as session:
        stored = [(s.input, s.output, s.error) for s in session.query(StepRun)]
        stored += [a.error for a in session.query(StepAttempt)]
    assert stored and "k-live-123456" not in str(stored)
    assert "api_key=[REDACTED]&page=2" in str(stored)
    detail = client.get(f"/api/v1/runs/{failed['id']}", headers=headers["viewer"]).get_json()
    assert "k-live-123456" not in str(detail["steps"])
    assert detail["steps"][0]["attempt_log"][0]["error"]["message"].endswith(
        "api_key=[REDACTED]&page=2 failed"
    )


def test_replay_whole_and_from_a_step(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    recipe_id = recipe(client, headers)
    kit.script.extend([None, PermanentError("b broke")])
    original = run_live(client, headers, recipe_id, {"v": "x"})
    assert original["status"] == "failed" and [s["status"] for s in original["steps"]] == [
        "succeeded",
        "failed",
    ]
    kit.calls.clear()

    from_b = client.post(f"/api/v1/runs/{original['id']}/replay", json={"from_step": "b"}, headers=editor)
    assert from_b.status_code == 201
    replayed = from_b.get_json()
    assert replayed["replay_of"] == original["id"] and replayed["status"] == "succeeded"
    assert [c["inputs"] for c in kit.calls] == [{"value": "x+"}]  # step a was not performed again
    kit.calls.clear()

    whole = client.post(f"/api/v1/runs/{original['id']}/replay", headers=editor)
    assert whole.status_code == 201 and whole.get_json()["status"] == "succeeded"
    assert [c["inputs"] for c in kit.calls] == [{"value": "x"}, {"value": "x+"}]

    unknown = client.post(f"/api/v1/runs/{original['id']}/replay", json={"from_step": "zz"}, headers=editor)
    assert unknown.status_code == 409
    assert client.post("/api/v1/runs/999/replay", json={}, headers=editor).status_code == 404
    assert client.post(f"/api/v1/runs/{original['id']}/replay", headers=headers["viewer"]).status_code == 403
    assert ("editor@example.com", "run.replay") in audit_log(runtime)


def test_bulk_replay_of_failed_runs(client: Any, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    recipe_id = recipe(client, headers)
    kit.script.extend([PermanentError("no"), PermanentError("no")])
    failed = [run_live(client, headers, recipe_id, {"v": n})["id"] for n in range(2)]
    answer = client.post(f"/api/v1/recipes/{recipe_id}/replay", json={"status": "failed"}, headers=editor)
    assert answer.status_code == 200
    new = answer.get_json()["runs"]
    assert len(new) == 2
    for run_id in new:
        run = client.get(f"/api/v1/runs/{run_id}", headers=editor).get_json()
        assert run["status"] == "succeeded" and run["replay_of"] in failed  # dispatched
    again = client.post(f"/api/v1/recipes/{recipe_id}/replay", json={}, headers=editor).get_json()
    assert again == {"runs": []}  # already replayed
    bad = client.post(f"/api/v1/recipes/{recipe_id}/replay", json={"since": "soon"}, headers=editor)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["path"] == "$.since"


def test_cancel(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)
    document = two_step_recipe()
    document["steps"].insert(1, {"id": "pause", "type": "delay", "seconds": 3600})
    created = client.post("/api/v1/recipes", json=document, headers=editor).get_json()
    run = run_live(client, headers, created["id"], {"v": "x"})
    assert run["status"] == "waiting"
    cancelled = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=editor)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/runs/{run['id']}/cancel", headers=editor)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_state"
    assert len(kit.calls) == 1
    assert ("editor@example.com", "run.cancel") in audit_log(runtime)


def held_run(client: Any, kit: Any, headers: H) -> dict[str, Any]:
    document = two_step_recipe()
    document["steps"][0].update(action="pay")
    created = client.post("/api/v1/recipes", json=document, headers=headers["editor"]).get_json()
    kit.script.append(RetryableError("timeout after sending", outcome_unknown=True))
    run = run_live(client, headers, created["id"], {"v": "x"})
    assert run["status"] == "held" and run["steps"][0]["status"] == "held"
    return run


def test_resolve_held_runs(client: Any, runtime: Runtime, kit: Any, headers: H) -> None:
    editor = headers["editor"]
    make_connection(client, editor)

    run = held_run(client, kit, headers)
    held = client.get("/api/v1/runs?status=held", headers=headers["viewer"]).get_json()["runs"]
    assert [r["id"] for r in held] == [run["id"]]
    refused = client.post(f"/api/v1/runs/{run['id']}/resolve", json={"action": "maybe"}, headers=editor)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"]["path"] == "$.action"
    kit.calls.clear()
    retried = client.post(f"/api/v1/runs/{run['id']}/resolve", json={"action": "retry"}, headers=editor)
    assert retried.status_code == 200 and retried.get_json()["status"] == "succeeded"
    assert [c["action"] for c in kit.calls] == ["pay", "record"]
    again = client.post(f"/api/v1/runs/{run['id']}/resolve", json={"action": "retry"}, headers=editor)
    assert again.status_code == 409  # no longer held

    run = held_run(client, kit, headers)
    kit.calls.clear()
    done = client.post(
        f"/api/v1/runs/{run['id']}/resolve",
        json={"action": "mark_done", "output": {"echo": "by hand"}},
        headers=editor,
    ).get_json()
    assert done["status"] == "succeeded" and done["steps"][0]["output"] == {"echo": "by hand"}
    assert [c["inputs"] for c in kit.calls] == [{"value": "by hand+"}]  # pay was not repeated

    run = held_run(client, kit, headers)
    failed = client.post(
        f"/api/v1/runs/{run['id']}/resolve", json={"action": "fail"}, headers=editor
    ).get_json()
    assert failed["status"] == "failed"
    assert ("editor@example.com", "run.resolve") in audit_log(runtime)
    assert (
        client.post(
            f"/api/v1/runs/{run['id']}/resolve", json={"action": "fail"}, headers=headers["viewer"]
        ).status_code
        == 403
    )
