"""The first admin from the browser: the one-time setup link, its form, and the sign-in page's advice."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import cli, first_admin
from hub.db.models import AuditEntry, Meta, User
from hub.runtime import Runtime
from hub.users import create_user
from tests.web.helpers import PASSWORD, csrf_token


def _link(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> str:
    cli._announce_setup_link(rt)
    printed = capsys.readouterr().err
    found = re.search(r"open http://127\.0\.0\.1:8000(/setup/\S+) to create the first admin", printed)
    assert found, printed
    return found.group(1)


def _submit(client: Any, link: str, email: str, password: str = PASSWORD, again: str | None = None) -> Any:
    token = csrf_token(client.get(link).text)
    form = {"email": email, "password": password, "password_again": password if again is None else again}
    return client.post(link, data={**form, "csrf_token": token})


def _users(rt: Runtime) -> list[tuple[str, str]]:
    with rt.db.transaction() as db:
        return [(u.email, u.role) for u in db.scalars(select(User))]


def test_the_setup_link_makes_one_signed_in_admin_and_then_closes(
    app: Flask, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app.test_client()
    login = client.get("/login").text
    assert "setup link that hub serve printed" in login and "Ask an admin" not in login
    link = _link(runtime, capsys)
    with runtime.db.transaction() as db:  # only a hash is kept: the link cannot be printed again
        assert link.rsplit("/", 1)[1] not in db.scalar(select(Meta.value).where(Meta.key == "setup_token"))

    assert client.get(link + "x").status_code == 404
    assert client.post(link, data={"email": "a@example.com", "password": PASSWORD}).status_code == 400  # CSRF
    short = _submit(client, link, "root@example.com", "short")
    assert short.status_code == 422 and "at least 10 characters" in short.text
    differ = _submit(client, link, "root@example.com", again=PASSWORD + "!")
    assert differ.status_code == 422 and "The two passwords differ." in differ.text
    bad_email = _submit(client, link, "not-an-email")
    assert bad_email.status_code == 422 and "This is not an email address." in bad_email.text
    assert _users(runtime) == []  # nothing made, and the link still works after errors

    made = _submit(client, link, "Root@Example.com")
    assert made.status_code == 302 and made.headers["Location"] == "/"
    assert client.get("/users").status_code == 200  # signed in as the admin
    assert _users(runtime) == [("root@example.com", "admin")]
    with runtime.db.transaction() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
        assert entry is not None and entry.details["via"] == "setup link"
        assert db.get(Meta, "setup_token") is None

    other = app.test_client()
    closed = other.get(link)
    assert closed.status_code == 404 and "already has users" in closed.text
    login = other.get("/login").text
    assert "Ask an admin of this hub" in login and "setup link" not in login
    cli._announce_setup_link(runtime)  # a restart with a user prints no link
    assert "setup" not in capsys.readouterr().err


def test_a_new_start_replaces_the_link_and_a_user_made_otherwise_closes_it(
    app: Flask, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app.test_client()
    old = _link(runtime, capsys)
    new = _link(runtime, capsys)
    assert old != new
    answer = client.get(old)
    assert answer.status_code == 404 and "latest start of hub serve" in answer.text
    assert client.get(new).status_code == 200
    with runtime.db.transaction() as db:
        create_user(db, "cli@example.com", "admin", PASSWORD)  # `hub users create` meanwhile
    assert client.get(new).status_code == 404
    with runtime.db.transaction() as db, pytest.raises(first_admin.SetupClosed):
        first_admin.create_admin(db, new.rsplit("/", 1)[1], "late@example.com", PASSWORD)
    assert _users(runtime) == [("cli@example.com", "admin")]


def test_two_setup_submissions_at_once_make_one_admin(
    app: Flask, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    link = _link(runtime, capsys)
    clients = [app.test_client() for _ in range(2)]
    tokens = [csrf_token(c.get(link).text) for c in clients]
    start = threading.Barrier(2)
    answers: dict[int, int] = {}

    def submit(index: int) -> None:
        form = {"email": f"admin{index}@example.com", "password": PASSWORD, "password_again": PASSWORD}
        start.wait()
        answers[index] = clients[index].post(link, data={**form, "csrf_token": tokens[index]}).status_code

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers.values()) == [302, 404]
    with runtime.db.transaction() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 1
    winner = next(i for i, code in answers.items() if code == 302)
    assert _users(runtime) == [(f"admin{winner}@example.com", "admin")]


def test_setup_page_in_chinese(app: Flask, runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    link = _link(runtime, capsys)
    client = app.test_client()
    headers = {"Accept-Language": "zh-CN"}
    assert "设置" in client.get(link, headers=headers).text
    token = csrf_token(client.get(link, headers=headers).text)
    form = {"email": "x@example.com", "password": "short", "password_again": "short", "csrf_token": token}
    answer = client.post(link, data=form, headers=headers)
    assert answer.status_code == 422 and "密码至少需要 10 个字符" in answer.text
    assert "hub serve" in client.get("/login", headers=headers).text
