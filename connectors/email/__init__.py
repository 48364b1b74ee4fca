"""The `email` connector: send mail over SMTP, and start recipes from new mail in an IMAP folder.

SMTP and IMAP are not HTTP, so `auth` stays the base Auth(): the server, login and password are
plain connection fields, and the connector applies the network guard itself (see pinning.py).
"""

from __future__ import annotations

from typing import Any

from connectors.email import imap, smtp
from hub.sdk.auth import secret_field
from hub.sdk.connector import Action, Connector, PollingTrigger
from hub.sdk.context import Context
from hub.sdk.types import PollResult

_ADDRESSES = {
    "oneOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
        {"type": "null"},
    ],
    "description": "An address, a list, or a comma-separated string; display names allowed.",
}
_OPTIONAL_TEXT = {"type": ["string", "null"]}


class SendEmail(Action):
    key = "send_email"
    title = "Send an email"
    description = "One message over SMTP: text and/or HTML, cc, bcc, reply-to."
    repeat_safe = False  # SMTP has no idempotency key: an unknown outcome is held for a person
    input_schema = {
        "type": "object",
        "required": ["to", "subject"],
        "additionalProperties": False,
        "properties": {
            "to": {**_ADDRESSES, "title": "To"},
            "cc": {**_ADDRESSES, "title": "Cc"},
            "bcc": {**_ADDRESSES, "title": "Bcc", "description": "Receive the mail; not shown in headers."},
            "reply_to": {**_ADDRESSES, "title": "Reply-To"},
            "from": {**_OPTIONAL_TEXT, "title": "From", "description": "Overrides the connection's sender."},
            "subject": {"type": "string", "title": "Subject"},
            "text": {**_OPTIONAL_TEXT, "title": "Text body"},
            "html": {
                **_OPTIONAL_TEXT,
                "title": "HTML body",
                "description": "With text: multipart/alternative.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["message_id", "accepted"],
        "properties": {
            "message_id": {"type": "string", "description": "The Message-ID header, with angle brackets."},
            "accepted": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Envelope recipients the server accepted (to, cc and bcc).",
            },
        },
    }
    sample_output = {
        "message_id": "<176391120412.4021.9813377@example.com>",
        "accepted": ["li.lei@example.com", "finance@example.com"],
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return smtp.send(ctx, inputs)


_STRINGS = {"type": "array", "items": {"type": "string"}}


class NewEmail(PollingTrigger):
    key = "new_email"
    title = "New email in a folder"
    description = "Polls an IMAP folder by UID without marking mail read; each new message starts one run."
    default_interval_s = 120
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "folder": {"type": "string", "default": "INBOX", "title": "Folder"},
            "search": {
                "type": "string",
                "default": "ALL",
                "title": "IMAP search",
                "description": 'IMAP SEARCH keys, e.g. UNSEEN or FROM "crm@example.com" SUBJECT "invoice".',
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": [
            "uid",
            "message_id",
            "from",
            "to",
            "cc",
            "subject",
            "date",
            "text",
            "html",
            "attachments",
        ],
        "properties": {
            "uid": {"type": "integer"},
            "message_id": {"type": "string"},
            "from": {"type": "string", "description": "As written, e.g. Li Lei <li.lei@example.com>."},
            "to": _STRINGS,
            "cc": _STRINGS,
            "subject": {"type": "string"},
            "date": {"type": ["string", "null"], "format": "date-time", "description": "ISO-8601, UTC."},
            "text": {"type": ["string", "null"]},
            "html": {"type": ["string", "null"]},
            "attachments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "filename": {"type": ["string", "null"]},
                        "content_type": {"type": "string"},
                        "size": {"type": "integer", "description": "Bytes, decoded."},
                    },
                },
            },
        },
    }
    sample = {
        "uid": 4021,
        "message_id": "<CAF=7xQ2k@mail.example.com>",
        "from": "Li Lei <li.lei@example.com>",
        "to": ["sales@example.com"],
        "cc": [],
        "subject": "合同续签 / Contract renewal C-88",
        "date": "2026-01-05T02:30:00+00:00",
        "text": "Please renew contract C-88 before the end of the month.",
        "html": None,
        "attachments": [{"filename": "C-88.pdf", "content_type": "application/pdf", "size": 48213}],
    }

    def check_config(self, config: dict[str, Any]) -> None:
        imap.check_config(config)

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        return imap.poll(ctx, config, cursor)


_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}


class EmailConnector(Connector):
    id = "email"
    name = "Email"
    category = "communication"
    description = "Send mail through any SMTP server; start recipes from new mail over IMAP."
    icon = "mail"
    docs_url = "docs/connectors/email.md"
    connection_fields = {
        "host": {"type": "string", "title": "SMTP host", "examples": ["smtp.qq.com"], "x-host": True},
        "port": {**_PORT, "title": "SMTP port", "default": 587},
        "security": {
            "type": "string",
            "enum": ["starttls", "ssl", "none"],
            "default": "starttls",
            "title": "SMTP security",
            "description": "starttls on 587, ssl (implicit TLS) on 465; none only inside a trusted network.",
        },
        "username": {"type": "string", "title": "Username", "description": "Used for SMTP and IMAP."},
        "password": secret_field(
            "Password", "An app password or authorization code where the provider needs one."
        ),
        "from": {"type": "string", "title": "Default sender", "examples": ["Ops <ops@example.com>"]},
        "imap_host": {
            "x-host": True,
            "type": "string",
            "title": "IMAP host",
            "description": "For the new_email trigger; the SMTP host when empty.",
        },
        "imap_port": {**_PORT, "title": "IMAP port", "default": 993},
        "imap_security": {
            "type": "string",
            "enum": ["ssl", "starttls", "none"],
            "default": "ssl",
            "title": "IMAP security",
        },
    }
    connection_required = ["host", "from"]
    triggers = (NewEmail,)
    actions = (SendEmail,)

    def test_connection(self, ctx: Context) -> str:
        message = smtp.check(ctx)
        if ctx.connection.get("imap_host"):
            message = f"{message}; {imap.check(ctx)}"
        return message


connector = EmailConnector()
