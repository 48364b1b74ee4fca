"""Each operation is written once in hub/services and does all its parts, whichever surface calls it.

Saving a recipe stores it, writes the same audit entry and registers the same vendor webhook through
the API, the web UI and the CLI; a vendor's refusal is a warning on all three, and the save stands.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

import hub.cli
from hub.app import create_app
from hub.connections import Conflict, NotFound
from hub.db.models import AuditEntry, Connection, Recipe, User
from hub.engine.control import InvalidState
from hub.engine.executor import InlineExecutor
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.connector import Action, Connector, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError, RecipeError
from hub.services import InvalidInput
from hub.services import connections as connection_ops
from hub.services import recipes as recipe_ops
from hub.services import runs as run_ops
from hub.services import users as user_ops
from hub.services.connections import ConnectionInUse
from hub.services.users import SelfDemotion
from hub.users import create_token, create_user
from tests.conftest import make_settings
from tests.web.helpers import PASSWORD, csrf_token, sign_in


class Topic(WebhookTrigger):
    """Registers a vendor webhook per recipe, refusing the topics the vendor is told to refuse."""

    key = "topic"
    config_schema = {"type": "object", "properties": {"topic": {"type": "string"}}}

    def subscribe(self, ctx: Context, config: dict[str, Any], hook_url: str) -> dict[str, Any] | None:
        vendor: Vendor = self.connector  # type: ignore[assignment]
        if config["topic"] in vendor.refuse:
            raise PermanentError(f"topic {config['topic']} is not allowed")
        vendor.webhooks[config["topic"]] = hook_url
        return {"id": config["topic"]}

    def unsubscribe(self, ctx: Context, config: dict[str, Any], state: dict[str, Any]) -> None:
        vendor: Vendor = self.connector  # type: ignore[assignment]
        vendor.webhooks.pop(state["id"])


class Echo(Action):
    key = "echo"
    input_schema = {"type": "object", "properties": {"value": {}}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"value": inputs.get("value")}


class KeyKit(Connector):
    """Needs a connection, so recipes name one."""

    id = "keykit"
    name = "Key kit"
    connection_fields = {"region": {"type": "string"}}
    actions = (Echo,)


class Vendor(Connector):
    id = "vendorkit"
    name = "Vendor kit"
    triggers = (Topic,)
    actions = (Echo,)

    def __init__(self) -> None:
        super().__init__()
        self.webhooks: dict[str, str] = {}  # topic -> the hook URL registered for it
        self.refuse: set[str] = set()


@pytest.fixture
def hub_setup(tmp_path: Path) -> Iterator[tuple[Runtime, Vendor, Registry]]:
    registry = Registry()
    registry.load_entry_points()
    vendor = Vendor()
    registry.register(vendor, source="tests")
    registry.register(KeyKit(), source="tests")
    rt = Runtime.create(
        make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}"), registry=registry
    )
    rt.executor = InlineExecutor(rt)
    with rt.db.transaction() as session:
        create_user(session, "ed@example.com", "editor", PASSWORD)
        create_user(session, "admin@example.com", "admin", PASSWORD)
    yield rt, vendor, registry
    rt.close()


@pytest.fixture
def rt(hub_setup: tuple[Runtime, Vendor, Registry]) -> Runtime:
    return hub_setup[0]


def recipe(topic: str, connection: str | None = None) -> dict[str, Any]:
    trigger = {"connector": "vendorkit", "trigger": "topic", "config": {"topic": topic}}
    step = {"id": "a", "connector": "vendorkit", "action": "echo", "input": {"value": "{{ event.v }}"}}
    if connection:
        step.update(connector="keykit", connection=connection)
    return {"name": f"on {topic}", "trigger": trigger, "steps": [step]}


def save_by_api(client: FlaskClient, rt: Runtime, doc: dict[str, Any]) -> tuple[int, list[str]]:
    with rt.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == "ed@example.com"))
        raw = create_token(session, user, "tests")[1]
    answer = client.post("/api/v1/recipes", json=doc, headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"], answer.get_json().get("warnings", [])


def save_by_ui(client: FlaskClient, doc: dict[str, Any]) -> tuple[int, list[str]]:
    """Save in the editor (a draft, registered nowhere yet), then turn it on as a user must."""
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get("/recipes/new").text)
    form = {"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)}
    answer = client.post("/recipes/new", data=form)
    assert answer.status_code == 302, answer.text
    page = client.get(answer.headers["Location"]).text
    assert "This recipe is a draft" in page and 'id="not-live"' in page
    enabled = client.post(answer.headers["Location"] + "/enable", data={"csrf_token": token})
    page = client.get(enabled.headers["Location"]).text
    flashed = re.findall(r'<p class="flash error" role="alert">([^<]*)', page)
    warnings = [html.unescape(text) for text in flashed]
    return int(answer.headers["Location"].rsplit("/", 1)[1]), warnings


def save_by_cli(
    monkeypatch: pytest.MonkeyPatch, rt: Runtime, registry: Registry, tmp_path: Path, doc: dict[str, Any]
) -> tuple[int, list[str]]:
    """`hub recipes import` on its own Runtime over the same database and connectors."""
    monkeypatch.setattr(hub.cli, "_runtime", lambda **_: Runtime.create(rt.settings, registry=registry))
    path = tmp_path / f"{doc['name'].replace(' ', '-')}.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(hub.cli.main, ["recipes", "import", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    recipe_id = int(result.stdout.split()[2])
    warnings = [line.split("warning: ", 1)[1] for line in result.stderr.splitlines() if "warning: " in line]
    return recipe_id, warnings


def audit_of(rt: Runtime, target_type: str, target_id: int) -> list[tuple[str, Any]]:
    with rt.db.transaction() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
            .order_by(AuditEntry.id)
        )
        return [(e.action, e.details) for e in entries]


def hook_url_of(rt: Runtime, recipe_id: int) -> str:
    from hub.recipe_store import get_recipe, hook_urls

    with rt.db.transaction() as session:
        return hook_urls(session, rt, get_recipe(session, recipe_id))["webhook_url"]


def test_saving_through_the_api_the_ui_and_the_cli_does_the_same_parts(
    hub_setup: tuple[Runtime, Vendor, Registry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, vendor, registry = hub_setup
    app = create_app(rt)
    app.config["TESTING"] = True
    saved = {
        "api": save_by_api(app.test_client(), rt, recipe("api")),
        "ui": save_by_ui(app.test_client(), recipe("ui")),
        "cli": save_by_cli(monkeypatch, rt, registry, tmp_path, recipe("cli")),
    }
    for surface, (recipe_id, warnings) in saved.items():
        assert warnings == []
        enabled_in_ui = [("recipe.enable", None)] if surface == "ui" else []
        assert audit_of(rt, "recipe", recipe_id) == [
            ("recipe.create", {"name": f"on {surface}"}),
            *enabled_in_ui,
        ]
        assert vendor.webhooks[surface] == hook_url_of(rt, recipe_id)  # registered at its own URL

    vendor.refuse = {"bad"}
    refused = [
        save_by_api(app.test_client(), rt, recipe("bad")),
        save_by_ui(app.test_client(), recipe("bad")),
        save_by_cli(monkeypatch, rt, registry, tmp_path, recipe("bad")),
    ]
    for surface, (recipe_id, warnings) in zip(("api", "ui", "cli"), refused, strict=True):
        assert len(warnings) == 1 and "topic bad is not allowed" in warnings[0]
        enabled_in_ui = [("recipe.enable", None)] if surface == "ui" else []
        assert audit_of(rt, "recipe", recipe_id) == [("recipe.create", {"name": "on bad"}), *enabled_in_ui]
    assert "bad" not in vendor.webhooks


def test_saving_a_new_version_then_disabling_and_deleting_keep_the_vendor_in_step(
    hub_setup: tuple[Runtime, Vendor, Registry],
) -> None:
    rt, vendor, _registry = hub_setup
    first = recipe_ops.save_recipe(rt, recipe("orders"), actor="ed")
    assert first.version == 1 and vendor.webhooks == {"orders": first.urls["webhook_url"]}
    second = recipe_ops.save_recipe(rt, recipe("refunds"), actor="ed", recipe_id=first.id)
    assert second.version == 2 and vendor.webhooks == {"refunds": first.urls["webhook_url"]}
    assert recipe_ops.set_enabled(rt, first.id, False, actor="ed").enabled is False
    assert vendor.webhooks == {}
    recipe_ops.set_enabled(rt, first.id, True, actor="ed")
    recipe_ops.delete_recipe(rt, first.id, actor="ed")
    assert vendor.webhooks == {}
    assert [action for action, _ in audit_of(rt, "recipe", first.id)] == [
        "recipe.create",
        "recipe.update",
        "recipe.disable",
        "recipe.enable",
        "recipe.delete",
    ]
    with pytest.raises(NotFound):
        recipe_ops.save_recipe(rt, recipe("orders"), actor="ed", recipe_id=first.id)
    with pytest.raises(RecipeError):
        recipe_ops.save_recipe(rt, {"name": "no trigger"}, actor="ed")


def test_a_connection_used_by_an_enabled_recipe_is_neither_renamed_nor_deleted(rt: Runtime) -> None:
    view = connection_ops.create_connection(
        rt, actor="ed", name="kit", connector_id="keykit", config={"region": "eu"}, limits={}
    )
    saved = recipe_ops.save_recipe(rt, recipe("orders", connection="kit"), actor="ed")
    with pytest.raises(ConnectionInUse) as renaming:
        connection_ops.update_connection(rt, view["id"], actor="ed", name="kit2", config=None, limits={})
    assert renaming.value.recipe_ids == [saved.id] and renaming.value.renaming
    assert "disable them before renaming it" in renaming.value.message
    with pytest.raises(ConnectionInUse) as deleting:
        connection_ops.delete_connection(rt, view["id"], actor="ed")
    assert not deleting.value.renaming and isinstance(deleting.value, Conflict)
    changed = connection_ops.update_connection(
        rt, view["id"], actor="ed", name=None, config={"region": "us"}, limits={"rate_limit": 5.0}
    )
    assert changed["config"] == {"region": "us"} and changed["rate_limit"] == 5.0

    recipe_ops.set_enabled(rt, saved.id, False, actor="ed")
    renamed = connection_ops.update_connection(
        rt, view["id"], actor="ed", name="kit2", config=None, limits={}
    )
    assert renamed["name"] == "kit2"
    connection_ops.delete_connection(rt, view["id"], actor="ed")
    with rt.db.transaction() as session:
        assert session.get(Connection, view["id"]) is None
    assert [a for a, _ in audit_of(rt, "connection", view["id"])] == [
        "connection.create",
        "connection.update",
        "connection.update",
        "connection.delete",
    ]
    with pytest.raises(NotFound):
        connection_ops.delete_connection(rt, view["id"], actor="ed")


def test_limits_are_checked_with_the_field_named() -> None:
    assert connection_ops.parse_limits({"concurrency_limit": 3, "rate_limit": None}) == {
        "concurrency_limit": 3
    }
    with pytest.raises(InvalidInput) as wrong:
        connection_ops.parse_limits({"concurrency_limit": 2.5})
    assert wrong.value.path == "$.concurrency_limit" and wrong.value.code == "invalid"


def test_user_and_token_operations_audit_what_they_do(rt: Runtime) -> None:
    created = user_ops.create_user(rt, " Kim@Example.com ", "viewer", password=None, actor="admin")
    assert created["email"] == "kim@example.com"
    token = user_ops.create_token(rt, "kim@example.com", "ci", actor="admin")
    assert token.raw.startswith(token.prefix)
    same_user = user_ops.create_token(rt, created["id"], "ci2", actor="admin")
    user_ops.revoke_token(rt, token.id, actor="admin")
    with pytest.raises(NotFound):
        user_ops.create_token(rt, "nobody@example.com", "x", actor="admin")
    user_ops.update_user(
        rt, created["id"], role="editor", disabled=True, password=None, actor="admin", acting_user_id=None
    )
    with rt.db.transaction() as session:
        admin_id = session.scalar(select(User.id).where(User.email == "admin@example.com"))
        kim = session.get(User, created["id"])
        assert (kim.role, kim.disabled) == ("editor", True)
    with pytest.raises(SelfDemotion):
        user_ops.update_user(
            rt, admin_id, role="editor", disabled=False, password=None, actor="admin", acting_user_id=admin_id
        )
    with pytest.raises(RecipeError):  # too short: nothing of the change is kept
        user_ops.update_user(
            rt,
            created["id"],
            role="admin",
            disabled=False,
            password="short",
            actor="admin",
            acting_user_id=None,
        )
    with rt.db.transaction() as session:
        assert session.get(User, created["id"]).role == "editor"
    assert audit_of(rt, "token", same_user.id) == [
        ("token.create", {"user": "kim@example.com", "name": "ci2"})
    ]
    assert [a for a, _ in audit_of(rt, "token", token.id)] == ["token.create", "token.revoke"]
    assert [a for a, _ in audit_of(rt, "user", created["id"])] == ["user.create", "user.update"]


def test_run_operations_replay_resolve_and_cancel_with_an_audit_entry(rt: Runtime) -> None:
    saved = recipe_ops.save_recipe(rt, recipe("orders"), actor="ed")
    run_id = recipe_ops.run_test(rt, saved.id, {"v": 1}, dry_run=False, actor="ed")
    replayed = run_ops.replay_run(rt, run_id, from_step=None, actor="ed")
    assert replayed != run_id
    with pytest.raises(InvalidInput):
        run_ops.resolve_run(rt, run_id, "shrug", actor="ed")
    with pytest.raises(InvalidState):  # a finished run cannot be cancelled
        run_ops.cancel_run(rt, run_id, actor="ed")
    assert recipe_ops.replay_failed(rt, saved.id, None, actor="ed") == []
    assert [a for a, _ in audit_of(rt, "run", run_id)] == ["run.replay"]
    assert [a for a, _ in audit_of(rt, "recipe", saved.id)] == [
        "recipe.create",
        "recipe.test",
        "recipe.replay",
    ]
    with rt.db.transaction() as session:
        assert session.get(Recipe, saved.id).current_version == 1


def test_a_refused_password_in_the_user_form_changes_nothing(
    hub_setup: tuple[Runtime, Vendor, Registry],
) -> None:
    """The role and the disabled flag used to be kept, unaudited, when the new password was refused."""
    rt, _vendor, _registry = hub_setup
    kim = user_ops.create_user(rt, "kim@example.com", "viewer", password=None, actor="admin")
    client = create_app(rt).test_client()
    sign_in(client, "admin@example.com")
    token = csrf_token(client.get("/users").text)
    form = {"csrf_token": token, "role": "admin", "disabled": "true", "password": "short"}
    answer = client.post(f"/users/{kim['id']}", data=form)
    assert answer.status_code == 302
    assert "at least 10 characters" in client.get("/users").text
    with rt.db.transaction() as session:
        user = session.get(User, kim["id"])
        assert (user.role, user.disabled) == ("viewer", False)
    assert [a for a, _ in audit_of(rt, "user", kim["id"])] == ["user.create"]
