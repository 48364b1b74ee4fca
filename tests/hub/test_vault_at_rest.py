"""Secrets at rest: recipe documents hold sealed secrets, ciphertexts are bound to their row and field,
legacy rows are upgraded at start-up, and rotation keeps everything readable."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from hub.app import create_app
from hub.config import Settings
from hub.connections import create_connection, merged_fields
from hub.db.models import Connection, StepRun
from hub.engine.executor import InlineExecutor
from hub.engine.stores import DbTokenCache
from hub.recipe_secrets import open_document
from hub.recipe_store import current_document, get_recipe, hook_urls, save_recipe
from hub.recipes import REDACTED, without_secrets
from hub.runtime import Runtime
from hub.sdk.errors import VaultError
from hub.vault import Vault
from hub.vault_rotation import reseal_everything

CATCH_SECRET, POST_SECRET = "catch-s3cret-4b1d", "post-s3cret-9e7c"
TARGET = "http://127.0.0.1:9/receive"


def document(catch_secret: str = CATCH_SECRET, post_secret: str = POST_SECRET) -> dict[str, Any]:
    return {
        "name": "signed",
        "enabled": True,
        "trigger": {
            "connector": "webhook",
            "trigger": "catch",
            "config": {"auth": "hmac_sha256", "secret": catch_secret},
        },
        "steps": [
            {
                "id": "forward",
                "connector": "webhook",
                "action": "post",
                "input": {"url": TARGET, "json": {"deal": "{{ event.deal }}"}, "secret": post_secret},
            }
        ],
    }


def start(settings: Settings, keys: str | None = None) -> Runtime:
    rt = Runtime.create(dataclasses.replace(settings, vault_keys=keys or settings.vault_keys))
    rt.executor = InlineExecutor(rt)
    return rt


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = start(settings)
    yield runtime
    runtime.close()


def save(rt: Runtime, doc: dict[str, Any], recipe_id: int | None = None) -> tuple[int, str]:
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, doc, recipe=get_recipe(session, recipe_id) if recipe_id else None)
        token = hook_urls(session, rt, recipe)["webhook_url"].split("/hooks/")[1]
        return recipe.id, token


def raw_documents(rt: Runtime) -> str:
    """The document column as the database holds it, read with plain SQL (what a dump shows)."""
    with rt.db.transaction() as session:
        return " ".join(
            str(d) for d in session.execute(text("SELECT document FROM recipe_versions")).scalars()
        )


@responses.activate
def deliver_signed(rt: Runtime, token: str) -> int:
    """POST a webhook signed with the catch secret; the run forwards it signed with the post secret."""
    forwarded = responses.post(TARGET, json={"ok": True, "echo": f"received with {POST_SECRET}"})
    body = json.dumps({"deal": "D-1"}).encode()
    signature = "sha256=" + hmac.new(CATCH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    client = create_app(rt).test_client()
    status = client.post(
        f"/hooks/{token}", data=body, headers={"Content-Type": "application/json", "X-Signature": signature}
    ).status_code
    if status == 202:
        sent = forwarded.calls[-1].request
        expected = "sha256=" + hmac.new(POST_SECRET.encode(), sent.body, hashlib.sha256).hexdigest()
        assert sent.headers["X-Signature"] == expected
    return status


def test_recipe_secrets_are_sealed_at_rest_and_still_sign_and_verify(rt: Runtime) -> None:
    recipe_id, token = save(rt, document())
    stored = raw_documents(rt)
    assert CATCH_SECRET not in stored and POST_SECRET not in stored
    assert deliver_signed(rt, token) == 202
    with rt.db.transaction() as session:
        steps = [f"{s.input} {s.output}" for s in session.scalars(select(StepRun))]
        shown = without_secrets(current_document(session, get_recipe(session, recipe_id)), rt.registry)
    assert steps and all(POST_SECRET not in step for step in steps)  # nor in what run details show
    assert shown["trigger"]["config"]["secret"] == REDACTED
    assert shown["steps"][0]["input"]["secret"] == REDACTED

    save(rt, {**without_secrets(document(), rt.registry), "name": "renamed"}, recipe_id)  # [REDACTED] kept
    assert CATCH_SECRET not in raw_documents(rt) and deliver_signed(rt, token) == 202


def test_wrong_signature_is_still_refused(rt: Runtime) -> None:
    _recipe_id, token = save(rt, document(catch_secret="another-secret"))
    assert deliver_signed(rt, token) == 401


def test_rotation_reseals_recipe_secrets_so_the_old_key_can_go(settings: Settings) -> None:
    old, new = settings.vault_keys, Fernet.generate_key().decode()
    first = start(settings)
    _recipe_id, token = save(first, document())
    before = raw_documents(first)
    first.close()
    both = start(settings, f"{new},{old}")
    with both.db.transaction() as session:
        counts = reseal_everything(session, both.vault, both.registry)
    assert counts["recipe_versions"] == 1
    both.close()
    only_new = start(settings, new)
    try:
        assert raw_documents(only_new) != before and CATCH_SECRET not in raw_documents(only_new)
        assert deliver_signed(only_new, token) == 202
    finally:
        only_new.close()


def test_connection_ciphertext_copied_to_another_row_does_not_decrypt(rt: Runtime) -> None:
    with rt.db.transaction() as session:
        for name, password in [("mine", "pw-mine-1234"), ("theirs", "pw-theirs-5678")]:
            config = {"host": "smtp.example.com", "from": "a@example.com", "password": password}
            create_connection(session, rt.registry, rt.vault, name=name, connector_id="email", config=config)
    with rt.db.transaction() as session:  # what an attacker with write access to the database does
        session.execute(
            text(
                "UPDATE connections SET secrets = "
                "(SELECT secrets FROM connections WHERE name = 'theirs') WHERE name = 'mine'"
            )
        )
    with rt.db.transaction() as session:
        mine = session.scalar(select(Connection).where(Connection.name == "mine"))
        theirs = session.scalar(select(Connection).where(Connection.name == "theirs"))
        assert merged_fields(theirs, rt.vault)["password"] == "pw-theirs-5678"
        with pytest.raises(VaultError) as caught:
            merged_fields(mine, rt.vault)
    message = str(caught.value)
    assert message == (
        f"cannot decrypt the stored secret of connections {mine.id} secrets: it was not encrypted for "
        "this place (copied from elsewhere?) or has been altered"
    )
    assert "pw-" not in message and rt.settings.vault_keys not in message


def test_recipe_secret_copied_to_another_recipe_does_not_open(rt: Runtime) -> None:
    first, _ = save(rt, document())
    second, _ = save(rt, document(catch_secret="second-secret", post_secret="second-post"))
    with rt.db.transaction() as session:
        session.execute(
            text(
                "UPDATE recipe_versions SET document = "
                "(SELECT document FROM recipe_versions WHERE recipe_id = :a) WHERE recipe_id = :b"
            ),
            {"a": first, "b": second},
        )
    with rt.db.transaction() as session:
        stored = current_document(session, get_recipe(session, second))
    with pytest.raises(VaultError, match=rf"recipe_versions {second}/1 trigger/secret: it was not encrypted"):
        open_document(stored, rt.vault, rt.registry, second, 1)


def test_cached_token_copied_to_another_key_does_not_decrypt(rt: Runtime) -> None:
    cache = DbTokenCache(rt.db, rt.vault)
    cache.set("conn:1:token", {"access": "tok-1"}, 600)
    cache.set("conn:2:token", {"access": "tok-2"}, 600)
    with rt.db.transaction() as session:
        session.execute(
            text(
                "UPDATE cache_entries SET value = "
                "(SELECT value FROM cache_entries WHERE key = 'conn:1:token') WHERE key = 'conn:2:token'"
            )
        )
    assert cache.get("conn:1:token") == {"access": "tok-1"}
    with pytest.raises(VaultError, match="cache_entries conn:2:token value"):
        cache.get("conn:2:token")


def test_legacy_rows_are_upgraded_at_start_up(settings: Settings) -> None:
    """What an earlier release stored (unbound Fernet tokens, plain recipe secrets) keeps working and is
    rewritten as bound tokens the next time the hub starts."""
    key = settings.vault_keys
    first = start(settings)
    recipe_id, token = save(first, document())
    with first.db.transaction() as session:
        config = {"host": "smtp.example.com", "from": "a@example.com", "password": "pw-legacy-1"}
        create_connection(
            session, first.registry, first.vault, name="smtp", connector_id="email", config=config
        )
    legacy = Fernet(key).encrypt(b'{"password": "pw-legacy-1"}').decode()
    legacy_check = Fernet(key).encrypt(b'{"integration-hub": "vault check", "version": 1}').decode()
    with first.db.transaction() as session:
        session.execute(text("UPDATE connections SET secrets = :t"), {"t": legacy})
        session.execute(text("UPDATE meta SET value = :t WHERE key = 'vault_check'"), {"t": legacy_check})
        session.execute(text("DELETE FROM meta WHERE key = 'vault_format'"))
        row = session.execute(text("SELECT id FROM recipe_versions")).scalar_one()
        session.execute(
            text("UPDATE recipe_versions SET document = :d WHERE id = :id"),
            {"d": json.dumps(document()), "id": row},
        )
    assert deliver_signed(first, token) == 202  # plain legacy values are read as they are
    first.close()

    upgraded = start(settings)
    try:
        assert CATCH_SECRET not in raw_documents(upgraded) and POST_SECRET not in raw_documents(upgraded)
        with upgraded.db.transaction() as session:
            connection = session.scalar(select(Connection))
            check = session.execute(text("SELECT value FROM meta WHERE key = 'vault_check'")).scalar_one()
            assert Vault.is_current(connection.secrets) and Vault.is_current(check)
            assert merged_fields(connection, upgraded.vault)["password"] == "pw-legacy-1"
        assert deliver_signed(upgraded, token) == 202
        with upgraded.db.transaction() as session:
            assert (
                open_document(
                    current_document(session, get_recipe(session, recipe_id)),
                    upgraded.vault,
                    upgraded.registry,
                    recipe_id,
                    1,
                )["trigger"]["config"]["secret"]
                == CATCH_SECRET
            )
    finally:
        upgraded.close()
