"""Password hashing at OWASP's argon2id cost, token handling, and the retry policy's bounds."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from hub.engine.retry import MAX_VENDOR_WAIT_S, RetryPolicy
from hub.runtime import Runtime
from hub.sdk.errors import RecipeError
from hub.users import authenticate, create_token, create_user, revoke_token, role_allows, token_user


def test_passwords_are_argon2id_at_owasp_cost(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = create_user(session, "Ada@Example.com", "editor", password="correct horse battery")
        assert user.email == "ada@example.com"
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert "correct horse" not in user.password_hash
        assert authenticate(session, "ada@example.com", "correct horse battery") is not None
        assert authenticate(session, "ada@example.com", "wrong password!") is None
        assert authenticate(session, "nobody@example.com", "correct horse battery") is None
        with pytest.raises(RecipeError, match="at least"):
            create_user(session, "short@example.com", "viewer", password="short")
        with pytest.raises(RecipeError, match="role"):
            create_user(session, "x@example.com", "root")


def test_weaker_old_hashes_are_upgraded_on_sign_in(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = create_user(session, "old@example.com", "viewer")
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(
            "an old passphrase"
        )
        assert authenticate(session, "old@example.com", "an old passphrase") is user
        assert "m=19456,t=2" in user.password_hash


def test_tokens_are_stored_hashed_and_can_be_revoked(runtime: Runtime) -> None:
    with runtime.db.transaction() as session:
        user = create_user(session, "t@example.com", "admin")
        token, raw = create_token(session, user, "ci")
        assert raw not in token.token_hash and token.prefix == raw[:8]
        assert token_user(session, raw) is user
        revoke_token(session, token.id)
        assert token_user(session, raw) is None
        assert token_user(session, "hub_forged") is None


def test_roles_are_ordered() -> None:
    assert role_allows("admin", "editor") and role_allows("editor", "viewer")
    assert not role_allows("viewer", "editor") and not role_allows("root", "viewer")


def test_backoff_grows_with_jitter_and_vendor_waits_are_capped() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_s=2, max_backoff_s=30)
    for attempt, ceiling in ((1, 2), (2, 4), (3, 8), (6, 30)):
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert policy.delay(1, retry_after=7) == 7
    assert policy.delay(1, retry_after=10**9) == MAX_VENDOR_WAIT_S
    assert RetryPolicy.from_step({"retry": {"max_attempts": 9}}).max_attempts == 9
