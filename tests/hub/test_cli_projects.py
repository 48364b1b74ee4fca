"""`hub projects ...` and the project options of `hub tokens create` and `hub recipes import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import hub.cli
from hub.db.models import ApiToken, Recipe
from hub.runtime import Runtime
from hub.users import create_user


def hook(name: str) -> dict[str, object]:
    return {"name": name, "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}


def test_projects_from_the_command_line(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub.cli, "_runtime", lambda **_: Runtime.create(runtime.settings))
    with runtime.db.transaction() as session:
        create_user(session, "ops@example.com", "viewer")

    def hub_cli(*args: str) -> str:
        done = CliRunner().invoke(hub.cli.main, list(args))
        assert done.exit_code == 0, done.output
        return done.stdout

    sales = hub_cli("projects", "create", "sales").strip()
    hub_cli("projects", "add-member", "sales", "ops@example.com", "--role", "operator")
    assert hub_cli("projects", "members", "sales") == "ops@example.com\toperator\n"
    document = tmp_path / "router.json"
    document.write_text(json.dumps(hook("router")), encoding="utf-8")
    hub_cli("recipes", "import", "--project", "sales", str(document))
    with runtime.db.transaction() as session:
        recipe = session.scalar(select(Recipe).where(Recipe.name == "router"))
        assert recipe is not None and recipe.project_id == int(sales)
    hub_cli("tokens", "create", "ops@example.com", "--project", "sales", "--role", "viewer")
    with runtime.db.transaction() as session:
        token = session.scalars(select(ApiToken)).one()
        assert (token.project_id, token.role) == (int(sales), "viewer")
    too_high = CliRunner().invoke(
        hub.cli.main, ["tokens", "create", "ops@example.com", "--project", "sales", "--role", "owner"]
    )
    assert too_high.exit_code == 1 and "only operator in project sales" in too_high.stderr
    hub_cli("projects", "move-recipe", str(recipe.id), "default")
    hub_cli("projects", "rename", "sales", "sales-ops")
    hub_cli("projects", "archive", "sales-ops")
    assert hub_cli("projects", "list") == "1\tdefault\trecipes=1\tconnections=0\n"
    assert "sales-ops (archived)" in hub_cli("projects", "list", "--archived")
    refused = CliRunner().invoke(hub.cli.main, ["projects", "archive", "default"])
    assert refused.exit_code == 1 and "the default project cannot be archived" in refused.stderr
