"""`hub recipes restore ID N`: the same restore as the API, from the command line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import hub.cli
from hub.db.models import AuditEntry
from hub.recipe_store import current_document, get_recipe
from hub.runtime import Runtime
from hub.services.recipes import save_recipe


def hook(name: str) -> dict[str, object]:
    trigger = {"connector": "webhook", "trigger": "catch", "config": {"auth": "hmac_sha256", "secret": name}}
    return {"name": name, "trigger": trigger, "steps": []}


def test_restore_from_the_command_line(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe_id = save_recipe(runtime, hook("first"), actor="ed").id
    save_recipe(runtime, hook("second"), actor="ed", recipe_id=recipe_id)
    monkeypatch.setattr(hub.cli, "_runtime", lambda **_: Runtime.create(runtime.settings))

    done = CliRunner().invoke(hub.cli.main, ["recipes", "restore", str(recipe_id), "1"])
    assert done.exit_code == 0, done.output
    assert done.stdout == f"restored recipe {recipe_id} 'first' version 1 as version 3\n"
    with runtime.db.transaction() as session:
        recipe = get_recipe(session, recipe_id)
        assert (recipe.current_version, current_document(session, recipe)["name"]) == (3, "first")
        entry = session.query(AuditEntry).filter(AuditEntry.action == "recipe.restore").one()
        assert (entry.actor, entry.details) == ("cli", {"from_version": 1, "version": 3})

    missing = CliRunner().invoke(hub.cli.main, ["recipes", "restore", str(recipe_id), "7"])
    assert missing.exit_code == 1 and f"recipe {recipe_id} has no version 7" in missing.stderr
    unknown = CliRunner().invoke(hub.cli.main, ["recipes", "restore", "999", "1"])
    assert unknown.exit_code == 1 and "recipe 999 not found" in unknown.stderr
