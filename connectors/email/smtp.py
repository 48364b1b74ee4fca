"""send_email over SMTP: one message, STARTTLS/SSL, and an honest account of what may have been sent.

SMTP has no idempotency key, so the error mapping is the point: every failure before the message
is handed over (connect, MAIL, RCPT, a refused DATA) has a known outcome and may be retried or
failed; a connection lost after DATA leaves the outcome unknown, and the engine holds the run.
"""

from __future__ import annotations

import re
import smtplib
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any

from connectors.email import pinning
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError

_EMAIL = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\]+$")


def _one_line(field: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{field}: line breaks are not allowed (header injection)")
    return value


def _addr_spec(field: str, addr: str, text: str) -> str:
    """`addr` checked, with an internationalized domain written as IDNA (headers cannot carry it raw)."""
    if not _EMAIL.match(addr):
        raise PermanentError(f"{field}: '{addr or text}' is not an email address")
    local, domain = addr.rsplit("@", 1)
    if not local.isascii():
        raise PermanentError(f"{field}: '{addr}' has a non-ASCII mailbox name, which is not supported")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise PermanentError(f"{field}: '{addr}' has an invalid domain") from exc
    return f"{local}@{domain}"


def addresses(field: str, value: Any) -> list[Address]:
    """A list, a comma-separated string or one address; each checked, display names kept."""
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out: list[Address] = []
    for item in items:
        text = _one_line(field, str(item))
        for name, addr in getaddresses([text]):
            try:
                out.append(Address(display_name=name, addr_spec=_addr_spec(field, addr, text)))
            except (ValueError, IndexError) as exc:  # what headerregistry raises on a malformed addr-spec
                raise PermanentError(f"{field}: '{addr}' is not an email address") from exc
    return out


def build_message(connection: dict[str, Any], inputs: dict[str, Any]) -> tuple[EmailMessage, str, list[str]]:
    """The message, the envelope sender and every envelope recipient (Bcc ones have no header)."""
    sender = addresses("from", inputs.get("from") or connection.get("from"))
    if len(sender) != 1:
        raise PermanentError("from: exactly one sender address is needed (step input or connection)")
    to, cc, bcc = (addresses(f, inputs.get(f)) for f in ("to", "cc", "bcc"))
    if not (to or cc or bcc):
        raise PermanentError("to: at least one recipient is needed")
    if inputs.get("subject") is None:
        raise PermanentError("subject: a subject is required")
    text, html = inputs.get("text"), inputs.get("html")
    if not text and not html:
        raise PermanentError("text: give a text body, an html body, or both")
    message = EmailMessage()
    message["Subject"] = _one_line("subject", str(inputs["subject"]))
    message["From"] = sender[0]
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    reply_to = addresses("reply_to", inputs.get("reply_to"))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender[0].domain)
    if text:
        message.set_content(str(text), cte="quoted-printable")
        if html:
            message.add_alternative(str(html), subtype="html", cte="quoted-printable")
    else:
        message.set_content(str(html), subtype="html", cte="quoted-printable")
    recipients = list(dict.fromkeys(a.addr_spec for a in to + cc + bcc))
    return message, sender[0].addr_spec, recipients


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refusal(code: int, reply: bytes | str, what: str) -> PermanentError | RetryableError:
    """A refusal the server stated: nothing was accepted, so the outcome is known either way."""
    message = f"SMTP server refused {what}: {code} {_reply_text(reply)}"
    if 400 <= code < 500:
        return RetryableError(message, vendor_code=str(code))
    return PermanentError(message, vendor_code=str(code))


def _endpoint(conn: dict[str, Any]) -> tuple[str, int, str]:
    security = str(conn.get("security") or "starttls")
    if security not in ("starttls", "ssl", "none"):
        raise PermanentError(f"security: '{security}' is not one of starttls, ssl, none")
    if not conn.get("host"):
        raise PermanentError("host: the SMTP host is not set")
    return str(conn["host"]), int(conn.get("port") or (465 if security == "ssl" else 587)), security


def open_session(ctx: Context) -> smtplib.SMTP:
    """Connected, secured and logged in."""
    host, port, security = _endpoint(ctx.connection)
    try:
        client = pinning.smtp_client(host, port, security, ctx.timeout_s, ctx.allow_private_network)
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryableError(f"cannot connect to SMTP server {host}:{port}: {exc}") from exc
    try:
        if security == "starttls":
            client.starttls(context=pinning.tls_context())
        if ctx.connection.get("username"):
            client.login(str(ctx.connection["username"]), str(ctx.connection.get("password") or ""))
    except smtplib.SMTPAuthenticationError as exc:
        client.close()
        raise AuthError(
            f"SMTP login to {host}:{port} refused: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
            vendor_code=str(exc.smtp_code),
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        client.close()
        raise PermanentError(
            f"SMTP server {host}:{port} does not support {security} or login: {exc}"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise RetryableError(f"SMTP handshake with {host}:{port} failed: {exc}") from exc
    return client


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _envelope(client: smtplib.SMTP, sender: str, recipients: list[str]) -> list[str]:
    """MAIL FROM and RCPT TO; any refused recipient fails the whole send, before anything is sent."""
    try:
        client.ehlo_or_helo_if_needed()
        code, reply = client.mail(sender)
        if code != 250:
            raise _refusal(code, reply, f"the sender {sender}")
        accepted = []
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                raise _refusal(code, reply, f"the recipient {recipient}")
            accepted.append(recipient)
        return accepted
    except smtplib.SMTPResponseException as exc:
        raise _refusal(exc.smtp_code, exc.smtp_error, "the session") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryableError(f"SMTP connection lost before the message was sent: {exc}") from exc


def send(ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
    message, sender, recipients = build_message(ctx.connection, inputs)
    client = open_session(ctx)
    try:
        accepted = _envelope(client, sender, recipients)
        try:
            code, reply = client.data(message.as_bytes(policy=policy.SMTP))
        except smtplib.SMTPResponseException as exc:  # DATA itself refused: nothing was sent
            raise _refusal(exc.smtp_code, exc.smtp_error, "the message") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableError(
                f"SMTP connection lost while sending the message; it may have been delivered: {exc}",
                outcome_unknown=True,
            ) from exc
        if code != 250:
            raise _refusal(code, reply, "the message")
    finally:
        _close(client)
    return {"message_id": message["Message-ID"], "accepted": accepted}


def check(ctx: Context) -> str:
    """Connect, secure, log in and say goodbye: proves host, port, security and credentials."""
    host, port, _security = _endpoint(ctx.connection)
    client = open_session(ctx)
    try:
        code, reply = client.noop()
        if code != 250:
            raise _refusal(code, reply, "NOOP")
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryableError(f"SMTP server {host}:{port} dropped the connection: {exc}") from exc
    finally:
        _close(client)
    return f"SMTP login to {host}:{port} succeeded"
