"""hub.users and hub.audit without Flask: argon2id at OWASP's cost, hashed tokens, redacted audit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from hub import users
from hub.audit import audit
from hub.connections import Conflict, NotFound
from hub.db.models import ApiToken, AuditEntry
from hub.runtime import Runtime
from hub.sdk.errors import RecipeError


def test_passwords(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = users.create_user(session, " Ada@Example.com ", "editor", password="correct horse battery")
        assert user.email == "ada@example.com"
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert users.authenticate(session, "ADA@example.com", "correct horse battery") is user
        assert users.authenticate(session, "ada@example.com", "wrong horse battery") is None
        users.set_password(user, "another long passphrase")
        assert users.verify_password(user, "another long passphrase")
        assert not users.verify_password(user, "correct horse battery")
        with pytest.raises(RecipeError) as short:
            users.set_password(user, "short")
        assert short.value.path == "$.password"
        user.disabled = True
        assert users.authenticate(session, "ada@example.com", "another long passphrase") is None


def test_unknown_users_cost_a_verification(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(users, "_hasher", Counting(time_cost=2, memory_cost=19456, parallelism=1))
    with runtime.db.transaction() as session:
        users.create_user(session, "nopass@example.com", "viewer")
        assert users.authenticate(session, "nobody@example.com", "whatever it is") is None
        assert users.authenticate(session, "nopass@example.com", "whatever it is") is None
    assert calls == [users._DUMMY_HASH, users._DUMMY_HASH]


def test_old_hashes_are_upgraded_on_verify(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = users.create_user(session, "old@example.com", "viewer")
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(
            "an old passphrase"
        )
        assert users.verify_password(user, "an old passphrase")
        assert "m=19456,t=2,p=1" in user.password_hash
        assert users.verify_password(user, "an old passphrase")


def test_user_validation(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        users.create_user(session, "a@example.com", "admin")
        with pytest.raises(Conflict):
            users.create_user(session, "A@example.com", "viewer")
        with pytest.raises(RecipeError) as bad_email:
            users.create_user(session, "not-an-email", "viewer")
        assert bad_email.value.path == "$.email"
        with pytest.raises(RecipeError) as bad_role:
            users.create_user(session, "b@example.com", "root")
        assert bad_role.value.path == "$.role"
    assert users.role_allows("admin", "editor") and users.role_allows("editor", "viewer")
    assert users.role_allows("viewer", "viewer") and not users.role_allows("viewer", "editor")
    assert not users.role_allows("editor", "admin") and not users.role_allows("root", "viewer")


def test_tokens(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = users.create_user(session, "t@example.com", "admin")
        token, raw = users.create_token(session, user, "ci")
        assert raw.startswith("hub_") and len(raw) > 40 and token.prefix == raw[:8]
        assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        token_id = token.id
    with runtime.db.transaction() as session:
        stored = session.get(ApiToken, token_id)
        assert raw not in (stored.token_hash, stored.prefix, stored.name)
        assert users.token_user(session, raw).email == "t@example.com"
        first_use = stored.last_used_at
        assert first_use is not None
        assert users.token_user(session, raw) is not None
        assert stored.last_used_at == first_use  # at most one write a minute
        stored.last_used_at = first_use - timedelta(minutes=2)
        users.token_user(session, raw)
        assert stored.last_used_at > first_use
        assert users.token_user(session, "hub_forged") is None and users.token_user(session, "") is None
        users.revoke_token(session, token_id)
        assert users.token_user(session, raw) is None
        with pytest.raises(NotFound):
            users.revoke_token(session, 999)


def test_audit_redacts_details(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        audit(
            session,
            "ada@example.com",
            "connection.create",
            "connection",
            "1",
            {"password": "p", "name": "crm"},
        )
        audit(session, "system", "trigger.paused", "recipe", "2")
    with runtime.db.transaction() as session:
        first, second = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        assert first.actor == "ada@example.com" and first.details == {"password": "[REDACTED]", "name": "crm"}
        assert second.details is None and second.at is not None
