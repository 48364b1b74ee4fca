"""A whole approval recipe in the hub: submit a WeCom approval, park on `wait_for` until WeCom's
encrypted callback about that approval (and only that one) arrives, then message the submitter."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from sqlalchemy import select

from hub.db.models import Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from tests.connectors.wecom.wecom_kit import TOKEN, add_wecom_connection, approval_xml, signed_post

API = "https://qyapi.weixin.qq.com"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def recipe() -> dict[str, Any]:
    return {
        "name": "contract approval",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "start",
                "connector": "wecom",
                "action": "start_approval",
                "connection": "wecom",
                "input": {
                    "creator_userid": "{{ event.user }}",
                    "template_id": "TPL-CONTRACT",
                    "contents": [{"control": "Text", "id": "Text-1", "value": "{{ event.contract }}"}],
                },
            },
            {
                "id": "approved",
                "type": "wait_for",
                "connector": "wecom",
                "trigger": "approval_status",
                "connection": "wecom",
                "match": {"sp_no": "{{ steps.start.sp_no }}"},
                "timeout_s": 3600,
            },
            {
                "id": "tell",
                "connector": "wecom",
                "action": "send_message",
                "connection": "wecom",
                "input": {"touser": "{{ event.user }}", "content": "审批结果: {{ steps.approved.status }}"},
            },
        ],
    }


@responses.activate
def test_submit_wait_for_the_encrypted_callback_then_message(runtime: Runtime, client: Any) -> None:
    responses.get(f"{API}/cgi-bin/gettoken", json={"errcode": 0, "access_token": "tok", "expires_in": 7200})
    started = responses.post(f"{API}/cgi-bin/oa/applyevent", json={"errcode": 0, "sp_no": "202611240007"})
    message = responses.post(f"{API}/cgi-bin/message/send", json={"errcode": 0, "msgid": "m-1"})
    add_wecom_connection(runtime, agent_id=1000002)
    with runtime.db.transaction() as session:
        saved = save_recipe(session, runtime, recipe())
        urls = hook_urls(session, runtime, saved)
    trigger_path = "/hooks/" + urls["webhook_url"].split("/hooks/")[1]
    wait_path = "/hooks/" + urls["wait_urls"]["approved"].split("/hooks/")[1]

    assert client.post(trigger_path, json={"user": "WangXiaoMing", "contract": "C-7"}).status_code == 202
    assert json.loads(started.calls[0].request.body)["apply_data"]["contents"][0]["value"] == {"text": "C-7"}
    with runtime.db.transaction() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "waiting"
        run_id = run.id

    def callback(sp_no: str, status: int, *, forged: bool = False) -> Any:
        query, body = signed_post(approval_xml(sp_no, status), token="forged" if forged else TOKEN)
        return client.post(f"{wait_path}?{query}", data=body, content_type="text/xml")

    assert callback("202611240007", 2, forged=True).status_code == 401  # starts nothing
    assert callback("202611249999", 3).status_code == 200  # another approval
    with runtime.db.transaction() as session:
        assert session.get(Run, run_id).status == "waiting"
    assert not message.calls

    assert callback("202611240007", 2).status_code == 200
    with runtime.db.transaction() as session:
        assert session.get(Run, run_id).status == "succeeded"
    [sent] = message.calls
    body = json.loads(sent.request.body)
    assert body["text"] == {"content": "审批结果: approved"} and body["touser"] == "WangXiaoMing"
