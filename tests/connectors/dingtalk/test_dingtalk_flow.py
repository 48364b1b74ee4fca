"""A whole approval recipe in the hub: start an approval, wait for DingTalk's callback about that
instance (and only that one), then send a work notice with the result."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import responses
from sqlalchemy import select

from connectors.dingtalk.crypto import encrypt, msg_signature
from hub.connections import create_connection
from hub.db.models import Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime

APP_KEY = "dingappkey01"
TOKEN = "cb-token-7"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
API = "https://api.dingtalk.com"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def push_to(client: Any, path: str, event: dict[str, Any]) -> Any:
    import time
    from urllib.parse import urlencode

    stamp = str(int(time.time() * 1000))
    sealed = encrypt(AES_KEY, APP_KEY, json.dumps(event))
    query = urlencode(
        {"signature": msg_signature(TOKEN, stamp, "abc", sealed), "timestamp": stamp, "nonce": "abc"}
    )
    return client.post(
        f"{path}?{query}", data=json.dumps({"encrypt": sealed}), content_type="application/json"
    )


def finish(instance_id: str, result: str) -> dict[str, Any]:
    return {
        "EventType": "bpms_instance_change",
        "processInstanceId": instance_id,
        "processCode": "PROC-1",
        "type": "finish",
        "result": result,
        "staffId": "u-42",
        "title": "报销",
    }


@responses.activate
def test_start_wait_for_callback_then_notify(runtime: Runtime, client: Any) -> None:
    responses.post(f"{API}/v1.0/oauth2/accessToken", json={"accessToken": "tok", "expireIn": 7200})
    started = responses.post(f"{API}/v1.0/workflow/processInstances", json={"instanceId": "pi-100"})
    notice = responses.post(
        "https://oapi.dingtalk.com/topapi/message/corpconversation/asyncsend_v2",
        json={"errcode": 0, "errmsg": "ok", "task_id": 7, "request_id": "r"},
    )
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="ding",
            connector_id="dingtalk",
            config={
                "app_key": APP_KEY,
                "app_secret": "secret",
                "agent_id": 99,
                "callback_token": TOKEN,
                "callback_aes_key": AES_KEY,
            },
        )
    document = {
        "name": "expense approval",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "start",
                "connector": "dingtalk",
                "action": "start_approval",
                "connection": "ding",
                "input": {
                    "process_code": "PROC-1",
                    "originator_user_id": "{{ event.user }}",
                    "dept_id": -1,
                    "form_component_values": {"事由": "{{ event.reason }}"},
                },
            },
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "dingtalk",
                "trigger": "approval_status",
                "connection": "ding",
                "match": {"instance_id": "{{ steps.start.instance_id }}"},
                "timeout_s": 3600,
            },
            {
                "id": "notice",
                "connector": "dingtalk",
                "action": "send_work_notice",
                "connection": "ding",
                "input": {"userid_list": "{{ event.user }}", "text": "审批结果: {{ steps.approved.result }}"},
            },
        ],
    }
    with runtime.db.transaction() as session:
        recipe = save_recipe(session, runtime, document)
        urls = hook_urls(session, runtime, recipe)
    trigger_path = "/hooks/" + urls["webhook_url"].split("/hooks/")[1]
    wait_path = "/hooks/" + urls["wait_urls"]["approved"].split("/hooks/")[1]

    assert client.post(trigger_path, json={"user": "u-42", "reason": "差旅"}).status_code == 202
    assert json.loads(started.calls[0].request.body)["formComponentValues"] == [
        {"name": "事由", "value": "差旅"}
    ]
    with runtime.db.transaction() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "waiting"
        run_id = run.id

    assert push_to(client, wait_path, finish("pi-999", "refuse")).status_code == 200  # another approval
    with runtime.db.transaction() as session:
        assert session.get(Run, run_id).status == "waiting"
    assert not notice.calls

    answer = push_to(client, wait_path, finish("pi-100", "agree"))
    assert answer.status_code == 200 and set(answer.get_json()) == {
        "msg_signature",
        "timeStamp",
        "nonce",
        "encrypt",
    }
    with runtime.db.transaction() as session:
        assert session.get(Run, run_id).status == "succeeded"
    body = json.loads(notice.calls[0].request.body)
    assert body == {
        "agent_id": 99,
        "msg": {"msgtype": "text", "text": {"content": "审批结果: agree"}},
        "userid_list": "u-42",
    }
