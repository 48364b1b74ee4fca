"""`hub templates list|show|install|export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

import hub.cli
from hub.db.models import Recipe
from hub.recipe_index import current_document
from hub.runtime import Runtime
from hub.services import projects as project_service
from hub.templates.catalogue import check_document
from tests.hub.template_helpers import dummy_connection

FORM = "jiandaoyun-form-wecom-message"


@pytest.fixture
def hub_cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hub.cli, "_runtime", lambda **_: Runtime.create(runtime.settings))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(hub.cli.main, list(args))

    return invoke


def test_list_and_show(hub_cli) -> None:  # type: ignore[no-untyped-def]
    listed = hub_cli("templates", "list", "--system", "wecom")
    assert listed.exit_code == 0, listed.output
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert FORM in names and "webhook-forward-http" not in names
    as_json = json.loads(hub_cli("templates", "list", "--category", "leads", "--json").stdout)
    assert FORM in [t["name"] for t in as_json] and all("recipe" not in t for t in as_json)
    shown = hub_cli("templates", "show", FORM)
    assert shown.exit_code == 0
    assert (
        "  jiandaoyun: Jiandaoyun connection — connection of jiandaoyun (id or name), required"
        in shown.stdout
    )
    assert '  recipients: WeCom members (userids) — value {"type": "array"' in shown.stdout
    assert json.loads(hub_cli("templates", "show", FORM, "--json").stdout)["name"] == FORM
    missing = hub_cli("templates", "show", "nope")
    assert missing.exit_code == 1 and "template 'nope' not found" in missing.stderr


def test_install_with_set_values_in_a_project(runtime: Runtime, hub_cli) -> None:  # type: ignore[no-untyped-def]
    sales = project_service.create_project(runtime, "sales", actor="t")["id"]
    jdy = dummy_connection(runtime, "jdy", "jiandaoyun", sales)
    dummy_connection(runtime, "wc", "wecom", sales)
    done = hub_cli(
        "templates", "install", FORM, "--project", "sales", "--name", "Leads to WeCom",
        "--set", f"jiandaoyun={jdy}", "--set", "wecom=wc", "--set", "entry_id=123",
        "--set", 'recipients=["ada"]',
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with runtime.db.transaction() as session:
        recipe = session.scalars(select(Recipe)).one()
        assert (recipe.name, recipe.project_id, recipe.enabled) == ("Leads to WeCom", sales, False)
    assert f"as draft recipe {recipe.id}" in done.stdout
    with runtime.db.transaction() as session:
        document = current_document(session, recipe)
    assert document["trigger"]["config"]["entry_id"] == "123"  # a string parameter takes the text
    assert document["steps"][0]["input"]["touser"] == ["ada"]  # others read JSON
    bad = hub_cli("templates", "install", FORM, "--set", "wecom=wc", "--set", "x")
    assert bad.exit_code == 2 and "'x' is not key=value" in bad.output
    bad = hub_cli("templates", "install", FORM, "--set", "wecom=wc", "--set", "recipients=7")
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == [
        "parameters.jiandaoyun: required",
        "parameters.wecom: no connection 'wc' in this project or shared with it",
        "parameters.entry_id: required",
        "parameters.recipients: 7 is not of type 'array'",
    ]


def test_export_prints_or_writes_a_template(runtime: Runtime, hub_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dummy_connection(runtime, "wc", "wecom")
    dummy_connection(runtime, "jdy", "jiandaoyun")
    values = [
        "--set",
        "jiandaoyun=jdy",
        "--set",
        "wecom=wc",
        "--set",
        "entry_id=f1",
        "--set",
        'recipients=["a"]',
    ]
    assert hub_cli("templates", "install", FORM, *values).exit_code == 0
    with runtime.db.transaction() as session:
        recipe_id = session.scalars(select(Recipe.id)).one()
    printed = json.loads(hub_cli("templates", "export", str(recipe_id)).stdout)
    assert printed["name"] == "jiandaoyun-entries-to-wecom"
    assert [p["name"] for p in printed["parameters"]] == ["jiandaoyun", "wecom"]
    assert check_document(printed, printed["name"]) == []
    target = tmp_path / "mine.json"
    written = hub_cli(
        "templates", "export", str(recipe_id), "-o", str(target), "--name", "mine", "--category", "leads"
    )
    assert written.exit_code == 0, written.output
    assert json.loads(target.read_text(encoding="utf-8"))["category"] == "leads"
    assert hub_cli("templates", "export", "999").stderr.strip() == "Error: recipe 999 not found"
    wrong = hub_cli("templates", "export", str(recipe_id), "--category", "gossip")
    assert wrong.exit_code == 1 and "category: one of leads" in wrong.stderr
