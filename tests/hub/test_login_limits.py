"""Failed sign-ins counted in the database (hub/login_limits.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.db.clock import database_now
from hub.db.models import LoginFailure
from hub.login_limits import LoginLimits
from hub.runtime import Runtime

LIMITS = LoginLimits(b"k" * 32, per_account=3, per_address=5, window_s=300)


def fail(rt: Runtime, address: str, email: str, times: int = 1, limits: LoginLimits = LIMITS) -> None:
    for _ in range(times):
        with rt.db.transaction() as db:
            limits.failed(db, address, email)


def wait(rt: Runtime, address: str, email: str, limits: LoginLimits = LIMITS) -> int:
    with rt.db.read() as db:
        return limits.retry_after(db, address, email)


def test_an_account_then_an_address_is_held_for_the_rest_of_the_window(runtime: Runtime) -> None:
    fail(runtime, "10.0.0.1", "ed@example.com", 2)
    assert wait(runtime, "10.0.0.1", "ed@example.com") == 0
    fail(runtime, "10.0.0.1", "ed@example.com")
    assert 290 < wait(runtime, "10.0.0.1", "ed@example.com") <= 301
    assert wait(runtime, "10.0.0.1", "vi@example.com") == 0  # another account from that address
    assert wait(runtime, "10.0.0.2", "ed@example.com") == 0  # that account from another address
    fail(runtime, "10.0.0.1", "vi@example.com", 2)  # five from the address in all
    assert wait(runtime, "10.0.0.1", "admin@example.com") > 290


def test_failures_age_out_of_the_window_and_are_forgotten(runtime: Runtime) -> None:
    fail(runtime, "10.0.0.1", "ed@example.com", 3)
    with runtime.db.transaction() as db:  # as if they were six minutes old
        now = database_now(db)
        for row in db.scalars(select(LoginFailure)):
            row.at = now - timedelta(seconds=360)
    assert wait(runtime, "10.0.0.1", "ed@example.com") == 0
    fail(runtime, "10.0.0.1", "ed@example.com")
    with runtime.db.read() as db:
        assert len(db.scalars(select(LoginFailure)).all()) == 2  # the old six are gone, two new rows


def test_a_right_password_clears_only_that_accounts_failures(runtime: Runtime) -> None:
    fail(runtime, "10.0.0.1", "ed@example.com", 3)
    with runtime.db.transaction() as db:
        LIMITS.succeeded(db, "10.0.0.1", "ed@example.com")
    assert wait(runtime, "10.0.0.1", "ed@example.com") == 0
    fail(runtime, "10.0.0.1", "vi@example.com", 2)  # 3 + 2 against the address: still counted
    assert wait(runtime, "10.0.0.1", "admin@example.com") > 290


def test_no_address_or_email_is_stored_and_keys_depend_on_the_secret(runtime: Runtime) -> None:
    fail(runtime, "10.0.0.1", "ed@example.com", 3)
    with runtime.db.read() as db:
        stored = " ".join(db.scalars(select(LoginFailure.key_hash)).all())
    assert "10.0.0.1" not in stored and "ed@example.com" not in stored
    other = LoginLimits(b"o" * 32, per_account=3, per_address=5)
    assert wait(runtime, "10.0.0.1", "ed@example.com", other) == 0
