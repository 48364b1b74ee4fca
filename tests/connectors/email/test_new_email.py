"""new_email against an in-process IMAP server: start from now, new mail once, batches, backfill."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest

from connectors.email import connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, BlockedAddressError
from tests.connectors.email.imap_server import ImapServer, Mailbox


def mail(subject: str, when: datetime | None = None, attach: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Li Lei <li.lei@example.com>"
    message["To"] = "sales@example.com, ops@example.com"
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash(subject))}@example.com>"
    message["Date"] = format_datetime(when or datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    message.set_content(f"Body of {subject}")
    message.add_alternative(f"<p>{subject}</p>", subtype="html")
    if attach:
        message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="C-88.pdf")
    return message.as_bytes()


@pytest.fixture
def imap() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    server = ImapServer(box)
    yield box, server.port
    server.close()


def ctx(port: int, password: str = "imap-pass", **extra: Any) -> Context:
    connection = {
        "host": "127.0.0.1",
        "from": "ops@example.com",
        "imap_port": port,
        "imap_security": "none",
        "username": "ops@example.com",
        "password": password,
    }
    return Context(
        connector=connector, connection=connection, allow_private_network=True, timeout_s=5, **extra
    )


def poll(context: Context, cursor: str | None, config: dict[str, Any] | None = None) -> Any:
    return connector.trigger("new_email").poll(context, config or {}, cursor)


def test_first_poll_starts_from_now_then_new_mail_arrives_once(imap: tuple[Mailbox, int]) -> None:
    box, port = imap
    box.add(mail("old one"))
    box.add(mail("old two"))
    first = poll(ctx(port), None)
    assert first.items == [] and json.loads(first.cursor) == {"uidvalidity": 1000, "last_uid": 2}
    box.add(mail("合同续签 C-88", attach=True))
    second = poll(ctx(port), first.cursor)
    assert [i.id for i in second.items] == ["1000:3"]
    event = second.items[0].data
    assert event["subject"] == "合同续签 C-88" and event["uid"] == 3
    assert event["from"] == "Li Lei <li.lei@example.com>"
    assert event["to"] == ["sales@example.com", "ops@example.com"]
    assert event["text"].strip() == "Body of 合同续签 C-88" and "<p>" in event["html"]
    assert event["date"] == "2026-11-20T09:30:00+00:00"
    assert event["attachments"] == [{"filename": "C-88.pdf", "content_type": "application/pdf", "size": 13}]
    third = poll(ctx(port), second.cursor)
    assert third.items == [] and third.cursor == second.cursor  # the n:* quirk does not repeat the last mail


def test_batches_of_fifty_continue_on_the_next_poll(imap: tuple[Mailbox, int]) -> None:
    box, port = imap
    cursor = poll(ctx(port), None).cursor
    for n in range(60):
        box.add(mail(f"bulk {n}"))
    first = poll(ctx(port), cursor)
    second = poll(ctx(port), first.cursor)
    assert len(first.items) == 50 and len(second.items) == 10
    assert len({i.id for i in first.items + second.items}) == 60


def test_uidvalidity_change_starts_over_from_now(imap: tuple[Mailbox, int]) -> None:
    box, port = imap
    box.add(mail("a"))
    cursor = poll(ctx(port), None).cursor
    box.uidvalidity = 2000
    box.add(mail("b"))
    result = poll(ctx(port), cursor)
    assert result.items == [] and json.loads(result.cursor) == {"uidvalidity": 2000, "last_uid": 2}


def test_backfill_takes_mail_since_a_date(imap: tuple[Mailbox, int]) -> None:
    box, port = imap
    box.add(mail("too old", datetime(2025, 1, 1, tzinfo=UTC)))
    box.add(mail("recent", datetime(2026, 6, 1, tzinfo=UTC)))
    result = poll(ctx(port, since=datetime(2026, 1, 1, tzinfo=UTC)), None)
    assert [i.data["subject"] for i in result.items] == ["recent"]


def test_wrong_password_is_an_auth_error(imap: tuple[Mailbox, int]) -> None:
    _box, port = imap
    with pytest.raises(AuthError):
        poll(ctx(port, password="wrong"), None)


def test_private_address_blocked_unless_allowed(imap: tuple[Mailbox, int]) -> None:
    _box, port = imap
    context = ctx(port)
    context.allow_private_network = False
    with pytest.raises(BlockedAddressError):
        poll(context, None)
