"""A deal closes through a running hub: Zoho CRM notifies that a deal reached stage "Contract" ->
企业微信 approval (the run waits for WeCom's encrypted callback) -> on approval a 法大大 sign task
(the run waits for FASC's signed callback) -> on signing the Zoho deal is updated. Zoho, WeCom and
FASC are stand-ins on 127.0.0.1 that check every request; callbacks are encrypted and signed as the
vendors do, and forged ones are refused without starting anything."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.connectors.fadada.fadada_kit import APP_ID, APP_SECRET, finished, signed_callback
from tests.connectors.wecom.wecom_kit import (
    AES_KEY,
    CORP_ID,
    TOKEN,
    approval_xml,
    signed_post,
    verify_url_query,
)
from tests.e2e.harness import HubProcess, VendorStub, add_connections, only_run, run_step, wait_until

pytestmark = pytest.mark.e2e

DEAL = "5725767000000524157"


def zoho(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    assert headers.get("authorization") == "Zoho-oauthtoken zoho-at-e2e", "missing Zoho-oauthtoken"
    route = urlsplit(path).path
    if route == "/crm/v7/actions/watch" and method == "POST":
        [watch] = json.loads(body)["watch"]
        assert watch["events"] == ["Deals.edit"] and watch["return_affected_field_values"] is True
        assert "/hooks/" in watch["notify_url"] and len(watch["token"]) <= 50
        return 200, {
            "watch": [{"code": "SUCCESS", "details": {"events": []}, "message": "ok", "status": "success"}]
        }
    if route == f"/crm/v7/Deals/{DEAL}" and method == "GET":
        return 200, {
            "data": [
                {
                    "id": DEAL,
                    "Deal_Name": "Acme renewal",
                    "Stage": "Contract",
                    "Amount": "12800.50",
                    "Account_Name": {"name": "Acme Ltd", "id": "1"},
                    "Contact_Mobile": "13800000001",
                }
            ]
        }
    if route == f"/crm/v7/Deals/{DEAL}" and method == "PUT":
        sent = json.loads(body)
        assert sent == {
            "data": [{"Stage": "Closed Won", "Description": "Signed: 法大大 task ST-7"}],
            "trigger": [],
        }, sent
        return 200, {
            "data": [{"code": "SUCCESS", "details": {"id": DEAL}, "message": "updated", "status": "success"}]
        }
    return 404, {"code": "INVALID_URL_PATTERN", "message": f"no route {method} {route}", "status": "error"}


def wecom(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    route, query = urlsplit(path).path, dict(parse_qsl(urlsplit(path).query))
    if route == "/cgi-bin/gettoken":
        assert query == {"corpid": CORP_ID, "corpsecret": "wecom-secret-e2e"}, query
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": "wecom-tok-e2e", "expires_in": 7200}
    assert query.get("access_token") == "wecom-tok-e2e", "missing access_token"
    if route == "/cgi-bin/oa/applyevent" and method == "POST":
        sent = json.loads(body)
        assert sent["creator_userid"] == "WangXiaoMing" and sent["template_id"] == "TPL-CONTRACT"
        assert sent["apply_data"]["contents"] == [
            {"control": "Text", "id": "Text-1", "value": {"text": "Acme renewal"}},
            {"control": "Money", "id": "Money-2", "value": {"new_money": "12800.50"}},
        ], sent
        return 200, {"errcode": 0, "errmsg": "ok", "sp_no": "202611240007"}
    return 200, {"errcode": 404, "errmsg": f"no route {route}"}


def fadada(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    assert headers.get("x-fasc-app-id") == APP_ID and headers.get("x-fasc-sign"), "unsigned request"
    route = urlsplit(path).path
    if route == "/api/v5/service/get-access-token":
        assert headers.get("x-fasc-grant-type") == "client_credential"
        return 200, {
            "code": "100000",
            "msg": "success",
            "data": {"accessToken": "fdd-tok-e2e", "expiresIn": 7200},
        }
    assert headers.get("x-fasc-accesstoken") == "fdd-tok-e2e", "missing access token"
    if route == "/api/v5/sign-task/create" and method == "POST":
        biz = json.loads(dict(parse_qsl(body.decode()))["bizContent"])
        assert biz["signTaskSubject"] == "合同 Acme renewal" and biz["transReferenceId"] == DEAL
        assert biz["actors"][0]["actor"]["actorName"] == "Acme Ltd", biz
        return 200, {"code": "100000", "msg": "success", "data": {"signTaskId": "ST-7"}}
    return 200, {"code": "210001", "msg": f"no route {route}"}


def recipe() -> dict[str, Any]:
    approved = "{{ steps.approved.status == 'approved' }}"
    return {
        "name": "Deal to contract",
        "trigger": {
            "connector": "zoho_crm",
            "trigger": "record_notification",
            "connection": "zoho",
            "config": {"module": "Deals", "operations": ["edit"]},
        },
        "steps": [
            {
                "id": "deal",
                "connector": "zoho_crm",
                "action": "get_record",
                "connection": "zoho",
                "input": {"module": "Deals", "id": "{{ event.id }}"},
            },
            {
                "id": "start",
                "connector": "wecom",
                "action": "start_approval",
                "connection": "wecom",
                "when": "{{ steps.deal.Stage == 'Contract' }}",
                "input": {
                    "creator_userid": "WangXiaoMing",
                    "template_id": "TPL-CONTRACT",
                    "contents": [
                        {"control": "Text", "id": "Text-1", "value": "{{ steps.deal.Deal_Name }}"},
                        {"control": "Money", "id": "Money-2", "value": "{{ steps.deal.Amount }}"},
                    ],
                },
            },
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "wecom",
                "trigger": "approval_status",
                "connection": "wecom",
                "when": "{{ steps.deal.Stage == 'Contract' }}",
                "match": {"sp_no": "{{ steps.start.sp_no }}"},
                "timeout_s": 600,
            },
            {
                "id": "sign",
                "connector": "fadada",
                "action": "create_sign_task",
                "connection": "fdd",
                "when": approved,
                "input": {
                    "subject": "合同 {{ steps.deal.Deal_Name }}",
                    "trans_reference_id": "{{ steps.deal.id }}",
                    "docs": [{"doc_id": "contract", "doc_name": "合同.pdf", "file_id": "F-CONTRACT"}],
                    "actors": [
                        {
                            "actor_id": "customer",
                            "actor_type": "corp",
                            "actor_name": "{{ steps.deal.Account_Name.name }}",
                            "account_name": "{{ steps.deal.Contact_Mobile }}",
                        }
                    ],
                },
            },
            {
                "id": "signed",
                "type": "wait_for",
                "connector": "fadada",
                "trigger": "task_status",
                "connection": "fdd",
                "when": approved,
                "match": {"sign_task_id": "{{ steps.sign.sign_task_id }}", "status": "task_finished"},
                "timeout_s": 600,
            },
            {
                "id": "won",
                "connector": "zoho_crm",
                "action": "update_record",
                "connection": "zoho",
                "when": approved,
                "input": {
                    "module": "Deals",
                    "id": "{{ steps.deal.id }}",
                    "fields": {
                        "Stage": "Closed Won",
                        "Description": "Signed: 法大大 task {{ steps.sign.sign_task_id }}",
                    },
                },
            },
        ],
    }


def test_zoho_deal_to_wecom_approval_to_fadada_signature_to_zoho_update(tmp_path: Path) -> None:
    stubs = {"zoho": VendorStub(zoho), "wecom": VendorStub(wecom), "fadada": VendorStub(fadada)}
    hub = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    hub.start()
    try:
        headers = hub.admin_headers()
        api = f"{hub.url}/api/v1"
        connections = [
            (
                "zoho",
                "zoho_crm",
                {
                    "base_url": stubs["zoho"].url,
                    "data_center": "cn",
                    "client_id": "1000.E2E",
                    "client_secret": "zoho-cs-e2e",
                    "access_token": "zoho-at-e2e",
                    "refresh_token": "zoho-rt-e2e",
                    "expires_at": int(time.time()) + 3600,
                },
            ),
            (
                "wecom",
                "wecom",
                {
                    "base_url": stubs["wecom"].url,
                    "corp_id": CORP_ID,
                    "corp_secret": "wecom-secret-e2e",
                    "agent_id": 1000002,
                    "callback_token": TOKEN,
                    "callback_aes_key": AES_KEY,
                },
            ),
            (
                "fdd",
                "fadada",
                {
                    "base_url": f"{stubs['fadada'].url}/api/v5",
                    "app_id": APP_ID,
                    "app_secret": APP_SECRET,
                    "open_corp_id": "corp-open-e2e",
                },
            ),
        ]
        add_connections(api, headers, connections)
        created = requests.post(f"{api}/recipes", json=recipe(), headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        recipe_id, hook, waits = (
            created.json()["id"],
            created.json()["webhook_url"],
            created.json()["wait_urls"],
        )
        assert set(waits) == {"approved", "signed"}

        wait_until(
            lambda: bool(stubs["zoho"].find("/crm/v7/actions/watch")), timeout_s=30, what="watch channel"
        )
        [watch_call] = stubs["zoho"].find("/crm/v7/actions/watch")
        [watch] = json.loads(watch_call["body"])["watch"]
        assert watch["notify_url"] == hook

        def notify(token: str) -> requests.Response:
            body = {
                "server_time": 1763960000000,
                "query_params": {},
                "module": "Deals",
                "resource_uri": f"{stubs['zoho'].url}/crm/v7/Deals",
                "ids": [DEAL],
                "affected_fields": [{"record_id": DEAL, "fields": ["Stage"]}],
                "affected_values": [{"record_id": DEAL, "values": {"Stage": "Contract"}}],
                "operation": "update",
                "channel_id": str(watch["channel_id"]),
                "token": token,
            }
            return requests.post(hook, json=body, timeout=10)

        assert notify("not-the-channel-token").status_code == 401
        assert notify(watch["token"]).status_code == 202

        def run() -> dict[str, Any]:
            return only_run(api, headers, recipe_id)

        def step(name: str) -> dict[str, Any]:
            return run_step(run(), name)

        wait_until(lambda: step("approved").get("status") == "waiting", timeout_s=30, what="approval wait")
        assert step("start")["output"] == {"sp_no": "202611240007"}

        # WeCom checks the wait's URL first (GET with echostr), then sends the encrypted event.
        echo = requests.get(f"{waits['approved']}?{verify_url_query('5927782489442352469')}", timeout=10)
        assert echo.status_code == 200 and echo.text == "5927782489442352469"
        forged_q, forged_b = signed_post(approval_xml("202611240007", 2), token="forged-token")
        assert requests.post(f"{waits['approved']}?{forged_q}", data=forged_b, timeout=10).status_code == 401
        time.sleep(0.5)
        assert step("approved")["status"] == "waiting" and not stubs["fadada"].calls
        query, body = signed_post(approval_xml("202611240007", 2))
        answer = requests.post(
            f"{waits['approved']}?{query}", data=body, headers={"Content-Type": "text/xml"}, timeout=10
        )
        assert answer.status_code == 200, answer.text

        wait_until(lambda: step("signed").get("status") == "waiting", timeout_s=30, what="signature wait")
        assert step("sign")["output"] == {"sign_task_id": "ST-7"}

        # 法大大: a forged callback, one about a signer (not the status waited for), then the finish.
        fdd_headers, fdd_body = signed_callback("sign-task-finished", finished("ST-7"))
        forged_headers = {**fdd_headers, "X-FASC-Sign": "0" * 64}
        assert (
            requests.post(waits["signed"], data=fdd_body, headers=forged_headers, timeout=10).status_code
            == 401
        )
        signer_headers, signer_body = signed_callback("sign-task-signed", finished("ST-7", "sign_progress"))
        assert requests.post(
            waits["signed"], data=signer_body, headers=signer_headers, timeout=10
        ).json() == {"msg": "success"}
        time.sleep(0.5)
        assert step("signed")["status"] == "waiting" and not [
            c for c in stubs["zoho"].calls if c["method"] == "PUT"
        ]
        done = requests.post(waits["signed"], data=fdd_body, headers=fdd_headers, timeout=10)
        assert done.status_code == 200 and done.json() == {"msg": "success"}
        again = requests.post(waits["signed"], data=fdd_body, headers=fdd_headers, timeout=10)  # FASC's retry
        assert again.status_code == 200

        wait_until(lambda: run()["status"] == "succeeded", timeout_s=30, what="run to succeed")
        outputs = {s["id"]: s["output"] for s in run()["steps"]}
        assert outputs["approved"]["status"] == "approved" and outputs["approved"]["sp_no"] == "202611240007"
        assert outputs["signed"]["status"] == "task_finished"
        assert outputs["won"]["id"] == DEAL
        assert len([c for c in stubs["zoho"].calls if c["method"] == "PUT"]) == 1
        assert len(stubs["wecom"].find("/cgi-bin/gettoken")) == 1
        assert len(stubs["wecom"].find("/cgi-bin/oa/applyevent")) == 1
        assert len(stubs["fadada"].find("/api/v5/service/get-access-token")) == 1
        assert len(stubs["fadada"].find("/api/v5/sign-task/create")) == 1
        for stub in stubs.values():
            assert stub.errors == []
    finally:
        hub.stop()
        for stub in stubs.values():
            stub.close()
