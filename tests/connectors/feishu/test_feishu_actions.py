"""feishu actions against a faked Open Platform (responses): token lifecycle, requests, error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from connectors.feishu import connector
from connectors.feishu.client import TOKEN_PATH
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, PermanentError, RetryableError

BASE = "https://open.feishu.cn"
CREATE = f"{BASE}/open-apis/approval/v4/instances"
CONN = {"app_id": "cli_a1b2c3", "app_secret": "s3cret-app"}
FORM = [
    {"id": "widget1", "type": "input", "value": "C-7 Acme supply contract"},
    {"id": "widget2", "type": "amount", "value": 12800.5},
]


class ClockCache(MemoryTokenCache):
    """The in-memory cache with a clock the test moves, and the TTLs it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000_000.0
        self.ttls: list[float] = []

    def get(self, key: str) -> Any | None:
        value = self._data.get(key)
        return None if value is None or value[1] < self.now else value[0]

    def set(self, key: str, value: Any, ttl_s: float) -> None:
        self.ttls.append(ttl_s)
        self._data[key] = (value, self.now + ttl_s)


def ctx(cache: MemoryTokenCache | None = None, key: str | None = "77:start", **extra: Any) -> Context:
    return Context(
        connector=connector,
        connection={**CONN, **extra},
        connection_id=3,
        cache=cache or MemoryTokenCache(),
        idempotency_key=key,
    )


def token_route(token: str = "t-abc", expire: int = 7200) -> Any:
    return responses.post(
        f"{BASE}{TOKEN_PATH}",
        json={"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire},
    )


@responses.activate
def test_create_approval_sends_form_as_json_string_with_token_and_uuid() -> None:
    tokens = token_route()
    subscribe = responses.post(f"{BASE}/open-apis/approval/v4/approvals/APR-1/subscribe", json={"code": 0})
    route = responses.post(CREATE, json={"code": 0, "msg": "success", "data": {"instance_code": "INS-1"}})
    cache = MemoryTokenCache()  # shared by the workers of one hub
    out = connector.action("create_approval_instance").perform(
        ctx(cache), {"approval_code": "APR-1", "open_id": "ou_123", "form": FORM}
    )
    token_request = tokens.calls[0].request
    assert json.loads(token_request.body) == CONN
    assert token_request.headers["Content-Type"] == "application/json"
    sent = route.calls[0].request
    assert sent.method == "POST" and sent.url == CREATE
    assert sent.headers["Authorization"] == "Bearer t-abc"
    body = json.loads(sent.body)
    assert isinstance(body["form"], str)
    assert body["form"] == (
        '[{"id":"widget1","type":"input","value":"C-7 Acme supply contract"},'
        '{"id":"widget2","type":"amount","value":12800.5}]'
    )
    assert body["approval_code"] == "APR-1" and body["open_id"] == "ou_123" and "user_id" not in body
    assert len(body["uuid"]) == 36 and out == {"instance_code": "INS-1", "uuid": body["uuid"]}
    connector.action("create_approval_instance").perform(
        ctx(cache), {"approval_code": "APR-1", "open_id": "ou_123", "form": FORM}
    )
    assert json.loads(route.calls[1].request.body)["uuid"] == body["uuid"]  # same step, same uuid
    connector.action("create_approval_instance").perform(
        ctx(cache, key="78:start"),
        {"approval_code": "APR-1", "open_id": "ou_123", "form": json.dumps(FORM)},
    )
    assert json.loads(route.calls[2].request.body)["uuid"] != body["uuid"]
    # subscribed once, before the first instance, then remembered in the shared cache
    order = [c.request.url for c in responses.calls]
    assert len(subscribe.calls) == 1 and order.index(subscribe.calls[0].request.url) < order.index(CREATE)
    assert subscribe.calls[0].request.headers["Authorization"] == "Bearer t-abc" and len(tokens.calls) == 1


def test_applicant_is_required() -> None:
    with pytest.raises(PermanentError, match="user_id"):
        connector.action("create_approval_instance").perform(ctx(), {"approval_code": "A", "form": []})


@responses.activate
def test_token_is_cached_across_calls_and_contexts_until_it_expires() -> None:
    cache = ClockCache()
    tokens = token_route(expire=7200)
    responses.post(CREATE, json={"code": 0, "data": {"instance_code": "INS-1"}})
    inputs = {"approval_code": "APR-1", "user_id": "u1", "form": [], "subscribe_events": False}
    connector.action("create_approval_instance").perform(ctx(cache), inputs)
    connector.action("create_approval_instance").perform(ctx(cache, key="2:s"), inputs)  # another worker
    assert len(tokens.calls) == 1 and cache.ttls == [7080]
    cache.now += 7081
    connector.action("create_approval_instance").perform(ctx(cache), inputs)
    assert len(tokens.calls) == 2


@responses.activate
def test_rejected_token_is_renewed_and_the_call_retried_once() -> None:
    cache = ClockCache()
    tokens = responses.post(
        f"{BASE}{TOKEN_PATH}",
        json={"code": 0, "tenant_access_token": "t-new", "expire": 7200},
    )
    cache.set(connector_key(), "t-old", 3600)
    expired = {
        "code": 99991663,
        "msg": "Invalid access token for authorization. Please make a request with token attached.",
    }
    route = responses.get(f"{CREATE}/INS-1", json=expired, status=400)
    responses.get(f"{CREATE}/INS-1", json={"code": 0, "data": {"status": "PENDING", "form": "[]"}})
    out = connector.action("get_approval_instance").perform(ctx(cache), {"instance_code": "INS-1"})
    assert out["status"] == "PENDING" and out["form"] == []
    api_calls = [c.request for c in responses.calls if "/instances/" in c.request.url]
    assert [r.headers["Authorization"] for r in api_calls] == ["Bearer t-old", "Bearer t-new"]
    assert len(route.calls) == 1
    assert len(tokens.calls) == 1


def connector_key() -> str:
    return "conn:3:feishu:tenant_access_token:cli_a1b2c3"


@responses.activate
def test_a_token_rejected_twice_is_an_auth_error() -> None:
    token_route()
    expired = {"code": 99991663, "msg": "Invalid access token for authorization."}
    route = responses.get(f"{CREATE}/INS-1", json=expired, status=400)
    with pytest.raises(AuthError, match=r"Invalid access token .*\(code 99991663\)"):
        connector.action("get_approval_instance").perform(ctx(), {"instance_code": "INS-1"})
    assert len(route.calls) == 2


@responses.activate
def test_wrong_app_secret_is_an_auth_error() -> None:
    responses.post(f"{BASE}{TOKEN_PATH}", json={"code": 10014, "msg": "app secret invalid"}, status=400)
    with pytest.raises(AuthError, match=r"app secret invalid \(code 10014\)"):
        connector.test_connection(ctx())


@responses.activate
def test_business_errors_keep_code_and_log_id() -> None:
    token_route()
    responses.post(
        CREATE,
        status=400,
        json={"code": 1390001, "msg": "param is invalid", "error": {"log_id": "20231018xyz"}},
    )
    with pytest.raises(PermanentError) as failed:
        connector.action("create_approval_instance").perform(
            ctx(), {"approval_code": "BAD", "user_id": "u1", "form": [], "subscribe_events": False}
        )
    assert failed.value.vendor_code == "1390001" and not isinstance(failed.value, RetryableError)
    assert failed.value.message == "Feishu: param is invalid (log_id 20231018xyz) (code 1390001) [HTTP 400]"


@responses.activate
def test_code_in_a_200_answer_is_still_an_error() -> None:
    token_route()
    responses.post(CREATE, json={"code": 1390002, "msg": "approval code not found"})
    with pytest.raises(PermanentError, match=r"approval code not found \(code 1390002\) \[HTTP 200\]"):
        connector.action("create_approval_instance").perform(
            ctx(), {"approval_code": "NOPE", "user_id": "u1", "form": [], "subscribe_events": False}
        )


@responses.activate
def test_uuid_conflict_says_an_earlier_attempt_created_it() -> None:
    token_route()
    responses.post(CREATE, status=400, json={"code": 60012, "msg": "uuid conflict"})
    with pytest.raises(PermanentError, match="already exists"):
        connector.action("create_approval_instance").perform(
            ctx(), {"approval_code": "A", "user_id": "u1", "form": [], "subscribe_events": False}
        )


@responses.activate
def test_rate_limit_waits_for_the_reset_header_and_5xx_is_retryable() -> None:
    token_route()
    responses.post(
        CREATE,
        status=429,
        json={"code": 99991400, "msg": "request trigger frequency limit"},
        headers={"x-ogw-ratelimit-reset": "6"},
    )
    with pytest.raises(RetryableError) as limited:
        connector.action("create_approval_instance").perform(
            ctx(), {"approval_code": "A", "user_id": "u", "form": [], "subscribe_events": False}
        )
    assert limited.value.retry_after == 6 and limited.value.vendor_code == "99991400"
    responses.replace(responses.POST, CREATE, status=502, body="Bad Gateway", content_type="text/html")
    with pytest.raises(RetryableError, match="HTTP 502"):
        connector.action("create_approval_instance").perform(
            ctx(), {"approval_code": "A", "user_id": "u", "form": [], "subscribe_events": False}
        )


@responses.activate
def test_get_approval_instance_request_and_mapping() -> None:
    token_route()
    route = responses.get(
        f"{CREATE}/INS-9",
        json={
            "code": 0,
            "data": {
                "approval_code": "APR-1",
                "approval_name": "Contract approval",
                "status": "APPROVED",
                "serial_number": "202611230001",
                "open_id": "ou_123",
                "start_time": "1564590532967",
                "end_time": "1564590600000",
                "form": '[{"id":"widget2","type":"amount","value":12800.50}]',
                "task_list": [{"id": "t1", "status": "APPROVED"}],
                "timeline": [],
                "instance_code": "INS-9",
            },
        },
    )
    out = connector.action("get_approval_instance").perform(
        ctx(), {"instance_code": "INS-9", "user_id_type": "user_id"}
    )
    assert route.calls[0].request.url == f"{CREATE}/INS-9?user_id_type=user_id"
    assert out["status"] == "APPROVED" and str(out["form"][0]["value"]) == "12800.50"


@responses.activate
def test_send_message_sends_content_as_string_with_receive_id_type_and_uuid() -> None:
    token_route()
    route = responses.post(
        f"{BASE}/open-apis/im/v1/messages",
        json={"code": 0, "data": {"message_id": "om_1", "chat_id": "oc_1", "create_time": "1615380573411"}},
    )
    out = connector.action("send_message").perform(
        ctx(),
        {
            "receive_id_type": "email",
            "receive_id": "li@example.com",
            "msg_type": "text",
            "content": {"text": "签了"},
        },
    )
    sent = route.calls[0].request
    assert sent.url == f"{BASE}/open-apis/im/v1/messages?receive_id_type=email"
    body = json.loads(sent.body)
    assert body["content"] == '{"text":"签了"}' and body["msg_type"] == "text" and body["uuid"]
    assert out["message_id"] == "om_1" and out["chat_id"] == "oc_1"


@responses.activate
def test_base_url_override_is_used_for_token_and_calls() -> None:
    base = "https://open.larksuite.com"
    tokens = responses.post(
        f"{base}{TOKEN_PATH}", json={"code": 0, "tenant_access_token": "t-l", "expire": 7200}
    )
    route = responses.get(
        f"{base}/open-apis/approval/v4/instances/X", json={"code": 0, "data": {"status": "PENDING"}}
    )
    connector.action("get_approval_instance").perform(ctx(base_url=base), {"instance_code": "X"})
    assert len(tokens.calls) == 1 and len(route.calls) == 1


def test_metadata_schemas_are_valid_and_credentials_are_secret() -> None:
    import jsonschema

    from connectors.feishu import connector as described

    json.dumps(described.describe())
    jsonschema.Draft202012Validator.check_schema(described.connection_schema())
    for action in described.action_map.values():
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
    for trigger in described.trigger_map.values():
        jsonschema.Draft202012Validator.check_schema(trigger.config_schema)
    assert described.secret_fields() == {"app_secret", "verification_token", "encrypt_key"}
