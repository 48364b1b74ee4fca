"""A form lead through a running hub: a signed Typeform delivery -> Salesforce upsert of the Lead by
email (its stale session refreshed on the way) -> a welcome email over real SMTP. Typeform and
Salesforce are stand-ins on 127.0.0.1 that check exactly what they receive; enabling the recipe
registers the webhook with the Typeform one, disabling it removes it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from aiosmtpd.controller import Controller

from connectors.typeform.signing import signature
from tests.e2e.harness import HubProcess, runs, wait_until
from tests.e2e.standins import Mailbox

pytestmark = pytest.mark.e2e

Route = Callable[[dict[str, Any]], tuple[int, Any]]


class StandIn:
    """A vendor stand-in: records every request and answers through `route`."""

    def __init__(self, route: Route) -> None:
        self.requests: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers), "raw": raw}
                is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
                seen["json"] = json.loads(raw) if raw and is_json else None
                stand_in.requests.append(seen)
                status, payload = route(seen)
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TYPEFORM_TOKEN = "tfp_e2e_personal"
SF_TOKEN = "00Dxx0000001gPL!e2e-access"
LEAD_PATH = "/services/data/v60.0/sobjects/Lead/External_Email__c/li.lei%40example.com"


def typeform_route(seen: dict[str, Any]) -> tuple[int, Any]:
    if seen["headers"].get("Authorization") != f"Bearer {TYPEFORM_TOKEN}":
        return 401, {"code": "AUTHENTICATION_FAILED", "description": "bad token"}
    if seen["path"] == "/forms/lT4Z3j/webhooks/crm-leads" and seen["method"] == "PUT":
        return 200, {"id": "yRtagDm8AT", "form_id": "lT4Z3j", "tag": "crm-leads", **seen["json"]}
    if seen["path"] == "/forms/lT4Z3j/webhooks/crm-leads" and seen["method"] == "DELETE":
        return 204, None
    return 404, {"code": "NOT_FOUND", "description": f"no route {seen['path']}"}


def salesforce_route(seen: dict[str, Any]) -> tuple[int, Any]:
    if seen["method"] == "POST" and seen["path"] == "/services/oauth2/token":
        form = parse_qs(seen["raw"].decode())
        expected = {
            "grant_type": ["refresh_token"],
            "refresh_token": ["5Aep861e2e"],
            "client_id": ["3MVG9e2e"],
            "client_secret": ["e2e-client-secret"],
        }
        if form != expected:
            return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        # Salesforce answers with the org's instance URL, which the hub keeps (token_fields)
        instance = f"http://{seen['headers']['Host']}"
        return 200, {"access_token": SF_TOKEN, "instance_url": instance, "token_type": "Bearer"}
    if seen["headers"].get("Authorization") != f"Bearer {SF_TOKEN}":
        return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    if seen["method"] == "PATCH" and seen["path"] == LEAD_PATH:
        return 201, {"id": "00Q5g00000E2eLdAAB", "success": True, "errors": [], "created": True}
    return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def form_delivery() -> dict[str, Any]:
    def text(ref: str, value: str) -> dict[str, Any]:
        return {"type": "text", "text": value, "field": {"id": f"id_{ref}", "type": "short_text", "ref": ref}}

    return {
        "event_id": "01JD8E2E5TYPEFORM000000001",
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "e2etoken0000000000000000000001",
            "landed_at": "2026-11-23T09:15:02Z",
            "submitted_at": "2026-11-23T09:16:40Z",
            "hidden": {"utm_source": "newsletter"},
            "definition": {"id": "lT4Z3j", "title": "Contact us", "fields": []},
            "answers": [
                text("first_name", "Lei"),
                text("last_name", "Li"),
                text("company", "Acme Trading"),
                {
                    "type": "email",
                    "email": "li.lei@example.com",
                    "field": {"id": "id_email", "type": "email", "ref": "email"},
                },
                {
                    "type": "number",
                    "number": 12,
                    "field": {"id": "id_seats", "type": "number", "ref": "seats"},
                },
            ],
        },
    }


def recipe() -> dict[str, Any]:
    return {
        "name": "Typeform lead -> Salesforce -> welcome",
        "trigger": {
            "connector": "typeform",
            "trigger": "form_response",
            "connection": "typeform",
            "config": {"form_id": "lT4Z3j", "tag": "crm-leads"},
        },
        "steps": [
            {
                "id": "lead",
                "connector": "salesforce",
                "action": "upsert_record",
                "connection": "salesforce",
                "input": {
                    "sobject": "Lead",
                    "external_id_field": "External_Email__c",
                    "external_id": "{{ event.fields.email }}",
                    "fields": {
                        "FirstName": "{{ event.fields.first_name }}",
                        "LastName": "{{ event.fields.last_name }}",
                        "Company": "{{ event.fields.company }}",
                        "Email": "{{ event.fields.email }}",
                        "NumberOfEmployees": "{{ event.fields.seats }}",
                        "LeadSource": "Typeform ({{ event.hidden.utm_source }})",
                    },
                },
            },
            {
                "id": "welcome",
                "connector": "email",
                "action": "send_email",
                "connection": "smtp",
                "input": {
                    "to": "{{ event.fields.email }}",
                    "subject": "Welcome, {{ event.fields.first_name }}!",
                    "text": "Thanks for getting in touch. Your reference: {{ steps.lead.id }}",
                },
            },
        ],
    }


@pytest.fixture
def servers() -> Iterator[tuple[StandIn, StandIn, Mailbox, int]]:
    typeform, salesforce, mailbox = StandIn(typeform_route), StandIn(salesforce_route), Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield typeform, salesforce, mailbox, port
    smtp.stop()
    typeform.close()
    salesforce.close()


def test_typeform_response_upserts_the_lead_and_sends_a_welcome(
    tmp_path: Path, servers: tuple[StandIn, StandIn, Mailbox, int]
) -> None:
    typeform, salesforce, mailbox, smtp_port = servers
    hub = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    hub.start()
    try:
        headers = hub.admin_headers()
        api = f"{hub.url}/api/v1"
        connections = [
            {
                "name": "typeform",
                "connector": "typeform",
                "config": {"personal_token": TYPEFORM_TOKEN, "base_url": typeform.url},
            },
            {
                "name": "salesforce",
                "connector": "salesforce",
                "config": {
                    "instance_url": salesforce.url,
                    "client_id": "3MVG9e2e",
                    "client_secret": "e2e-client-secret",
                    "access_token": "00Dxx0000001gPL!stale-session",  # Salesforce answers INVALID_SESSION_ID
                    "refresh_token": "5Aep861e2e",
                    "token_url": f"{salesforce.url}/services/oauth2/token",
                },
            },
            {
                "name": "smtp",
                "connector": "email",
                "config": {
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "security": "none",
                    "from": "Acme <hello@acme.example>",
                },
            },
        ]
        for connection in connections:
            made = requests.post(f"{api}/connections", json=connection, headers=headers, timeout=10)
            assert made.status_code == 201, made.text

        created = requests.post(f"{api}/recipes", json=recipe(), headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        assert not created.json().get("warnings"), created.json()
        hook = created.json()["webhook_url"]

        [registration] = typeform.requests
        assert (registration["method"], registration["path"]) == ("PUT", "/forms/lT4Z3j/webhooks/crm-leads")
        assert registration["headers"]["Content-Type"] == "application/json"
        secret = registration["json"]["secret"]
        assert registration["json"] == {
            "url": hook,
            "enabled": True,
            "secret": secret,
            "verify_ssl": True,
            "event_types": {"form_response": True},
        }
        assert len(secret) >= 40

        body = json.dumps(form_delivery()).encode()
        signed = {"Content-Type": "application/json", "Typeform-Signature": signature(secret, body)}
        tampered = body.replace(b"Acme Trading", b"Evil Corp")
        refused = requests.post(hook, data=tampered, headers=signed, timeout=10)
        assert refused.status_code == 401, refused.text
        accepted = requests.post(hook, data=body, headers=signed, timeout=10)
        assert accepted.status_code == 202, accepted.text
        replayed = requests.post(hook, data=body, headers=signed, timeout=10)
        assert replayed.status_code == 200 and replayed.json()["event_id"] == accepted.json()["event_id"]

        wait_until(lambda: len(mailbox.messages) >= 1, timeout_s=30, what="the welcome email")
        wait_until(
            lambda: [r["status"] for r in runs(hub, headers)] == ["succeeded"], timeout_s=30, what="run done"
        )

        # stale session -> 401 INVALID_SESSION_ID -> the hub refreshes at token_url -> the upsert again
        stale, refresh, upsert = salesforce.requests
        assert (stale["method"], stale["path"], stale["json"]) == ("PATCH", LEAD_PATH, upsert["json"])
        assert (refresh["method"], refresh["path"]) == ("POST", "/services/oauth2/token")
        assert (upsert["method"], upsert["path"]) == ("PATCH", LEAD_PATH)
        assert upsert["headers"]["Authorization"] == f"Bearer {SF_TOKEN}"
        assert upsert["headers"]["Content-Type"] == "application/json"
        assert upsert["json"] == {
            "FirstName": "Lei",
            "LastName": "Li",
            "Company": "Acme Trading",
            "Email": "li.lei@example.com",
            "NumberOfEmployees": 12,
            "LeadSource": "Typeform (newsletter)",
        }

        [envelope] = mailbox.messages
        assert envelope.rcpt_tos == ["li.lei@example.com"] and envelope.mail_from == "hello@acme.example"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert message["Subject"] == "Welcome, Lei!"
        assert "Your reference: 00Q5g00000E2eLdAAB" in message.get_body(("plain",)).get_content()

        [run] = runs(hub, headers)
        assert run["event"]["fields"]["email"] == "li.lei@example.com"

        disabled = requests.post(f"{api}/recipes/{created.json()['id']}/disable", headers=headers, timeout=10)
        assert disabled.status_code == 200, disabled.text
        assert [(r["method"], r["path"]) for r in typeform.requests[1:]] == [
            ("DELETE", "/forms/lT4Z3j/webhooks/crm-leads")
        ]
        assert requests.post(hook, data=body, headers=signed, timeout=10).status_code == 404
    finally:
        hub.stop()
