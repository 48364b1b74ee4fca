"""dingtalk actions and polling against a faked DingTalk: exact requests, token cache and refresh,
both error shapes, instanceIds paging and cursor."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import responses

from connectors.dingtalk import connector
from connectors.dingtalk.api import token_cache_key
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

API = "https://api.dingtalk.com"
OAPI = "https://oapi.dingtalk.com"
TOKEN_URL = f"{API}/v1.0/oauth2/accessToken"
SECRET = "app-secret-value-123"


def ctx(cache: MemoryTokenCache | None = None, **extra: Any) -> Context:
    connection = {"app_key": "dingappkey01", "app_secret": SECRET, "agent_id": 2233, **extra}
    return Context(connector=connector, connection=connection, cache=cache or MemoryTokenCache())


def token_route(*tokens: str) -> Any:
    return responses.post(TOKEN_URL, json={"accessToken": tokens[0], "expireIn": 7200})


@responses.activate
def test_start_approval_sends_the_documented_body_with_the_token_header() -> None:
    tok = token_route("tok-1")
    route = responses.post(f"{API}/v1.0/workflow/processInstances", json={"instanceId": "a171de6c-8b01"})
    out = connector.action("start_approval").perform(
        ctx(),
        {
            "process_code": "PROC-FF6Y4BE1N2-01",
            "originator_user_id": "manager7675",
            "dept_id": -1,
            "form_component_values": [
                {"name": "请假类型", "value": "年假"},
                {"name": "明细", "value": [[{"name": "天数", "value": "2"}]], "id": "TableField_1"},
            ],
            "approvers": [{"action_type": "OR", "user_ids": ["u1", "u2"]}],
            "cc_list": ["u9"],
        },
    )
    assert out == {"instance_id": "a171de6c-8b01"}
    assert json.loads(tok.calls[0].request.body) == {"appKey": "dingappkey01", "appSecret": SECRET}
    request = route.calls[0].request
    assert request.method == "POST" and request.headers["x-acs-dingtalk-access-token"] == "tok-1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "processCode": "PROC-FF6Y4BE1N2-01",
        "originatorUserId": "manager7675",
        "deptId": -1,
        "formComponentValues": [
            {"name": "请假类型", "value": "年假"},
            {"name": "明细", "value": '[[{"name": "天数", "value": "2"}]]', "id": "TableField_1"},
        ],
        "approvers": [{"actionType": "OR", "userIds": ["u1", "u2"]}],
        "ccList": ["u9"],
        "ccPosition": "START",
    }


@responses.activate
def test_token_is_cached_across_calls_and_contexts_sharing_the_cache() -> None:
    tok = token_route("tok-1")
    responses.get(f"{API}/v1.0/workflow/processInstances", json={"result": {"status": "RUNNING"}})
    cache = MemoryTokenCache()
    for _ in range(3):
        connector.action("get_approval").perform(ctx(cache), {"instance_id": "pi-1"})
    assert len(tok.calls) == 1
    assert cache.get(token_cache_key(ctx(cache))) == "tok-1"
    # Another secret for the same app key never sees this token.
    connector.action("get_approval").perform(ctx(cache, app_secret="other"), {"instance_id": "pi-1"})
    assert len(tok.calls) == 2


@responses.activate
def test_workers_starting_together_fetch_one_token_and_renew_a_refused_one_once() -> None:
    issued: list[str] = []

    def token_endpoint(request: Any) -> tuple[int, dict[str, str], str]:
        issued.append(f"tok-{len(issued) + 1}")
        time.sleep(0.1)  # slow enough that unsynchronised workers would all ask
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"accessToken": issued[-1], "expireIn": 7200}),
        )

    responses.add_callback(responses.POST, TOKEN_URL, callback=token_endpoint)
    rejected = {"code": "InvalidAuthentication", "message": "不合法的access_token"}

    def instances(request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers["x-acs-dingtalk-access-token"] == "tok-1":
            return 400, {"Content-Type": "application/json"}, json.dumps(rejected)
        return 200, {"Content-Type": "application/json"}, json.dumps({"result": {"status": "RUNNING"}})

    responses.add_callback(responses.GET, f"{API}/v1.0/workflow/processInstances", callback=instances)
    cache = MemoryTokenCache()  # shared by the workers of one hub
    barrier = threading.Barrier(6)
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            connector.action("get_approval").perform(ctx(cache), {"instance_id": "pi-1"})
        except BaseException as exc:  # collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    # One token for all six, refused; one renewal for all six.
    assert failures == [] and issued == ["tok-1", "tok-2"]


@responses.activate
def test_token_ttl_follows_expire_in(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(TOKEN_URL, json={"accessToken": "tok-short", "expireIn": 600})
    responses.get(f"{API}/v1.0/workflow/processInstances", json={"result": {}})
    seen: list[float] = []

    class Spy(MemoryTokenCache):
        def set(self, key: str, value: Any, ttl_s: float) -> None:
            seen.append(ttl_s)
            super().set(key, value, ttl_s)

    connector.action("get_approval").perform(ctx(Spy()), {"instance_id": "x"})
    assert seen == [300.0]  # five minutes before DingTalk's expiry


@responses.activate
def test_expired_token_on_the_new_api_is_refreshed_and_the_call_retried_once() -> None:
    responses.post(TOKEN_URL, json={"accessToken": "tok-new", "expireIn": 7200})
    route = responses.get(
        f"{API}/v1.0/workflow/processInstances",
        json={"code": "InvalidAuthentication", "requestid": "R1", "message": "不合法的access_token"},
        status=400,
    )
    responses.get(
        f"{API}/v1.0/workflow/processInstances",
        json={"result": {"status": "COMPLETED", "result": "agree", "title": "请假"}, "success": True},
    )
    cache = MemoryTokenCache()
    conn = ctx(cache)
    cache.set(token_cache_key(conn), "tok-stale", 3600)
    out = connector.action("get_approval").perform(conn, {"instance_id": "pi-7"})
    assert out["status"] == "COMPLETED" and out["result"] == "agree" and out["instance_id"] == "pi-7"
    tokens = [
        c.request.headers["x-acs-dingtalk-access-token"]
        for c in responses.calls
        if "processInstances" in c.request.url
    ]
    assert tokens == ["tok-stale", "tok-new"]
    assert route.calls[0].request.url.endswith("/v1.0/workflow/processInstances?processInstanceId=pi-7")
    assert cache.get(token_cache_key(conn)) == "tok-new"


@responses.activate
def test_token_refused_twice_is_an_auth_error() -> None:
    responses.post(TOKEN_URL, json={"accessToken": "tok", "expireIn": 7200})
    responses.get(
        f"{API}/v1.0/workflow/processInstances",
        json={"code": "InvalidAuthentication", "message": "不合法的access_token"},
        status=400,
    )
    with pytest.raises(AuthError, match="refused again"):
        connector.action("get_approval").perform(ctx(), {"instance_id": "x"})
    assert len(responses.calls) == 4  # token, call, token, call: one retry only


@responses.activate
def test_bad_app_secret_is_an_auth_error() -> None:
    responses.post(
        TOKEN_URL,
        status=400,
        json={"code": "invalidClientSecret", "requestid": "R", "message": "无效的clientSecret"},
    )
    with pytest.raises(AuthError) as caught:
        connector.test_connection(ctx())
    assert "无效的clientSecret" in caught.value.message and caught.value.vendor_code == "invalidClientSecret"
    assert SECRET not in caught.value.message


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"code": "processCodeNotFound", "message": "process_code not found"}, PermanentError),
        (
            403,
            {"code": "Forbidden.AccessDenied.AccessTokenPermissionDenied", "message": "没有调用该接口的权限"},
            AuthError,
        ),
        (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "api qps limit"}, RetryableError),
        (500, {"code": "InternalError", "message": "系统繁忙"}, RetryableError),
    ],
)
def test_new_api_errors_are_mapped_with_the_vendor_code(
    status: int, body: dict[str, str], error: type
) -> None:
    token_route("tok")
    responses.post(f"{API}/v1.0/workflow/processInstances", status=status, json={**body, "requestid": "R9"})
    with pytest.raises(error) as caught:
        connector.action("start_approval").perform(
            ctx(), {"process_code": "P", "originator_user_id": "u", "form_component_values": {"a": "b"}}
        )
    exc = caught.value
    assert exc.message == f"DingTalk: {body['message']} (code {body['code']}) [HTTP {status}]"
    assert exc.vendor_code == body["code"] and exc.status == status


@responses.activate
def test_work_notice_goes_to_the_old_api_with_the_token_in_the_query() -> None:
    token_route("tok-1")
    route = responses.post(
        f"{OAPI}/topapi/message/corpconversation/asyncsend_v2",
        json={"errcode": 0, "errmsg": "ok", "task_id": 256271667526, "request_id": "4jzllmte0wau"},
    )
    out = connector.action("send_work_notice").perform(
        ctx(), {"userid_list": ["u1", "u2"], "text": "审批已通过"}
    )
    assert out == {"task_id": 256271667526, "request_id": "4jzllmte0wau"}
    request = route.calls[0].request
    assert request.url == f"{OAPI}/topapi/message/corpconversation/asyncsend_v2?access_token=tok-1"
    assert json.loads(request.body) == {
        "agent_id": 2233,
        "msg": {"msgtype": "text", "text": {"content": "审批已通过"}},
        "userid_list": "u1,u2",
    }


@responses.activate
def test_old_api_expired_token_refreshes_and_other_errcodes_map() -> None:
    responses.post(TOKEN_URL, json={"accessToken": "tok-2", "expireIn": 7200})
    default_host = responses.post(f"{OAPI}/topapi/message/corpconversation/asyncsend_v2", json={})
    url = "https://oapi.example.cn/topapi/message/corpconversation/asyncsend_v2"
    responses.post(url, json={"errcode": 42001, "errmsg": "access_token超时"})
    responses.post(url, json={"errcode": 0, "errmsg": "ok", "task_id": 1})
    cache = MemoryTokenCache()
    conn = ctx(cache, oapi_base_url="https://oapi.example.cn")
    cache.set(token_cache_key(conn), "tok-old", 3600)
    out = connector.action("send_work_notice").perform(conn, {"userid_list": "u1", "text": "hi"})
    assert out["task_id"] == 1
    sent = [
        c.request.url.split("access_token=")[1] for c in responses.calls if "oapi.example.cn" in c.request.url
    ]
    assert sent == ["tok-old", "tok-2"]
    assert not default_host.calls  # the connection's old-API base URL is used

    responses.replace(responses.POST, url, json={"errcode": 33012, "errmsg": "无效的USERID"})
    with pytest.raises(PermanentError) as caught:
        connector.action("send_work_notice").perform(conn, {"userid_list": "nobody", "text": "hi"})
    assert (
        caught.value.message == "DingTalk: 无效的USERID (code 33012)" and caught.value.vendor_code == "33012"
    )
    assert not isinstance(caught.value, RetryableError)

    responses.replace(
        responses.POST, url, json={"errcode": 90018, "errmsg": "当前企业调用该接口的QPS超过限制"}
    )
    with pytest.raises(RetryableError):
        connector.action("send_work_notice").perform(conn, {"userid_list": "u1", "text": "hi"})


def test_work_notice_needs_recipients_and_content() -> None:
    with pytest.raises(PermanentError, match="userid_list"):
        connector.action("send_work_notice").perform(ctx(), {"text": "hi"})
    with pytest.raises(PermanentError, match="text or msg"):
        connector.action("send_work_notice").perform(ctx(), {"userid_list": "u1"})


# ---- approval_status_poll --------------------------------------------------------------------------


class FakeWorkflow:
    """instanceIds/query paged by nextToken, and per-instance details."""

    def __init__(self, pages: list[list[str]], instances: dict[str, dict[str, Any]]) -> None:
        self.pages, self.instances = pages, instances
        self.queries: list[dict[str, Any]] = []
        self.fetched: list[str] = []

    def query(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.queries.append(body)
        index = int(body["nextToken"])
        page = self.pages[index] if index < len(self.pages) else []
        result: dict[str, Any] = {"list": page}
        if index + 1 < len(self.pages):
            result["nextToken"] = str(index + 1)
        return 200, {"Content-Type": "application/json"}, json.dumps({"result": result, "success": True})

    def get(self, request: Any) -> tuple[int, dict[str, str], str]:
        instance_id = request.params["processInstanceId"]
        self.fetched.append(instance_id)
        return 200, {"Content-Type": "application/json"}, json.dumps({"result": self.instances[instance_id]})

    def install(self) -> None:
        token_route("tok")
        responses.add_callback(responses.POST, f"{API}/v1.0/workflow/processes/instanceIds/query", self.query)
        responses.add_callback(responses.GET, f"{API}/v1.0/workflow/processInstances", self.get)


@responses.activate
def test_poll_pages_by_next_token_emits_finished_instances_once_and_keeps_them_in_the_cursor() -> None:
    fake = FakeWorkflow(
        [["pi-1", "pi-2"], ["pi-3"]],
        {
            "pi-1": {"status": "COMPLETED", "result": "agree", "title": "请假", "businessId": "B1"},
            "pi-2": {"status": "TERMINATED", "result": "", "title": "报销"},
            "pi-3": {"status": "COMPLETED", "result": "refuse", "title": "采购"},
        },
    )
    fake.install()
    trigger = connector.trigger("approval_status_poll")
    conn = ctx()
    result = trigger.poll(conn, {"process_code": "PROC-1", "window_days": 7}, None)
    assert [q["nextToken"] for q in fake.queries] == [0, "1"]
    first = fake.queries[0]
    assert first["processCode"] == "PROC-1" and first["maxResults"] == 20
    assert first["statuses"] == ["COMPLETED", "TERMINATED"]
    assert first["endTime"] - first["startTime"] == 7 * 86_400_000
    assert [i.id for i in result.items] == [
        "pi-1:COMPLETED:agree",
        "pi-2:TERMINATED:",
        "pi-3:COMPLETED:refuse",
    ]
    assert result.items[0].data["business_id"] == "B1" and result.items[0].data["process_code"] == "PROC-1"
    assert set(json.loads(result.cursor or "")["done"]) == {"pi-1", "pi-2", "pi-3"}

    fake.pages = [["pi-1", "pi-2", "pi-4"]]
    fake.instances["pi-4"] = {"status": "COMPLETED", "result": "agree"}
    fake.fetched.clear()
    again = trigger.poll(conn, {"process_code": "PROC-1"}, result.cursor)
    assert fake.fetched == ["pi-4"]  # reported instances are not read again
    assert [i.id for i in again.items] == ["pi-4:COMPLETED:agree"]


@responses.activate
def test_poll_with_running_status_and_an_empty_window() -> None:
    fake = FakeWorkflow([["pi-9"]], {"pi-9": {"status": "RUNNING", "result": ""}})
    fake.install()
    trigger = connector.trigger("approval_status_poll")
    config = {"process_code": "P", "statuses": ["RUNNING", "COMPLETED"]}
    result = trigger.poll(ctx(), config, None)
    assert [i.id for i in result.items] == ["pi-9:RUNNING:"]
    assert json.loads(result.cursor or "") == {"done": {}}  # still running: it will be read again

    fake.pages = []
    empty = trigger.poll(ctx(), config, result.cursor)
    assert empty.items == [] and len(fake.queries) == 2


@responses.activate
def test_qps_limit_waits_as_told_or_a_second() -> None:
    token_route("tok")
    url = f"{API}/v1.0/workflow/processInstances"
    responses.get(
        url, status=429, json={"code": "Throttling", "message": "slow down"}, headers={"Retry-After": "5"}
    )
    with pytest.raises(RetryableError) as caught:
        connector.action("get_approval").perform(ctx(), {"instance_id": "x"})
    assert caught.value.retry_after == 5.0
    responses.replace(
        responses.GET,
        url,
        status=403,
        json={"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"},
    )
    with pytest.raises(RetryableError) as caught:
        connector.action("get_approval").perform(ctx(), {"instance_id": "x"})
    assert caught.value.retry_after == 1.0


@responses.activate
def test_a_rejected_token_leaves_the_shared_cache_even_when_renewal_fails() -> None:
    responses.post(TOKEN_URL, status=500, json={"code": "ServiceUnavailable", "message": "busy"})
    responses.get(
        f"{API}/v1.0/workflow/processInstances",
        status=400,
        json={"code": "InvalidAuthentication", "message": "不合法的access_token"},
    )
    cache = MemoryTokenCache()
    conn = ctx(cache)
    cache.set(token_cache_key(conn), "tok-stale", 3600)
    with pytest.raises(RetryableError):
        connector.action("get_approval").perform(conn, {"instance_id": "x"})
    assert cache.get(token_cache_key(conn)) is None  # other workers will not reuse the dead token
