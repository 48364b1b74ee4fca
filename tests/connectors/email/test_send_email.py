"""send_email against a real SMTP server in-process (aiosmtpd): bodies, recipients, TLS, auth, refusals."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from connectors.email import connector, pinning
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, BlockedAddressError, PermanentError, RetryableError
from tests.tls import self_signed

ACTION = connector.action("send_email")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """Accepts everything except recipients whose names ask for a refusal at RCPT or DATA."""

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
        if any(r.startswith("spam") for r in envelope.rcpt_tos):
            return "554 5.7.1 message rejected as spam"
        if any(r.startswith("full") for r in envelope.rcpt_tos):
            return "452 4.3.1 insufficient system storage"
        self.messages.append(envelope)
        return "250 Message accepted"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"ops" and data.password == b"right-password"
    return AuthResult(success=ok, handled=False)


def start(recorder: Recorder, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller, port = start(recorder)
    yield recorder, port
    controller.stop()


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A throwaway certificate for localhost; the connector's TLS context trusts it (and only it)."""
    cert, key = self_signed(tmp_path, "localhost")

    def trusting() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.load_verify_locations(cert)
        return context

    monkeypatch.setattr(pinning, "tls_context", trusting)
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def ctx(port: int, **extra: Any) -> Context:
    connection = {"host": "127.0.0.1", "port": port, "security": "none", "from": "Ops <ops@example.com>"}
    return Context(
        connector=connector, connection={**connection, **extra}, allow_private_network=True, timeout_s=5
    )


def send(context: Context, **inputs: Any) -> dict[str, Any]:
    return ACTION.perform(context, {"to": "owner@example.com", "subject": "Hi", "text": "body", **inputs})


def parsed(envelope: Any) -> Any:
    return message_from_bytes(envelope.content, policy=policy.default)


def test_schemas_are_valid_and_the_sample_matches() -> None:
    jsonschema.Draft202012Validator.check_schema(ACTION.input_schema)
    jsonschema.Draft202012Validator.check_schema(ACTION.output_schema)
    jsonschema.validate(ACTION.sample_output, ACTION.output_schema)
    jsonschema.Draft202012Validator.check_schema(connector.connection_schema())
    assert connector.secret_fields() == {"password"} and connector.needs_connection()
    assert ACTION.repeat_safe is False


def test_text_message(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    out = send(ctx(port))
    jsonschema.validate(out, ACTION.output_schema)
    assert out["accepted"] == ["owner@example.com"]
    message = parsed(recorder.messages[0])
    assert out["message_id"] == message["Message-ID"] and message["Message-ID"].endswith("@example.com>")
    assert message["From"] == "Ops <ops@example.com>" and message["Subject"] == "Hi"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "text/plain" and message.get_content().strip() == "body"
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
    message = parsed(recorder.messages[0])
    assert message["Subject"] == "合同即将到期：C-88"
    assert message.get_content_type() == "multipart/alternative"
    assert "将于 30 天后到期" in message.get_body(("plain",)).get_content()
    assert "<b>C-88</b>" in message.get_body(("html",)).get_content()
    assert message["To"].addresses[0].display_name == "李雷"
    assert recorder.messages[0].content.isascii()  # headers and bodies are 7-bit encoded


def test_html_only(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    send(ctx(port), text=None, html="<h1>Report</h1>")
    message = parsed(recorder.messages[0])
    assert message.get_content_type() == "text/html" and "<h1>Report</h1>" in message.get_content()


def test_cc_bcc_reply_to_and_from_override(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    out = send(
        ctx(port),
        to="a@example.com, Bee <b@example.com>",
        cc=["c@example.com"],
        bcc=["hidden@example.com", "a@example.com"],
        reply_to="support@example.com",
        **{"from": "Sales <sales@example.com>"},
    )
    envelope = recorder.messages[0]
    expected = ["a@example.com", "b@example.com", "c@example.com", "hidden@example.com"]
    assert out["accepted"] == expected and envelope.rcpt_tos == expected  # each recipient once
    assert envelope.mail_from == "sales@example.com"
    message = parsed(envelope)
    assert message["Bcc"] is None and b"hidden@example.com" not in envelope.content
    assert message["To"] == "a@example.com, Bee <b@example.com>" and message["Cc"] == "c@example.com"
    assert message["Reply-To"] == "support@example.com" and message["From"] == "Sales <sales@example.com>"


def test_internationalized_domain_is_sent_as_idna(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    send(ctx(port), to="王芳 <wang@例子.中国>")
    assert recorder.messages[0].rcpt_tos == ["wang@xn--fsqu00a.xn--fiqs8s"]
    assert parsed(recorder.messages[0])["To"].addresses[0].domain == "xn--fsqu00a.xn--fiqs8s"


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"to": "a@example.com, oops"}, "to"),
        ({"cc": ["ok@example.com", "bad@"]}, "cc"),
        ({"bcc": "a..b@example.com"}, "bcc"),
        ({"reply_to": "nobody"}, "reply_to"),
        ({"from": "ops at example.com"}, "from"),
        ({"to": "李@example.com"}, "to"),
        ({"subject": "x\r\nBcc: victim@example.com"}, "subject"),
        ({"to": "a@example.com\nBcc: v@example.com"}, "to"),
        ({"from": "Ops <ops@example.com>\r\nX-Evil: 1"}, "from"),
        ({"subject": None}, "subject"),
        ({"text": None, "html": ""}, "text"),
        ({"to": None}, "to"),
    ],
)
def test_bad_input_is_refused_before_connecting(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(PermanentError) as caught:
        send(ctx(free_port()), **inputs)  # nothing listens there: a connection attempt would be retryable
    assert caught.value.message.startswith(f"{field}:")


def test_refused_and_deferred_recipients(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    with pytest.raises(PermanentError) as refused:
        send(ctx(port), to=["ok@example.com", "reject@example.com"])
    assert refused.value.vendor_code == "550" and "mailbox unavailable" in refused.value.message
    with pytest.raises(RetryableError) as deferred:
        send(ctx(port), to="later@example.com")
    assert deferred.value.vendor_code == "451" and deferred.value.outcome_unknown is False
    assert recorder.messages == []


def test_refusals_at_end_of_data(smtp: tuple[Recorder, int]) -> None:
    _recorder, port = smtp
    with pytest.raises(PermanentError) as rejected:
        send(ctx(port), to="spam@example.com")
    assert rejected.value.vendor_code == "554" and "rejected as spam" in rejected.value.message
    with pytest.raises(RetryableError) as full:
        send(ctx(port), to="full@example.com")
    assert full.value.vendor_code == "452" and full.value.outcome_unknown is False


def test_closed_port_is_retryable_with_known_outcome() -> None:
    with pytest.raises(RetryableError) as caught:
        send(ctx(free_port()))
    assert caught.value.outcome_unknown is False


class DropsAfterData:
    """A bare SMTP server that takes the whole message, then hangs up (or goes silent)."""

    def __init__(self, hang: bool = False) -> None:
        self.hang, self.got_message = hang, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as reader:
            conn.sendall(b"220 fake ESMTP\r\n")
            while line := reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-fake\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    while reader.readline() not in (b".\r\n", b""):
                        pass
                    self.got_message.set()
                    if self.hang:
                        time.sleep(3)
                    return
                else:
                    conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("hang", [False, True], ids=["disconnect", "timeout"])
def test_lost_after_data_is_an_unknown_outcome(hang: bool) -> None:
    server = DropsAfterData(hang=hang)
    context = ctx(server.port)
    context.timeout_s = 0.5
    try:
        with pytest.raises(RetryableError) as caught:
            send(context)
    finally:
        server.close()
    assert server.got_message.is_set() and caught.value.outcome_unknown is True


def test_private_address_is_blocked_before_connecting(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    for target in (port, free_port()):  # a live server and a closed port: both refused by the guard
        guarded = ctx(target)
        guarded.allow_private_network = False
        with pytest.raises(BlockedAddressError, match="HUB_ALLOW_PRIVATE_NETWORK"):
            send(guarded)
    assert recorder.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_without_tls_and_wrong_password() -> None:
    recorder = Recorder()
    controller, port = start(
        recorder, authenticator=authenticator, auth_required=True, auth_require_tls=False
    )
    try:
        assert send(ctx(port, username="ops", password="right-password"))["accepted"] == ["owner@example.com"]
        with pytest.raises(AuthError) as caught:
            send(ctx(port, username="ops", password="wrong"))
        assert caught.value.vendor_code == "535"
        with pytest.raises(PermanentError):  # no login configured: the server wants one before MAIL
            send(ctx(port))
        message = connector.test_connection(ctx(port, username="ops", password="right-password"))
        assert message == f"SMTP login to 127.0.0.1:{port} succeeded"
    finally:
        controller.stop()
    assert len(recorder.messages) == 1


def test_starttls_with_login_and_certificate_check(
    tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    controller, port = start(
        recorder,
        tls_context=server_tls(*tls_files),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    try:
        secure = {"host": "localhost", "security": "starttls", "username": "ops"}
        assert send(ctx(port, **secure, password="right-password"))["accepted"] == ["owner@example.com"]
        assert len(recorder.messages) == 1
        with pytest.raises(AuthError):
            send(ctx(port, **secure, password="wrong"))
        with pytest.raises(PermanentError, match="530"):  # plain text is refused by this server
            send(ctx(port, host="localhost", security="none"))
        monkeypatch.setattr(pinning, "tls_context", ssl.create_default_context)
        with pytest.raises(RetryableError, match="CERTIFICATE_VERIFY_FAILED"):  # an untrusted certificate
            send(ctx(port, **secure, password="right-password"))
    finally:
        controller.stop()


def test_implicit_tls(tls_files: tuple[Path, Path]) -> None:
    recorder = Recorder()
    controller, port = start(recorder, ssl_context=server_tls(*tls_files), server_hostname="localhost")
    try:
        context = ctx(port, host="localhost", security="ssl")
        assert send(context)["accepted"] == ["owner@example.com"]
        assert connector.test_connection(context) == f"SMTP login to localhost:{port} succeeded"
    finally:
        controller.stop()
    assert parsed(recorder.messages[0])["Subject"] == "Hi"
