"""send_email against a real SMTP server in-process (aiosmtpd): bodies, recipients, TLS, auth, refusals."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from connectors.email import connector, pinning
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, BlockedAddressError, PermanentError, RetryableError
from tests.tls import self_signed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"ops" and data.password == b"right-password"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


def ctx(port: int, **extra: Any) -> Context:
    connection = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "Ops <ops@example.com>",
        **extra,
    }
    return Context(connector=connector, connection=connection, allow_private_network=True, timeout_s=5)


def send(context: Context, **inputs: Any) -> dict[str, Any]:
    return connector.action("send_email").perform(
        context, {"to": "owner@example.com", "subject": "Hi", "text": "body", **inputs}
    )


def test_text_message(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    out = send(ctx(port))
    assert out["accepted"] == ["owner@example.com"] and out["message_id"].startswith("<")
    message = message_from_bytes(recorder.messages[0].content, policy=policy.default)
    assert message["From"] == "Ops <ops@example.com>" and message["Subject"] == "Hi"
    assert message.get_content().strip() == "body"
    assert recorder.messages[0].mail_from == "ops@example.com"


def test_html_alternative_and_chinese_round_trip(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    send(
        ctx(port),
        subject="合同即将到期：C-88",
        text="您好，合同 C-88 将于 30 天后到期。",
        html="<p>合同 <b>C-88</b></p>",
        to="李雷 <li.lei@example.com>",
    )
    message = message_from_bytes(recorder.messages[0].content, policy=policy.default)
    assert message["Subject"] == "合同即将到期：C-88"
    assert message.get_content_type() == "multipart/alternative"
    assert "将于 30 天后到期" in message.get_body(("plain",)).get_content()
    assert "<b>C-88</b>" in message.get_body(("html",)).get_content()
    assert message["To"].addresses[0].display_name == "李雷"
    assert b"\xe5" not in recorder.messages[0].content  # headers and bodies are 7-bit encoded


def test_cc_bcc_reply_to_and_from_override(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    send(
        ctx(port),
        to=["a@example.com", "b@example.com"],
        cc="c@example.com",
        bcc=["hidden@example.com"],
        reply_to="support@example.com",
        **{"from": "sales@example.com"},
    )
    envelope = recorder.messages[0]
    assert sorted(envelope.rcpt_tos) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "hidden@example.com",
    ]
    assert envelope.mail_from == "sales@example.com"
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Bcc"] is None and b"hidden@example.com" not in envelope.content
    assert message["Reply-To"] == "support@example.com" and message["Cc"] == "c@example.com"


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"cc": ["ok@example.com", "bad@"]}, "cc"),
        ({"subject": "x\r\nBcc: victim@example.com"}, "subject"),
        ({"to": "a@example.com\nBcc: v@example.com"}, "to"),
        ({"text": None, "html": None}, "text"),
    ],
)
def test_bad_input_is_refused_before_connecting(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(PermanentError) as caught:
        send(ctx(free_port()), **inputs)
    assert caught.value.message.startswith(field)


def test_refused_and_deferred_recipients(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    with pytest.raises(PermanentError) as refused:
        send(ctx(port), to="reject@example.com")
    assert refused.value.vendor_code == "550"
    with pytest.raises(RetryableError) as deferred:
        send(ctx(port), to="later@example.com")
    assert deferred.value.outcome_unknown is False
    assert recorder.messages == []


def test_closed_port_is_retryable_with_known_outcome() -> None:
    with pytest.raises(RetryableError) as caught:
        send(ctx(free_port()))
    assert caught.value.outcome_unknown is False


def test_private_address_is_blocked_unless_allowed(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    guarded = ctx(port)
    guarded.allow_private_network = False
    with pytest.raises(BlockedAddressError):
        send(guarded)
    assert recorder.messages == []


def test_starttls_with_login_and_certificate_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    recorder, port = Recorder(), free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        context = ctx(port, host="localhost", security="starttls", username="ops", password="right-password")
        with pytest.raises(
            RetryableError, match="CERTIFICATE_VERIFY_FAILED"
        ):  # an untrusted certificate is refused
            send(context)

        def trusting() -> ssl.SSLContext:
            trusted = ssl.create_default_context()
            trusted.load_verify_locations(cert)
            return trusted

        monkeypatch.setattr(pinning, "tls_context", trusting)
        assert send(context)["accepted"] == ["owner@example.com"]
        assert len(recorder.messages) == 1
        with pytest.raises(AuthError):
            send(ctx(port, host="localhost", security="starttls", username="ops", password="wrong"))
        assert "succeeded" in connector.test_connection(context)
    finally:
        controller.stop()
