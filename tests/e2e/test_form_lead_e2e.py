"""A running hub turns Jotform webhook deliveries into leads in a CRM, one lead per submission.

Everything is real except the outside systems: `hub serve` in its own process, a stand-in Jotform
API on 127.0.0.1 (the hub registers and removes its webhook there), and a stand-in CRM that records
every lead POSTed to it. Jotform repeats deliveries (retries, double submits); the CRM must still
see each submission once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.connectors.jotform.fixtures import FORM_ID, KEY, delivery_fields, multipart
from tests.e2e.harness import HubProcess, wait_until

pytestmark = pytest.mark.e2e


class StandIn:
    """A tiny HTTP server on 127.0.0.1: the Jotform webhooks API and a CRM's /leads, recording calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.webhooks: list[str] = []
        self.leads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                with outer.lock:
                    outer.calls.append(
                        {"method": self.command, "path": path, "headers": dict(self.headers), "body": raw}
                    )
                    status, payload = outer.route(self.command, path, self.headers, raw)
                self._answer(status, payload)

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        hooks_path = f"/form/{FORM_ID}/webhooks"
        if path == "/leads" and method == "POST":
            self.leads.append({"body": json.loads(raw), "key": headers.get("Idempotency-Key")})
            return 201, {"id": f"lead-{len(self.leads)}"}
        if headers.get("APIKEY") != KEY:
            return 401, {"responseCode": 401, "message": "You're not authorized to use (/form-id-webhooks) "}
        if path == hooks_path and method == "GET":
            return 200, {"responseCode": 200, "message": "success", "content": dict(enumerate(self.webhooks))}
        if path == hooks_path and method == "POST":
            self.webhooks.append(parse_qs(raw.decode())["webhookURL"][0])
            return 200, {"responseCode": 200, "message": "success", "content": dict(enumerate(self.webhooks))}
        if path.startswith(hooks_path + "/") and method == "DELETE":
            del self.webhooks[int(path.rsplit("/", 1)[1])]
            return 200, {"responseCode": 200, "message": "success", "content": dict(enumerate(self.webhooks))}
        return 404, {"responseCode": 404, "message": "not found"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def runs(hub: HubProcess, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = requests.get(f"{hub.url}/api/v1/runs", headers=headers, params={"limit": 200}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["runs"]


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


def lead_recipe(crm_url: str) -> dict[str, Any]:
    return {
        "name": "Jotform lead -> CRM",
        "trigger": {
            "connector": "jotform",
            "trigger": "new_submission",
            "connection": "jotform-main",
            "config": {"form_id": FORM_ID},
        },
        "steps": [
            {
                "id": "lead",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{crm_url}/leads",
                    "json": {
                        "source": "jotform:{{ event.form_id }}",
                        "external_id": "{{ event.submission_id }}",
                        "name": "{{ event.answers.name.first }} {{ event.answers.name.last }}",
                        "email": "{{ event.answers.email }}",
                        "products": "{{ event.answers.products }}",
                        "note": "{{ event.answers.message }}",
                    },
                },
            }
        ],
    }


def test_each_submission_becomes_exactly_one_lead_even_when_jotform_repeats_it(
    tmp_path: Path, stand_in: StandIn
) -> None:
    hub = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    hub.start()
    try:
        headers = hub.admin_headers()
        connection = {
            "name": "jotform-main",
            "connector": "jotform",
            "config": {"api_key": KEY, "base_url": stand_in.url},
        }
        made = requests.post(f"{hub.url}/api/v1/connections", json=connection, headers=headers, timeout=10)
        assert made.status_code == 201, made.text
        created = requests.post(
            f"{hub.url}/api/v1/recipes", json=lead_recipe(stand_in.url), headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        hook = created.json()["webhook_url"]
        assert stand_in.webhooks == [hook]  # registered with "Jotform" on enable

        submissions = ["5931738482018634071", "5931738482018634072", "5931738482018634073"]
        answers = []
        for attempt in range(2):  # every delivery arrives twice
            for sid in submissions:
                body, ctype = multipart(delivery_fields(submission_id=sid))
                answer = requests.post(hook, data=body, headers={"Content-Type": ctype}, timeout=10)
                answers.append((attempt, answer.status_code))
        assert [status for attempt, status in answers if attempt == 0] == [202, 202, 202]
        assert [status for attempt, status in answers if attempt == 1] == [200, 200, 200]

        wait_until(lambda: len(stand_in.leads) >= 3, timeout_s=30, what="three leads")
        wait_until(
            lambda: [r["status"] for r in runs(hub, headers)] == ["succeeded"] * 3,
            timeout_s=30,
            what="three succeeded runs",
        )
        body, ctype = multipart(delivery_fields(submission_id=submissions[0]))
        late = requests.post(hook, data=body, headers={"Content-Type": ctype}, timeout=10)
        assert late.status_code == 200  # a retry long after the first delivery changes nothing
        time.sleep(1.0)
        assert sorted(lead["body"]["external_id"] for lead in stand_in.leads) == submissions
        assert len({lead["key"] for lead in stand_in.leads}) == 3
        assert stand_in.leads[0]["body"] == {
            "source": f"jotform:{FORM_ID}",
            "external_id": stand_in.leads[0]["body"]["external_id"],
            "name": "Li Lei",
            "email": "li.lei@example.com",
            "products": ["CRM", "ERP"],  # a template that is one expression keeps its type
            "note": "想了解企业版价格",
        }

        disabled = requests.post(
            f"{hub.url}/api/v1/recipes/{created.json()['id']}/disable", headers=headers, timeout=10
        )
        assert disabled.status_code == 200, disabled.text
        assert stand_in.webhooks == []  # removed from "Jotform" on disable
        deletes = [c for c in stand_in.calls if c["method"] == "DELETE"]
        assert [c["path"] for c in deletes] == [f"/form/{FORM_ID}/webhooks/0"]
    finally:
        hub.stop()
