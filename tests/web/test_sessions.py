"""A copied session cookie stops working when the session ends: sign-out, password change, disabled
account, idle and absolute timeouts. Time is moved by ageing the session's record, never by sleeping."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from hub.db.models import User, WebSession, utcnow
from hub.runtime import Runtime
from tests.web.helpers import csrf_token, sign_in


def _signed_in_with_a_copy(app: Flask, email: str = "ed@example.com") -> tuple[FlaskClient, str]:
    """A signed-in browser, and a copy of its session cookie."""
    browser = app.test_client()
    assert sign_in(browser, email).status_code == 302
    copy = browser.get_cookie("session").value
    assert _copy_works(app, copy)
    return browser, copy


def _copy_works(app: Flask, copy: str) -> bool:
    """Whether another browser presenting the copied cookie is signed in (each time the copy as it was
    taken: a refused cookie is cleared in the browser that sent it, not in the attacker's hands)."""
    thief = app.test_client()
    thief.set_cookie("session", copy)
    answer = thief.get("/")
    assert answer.status_code in (200, 302)
    return answer.status_code == 200


def _update_user(app: Flask, runtime: Runtime, email: str, **form: str) -> None:
    """What an admin does on the Users page."""
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    token = csrf_token(admin.get("/users").text)
    with runtime.db.transaction() as db:
        user_id = db.scalar(select(User.id).where(User.email == email))
    answer = admin.post(f"/users/{user_id}", data={"csrf_token": token, "role": "editor", **form})
    assert answer.status_code == 302


def _age_sessions(runtime: Runtime, **ages: timedelta) -> None:
    """Move every session's created_at/last_seen_at back by the given amounts."""
    now = utcnow()
    with runtime.db.transaction() as db:
        db.execute(update(WebSession).values({column: now - age for column, age in ages.items()}))


def test_a_copied_cookie_is_refused_after_sign_out(web_app: Flask) -> None:
    browser, copy = _signed_in_with_a_copy(web_app)
    token = csrf_token(browser.get("/").text)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _copy_works(web_app, copy)


def test_signing_in_again_in_the_same_browser_ends_the_previous_session(web_app: Flask) -> None:
    browser, copy = _signed_in_with_a_copy(web_app)
    assert sign_in(browser, "ed@example.com").status_code == 302
    assert not _copy_works(web_app, copy)
    assert browser.get("/").status_code == 200


def test_a_password_change_ends_every_session_of_the_user(web_app: Flask, web_runtime: Runtime) -> None:
    browser, copy = _signed_in_with_a_copy(web_app)
    _update_user(web_app, web_runtime, "ed@example.com", disabled="false", password="a brand new secret")
    assert not _copy_works(web_app, copy)
    assert browser.get("/").status_code == 302
    assert sign_in(web_app.test_client(), "ed@example.com", "a brand new secret").status_code == 302


def test_sessions_ended_by_disabling_stay_ended_when_the_user_is_enabled_again(
    web_app: Flask, web_runtime: Runtime
) -> None:
    _browser, copy = _signed_in_with_a_copy(web_app)
    _update_user(web_app, web_runtime, "ed@example.com", disabled="true")
    assert not _copy_works(web_app, copy)
    _update_user(web_app, web_runtime, "ed@example.com", disabled="false")
    assert not _copy_works(web_app, copy)
    assert sign_in(web_app.test_client(), "ed@example.com").status_code == 302


def test_a_session_idle_past_the_idle_timeout_is_over(web_app: Flask, web_runtime: Runtime) -> None:
    _browser, copy = _signed_in_with_a_copy(web_app)
    idle = timedelta(seconds=web_runtime.settings.session_idle_s)
    _age_sessions(web_runtime, last_seen_at=idle + timedelta(seconds=5))
    assert not _copy_works(web_app, copy)


def test_activity_keeps_a_session_alive_with_at_most_one_write_a_minute(
    web_app: Flask, web_runtime: Runtime
) -> None:
    browser, _copy = _signed_in_with_a_copy(web_app)
    idle = timedelta(seconds=web_runtime.settings.session_idle_s)
    _age_sessions(web_runtime, last_seen_at=idle - timedelta(minutes=1))
    assert browser.get("/").status_code == 200
    with web_runtime.db.transaction() as db:
        seen = db.scalar(select(WebSession.last_seen_at))
    assert utcnow() - seen < timedelta(seconds=30)  # refreshed
    assert browser.get("/").status_code == 200
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(WebSession.last_seen_at)) == seen  # not written again within the minute


def test_a_session_older_than_the_absolute_timeout_is_over_however_active(
    web_app: Flask, web_runtime: Runtime
) -> None:
    _browser, copy = _signed_in_with_a_copy(web_app)
    longest = timedelta(seconds=web_runtime.settings.session_max_s)
    _age_sessions(web_runtime, created_at=longest + timedelta(seconds=5), last_seen_at=timedelta(0))
    assert not _copy_works(web_app, copy)


def test_signing_in_again_clears_the_users_ended_sessions(web_app: Flask, web_runtime: Runtime) -> None:
    browser, _copy = _signed_in_with_a_copy(web_app)
    browser.post("/logout", data={"csrf_token": csrf_token(browser.get("/").text)})
    sign_in(web_app.test_client(), "ed@example.com")
    with web_runtime.db.transaction() as db:
        assert [s.revoked_at for s in db.scalars(select(WebSession))] == [None]
