"""A named secret used by a recipe reaches the vendor and nothing else: not the recipe as shown or
exported, not the run record (inputs, vendor echo, attempts), not the log, not the database file."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.runtime import Runtime
from tests.hub.utilities.standin import StandIn

H = dict[str, dict[str, str]]
VALUE = "sk-live-7Qx9ZfL2-vendor"


def recipe(url: str, **step: Any) -> dict[str, Any]:
    call = {
        "id": "call",
        "connector": "http",
        "action": "request",
        "input": {
            "method": "POST",
            # `appcode` and `X-Appcode` do not look secret by name: only redaction by value hides them
            "url": url + "/orders?appcode={{ secrets.VENDOR_KEY }}",
            "headers": {"X-Appcode": "{{ secrets.VENDOR_KEY }}"},
            "json": {"lead": "{{ event.name }}"},
        },
        **step,
    }
    return {
        "name": "order to vendor",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [call],
    }


def save(client: Any, headers: H, document: dict[str, Any]) -> int:
    made = client.post("/api/v1/recipes", json=document, headers=headers["editor"])
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def run_now(client: Any, headers: H, recipe_id: int) -> dict[str, Any]:
    answer = client.post(
        f"/api/v1/recipes/{recipe_id}/test",
        json={"event": {"name": "李雷"}, "dry_run": False},
        headers=headers["editor"],
    )
    assert answer.status_code == 200, answer.get_json()
    run = client.get(f"/api/v1/runs/{answer.get_json()['id']}", headers=headers["viewer"])
    return dict(run.get_json())


def database_bytes(runtime: Runtime) -> bytes:
    path = Path(runtime.settings.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_a_named_secret_reaches_the_vendor_and_is_redacted_everywhere_else(
    client: Any, runtime: Runtime, headers: H, vendor: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = client.post(
        "/api/v1/secrets", json={"name": "VENDOR_KEY", "value": VALUE}, headers=headers["admin"]
    )
    assert created.status_code == 201
    recipe_id = save(client, headers, recipe(vendor.url))

    run = run_now(client, headers, recipe_id)
    assert run["status"] == "succeeded", run
    sent = vendor.requests[-1]
    assert sent["headers"]["X-Appcode"] == VALUE and sent["query"]["appcode"] == VALUE
    assert sent["json"] == {"lead": "李雷"}

    step = run["steps"][0]
    assert step["input"]["headers"]["X-Appcode"] == "[REDACTED]"
    assert step["output"]["json"]["echo"]["headers"]["X-Appcode"] == "[REDACTED]"  # the vendor's echo
    assert VALUE not in json.dumps(run, ensure_ascii=False)
    shown = [
        client.get("/api/v1/recipes", headers=headers["viewer"]).get_data(as_text=True),
        client.get(f"/api/v1/recipes/{recipe_id}", headers=headers["viewer"]).get_data(as_text=True),
        client.get(f"/api/v1/recipes/{recipe_id}/versions/1", headers=headers["viewer"]).get_data(
            as_text=True
        ),
        client.get("/api/v1/runs", headers=headers["viewer"]).get_data(as_text=True),
        client.get("/api/v1/audit", headers=headers["admin"]).get_data(as_text=True),
        client.get("/api/v1/secrets", headers=headers["admin"]).get_data(as_text=True),
    ]
    assert all(VALUE not in text for text in shown)
    assert "{{ secrets.VENDOR_KEY }}" in shown[1]  # the recipe names the secret, never holds it
    env = {
        "HUB_HOME": str(runtime.settings.home),
        "HUB_DATABASE_URL": runtime.settings.database_url,
        "HUB_VAULT_KEYS": runtime.settings.vault_keys or "",
    }
    exported = CliRunner().invoke(main, ["recipes", "export"], env=env, catch_exceptions=False)
    assert exported.exit_code == 0 and "secrets.VENDOR_KEY" in exported.stdout
    assert VALUE not in exported.stdout
    # The hub's log (its HTTP client logs every call's URL at DEBUG). Libraries log at WARNING in a
    # deployment (HUB_LIBRARY_LOG_LEVEL); urllib3's own DEBUG lines are not the hub's to redact.
    hub_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hub"))
    assert "appcode=[REDACTED]" in hub_log and VALUE not in hub_log
    if runtime.db.dialect == "sqlite":
        raw = database_bytes(runtime)
        assert b"sk-live" not in raw and VALUE.encode() not in raw


def test_an_unknown_secret_fails_the_step_with_a_clear_error(
    client: Any, headers: H, vendor: StandIn
) -> None:
    document = recipe(vendor.url)
    document["steps"][0]["input"].update(url=vendor.url, headers={"X-Appcode": "{{ secrets.MISSING_KEY }}"})
    run = run_now(client, headers, save(client, headers, document))
    assert run["status"] == "failed" and not vendor.requests
    assert run["steps"][0]["error"]["message"] == (
        "$.steps[0].input.headers[\"X-Appcode\"]: secrets: no secret named 'MISSING_KEY' "
        "(an admin sets it under Secrets)"
    )


def test_secrets_open_in_action_inputs_only_and_cannot_be_listed(
    client: Any, headers: H, vendor: StandIn
) -> None:
    client.post("/api/v1/secrets", json={"name": "VENDOR_KEY", "value": VALUE}, headers=headers["admin"])
    guarded = recipe(vendor.url, when="{{ secrets.VENDOR_KEY == 'x' }}")
    run = run_now(client, headers, save(client, headers, guarded))
    assert "named secrets can be used in action inputs only" in run["steps"][0]["error"]["message"]
    dumped = recipe(vendor.url)
    dumped["steps"][0]["input"]["json"] = {"all": "{{ secrets | list }}"}
    run = run_now(client, headers, save(client, headers, dumped))
    assert "they cannot be listed" in run["steps"][0]["error"]["message"]
    assert not vendor.requests and VALUE not in json.dumps(run)


def test_the_cli_sets_lists_and_deletes_secrets(runtime: Runtime) -> None:
    env = {
        "HUB_HOME": str(runtime.settings.home),
        "HUB_DATABASE_URL": runtime.settings.database_url,
        "HUB_VAULT_KEYS": runtime.settings.vault_keys or "",
    }

    def cli(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)

    assert cli("secrets", "set", "ERP_TOKEN", stdin=VALUE + "\n").exit_code == 0
    listed = cli("secrets", "list")
    assert listed.stdout.startswith("ERP_TOKEN\t") and VALUE not in listed.stdout
    assert cli("secrets", "set", "bad-name", stdin="abcd\n").exit_code == 1
    assert cli("secrets", "set", "ERP_TOKEN", stdin="\n").exit_code == 1
    rotated = cli("vault", "rotate")
    assert "1 named secret(s)" in rotated.stdout
    assert cli("secrets", "delete", "ERP_TOKEN").exit_code == 0
    assert cli("secrets", "delete", "ERP_TOKEN").exit_code == 1
    assert cli("secrets", "list").stdout == ""
