"""Runs that update themselves: the live state the runs list and run page poll (hub/web/run_live.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import update

from hub.db.models import Run, StepRun
from hub.runtime import Runtime
from tests.web.helpers import csrf_token, sign_in

WAKE = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _runs(web_app: Flask, web_runtime: Runtime) -> None:
    """Four runs of one recipe: retrying, delayed, held and succeeded."""
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    doc = {"name": "Live", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
    token = csrf_token(client.get("/").text)
    client.post("/recipes/new", data={"csrf_token": token, "op": "save_raw", "raw": json.dumps(doc)})
    rows = (("queued", WAKE, "retrying", 2), ("waiting", WAKE, "waiting", 0), ("held", None, "held", 1))
    with web_runtime.db.transaction() as db:
        for status, wake, step_status, attempts in (*rows, ("succeeded", None, "succeeded", 1)):
            run = Run(recipe_id=1, recipe_version=1, status=status, wake_at=wake)
            db.add(run)
            db.flush()
            step = StepRun(run_id=run.id, step_id="send", path="send", position=0, status=step_status)
            step.attempts = attempts
            db.add(step)


def test_the_live_state_names_the_waiting_step_and_when(web_app: Flask, web_runtime: Runtime) -> None:
    _runs(web_app, web_runtime)
    client = web_app.test_client()
    sign_in(client, "vi@example.com")  # viewers may watch runs
    states = {r["id"]: r for r in client.get("/runs/live?ids=1,2,3,4,99").get_json()["runs"]}
    assert sorted(states) == [1, 2, 3, 4]  # an unknown id is left out
    assert (states[1]["status"], states[1]["label"], states[1]["step"]) == ("retrying", "retrying", "send")
    assert states[1]["note"] == "Step send tries again at 2030-01-02 03:04:05 (UTC)."
    assert states[1]["wake_at"] == WAKE.isoformat()
    assert states[2]["note"] == "Step send waits until 2030-01-02 03:04:05 (UTC)."
    assert states[3]["note"] == "Step send waits for a person to resolve it."
    assert states[4]["final"] and states[4]["note"] == "" and not states[1]["final"]
    assert states[1]["steps"] == {"main:send": {"status": "retrying", "label": "retrying", "attempts": 2}}

    before = states[1]["fingerprint"]
    with web_runtime.db.transaction() as db:
        db.execute(update(StepRun).where(StepRun.run_id == 1).values(status="succeeded", attempts=3))
        db.execute(update(Run).where(Run.id == 1).values(status="succeeded", wake_at=None))
    after = client.get("/runs/live?ids=1").get_json()["runs"][0]
    assert after["fingerprint"] != before and after["final"] and after["status"] == "succeeded"


def test_the_pages_show_waiting_runs_as_such_in_both_languages(web_app: Flask, web_runtime: Runtime) -> None:
    _runs(web_app, web_runtime)
    client = web_app.test_client()
    sign_in(client, "vi@example.com")
    listing = client.get("/runs").text
    retrying = '<span class="status status-retrying">retrying</span>'
    assert f'data-live-run="1" data-live-pending>{retrying}' in listing
    assert "Step send tries again at 2030-01-02 03:04:05 (UTC)." in listing
    assert 'data-live-run="4">' in listing  # a finished run is not polled
    run_page = client.get("/runs/2").text
    assert "Step send waits until 2030-01-02 03:04:05 (UTC)." in run_page
    assert 'http-equiv="refresh"' not in run_page  # the script polls instead of reloading every 3 s
    chinese = web_app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    sign_in(chinese, "vi@example.com")
    assert "步骤 send 将于 2030-01-02 03:04:05（UTC）重试。" in chinese.get("/runs").text
    state = chinese.get("/runs/live?ids=1").get_json()["runs"][0]
    assert (state["label"], state["note"]) == ("重试中", "步骤 send 将于 2030-01-02 03:04:05（UTC）重试。")


def test_bad_ids_are_refused_and_strangers_sent_to_sign_in(web_app: Flask) -> None:
    client = web_app.test_client()
    assert client.get("/runs/live?ids=1").status_code == 302
    sign_in(client, "vi@example.com")
    for ids in ("", "abc", "1,x", ",".join(str(i) for i in range(1, 102))):
        answer = client.get(f"/runs/live?ids={ids}")
        assert answer.status_code == 400 and "ids" in answer.get_json()["error"], ids
    assert client.get("/runs/live?ids=" + ",".join(str(i) for i in range(1, 101))).status_code == 200
