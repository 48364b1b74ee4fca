"""Sign-in, sessions, CSRF on every form, role checks and the sign-in rate limit (Flask test client)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import Flask
from sqlalchemy import select

from hub.app import create_app
from hub.db.models import ApiToken, Connection, User
from hub.runtime import Runtime
from hub.users import create_token
from tests.web.helpers import csrf_token, sign_in


def test_pages_need_sign_in_and_only_same_site_next(web_app: Flask) -> None:
    client = web_app.test_client()
    answer = client.get("/recipes")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=/recipes")
    token = csrf_token(client.get("/login").text)
    answer = client.post(
        "/login?next=https://evil.example/",
        data={"email": "ed@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert client.get("/recipes").status_code == 200


def test_session_cookie_flags_and_page_headers(web_app: Flask) -> None:
    web_app.config["SESSION_COOKIE_SECURE"] = True
    client = web_app.test_client()
    answer = sign_in(client, "ed@example.com")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)
    page = client.get("/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_wrong_password_is_refused_and_sign_out_ends_the_session(web_app: Flask) -> None:
    client = web_app.test_client()
    assert sign_in(client, "ed@example.com", "wrong password!").status_code == 401
    assert client.get("/").status_code == 302
    assert sign_in(client, "ed@example.com").status_code == 302
    assert client.get("/").status_code == 200
    token = csrf_token(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_a_disabled_user_loses_the_session_at_once(web_app: Flask, web_runtime: Runtime) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    assert client.get("/").status_code == 200
    with web_runtime.db.transaction() as db:
        db.scalar(select(User).where(User.email == "ed@example.com")).disabled = True
    assert client.get("/").status_code == 302


def test_sign_in_attempts_are_rate_limited(web_app: Flask) -> None:
    client = web_app.test_client()
    for _ in range(5):
        assert sign_in(client, "ed@example.com", "guess guess guess").status_code == 401
    blocked = sign_in(client, "ed@example.com")  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 302
    other = web_app.test_client()  # another account from the same address is not blocked yet
    assert sign_in(other, "vi@example.com").status_code == 302


def test_forms_without_a_csrf_token_are_refused(web_app: Flask, web_runtime: Runtime) -> None:
    client = web_app.test_client()
    refused = client.post("/login", data={"email": "ed@example.com", "password": "correct horse battery"})
    assert refused.status_code == 400
    sign_in(client, "ed@example.com")
    form = {"connector": "http", "op": "save", "name": "no token", "c.auth_type": "none"}
    answer = client.post("/connections/new", data=form)
    assert answer.status_code == 400 and "CSRF" in answer.text
    answer = client.post("/connections/new", data={**form, "csrf_token": "forged"})
    assert answer.status_code == 400
    with web_runtime.db.transaction() as db:
        assert db.scalar(select(Connection.id)) is None
    answer = client.post("/connections/new", data={**form, "csrf_token": csrf_token(client.get("/").text)})
    assert answer.status_code == 302


def test_api_hooks_and_oauth_callback_are_not_subject_to_csrf(web_app: Flask, web_runtime: Runtime) -> None:
    with web_runtime.db.transaction() as db:
        _token, raw = create_token(db, db.scalar(select(User).where(User.email == "ed@example.com")), "t")
    client = web_app.test_client()
    created = client.post(
        "/api/v1/connections",
        json={"name": "api made", "connector": "http", "config": {}},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert created.status_code == 201, created.text
    assert client.post("/hooks/unknown-token", json={}).status_code == 404
    assert client.get("/oauth/callback?state=bad&code=x").status_code == 400
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/nope", headers={"Authorization": f"Bearer {raw}"}).json["error"]["code"]


def test_viewers_see_but_cannot_reach_edit_pages_or_change_anything(web_app: Flask) -> None:
    editor = web_app.test_client()
    sign_in(editor, "ed@example.com")
    made = editor.post(
        "/connections/new",
        data={"csrf_token": csrf_token(editor.get("/").text), "connector": "http", "op": "save", "name": "c"},
    )
    assert made.headers["Location"] == "/connections/1"
    client = web_app.test_client()
    sign_in(client, "vi@example.com")
    page = client.get("/connections/1").text
    assert '<fieldset class="plain" disabled>' in page and ">Save</button>" not in page
    for url in ("/", "/connections", "/recipes", "/runs"):
        assert client.get(url).status_code == 200, url
    for url in ("/connections/new", "/recipes/new", "/users"):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client.get("/").text)
    assert client.post("/recipes/new", data={"csrf_token": token, "op": "save"}).status_code == 403
    assert client.post("/runs/1/replay", data={"csrf_token": token}).status_code == 403
    assert client.post("/connections/1", data={"csrf_token": token, "name": "renamed"}).status_code == 403
    assert client.post("/connections/1/delete", data={"csrf_token": token}).status_code == 403
    assert "New connection" not in client.get("/connections").text


def test_editors_cannot_manage_users_and_admins_can(web_app: Flask, web_runtime: Runtime) -> None:
    editor = web_app.test_client()
    sign_in(editor, "ed@example.com")
    assert editor.get("/users").status_code == 403
    admin = web_app.test_client()
    sign_in(admin, "admin@example.com")
    token = csrf_token(admin.get("/users").text)
    made = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "email": "New@Example.com",
            "role": "editor",
            "password": "long enough pw",
        },
    )
    assert made.status_code == 302
    short = admin.post(
        "/users", data={"csrf_token": token, "email": "x@example.com", "role": "viewer", "password": "short"}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    with web_runtime.db.transaction() as db:
        user_id = db.scalar(select(User.id).where(User.email == "new@example.com"))
    page = admin.post(f"/users/{user_id}/tokens", data={"csrf_token": token, "name": "ci"})
    assert page.status_code == 200 and 'id="new-token" value="hub_' in page.text
    raw = re.search(r'id="new-token" value="(hub_[^"]+)"', page.text).group(1)
    headers = {"Authorization": f"Bearer {raw}"}
    assert admin.get("/api/v1/connectors", headers=headers).status_code == 200
    with web_runtime.db.transaction() as db:
        token_id = db.scalar(select(ApiToken.id).where(ApiToken.name == "ci"))
    assert admin.post(f"/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 302
    assert admin.get("/api/v1/connectors", headers=headers).status_code == 401
    assert (
        admin.post(
            f"/users/{user_id}", data={"csrf_token": token, "role": "viewer", "disabled": "true"}
        ).status_code
        == 302
    )
    with web_runtime.db.transaction() as db:
        user = db.get(User, user_id)
        assert (user.role, user.disabled) == ("viewer", True)
    reset = {"csrf_token": token, "role": "editor", "disabled": "false", "password": "a brand new secret"}
    assert admin.post(f"/users/{user_id}", data=reset).status_code == 302
    assert sign_in(web_app.test_client(), "new@example.com", "a brand new secret").status_code == 302
    assert sign_in(web_app.test_client(), "new@example.com", "long enough pw").status_code == 401


def test_sign_in_attempts_are_counted_across_every_web_process(web_app: Flask, web_runtime: Runtime) -> None:
    """A second process (its own runtime and app on the same database) sees the first one's failures:
    counted in each process's memory, 5 per process let `hub serve --processes 8` take 40."""
    second_runtime = Runtime.create(web_runtime.settings, registry=web_runtime.registry)
    try:
        second = create_app(second_runtime)
        second.config["TESTING"] = True
        for app in (web_app, web_app, web_app, second, second):
            assert sign_in(app.test_client(), "ed@example.com", "guess guess guess").status_code == 401
        assert sign_in(second.test_client(), "ed@example.com").status_code == 429
        assert sign_in(web_app.test_client(), "ed@example.com").status_code == 429
    finally:
        second_runtime.close()
