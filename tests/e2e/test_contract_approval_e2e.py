"""Contract approval through a running hub: CRM webhook -> Feishu approval -> wait for approval ->
DocuSign envelope -> wait for signature -> Twilio SMS. Feishu, DocuSign and Twilio are local stand-ins
that check every request they get; their callbacks are encrypted and signed as the vendors do."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from connectors.docusign.signing import signature as docusign_signature
from tests.connectors.feishu.feishu_kit import approval_event, signed_body
from tests.e2e.harness import HubProcess, VendorStub, add_connections, only_run, run_step, wait_until

pytestmark = pytest.mark.e2e

FEISHU_APP = {"app_id": "cli_e2e0001", "app_secret": "feishu-app-secret"}
FEISHU_TOKEN, FEISHU_KEY = "verify-tok-e2e", "encrypt-key-e2e"
DS_ACCOUNT, DS_HMAC = "8f1c5e7a-0000-4000-8000-0000000000e2", "connect-hmac-key-e2e"
TW_SID, TW_TOKEN = "AC" + "e2" * 16, "twilio-auth-token-e2e"


def feishu(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    if path == "/open-apis/auth/v3/tenant_access_token/internal":
        assert method == "POST" and json.loads(body) == FEISHU_APP, "bad app credentials"
        return 200, {"code": 0, "msg": "ok", "tenant_access_token": "t-e2e-token", "expire": 7200}
    assert headers.get("authorization") == "Bearer t-e2e-token", "missing tenant token"
    if path == "/open-apis/approval/v4/approvals/APR-CONTRACT/subscribe" and method == "POST":
        return 200, {"code": 0, "msg": "success", "data": {}}
    if path == "/open-apis/approval/v4/instances" and method == "POST":
        sent = json.loads(body)
        assert sent["approval_code"] == "APR-CONTRACT" and sent["open_id"] == "ou_owner1"
        form = json.loads(sent["form"])  # Feishu takes the form as a JSON string
        assert form == [
            {"id": "contract_id", "type": "input", "value": "C-7"},
            {"id": "amount", "type": "amount", "value": "12800.50"},
        ], form
        assert len(sent["uuid"]) == 36
        return 200, {"code": 0, "msg": "success", "data": {"instance_code": "INS-C7"}}
    return 404, {"code": 1390001, "msg": f"no route {path}"}


def docusign(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    assert headers.get("authorization") == "Bearer ds-access-e2e", "missing OAuth token"
    if path == f"/restapi/v2.1/accounts/{DS_ACCOUNT}/envelopes" and method == "POST":
        sent = json.loads(body)
        assert sent["templateId"] == "TPL-CONTRACT" and sent["status"] == "sent"
        assert sent["templateRoles"] == [
            {"name": "Acme Ltd", "email": "legal@acme.example", "roleName": "Customer"}
        ]
        notification = sent["eventNotification"]
        assert notification["includeHMAC"] == "true" and notification["eventData"]["format"] == "json"
        assert notification["url"].startswith("http://127.0.0.1:") and "/hooks/" in notification["url"]
        return 201, {
            "envelopeId": "ENV-C7",
            "status": "sent",
            "statusDateTime": "2026-11-23T08:30:00Z",
            "uri": "/envelopes/ENV-C7",
        }
    return 404, {"errorCode": "NOT_FOUND", "message": f"no route {path}"}


def twilio(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    expected = "Basic " + base64.b64encode(f"{TW_SID}:{TW_TOKEN}".encode()).decode()
    assert headers.get("authorization") == expected, "bad basic auth"
    assert path == f"/2010-04-01/Accounts/{TW_SID}/Messages.json" and method == "POST"
    assert headers.get("content-type") == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(body.decode()))
    assert form == {
        "To": "+8613800000001",
        "From": "+15557122661",
        "Body": "Contract C-7 with Acme Ltd is signed (envelope ENV-C7).",
    }, form
    return 201, {
        "sid": "SM-e2e-1",
        "status": "queued",
        "to": form["To"],
        "from": form["From"],
        "num_segments": "1",
        "price": None,
        "error_code": None,
    }


def recipe(sign_url: str | None) -> dict[str, Any]:
    sign_input: dict[str, Any] = {
        "email_subject": "Please sign contract {{ event.contract.id }}",
        "template_id": "TPL-CONTRACT",
        "template_roles": [
            {
                "role_name": "Customer",
                "name": "{{ event.contract.customer }}",
                "email": "{{ event.contract.customer_email }}",
            }
        ],
        "status_events": ["envelope-completed"],
    }
    if sign_url:
        sign_input["status_webhook_url"] = sign_url
    approved = "{{ steps.approved.status == 'APPROVED' }}"
    return {
        "name": "Contract approval",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "contract.id"}},
        "steps": [
            {
                "id": "start",
                "connector": "feishu",
                "action": "create_approval_instance",
                "connection": "feishu-oa",
                "input": {
                    "approval_code": "APR-CONTRACT",
                    "open_id": "{{ event.contract.owner_open_id }}",
                    "form": [
                        {"id": "contract_id", "type": "input", "value": "{{ event.contract.id }}"},
                        {"id": "amount", "type": "amount", "value": "{{ event.contract.amount }}"},
                    ],
                },
            },
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "feishu",
                "trigger": "approval_status",
                "connection": "feishu-oa",
                "config": {"approval_code": "APR-CONTRACT"},
                "match": {"instance_code": "{{ steps.start.instance_code }}"},
                "timeout_s": 600,
            },
            {
                "id": "sign",
                "connector": "docusign",
                "action": "send_envelope",
                "connection": "docusign",
                "when": approved,
                "input": sign_input,
            },
            {
                "id": "signed",
                "type": "wait_for",
                "connector": "docusign",
                "trigger": "envelope_status",
                "connection": "docusign",
                "when": approved,
                "match": {"envelope_id": "{{ steps.sign.envelope_id }}", "status": "completed"},
                "timeout_s": 600,
            },
            {
                "id": "sms",
                "connector": "twilio",
                "action": "send_sms",
                "connection": "twilio",
                "when": approved,
                "input": {
                    "to": "{{ event.contract.owner_phone }}",
                    "from": "+15557122661",
                    "body": "Contract {{ event.contract.id }} with {{ event.contract.customer }} is signed "
                    "(envelope {{ steps.sign.envelope_id }}).",
                },
            },
        ],
    }


def test_contract_approval_flow_across_feishu_docusign_and_twilio(tmp_path: Path) -> None:
    stubs = {"feishu": VendorStub(feishu), "docusign": VendorStub(docusign), "twilio": VendorStub(twilio)}
    hub = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    hub.start()
    try:
        headers = hub.admin_headers()
        api = f"{hub.url}/api/v1"
        connections = [
            (
                "feishu-oa",
                "feishu",
                {
                    "base_url": stubs["feishu"].url,
                    **FEISHU_APP,
                    "verification_token": FEISHU_TOKEN,
                    "encrypt_key": FEISHU_KEY,
                },
            ),
            (
                "docusign",
                "docusign",
                {
                    "base_url": f"{stubs['docusign'].url}/restapi",
                    "client_id": "ik-e2e",
                    "client_secret": "cs-e2e",
                    "access_token": "ds-access-e2e",
                    "refresh_token": "ds-refresh-e2e",
                    "expires_at": int(time.time()) + 8 * 3600,
                    "account_id": DS_ACCOUNT,
                    "connect_hmac_keys": DS_HMAC,
                },
            ),
            (
                "twilio",
                "twilio",
                {"base_url": stubs["twilio"].url, "account_sid": TW_SID, "auth_token": TW_TOKEN},
            ),
        ]
        add_connections(api, headers, connections)
        created = requests.post(f"{api}/recipes", json=recipe(None), headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        recipe_id, waits = created.json()["id"], created.json()["wait_urls"]
        assert set(waits) == {"approved", "signed"}
        # DocuSign learns the hook URL per envelope (eventNotification): point it at the `signed` wait.
        updated = requests.put(
            f"{api}/recipes/{recipe_id}", json=recipe(waits["signed"]), headers=headers, timeout=10
        )
        assert updated.status_code == 200, updated.text
        assert updated.json().get("wait_urls", waits) == waits

        deal = {
            "contract": {
                "id": "C-7",
                "amount": "12800.50",
                "customer": "Acme Ltd",
                "customer_email": "legal@acme.example",
                "owner_open_id": "ou_owner1",
                "owner_phone": "+8613800000001",
            }
        }
        assert requests.post(created.json()["webhook_url"], json=deal, timeout=10).status_code == 202

        def run() -> dict[str, Any]:
            return only_run(api, headers, recipe_id)

        def step(name: str) -> dict[str, Any]:
            return run_step(run(), name)

        wait_until(lambda: step("approved").get("status") == "waiting", timeout_s=30, what="approval wait")
        assert step("start")["output"]["instance_code"] == "INS-C7"

        # Feishu: an encrypted, signed approval event to the wait's hook URL.
        event = approval_event(
            "INS-C7", "APPROVED", "ev-approve-1", FEISHU_TOKEN, approval_code="APR-CONTRACT"
        )
        body, signed = signed_body(FEISHU_KEY, event, str(int(time.time())))
        forged = dict(signed, **{"X-Lark-Signature": "0" * 64})
        assert requests.post(waits["approved"], data=body, headers=forged, timeout=10).status_code == 401
        answer = requests.post(waits["approved"], data=body, headers=signed, timeout=10)
        assert answer.status_code == 200, answer.text

        wait_until(lambda: step("signed").get("status") == "waiting", timeout_s=30, what="signature wait")
        [envelope_call] = stubs["docusign"].find(f"/restapi/v2.1/accounts/{DS_ACCOUNT}/envelopes")
        hook = json.loads(envelope_call["body"])["eventNotification"]["url"]
        assert hook == waits["signed"]

        # DocuSign Connect: first a delivered event (matches the envelope, not the status), then completed.
        def connect(event_name: str, status: str) -> requests.Response:
            message = json.dumps(
                {
                    "event": event_name,
                    "apiVersion": "v2.1",
                    "retryCount": 0,
                    "configurationId": 1,
                    "generatedDateTime": "2026-11-24T02:11:10.1234567Z",
                    "data": {
                        "accountId": DS_ACCOUNT,
                        "envelopeId": "ENV-C7",
                        "envelopeSummary": {"status": status, "envelopeId": "ENV-C7"},
                    },
                }
            ).encode()
            sig = {
                "Content-Type": "application/json",
                "X-DocuSign-Signature-1": docusign_signature(DS_HMAC, message),
                "X-Authorization-Digest": "HMACSHA256",
            }
            return requests.post(hook, data=message, headers=sig, timeout=10)

        assert connect("envelope-delivered", "delivered").status_code == 200
        time.sleep(0.5)
        assert step("signed")["status"] == "waiting" and not stubs["twilio"].calls
        assert connect("envelope-completed", "completed").status_code == 200
        assert connect("envelope-completed", "completed").status_code == 200  # Connect retry: no second SMS

        wait_until(lambda: run()["status"] == "succeeded", timeout_s=30, what="run to succeed")
        final = run()
        outputs = {s["id"]: s["output"] for s in final["steps"]}
        assert outputs["approved"]["status"] == "APPROVED"
        assert outputs["sign"]["envelope_id"] == "ENV-C7"
        assert outputs["signed"]["status"] == "completed"
        assert outputs["sms"]["sid"] == "SM-e2e-1"
        assert len(stubs["twilio"].calls) == 1 and len(stubs["docusign"].calls) == 1
        assert len(stubs["feishu"].find("/open-apis/approval/v4/instances")) == 1
        assert len(stubs["feishu"].find("/open-apis/approval/v4/approvals/APR-CONTRACT/subscribe")) == 1
        assert len(stubs["feishu"].find("/open-apis/auth/v3/tenant_access_token/internal")) == 1
        for stub in stubs.values():
            assert stub.errors == []
    finally:
        hub.stop()
        for stub in stubs.values():
            stub.close()
