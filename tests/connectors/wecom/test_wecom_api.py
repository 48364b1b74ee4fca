"""wecom actions and token: requests as WeCom documents them, errcodes mapped to the SDK's errors,
one token renewal on 40014/42001, and one token for two worker processes over one database."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from connectors.wecom import connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError

API = "https://qyapi.weixin.qq.com"
TOKEN_URL = f"{API}/cgi-bin/gettoken"
OK = {"errcode": 0, "errmsg": "ok"}


def ctx(**extra: Any) -> Context:
    return Context(
        connector=connector,
        connection={"corp_id": "ww0c1d2e3f", "corp_secret": "app-secret", "agent_id": 1000002, **extra},
        idempotency_key="run1:step",
    )


def token_route(token: str = "tok-1") -> Any:
    return responses.get(TOKEN_URL, json={**OK, "access_token": token, "expires_in": 7200})


@responses.activate
def test_token_is_fetched_once_and_passed_as_query_parameter() -> None:
    fetch = token_route()
    send = responses.post(f"{API}/cgi-bin/oa/applyevent", json={**OK, "sp_no": "202611240001"})
    context = ctx()
    action = connector.action("start_approval")
    inputs = {
        "creator_userid": "WangXiaoMing",
        "template_id": "TPL-CONTRACT",
        "contents": [
            {"control": "Text", "id": "Text-1", "value": "C-7"},
            {"control": "Money", "id": "Money-2", "value": "12800.50"},
            {
                "control": "Date",
                "id": "Date-3",
                "value": {"date": {"type": "day", "s_timestamp": "1763950000"}},
            },
        ],
        "summary": ["合同 C-7"],
    }
    assert action.perform(context, inputs) == {"sp_no": "202611240001"}
    assert action.perform(context, inputs) == {"sp_no": "202611240001"}
    assert len(fetch.calls) == 1
    assert (
        "corpid=ww0c1d2e3f" in fetch.calls[0].request.url
        and "corpsecret=app-secret" in fetch.calls[0].request.url
    )
    assert "access_token=tok-1" in send.calls[0].request.url
    assert json.loads(send.calls[0].request.body) == {
        "creator_userid": "WangXiaoMing",
        "template_id": "TPL-CONTRACT",
        "use_template_approver": 1,
        "apply_data": {
            "contents": [
                {"control": "Text", "id": "Text-1", "value": {"text": "C-7"}},
                {"control": "Money", "id": "Money-2", "value": {"new_money": "12800.50"}},
                {
                    "control": "Date",
                    "id": "Date-3",
                    "value": {"date": {"type": "day", "s_timestamp": "1763950000"}},
                },
            ]
        },
        "summary_list": [{"summary_info": [{"text": "合同 C-7", "lang": "zh_CN"}]}],
    }


@responses.activate
def test_own_approvers_become_the_process_node_list() -> None:
    token_route()
    send = responses.post(f"{API}/cgi-bin/oa/applyevent", json={**OK, "sp_no": "1"})
    inputs = {
        "creator_userid": "u1",
        "template_id": "T",
        "use_template_approver": 0,
        "approvers": [{"userid": ["LiSi", "ZhangSan"], "apv_rel": 2}, {"type": 2, "userid": ["HR"]}],
        "contents": [{"control": "Textarea", "id": "Textarea-1", "value": "理由"}],
    }
    connector.action("start_approval").perform(ctx(), inputs)
    assert json.loads(send.calls[0].request.body)["process"] == {
        "node_list": [
            {"type": 1, "apv_rel": 2, "userid": ["LiSi", "ZhangSan"]},
            {"type": 2, "userid": ["HR"]},
        ]
    }
    with pytest.raises(PermanentError, match="needs approvers"):
        connector.action("start_approval").perform(ctx(), {**inputs, "approvers": []})
    with pytest.raises(PermanentError, match="value object"):
        connector.action("start_approval").perform(
            ctx(), {**inputs, "contents": [{"control": "Selector", "id": "S-1", "value": "x"}]}
        )


@responses.activate
@pytest.mark.parametrize("code", [40014, 42001])
def test_an_expired_token_is_renewed_once_and_the_call_repeated(code: int) -> None:
    fetch = responses.get(
        TOKEN_URL,
        json={**OK, "access_token": "tok-1", "expires_in": 7200},
    )
    detail = responses.post(
        f"{API}/cgi-bin/oa/getapprovaldetail",
        json={"errcode": code, "errmsg": "access_token expired"},
    )
    context = ctx()
    with pytest.raises(AuthError, match="refused again"):
        connector.action("get_approval").perform(context, {"sp_no": "202611240001"})
    assert len(fetch.calls) == 2 and len(detail.calls) == 2  # renewed once, not in a loop

    responses.reset()
    responses.get(TOKEN_URL, json={**OK, "access_token": "tok-2", "expires_in": 7200})
    responses.post(f"{API}/cgi-bin/oa/getapprovaldetail", json={"errcode": code, "errmsg": "expired"})
    responses.post(
        f"{API}/cgi-bin/oa/getapprovaldetail",
        json={
            **OK,
            "info": {
                "sp_no": "202611240001",
                "sp_name": "合同审批",
                "sp_status": 3,
                "template_id": "T",
                "apply_time": 1763950000,
                "applyer": {"userid": "WangXiaoMing", "partyid": "1"},
            },
        },
    )
    out = connector.action("get_approval").perform(ctx(), {"sp_no": "202611240001"})
    assert out["status"] == "rejected" and out["sp_status"] == 3 and out["applyer_userid"] == "WangXiaoMing"


@responses.activate
def test_errcodes_map_to_retryable_auth_and_permanent_errors() -> None:
    token_route()
    route = f"{API}/cgi-bin/oa/getapprovaldetail"
    cases = [
        (-1, RetryableError),
        (45009, RetryableError),
        (60020, AuthError),
        (301055, AuthError),
        (301025, PermanentError),
    ]
    for code, error in cases:
        responses.upsert(responses.POST, route, json={"errcode": code, "errmsg": f"error {code}"})
        with pytest.raises(error) as raised:
            connector.action("get_approval").perform(ctx(), {"sp_no": "1"})
        assert raised.value.vendor_code == str(code) and f"error {code}" in raised.value.message
        assert type(raised.value) is error  # exactly: a PermanentError case is not an AuthError
    responses.upsert(responses.POST, route, status=502, body="bad gateway")
    with pytest.raises(RetryableError):
        connector.action("get_approval").perform(ctx(), {"sp_no": "1"})


@responses.activate
def test_a_wrong_secret_fails_test_connection_with_wecoms_message() -> None:
    responses.get(TOKEN_URL, json={"errcode": 40001, "errmsg": "invalid credential"})
    with pytest.raises(AuthError, match="invalid credential"):
        connector.test_connection(ctx())
    responses.upsert(responses.GET, TOKEN_URL, json={**OK, "access_token": "t", "expires_in": 7200})
    assert "access token" in connector.test_connection(ctx())


@responses.activate
def test_send_message_text_markdown_and_card_with_duplicate_check() -> None:
    token_route()
    send = responses.post(
        f"{API}/cgi-bin/message/send",
        json={**OK, "invaliduser": "ghost", "msgid": "m-1", "response_code": "r"},
    )
    action = connector.action("send_message")
    out = action.perform(ctx(), {"touser": ["LiSi", "ZhangSan"], "content": "合同已签"})
    assert out == {
        "msgid": "m-1",
        "invaliduser": "ghost",
        "invalidparty": "",
        "invalidtag": "",
        "unlicenseduser": "",
    }
    action.perform(ctx(), {"toparty": "2|3", "msgtype": "markdown", "content": "**签了**"})
    action.perform(
        ctx(),
        {
            "totag": "9",
            "msgtype": "textcard",
            "title": "合同",
            "description": "已签",
            "url": "https://x.example/c/7",
        },
    )
    bodies = [json.loads(c.request.body) for c in send.calls]
    assert bodies[0] == {
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "合同已签"},
        "touser": "LiSi|ZhangSan",
        "safe": 0,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }
    assert bodies[1]["markdown"] == {"content": "**签了**"} and bodies[1]["toparty"] == "2|3"
    assert bodies[2]["textcard"] == {"title": "合同", "description": "已签", "url": "https://x.example/c/7"}
    with pytest.raises(PermanentError, match="touser, toparty or totag"):
        action.perform(ctx(), {"content": "x"})
    with pytest.raises(PermanentError, match="needs url"):
        action.perform(ctx(), {"touser": "a", "msgtype": "textcard", "title": "t", "description": "d"})
    responses.upsert(
        responses.POST,
        f"{API}/cgi-bin/message/send",
        json={"errcode": 81013, "errmsg": "user & party & tag all invalid"},
    )
    with pytest.raises(PermanentError, match="81013"):
        action.perform(ctx(), {"touser": "nobody", "content": "x"})


@responses.activate
def test_approval_poll_lists_reads_and_remembers_final_ones() -> None:
    token_route()
    listing = responses.post(
        f"{API}/cgi-bin/oa/getapprovalinfo",
        json={**OK, "sp_no_list": ["A1", "A2"], "new_next_cursor": ""},
    )

    def detail(request: Any) -> tuple[int, dict[str, str], str]:
        sp_no = json.loads(request.body)["sp_no"]
        status = {"A1": 2, "A2": 1}[sp_no]
        return 200, {}, json.dumps({**OK, "info": {"sp_no": sp_no, "sp_status": status, "template_id": "T"}})

    details = responses.add_callback(responses.POST, f"{API}/cgi-bin/oa/getapprovaldetail", callback=detail)
    trigger = connector.trigger("approval_status_poll")
    first = trigger.poll(ctx(), {"template_id": "T"}, None)
    assert [e.id for e in first.items] == ["A1:2"]
    sent = json.loads(listing.calls[0].request.body)
    assert sent["filters"] == [{"key": "template_id", "value": "T"}] and sent["size"] == 100
    assert int(sent["endtime"]) - int(sent["starttime"]) == 7 * 86400
    second = trigger.poll(ctx(), {"template_id": "T"}, first.cursor)
    assert second.items == [] and len(details.calls) == 3  # A1 is done: only A2 read again


@responses.activate
def test_get_template_lists_the_controls_start_approval_needs() -> None:
    token_route()
    detail = responses.post(
        f"{API}/cgi-bin/oa/gettemplatedetail",
        json={
            **OK,
            "template_names": [{"text": "Contract", "lang": "en"}, {"text": "合同审批", "lang": "zh_CN"}],
            "template_content": {
                "controls": [
                    {
                        "property": {
                            "control": "Text",
                            "id": "Text-1",
                            "title": [{"text": "合同编号", "lang": "zh_CN"}],
                            "require": 1,
                        }
                    },
                    {
                        "property": {
                            "control": "Selector",
                            "id": "Selector-2",
                            "title": [{"text": "类型", "lang": "zh_CN"}],
                            "require": 0,
                        },
                        "config": {"selector": {"type": "single", "options": [{"key": "option-1"}]}},
                    },
                ]
            },
        },
    )
    out = connector.action("get_template").perform(ctx(), {"template_id": "TPL-CONTRACT"})
    assert json.loads(detail.calls[0].request.body) == {"template_id": "TPL-CONTRACT"}
    assert out["name"] == "合同审批"
    assert out["controls"] == [
        {"id": "Text-1", "control": "Text", "title": "合同编号", "required": True, "config": {}},
        {
            "id": "Selector-2",
            "control": "Selector",
            "title": "类型",
            "required": False,
            "config": {"selector": {"type": "single", "options": [{"key": "option-1"}]}},
        },
    ]
