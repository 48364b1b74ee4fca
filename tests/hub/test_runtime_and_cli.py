"""Start-up refuses wrong or missing vault keys; the `hub` CLI as an operator uses it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.cli import main
from hub.config import Settings
from hub.connections import create_connection, merged_fields
from hub.db.models import CacheEntry, Connection, Recipe, utcnow
from hub.engine.stores import DbTokenCache
from hub.recipe_secrets import open_document
from hub.recipe_store import current_document
from hub.runtime import Runtime
from hub.sdk.errors import VaultError


def add_smtp_connection(session: Any, rt: Runtime) -> None:
    config = {"host": "smtp.example.com", "from": "a@example.com", "password": "pw-123456"}
    create_connection(session, rt.registry, rt.vault, name="smtp", connector_id="email", config=config)


def test_wrong_vault_key_refuses_to_start(settings: Settings) -> None:
    rt = Runtime.create(settings)
    with rt.db.transaction() as session:
        add_smtp_connection(session, rt)
    rt.close()
    settings.vault_keys = Fernet.generate_key().decode()
    with pytest.raises(VaultError, match="refusing to start"):
        Runtime.create(settings)


def test_missing_key_file_with_encrypted_data_refuses_instead_of_generating(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=database_url)
    rt = Runtime.create(settings)  # generates vault.keys once, mode 0600
    assert (home / "vault.keys").stat().st_mode & 0o777 == 0o600
    with rt.db.transaction() as session:
        add_smtp_connection(session, rt)
    rt.close()
    (home / "vault.keys").unlink()
    with pytest.raises(VaultError, match="refusing to generate"):
        Runtime.create(settings)
    assert not (home / "vault.keys").exists()


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"HUB_HOME": str(tmp_path / "cli-home"), "HUB_DATABASE_URL": database_url, "HUB_VAULT_KEYS": ""}


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
    return result


def test_cli_users_tokens_import_export_rotate(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert run(cli_env, "init").exit_code == 0
    assert run(cli_env, "init").exit_code == 0  # idempotent
    made = run(
        cli_env,
        "users",
        "create",
        "Ops@Example.com",
        "--role",
        "admin",
        "--password-stdin",
        stdin="long enough pass\n",
    )
    assert made.exit_code == 0
    assert run(cli_env, "users", "create", "ops@example.com", "--role", "admin").exit_code == 1  # duplicate
    token = run(cli_env, "tokens", "create", "ops@example.com", "--name", "ci")
    assert (
        token.exit_code == 0
        and token.stdout.strip().startswith("hub_")
        and len(token.stdout.strip().splitlines()) == 1
    )
    assert run(cli_env, "tokens", "create", "nobody@example.com").exit_code == 1

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: signed hook\ntrigger:\n  connector: webhook\n  trigger: catch\n"
        "  config: {auth: hmac_sha256, secret: super-secret-value}\nsteps: []\n"
    )
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "name": "x",
                "trigger": {"connector": "nope", "trigger": "catch"},
                "steps": [
                    {"id": "a", "type": "delay", "seconds": 1},
                    {"id": "a", "type": "delay", "seconds": 2},
                ],
            }
        )
    )
    imported = run(cli_env, "recipes", "import", str(recipe))
    assert imported.exit_code == 0 and "webhook http" in imported.stdout
    failed = run(cli_env, "recipes", "import", str(bad))
    problems = failed.stderr.splitlines()  # every problem, one line each
    assert failed.exit_code == 1 and len(problems) == 2
    assert problems[0].startswith(f"{bad}[0]: $.trigger.connector: unknown connector 'nope'")
    assert problems[1] == f"{bad}[0]: $.steps[1].id: duplicate step id 'a' (first at $.steps[0])"
    exported = run(cli_env, "recipes", "export")
    assert exported.exit_code == 0 and "super-secret-value" not in exported.stdout
    assert json.loads(exported.stdout)[0]["trigger"]["config"]["secret"] == "[REDACTED]"

    listed = run(cli_env, "connectors", "list")
    ids = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert {"webhook", "http", "schedule", "email"} <= set(ids)

    settings = Settings.from_env(cli_env)
    rt = Runtime.create(settings)
    with rt.db.transaction() as session:
        add_smtp_connection(session, rt)
        before = session.scalar(select(Connection.secrets))
        # a vendor token in the shared cache, and another worker's fetch lease (an owner id, no token)
        session.add(CacheEntry(key="lease:conn:1:token", value="5f0c1e2d", expires_at=utcnow()))
    DbTokenCache(rt.db, rt.vault).set("conn:1:token", {"access": "tok-1"}, 600)
    rt.close()
    rotated = run(cli_env, "vault", "rotate", "--new-key")
    assert rotated.exit_code == 0 and "re-encrypted 1 connection" in rotated.stdout
    assert "1 recipe version(s)" in rotated.stdout
    keys = (Path(cli_env["HUB_HOME"]) / "vault.keys").read_text().split()
    assert len(keys) == 2
    rt = Runtime.create(
        Settings.from_env({**cli_env, "HUB_VAULT_KEYS": keys[0]})
    )  # the newest key alone suffices
    with rt.db.transaction() as session:
        row = session.scalar(select(Connection))
        assert row.secrets != before and merged_fields(row, rt.vault)["password"] == "pw-123456"
    assert DbTokenCache(rt.db, rt.vault).get("conn:1:token") == {"access": "tok-1"}
    with rt.db.transaction() as session:
        recipe = session.scalar(select(Recipe))
        stored = current_document(session, recipe)
        opened = open_document(stored, rt.vault, rt.registry, recipe.id, recipe.current_version)
    assert "super-secret-value" not in json.dumps(stored)
    assert opened["trigger"]["config"]["secret"] == "super-secret-value"
    rt.close()


def test_bad_configuration_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["init"], env={**cli_env, "HUB_EXECUTOR": "threads"})
    assert result.exit_code != 0 and "HUB_EXECUTOR" in result.output


def test_python_dash_m_hub_is_the_same_command() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "hub", "--help"], capture_output=True, text=True, env=os.environ, check=False
    )
    assert done.returncode == 0 and "serve" in done.stdout
