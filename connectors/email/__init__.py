"""The `email` connector: send mail over SMTP, and start recipes from new mail in an IMAP folder."""

from __future__ import annotations

from typing import Any

from connectors.email import imap, smtp
from hub.sdk.auth import secret_field
from hub.sdk.connector import Action, Connector, PollingTrigger
from hub.sdk.context import Context
from hub.sdk.types import PollResult

ADDRESSES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


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
            "to": {**ADDRESSES, "title": "To"},
            "cc": {**ADDRESSES, "title": "Cc"},
            "bcc": {**ADDRESSES, "title": "Bcc"},
            "reply_to": {**ADDRESSES, "title": "Reply-To"},
            "from": {"type": "string", "title": "From (overrides the connection's)"},
            "subject": {"type": "string", "title": "Subject"},
            "text": {"type": "string", "title": "Text body"},
            "html": {"type": "string", "title": "HTML body"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "message_id": {"type": "string"},
            "accepted": {"type": "array", "items": {"type": "string"}},
        },
    }
    sample_output = {"message_id": "<170000000000.1.1@example.com>", "accepted": ["owner@example.com"]}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return smtp.send(ctx, inputs)


class NewEmail(PollingTrigger):
    key = "new_email"
    title = "New email in a folder"
    description = "Polls an IMAP folder by UID; each new message starts a run once."
    default_interval_s = 120
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "folder": {"type": "string", "default": "INBOX", "title": "Folder"},
            "search": {"type": "string", "default": "ALL", "title": 'IMAP search (e.g. UNSEEN FROM "crm@")'},
        },
    }
    sample = {
        "uid": 4021,
        "message_id": "<CAF=abc@mail.example.com>",
        "from": "Li Lei <li.lei@example.com>",
        "to": ["sales@example.com"],
        "cc": [],
        "subject": "合同续签 / Contract renewal",
        "date": "2026-01-05T02:30:00+00:00",
        "text": "Please renew contract C-88.",
        "html": None,
        "attachments": [{"filename": "C-88.pdf", "content_type": "application/pdf", "size": 48213}],
    }

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        return imap.poll(ctx, config, cursor)


class EmailConnector(Connector):
    id = "email"
    name = "Email"
    category = "communication"
    description = "Send mail through any SMTP server; start recipes from new mail over IMAP."
    icon = "mail"
    docs_url = "docs/connectors/email.md"
    connection_fields = {
        "host": {"type": "string", "title": "SMTP host"},
        "port": {"type": "integer", "title": "SMTP port", "default": 587, "minimum": 1, "maximum": 65535},
        "security": {"enum": ["starttls", "ssl", "none"], "default": "starttls", "title": "SMTP security"},
        "username": {"type": "string", "title": "Username"},
        "password": secret_field("Password", "An app password where the provider requires one."),
        "from": {"type": "string", "title": "Default sender", "examples": ["Ops <ops@example.com>"]},
        "imap_host": {"type": "string", "title": "IMAP host"},
        "imap_port": {
            "type": "integer",
            "title": "IMAP port",
            "default": 993,
            "minimum": 1,
            "maximum": 65535,
        },
        "imap_security": {"enum": ["ssl", "starttls", "none"], "default": "ssl", "title": "IMAP security"},
    }
    connection_required = ["host", "from"]
    triggers = (NewEmail,)
    actions = (SendEmail,)

    def test_connection(self, ctx: Context) -> str:
        client = smtp.open_session(ctx)
        client.quit()
        return f"SMTP login to {ctx.connection['host']}:{ctx.connection.get('port') or 587} succeeded"


connector = EmailConnector()
