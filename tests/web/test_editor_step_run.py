"""Run one step for real from the editor (through the engine's test run), and the lists that no
longer submit their form on change; through the Flask test client against the real app."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from hub.connections import create_connection
from hub.db.models import AuditEntry, Event, Run, StepAttempt, StepRun
from hub.engine.control import InvalidState
from hub.runtime import Runtime
from hub.services import recipes as service
from tests.web.helpers import csrf_token, form_fields, sign_in
from tests.web.test_editor_testing import save_raw

SECRET = "tok-SECRET-4471"
RECIPE = {
    "name": "Deals to the CRM",
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
    "steps": [
        {"id": "totals", "type": "set", "values": {"total": "{{ event.deal.amount }}"}},
        {
            "id": "post",
            "connector": "http",
            "action": "request",
            "connection": "crm",
            "input": {
                "method": "POST",
                "url": "https://api.example.com/deals",
                "json": {"deal": "{{ event.deal.id }}", "total": "{{ steps.totals.total }}"},
            },
        },
        {"id": "pause", "type": "delay", "seconds": 60},
        {
            "id": "after",
            "connector": "http",
            "action": "request",
            "input": {"url": "https://api.example.com/x"},
        },
    ],
}


def saved_editor(client: FlaskClient, runtime: Runtime) -> tuple[str, str]:
    """(the edit URL, the editor page) of RECIPE saved with an http connection holding a token."""
    with runtime.db.transaction() as db:
        create_connection(
            db,
            runtime.registry,
            runtime.vault,
            name="crm",
            connector_id="http",
            config={"auth_type": "bearer", "token": SECRET, "base_url": "https://api.example.com"},
        )
    sign_in(client, "ed@example.com")
    edit = save_raw(client, RECIPE) + "/edit"
    return edit, client.get(edit).text


def press(client: FlaskClient, edit: str, page: str, op: str, **changes: str) -> Any:
    data = MultiDict(form_fields(page, "editor"))
    for key, value in changes.items():
        data[key] = value
    data["op"] = op
    return client.post(edit, data=data)


def result(page: str, uid: str) -> str:
    found = re.search(rf'<div class="step-test[^"]*" id="{uid}-run-result".*?</div>', page, re.S)
    assert found, page
    return found.group(0)


@responses.activate
def test_a_step_runs_for_real_once_through_a_recorded_test_run(web_app: Flask, web_runtime: Runtime) -> None:
    vendor = responses.post("https://api.example.com/deals", json={"id": "CRM-9", "echo": SECRET})
    client = web_app.test_client()
    edit, page = saved_editor(client, web_runtime)
    assert 'value="runstep:s1"' in page and "performs the step at the vendor" in page
    answer = press(client, edit, page, "runstep:s1")
    assert answer.status_code == 200
    assert vendor.call_count == 1  # once, with the rendered input and the step's idempotency key
    sent = vendor.calls[0].request
    assert json.loads(sent.body) == {"deal": "D-1001", "total": ""}  # the set step's sample output
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    with web_runtime.db.transaction() as db:
        run = db.scalars(select(Run)).one()
        event = db.get(Event, run.event_id)
        assert event is not None and event.source == "test" and not run.dry_run
        assert run.status == "succeeded" and run.from_step == "post"
        rows = {s.path: s.status for s in db.scalars(select(StepRun).where(StepRun.run_id == run.id))}
        attempt = db.scalars(select(StepAttempt)).one()
    assert sent.headers["Idempotency-Key"] == attempt.idempotency_key == f"{run.id}:post"
    assert rows == {"totals": "succeeded", "post": "succeeded", "pause": "skipped", "after": "skipped"}
    shown = result(answer.text, "s1")
    assert "ran for real" in shown and "CRM-9" in shown and f'href="/runs/{run.id}"' in shown
    assert SECRET not in answer.text  # the vendor echoed the token: it is redacted in the output
    listed = re.search(rf'<a href="/runs/{run.id}">#{run.id}</a>(.*?)</td>', client.get("/runs").text).group(
        1
    )
    assert "test run" in listed
    run_page = client.get(f"/runs/{run.id}").text
    assert "a test of step post alone" in run_page and SECRET not in run_page
    with web_runtime.db.transaction() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "recipe.test_step")).one()
        assert entry.actor == "ed@example.com" and entry.details == {"step": "post", "run": run.id}


@responses.activate
def test_a_failing_step_shows_its_redacted_error_and_a_retry_is_polled(
    web_app: Flask, web_runtime: Runtime
) -> None:
    responses.post("https://api.example.com/deals", status=503, json={"error": f"down {SECRET}"})
    client = web_app.test_client()
    edit, page = saved_editor(client, web_runtime)
    answer = press(client, edit, page, "runstep:s1")
    shown = result(answer.text, "s1")
    assert "goes on" in shown and "data-step-run-url" in shown  # retrying per the step's policy
    poll = re.search(r'data-step-run-url="([^"]+)"', shown).group(1)
    state = client.get(poll).get_json()
    assert state["ended"] is False and SECRET not in json.dumps(state)
    with web_runtime.db.transaction() as db:
        run = db.scalars(select(Run)).one()
        run.status = "failed"  # as the workers end it after its last attempt
        db.scalars(select(StepRun).where(StepRun.path == "post")).one().status = "failed"
    state = client.get(poll).get_json()
    assert state["ended"] is True and state["ok"] is False and "503" in state["detail"]


def test_waiting_steps_inner_steps_and_unsaved_changes_are_refused(
    web_app: Flask, web_runtime: Runtime
) -> None:
    client = web_app.test_client()
    edit, page = saved_editor(client, web_runtime)
    delay = press(client, edit, page, "runstep:s2").text
    assert "does not run for real on its own" in result(delay, "s2")
    changed = press(client, edit, page, "runstep:s1", **{"s1.in.url": "https://api.example.com/other"}).text
    assert "differs from the saved one" in result(changed, "s1")
    with web_runtime.db.transaction() as db:
        assert db.scalars(select(Run)).first() is None
    new = client.get("/recipes/new").text
    assert "runstep:" not in new  # only a saved recipe offers it


def test_viewers_cannot_run_a_step(web_app: Flask, web_runtime: Runtime) -> None:
    edit, page = saved_editor(web_app.test_client(), web_runtime)
    viewer = web_app.test_client()
    sign_in(viewer, "vi@example.com")
    answer = press(viewer, edit, page, "runstep:s1", csrf_token=csrf_token(viewer.get("/").text))
    assert answer.status_code == 403
    assert viewer.get(edit.replace("/edit", "/step-runs/1")).status_code == 403
    with web_runtime.db.transaction() as db:
        assert db.scalars(select(Run)).first() is None


def test_no_list_submits_its_form_on_change_and_the_buttons_work_without_script(web_app: Flask) -> None:
    """WCAG 3.2.2: the language and connector lists apply with a visible button."""
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    page = client.get("/connections/new").text
    assert "data-autosubmit" not in page
    assert re.search(
        r'<select id="language"[^>]*>.*?</select>\s*<button type="submit" id="language-apply">', page, re.S
    )
    assert re.search(r'<button type="submit" id="choose-connector">', page)
    chosen = client.get("/connections/new", query_string={"connector": "http"}).text
    assert 'name="connector" value="http"' in chosen
    switched = client.post(
        "/language", data={"csrf_token": csrf_token(page), "language": "zh", "next": "/connections/new"}
    )
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/connections/new"
    after = client.get("/connections/new").text
    assert '<html lang="zh-Hans">' in after and "新建连接" in after


@responses.activate
def test_a_loop_runs_its_inner_steps_for_real_and_failure_steps_stay_skipped(
    web_app: Flask, web_runtime: Runtime
) -> None:
    lines = responses.add_callback(
        responses.POST,
        "https://api.example.com/lines",
        callback=lambda request: (400 if b"extra" in request.body else 200, {}, '{"error": "bad line"}'),
    )
    alert = responses.post("https://api.example.com/alert", json={})
    doc = {
        "name": "Loop",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "each",
                "type": "for_each",
                "items": "{{ [event.deal.id, 'extra'] }}",
                "as": "line",
                "steps": [
                    {
                        "id": "send",
                        "connector": "http",
                        "action": "request",
                        "retry": {"max_attempts": 1},
                        "input": {
                            "method": "POST",
                            "url": "https://api.example.com/lines",
                            "json": {"id": "{{ line }}"},
                        },
                    }
                ],
            }
        ],
        "on_failure": [
            {
                "id": "tell",
                "connector": "http",
                "action": "request",
                "input": {"method": "POST", "url": "https://api.example.com/alert"},
            }
        ],
    }
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    edit = save_raw(client, doc) + "/edit"
    page = client.get(edit).text
    inner = press(client, edit, page, "runstep:s1").text  # the step inside the loop: not alone
    assert "run the block that holds this step" in result(inner, "s1")
    failure = press(client, edit, page, "runstep:f0").text
    assert "runs only when a run fails" in result(failure, "f0")
    assert lines.call_count == 0 and alert.call_count == 0
    answer = press(client, edit, page, "runstep:s0").text
    assert [json.loads(c.request.body) for c in lines.calls] == [{"id": "D-1001"}, {"id": "extra"}]
    assert alert.call_count == 0  # the failure steps are not part of a step's test
    shown = result(answer, "s0")
    assert "The step failed:" in shown and "400" in shown
    with web_runtime.db.transaction() as db:
        rows = {(s.phase, s.path): s.status for s in db.scalars(select(StepRun))}
    assert rows[("on_failure", "tell")] == "skipped" and rows[("main", "each.1.send")] == "failed"


def test_the_engine_refuses_a_waiting_or_unknown_step_before_recording_a_run(
    web_app: Flask, web_runtime: Runtime
) -> None:
    """The service checks on its own what the editor refuses, so no caller can park a step test."""
    client = web_app.test_client()
    edit, _page = saved_editor(client, web_runtime)
    recipe_id = int(edit.split("/")[2])
    for step_id in ("pause", "nosuch"):
        with pytest.raises(InvalidState):
            service.run_step_test(web_runtime, recipe_id, step_id, {}, {}, actor="ed@example.com")
    with web_runtime.db.transaction() as db:
        assert db.scalars(select(Run)).first() is None
