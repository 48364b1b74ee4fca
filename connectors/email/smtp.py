"""send_email over SMTP: one message, STARTTLS/SSL, and an honest account of what may have been sent."""

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

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _no_newlines(field: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{field}: line breaks are not allowed (header injection)")
    return value


def addresses(field: str, value: Any) -> list[str]:
    """A list, a comma-separated string or one address; each checked, display names kept."""
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        text = _no_newlines(field, str(item))
        for name, addr in getaddresses([text]):
            if not _EMAIL.match(addr):
                raise PermanentError(f"{field}: '{addr or text}' is not an email address")
            out.append(str(Address(display_name=name, addr_spec=addr)) if name else addr)
    return out


def bare(address: str) -> str:
    return getaddresses([address])[0][1]


def build_message(connection: dict[str, Any], inputs: dict[str, Any]) -> tuple[EmailMessage, str, list[str]]:
    """The message, the envelope sender and every envelope recipient (Bcc ones have no header)."""
    sender = addresses("from", inputs.get("from") or connection.get("from"))
    if len(sender) != 1:
        raise PermanentError("from: exactly one sender address is needed (step input or connection)")
    to, cc, bcc = (addresses(f, inputs.get(f)) for f in ("to", "cc", "bcc"))
    if not (to or cc or bcc):
        raise PermanentError("to: at least one recipient is needed")
    if not inputs.get("text") and not inputs.get("html"):
        raise PermanentError("text / html: give a text body, an HTML body, or both")
    message = EmailMessage()
    message["Subject"] = _no_newlines("subject", str(inputs.get("subject") or ""))
    message["From"] = sender[0]
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    reply_to = addresses("reply_to", inputs.get("reply_to"))
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=bare(sender[0]).split("@")[1])
    if inputs.get("text"):
        message.set_content(str(inputs["text"]), cte="quoted-printable")
        if inputs.get("html"):
            message.add_alternative(str(inputs["html"]), subtype="html", cte="quoted-printable")
    else:
        message.set_content(str(inputs["html"]), subtype="html", cte="quoted-printable")
    return message, bare(sender[0]), [bare(a) for a in to + cc + bcc]


def _refusal(exc: smtplib.SMTPResponseException, stage: str) -> Exception:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    message = f"SMTP server refused {stage}: {exc.smtp_code} {text}"
    if 400 <= exc.smtp_code < 500:
        return RetryableError(message, vendor_code=str(exc.smtp_code))
    return PermanentError(message, vendor_code=str(exc.smtp_code))


def open_session(ctx: Context) -> smtplib.SMTP:
    """Connected, secured and logged in."""
    conn = ctx.connection
    security = conn.get("security") or "starttls"
    host, port = str(conn["host"]), int(conn.get("port") or (465 if security == "ssl" else 587))
    try:
        client = pinning.smtp_client(host, port, security, ctx.timeout_s, ctx.allow_private_network)
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryableError(f"cannot connect to SMTP server {host}:{port}: {exc}") from exc
    try:
        if security == "starttls":
            client.starttls(context=pinning.tls_context())
        if conn.get("username"):
            client.login(str(conn["username"]), str(conn.get("password") or ""))
    except smtplib.SMTPAuthenticationError as exc:
        client.close()
        raise AuthError(
            f"SMTP login to {host}:{port} refused: {exc.smtp_code}", vendor_code=str(exc.smtp_code)
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        client.close()
        raise PermanentError(
            f"SMTP server {host}:{port} does not support {security.upper()} or AUTH: {exc}"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise RetryableError(f"SMTP handshake with {host}:{port} failed: {exc}") from exc
    return client


def send(ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
    message, sender, recipients = build_message(ctx.connection, inputs)
    client = open_session(ctx)
    try:
        try:
            client.ehlo_or_helo_if_needed()
            code, reply = client.mail(sender, ["SMTPUTF8"] if not sender.isascii() else [])
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            accepted = []
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code in (250, 251):
                    accepted.append(recipient)
                elif code >= 500:
                    text = reply.decode("utf-8", "replace")
                    raise PermanentError(
                        f"SMTP server refused recipient {recipient}: {code} {text}", vendor_code=str(code)
                    )
                else:
                    raise RetryableError(
                        f"SMTP server deferred recipient {recipient}: {code}", vendor_code=str(code)
                    )
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc, "the sender") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise RetryableError(f"SMTP connection lost before the message was sent: {exc}") from exc
        try:
            code, reply = client.data(message.as_bytes(policy=policy.SMTP))
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc, "the message") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise RetryableError(
                f"SMTP connection lost while sending the message; it may have been delivered: {exc}",
                outcome_unknown=True,
            ) from exc
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return {"message_id": message["Message-ID"], "accepted": accepted}
