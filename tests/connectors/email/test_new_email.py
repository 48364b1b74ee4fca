"""new_email against an in-process IMAP server: start from now, new mail once, batches, backfill."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import jsonschema
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import AuthResult, LoginPassword

from connectors.email import connector, imap
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, BlockedAddressError, PermanentError, RetryableError
from hub.sdk.types import PollResult
from tests.connectors.email.imap_server import ImapServer, Mailbox

TRIGGER = connector.trigger("new_email")


def mail(subject: str, when: datetime | None = None, attach: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Li Lei <li.lei@example.com>"
    message["To"] = "sales@example.com, Ops <ops@example.com>"
    message["Cc"] = "boss@example.com"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    message["Date"] = format_datetime(when or datetime(2026, 11, 20, 17, 30, tzinfo=UTC).astimezone())
    message.set_content(f"Body of {subject}")
    message.add_alternative(f"<p>{subject}</p>", subtype="html")
    if attach:
        message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="C-88.pdf")
    return message.as_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def imap_box() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    server = ImapServer(box)
    yield box, server.port
    server.close()


def ctx(port: int, password: str = "imap-pass", **extra: Any) -> Context:
    connection = {
        "host": "smtp.invalid",
        "from": "ops@example.com",
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_security": "none",
        "username": "ops@example.com",
        "password": password,
    }
    return Context(
        connector=connector, connection=connection, allow_private_network=True, timeout_s=5, **extra
    )


def poll(context: Context, cursor: str | None, **config: Any) -> PollResult:
    return TRIGGER.poll(context, config, cursor)


def test_schemas_are_valid_and_the_sample_matches() -> None:
    jsonschema.Draft202012Validator.check_schema(TRIGGER.config_schema)
    jsonschema.Draft202012Validator.check_schema(TRIGGER.output_schema)
    jsonschema.validate(TRIGGER.sample, TRIGGER.output_schema)
    assert TRIGGER.kind == "polling" and TRIGGER.default_interval_s == 120


def test_first_poll_starts_from_now_then_new_mail_arrives_once(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.add(mail("old one"))
    box.add(mail("old two"))
    first = poll(ctx(port), None)
    assert first.items == [] and json.loads(first.cursor) == {"uidvalidity": 1000, "last_uid": 2}
    box.add(mail("合同续签 C-88", attach=True))
    second = poll(ctx(port), first.cursor)
    assert [i.id for i in second.items] == ["1000:3"]
    event = second.items[0].data
    jsonschema.validate(event, TRIGGER.output_schema)
    assert event["subject"] == "合同续签 C-88" and event["uid"] == 3
    assert event["message_id"].startswith("<") and event["message_id"].endswith("@example.com>")
    assert event["from"] == "Li Lei <li.lei@example.com>"
    assert event["to"] == ["sales@example.com", "ops@example.com"] and event["cc"] == ["boss@example.com"]
    assert (
        event["text"].strip() == "Body of 合同续签 C-88" and event["html"].strip() == "<p>合同续签 C-88</p>"
    )
    assert event["date"] == "2026-11-20T17:30:00+00:00"
    assert event["attachments"] == [{"filename": "C-88.pdf", "content_type": "application/pdf", "size": 13}]
    third = poll(ctx(port), second.cursor)
    assert third.items == [] and third.cursor == second.cursor  # the n:* quirk does not repeat the last mail
    # read-only, and bodies are peeked: polling never marks mail as read
    assert box.seen == set() and any(c.startswith("EXAMINE") for c in box.commands)
    assert any("BODY.PEEK[]" in c for c in box.commands if c.startswith("UID FETCH"))


def test_batches_of_fifty_continue_on_the_next_poll(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    cursor = poll(ctx(port), None).cursor
    for n in range(60):
        box.add(mail(f"bulk {n}"))
    first = poll(ctx(port), cursor)
    assert len(first.items) == 50 and json.loads(first.cursor)["last_uid"] == 50
    second = poll(ctx(port), first.cursor)
    assert [i.data["subject"] for i in first.items + second.items] == [f"bulk {n}" for n in range(60)]
    assert poll(ctx(port), second.cursor).items == []


def test_uidvalidity_change_starts_over_from_now(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.add(mail("a"))
    cursor = poll(ctx(port), None).cursor
    box.uidvalidity = 2000
    box.add(mail("b"))
    result = poll(ctx(port), cursor)
    assert result.items == [] and json.loads(result.cursor) == {"uidvalidity": 2000, "last_uid": 2}
    box.add(mail("c"))
    assert [i.id for i in poll(ctx(port), result.cursor).items] == ["2000:3"]


def test_without_uidnext_the_start_is_the_highest_uid(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.send_uidnext = False
    box.add(mail("a"))
    box.add(mail("b"))
    assert json.loads(poll(ctx(port), None).cursor)["last_uid"] == 2


def test_backfill_takes_mail_since_a_date_then_continues(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.add(mail("too old", datetime(2025, 1, 1, tzinfo=UTC)))
    box.add(mail("recent", datetime(2026, 6, 1, tzinfo=UTC)))
    result = poll(ctx(port, since=datetime(2026, 1, 1, tzinfo=UTC)), None)
    assert [i.data["subject"] for i in result.items] == ["recent"]
    assert any("SINCE 1-Jan-2026" in c for c in box.commands)
    box.add(mail("new"))
    assert [i.data["subject"] for i in poll(ctx(port), result.cursor).items] == ["new"]


def test_backfill_with_nothing_since_does_not_replay_the_folder(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.add(mail("old", datetime(2025, 1, 1, tzinfo=UTC)))
    result = poll(ctx(port, since=datetime(2026, 1, 1, tzinfo=UTC)), None)
    assert result.items == [] and json.loads(result.cursor)["last_uid"] == 1
    assert poll(ctx(port), result.cursor).items == []


def test_search_criteria_filter_new_mail(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    cursor = poll(ctx(port), None, search="UNSEEN").cursor
    unread, read = box.add(mail("unread")), box.add(mail("read"))
    box.seen.add(read)
    result = poll(ctx(port), cursor, search="UNSEEN")
    assert [i.data["uid"] for i in result.items] == [unread]
    assert json.loads(result.cursor)["last_uid"] == read  # everything searched is behind the cursor
    assert any(c.startswith("UID SEARCH UID 1:* UNSEEN") for c in box.commands)


def test_chinese_folder_names_are_sent_in_modified_utf7(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    assert imap.mailbox_name("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'  # RFC 3501
    assert imap.mailbox_name('R&D "x"') == '"R&-D \\"x\\""'
    box.folder = "&U,BTFw-"
    cursor = poll(ctx(port), None, folder="台北").cursor
    box.add(mail("from Taipei"))
    assert [i.data["subject"] for i in poll(ctx(port), cursor, folder="台北").items] == ["from Taipei"]


def test_netease_style_servers_get_an_id_before_select(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    box.require_id = True
    assert poll(ctx(port), None).items == []
    assert [c.split(" ")[0] for c in box.commands[:4]] == ["CAPABILITY", "LOGIN", "ID", "EXAMINE"]


def test_unknown_folder_and_bad_search_are_permanent(imap_box: tuple[Mailbox, int]) -> None:
    _box, port = imap_box
    with pytest.raises(PermanentError, match=r"^folder: cannot open 'Archive'"):
        poll(ctx(port), None, folder="Archive")
    cursor = poll(ctx(port), None).cursor
    with pytest.raises(PermanentError, match=r"^search:"):
        poll(ctx(port), cursor, search="FLAGGED-ISH")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"search": "ALL\r\nA1 DELETE INBOX"}, "search"),
        ({"folder": "INBOX\nx"}, "folder"),
        ({"search": "主题"}, "search"),
    ],
)
def test_config_is_checked_before_connecting(config: dict[str, Any], field: str) -> None:
    with pytest.raises(PermanentError, match=f"^{field}:"):
        TRIGGER.check_config(config)
    with pytest.raises(PermanentError, match=f"^{field}:"):
        TRIGGER.poll(ctx(1), config, None)


def test_odd_messages_still_become_events() -> None:
    raw = (
        b"From: =?gb2312?b?wO7A1w==?= <li@example.com>\r\nTo: undisclosed-recipients:;\r\n"
        b"Subject: =?gb2312?b?us/NrA==?=\r\nContent-Type: text/plain; charset=gb2312\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "合同已签署，请查收。镕".encode("gb18030")
    data = imap.event(7, 9, raw).data
    assert data["from"] == "李雷 <li@example.com>" and data["subject"] == "合同"
    assert data["text"] == "合同已签署，请查收。镕"  # 镕 is GBK-only: GB2312 is read as GB18030
    assert data["to"] == [] and data["date"] is None and data["html"] is None and data["attachments"] == []
    unknown = b"Subject: x\r\nContent-Type: text/plain; charset=x-made-up\r\n\r\nhello"
    assert imap.event(7, 10, unknown).data["text"] == "hello"
    assert imap.imap_date(datetime(2026, 3, 5, 23, 0, tzinfo=UTC)) == "5-Mar-2026"


def test_wrong_password_is_an_auth_error(imap_box: tuple[Mailbox, int]) -> None:
    _box, port = imap_box
    with pytest.raises(AuthError, match="AUTHENTICATIONFAILED"):
        poll(ctx(port, password="wrong"), None)


def test_closed_port_is_retryable() -> None:
    with pytest.raises(RetryableError):
        poll(ctx(free_port()), None)


def test_private_address_blocked_unless_allowed(imap_box: tuple[Mailbox, int]) -> None:
    box, port = imap_box
    context = ctx(port)
    context.allow_private_network = False
    with pytest.raises(BlockedAddressError, match="HUB_ALLOW_PRIVATE_NETWORK"):
        poll(context, None)
    assert box.commands == []


def same_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    """The SMTP side accepts every password, so only the IMAP login can fail."""
    return AuthResult(success=isinstance(data, LoginPassword) and data.login == b"ops@example.com")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_connection_checks_imap_too_when_it_is_set_up(imap_box: tuple[Mailbox, int]) -> None:
    _box, port = imap_box
    smtp_port = free_port()
    smtp = Controller(
        Sink(), hostname="127.0.0.1", port=smtp_port, authenticator=same_login, auth_require_tls=False
    )
    smtp.start()
    try:
        context = ctx(port)
        context.connection.update(host="127.0.0.1", port=smtp_port, security="none")
        assert connector.test_connection(context) == (
            f"SMTP login to 127.0.0.1:{smtp_port} succeeded; IMAP login to 127.0.0.1:{port} succeeded"
        )
        context.connection["password"] = "wrong"
        with pytest.raises(AuthError):
            connector.test_connection(context)
    finally:
        smtp.stop()
