"""aliyun_sms: RPC signing against Alibaba's documented vector, SendSms requests and error codes,
and the send_details poll (paging, dedupe, pending receipts, cursor) against a faked Dysmsapi."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
import responses

from connectors.aliyun_sms import connector
from connectors.aliyun_sms.reports import today_beijing
from connectors.aliyun_sms.signing import canonical_query, percent_encode, signature, string_to_sign
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError

URL = "https://dysmsapi.aliyuncs.com/"
SECRET = "test-secret-value"
# Answers as printed in Alibaba's API metadata (spec responseDemo for SendSms / QuerySendDetails).
SEND_OK = {
    "Code": "OK",
    "Message": "OK",
    "BizId": "9006197469364984****",
    "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
}


def ctx(**extra: Any) -> Context:
    return Context(
        connector=connector, connection={"access_key_id": "LTAItest", "access_key_secret": SECRET, **extra}
    )


def sent_params(call: Any) -> dict[str, str]:
    body = call.request.body
    return dict(parse_qsl(body.decode() if isinstance(body, bytes) else body, keep_blank_values=True))


def test_documented_signature_vector() -> None:
    # Alibaba's RPC signature doc: DescribeRegions, AccessKeyId testid, secret testsecret, GET.
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert signature("testsecret", "POST", params) != "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_percent_encoding_is_rfc3986() -> None:
    assert percent_encode("a b*c~d+e/f") == "a%20b%2Ac~d%2Be%2Ff"
    assert percent_encode("阿里") == "%E9%98%BF%E9%87%8C"
    assert canonical_query({"b": "2", "a": "x y"}) == "a=x%20y&b=2"


@responses.activate
def test_send_sms_sends_a_signed_form_post() -> None:
    route = responses.post(URL, json=SEND_OK)
    out = connector.action("send_sms").perform(
        ctx(),
        {
            "phone_numbers": ["13900000001", " 13900000002"],
            "sign_name": "阿里云",
            "template_code": "SMS_15305001",
            "template_param": {"code": "1234", "name": "李雷"},
            "out_id": "order-77",
        },
    )
    assert out == {"biz_id": "9006197469364984****", "request_id": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}
    request = route.calls[0].request
    assert request.method == "POST" and request.url == URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"+" not in request.body  # RFC 3986 encoding: spaces would be %20, never '+'
    params = sent_params(route.calls[0])
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25" and params["Format"] == "JSON"
    assert params["AccessKeyId"] == "LTAItest"
    assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
    assert len(params["SignatureNonce"]) >= 16
    stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert params["PhoneNumbers"] == "13900000001,13900000002"
    assert params["SignName"] == "阿里云" and params["TemplateCode"] == "SMS_15305001"
    assert json.loads(params["TemplateParam"]) == {"code": "1234", "name": "李雷"}
    assert params["OutId"] == "order-77"
    given = params.pop("Signature")
    assert given == signature(SECRET, "POST", params)


@responses.activate
def test_every_call_gets_a_fresh_nonce_and_the_base_url_is_overridable() -> None:
    route = responses.post("https://dysmsapi.ap-southeast-1.aliyuncs.com/", json=SEND_OK)
    action = connector.action("send_sms")
    inputs = {"phone_numbers": "85200001234", "sign_name": "S", "template_code": "SMS_1"}
    conn = ctx(base_url="https://dysmsapi.ap-southeast-1.aliyuncs.com")
    action.perform(conn, inputs)
    action.perform(conn, inputs)
    nonces = {sent_params(c)["SignatureNonce"] for c in route.calls}
    assert len(nonces) == 2
    assert "TemplateParam" not in sent_params(route.calls[0])


@responses.activate
@pytest.mark.parametrize(
    ("code", "message", "error", "retry_after"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", RetryableError, 60.0),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", RetryableError, 3600.0),
        ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", PermanentError, None),
        ("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", PermanentError, None),
        ("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值", PermanentError, None),
        ("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", PermanentError, None),
        ("isp.RAM_PERMISSION_DENY", "RAM权限DENY", AuthError, None),
    ],
)
def test_business_errors_in_http_200(code: str, message: str, error: type, retry_after: float | None) -> None:
    responses.post(URL, json={"Code": code, "Message": message, "RequestId": "R-1"})
    with pytest.raises(error) as caught:
        connector.action("send_sms").perform(
            ctx(), {"phone_numbers": "1", "sign_name": "S", "template_code": "SMS_1"}
        )
    exc = caught.value
    assert exc.vendor_code == code and message in exc.message and code in exc.message
    assert exc.message.startswith("Alibaba Cloud SMS: ")
    if error is RetryableError:
        assert exc.retry_after == retry_after
    else:
        assert not isinstance(exc, RetryableError)


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            {"Code": "Throttling.User", "Message": "Request was denied due to user flow control."},
            RetryableError,
        ),
        (400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}, AuthError),
        (
            404,
            {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."},
            AuthError,
        ),
        (
            400,
            {"Code": "MissingPhoneNumbers", "Message": "PhoneNumbers is mandatory for this action."},
            PermanentError,
        ),
        (
            503,
            {"Code": "ServiceUnavailable", "Message": "The request has failed due to a temporary failure."},
            RetryableError,
        ),
    ],
)
def test_gateway_errors(status: int, body: dict[str, str], error: type) -> None:
    responses.post(URL, status=status, json={**body, "RequestId": "R-2", "HostId": "dysmsapi.aliyuncs.com"})
    with pytest.raises(error) as caught:
        connector.action("send_sms").perform(
            ctx(), {"phone_numbers": "1", "sign_name": "S", "template_code": "T"}
        )
    assert caught.value.vendor_code == body["Code"] and caught.value.status == status
    assert body["Message"] in caught.value.message and SECRET not in caught.value.message


@responses.activate
def test_non_json_gateway_failure_is_retryable() -> None:
    responses.post(URL, status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    with pytest.raises(RetryableError):
        connector.action("send_sms").perform(
            ctx(), {"phone_numbers": "1", "sign_name": "S", "template_code": "T"}
        )


def test_too_many_numbers_refused_before_sending() -> None:
    with pytest.raises(PermanentError, match="at most 1000"):
        connector.action("send_sms").perform(
            ctx(), {"phone_numbers": [str(i) for i in range(1001)], "sign_name": "S", "template_code": "T"}
        )


# ---- send_details ------------------------------------------------------------------------------------


def detail(status: int, send: str, out_id: str = "123", err: str = "DELIVERED") -> dict[str, Any]:
    return {
        "ErrCode": err,
        "TemplateCode": "SMS_12231****",
        "OutId": out_id,
        "ReceiveDate": send if status != 1 else "",
        "SendDate": send,
        "PhoneNum": "1390000****",
        "Content": "【阿里云】验证码为：123",
        "SendStatus": status,
    }


class FakeDetails:
    """QuerySendDetails over a per-day store, paged the way Alibaba pages (CurrentPage from 1)."""

    def __init__(self, days: dict[str, list[dict[str, Any]]]) -> None:
        self.days = days
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        params = dict(parse_qsl(request.body.decode() if isinstance(request.body, bytes) else request.body))
        self.calls.append(params)
        rows = self.days.get(params["SendDate"], [])
        size, page = int(params["PageSize"]), int(params["CurrentPage"])
        chunk = rows[(page - 1) * size : page * size]
        answer = {
            "Code": "OK",
            "Message": "OK",
            "RequestId": "819BE656-D2E0-4858-8B21-B2E477085AAF",
            "TotalCount": str(len(rows)),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": chunk},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)


@responses.activate
def test_poll_pages_dedupes_and_holds_the_cursor_on_pending_days() -> None:
    today = today_beijing()
    yesterday = today - timedelta(days=1)
    ymd = lambda d: d.strftime("%Y%m%d")  # noqa: E731
    fake = FakeDetails(
        {
            ymd(yesterday): [detail(3, "y 10:00:00", "a"), detail(1, "y 11:00:00", "b")],
            ymd(today): [
                detail(3, "t 09:00:00", "c"),
                detail(2, "t 09:01:00", "d", err="MOBILE_NOT_ON_SERVICE"),
                detail(3, "t 09:00:00", "c"),  # the same report twice in one answer
            ],
        }
    )
    responses.add_callback(responses.POST, URL, callback=fake)
    trigger = connector.trigger("send_details")
    config = {"phone_number": "1390000****", "page_size": 2}
    result = trigger.poll(ctx(), config, json.dumps({"from": ymd(yesterday)}))

    assert [(c["SendDate"], c["CurrentPage"]) for c in fake.calls] == [
        (ymd(yesterday), "1"),
        (ymd(today), "1"),
        (ymd(today), "2"),
    ]
    assert all(c["Action"] == "QuerySendDetails" and c["PageSize"] == "2" for c in fake.calls)
    assert all(c["PhoneNumber"] == "1390000****" and "BizId" not in c for c in fake.calls)
    statuses = [(i.data["out_id"], i.data["status"]) for i in result.items]
    assert statuses == [("a", "delivered"), ("c", "delivered"), ("d", "failed")]
    assert len({i.id for i in result.items}) == 3 and all(
        i.id.endswith(":1390000****:3") or i.id.endswith(":1390000****:2") for i in result.items
    )
    assert result.items[2].data["err_code"] == "MOBILE_NOT_ON_SERVICE"
    assert json.loads(result.cursor or "") == {"from": ymd(yesterday)}  # "b" still waits for a receipt

    # The receipt for "b" arrives: it is reported once, and the cursor moves on to today.
    fake.days[ymd(yesterday)][1] = detail(3, "y 11:00:00", "b")
    again = trigger.poll(ctx(), config, result.cursor)
    new_ids = {i.id for i in again.items} - {i.id for i in result.items}
    assert [i.data["out_id"] for i in again.items if i.id in new_ids] == ["b"]
    assert json.loads(again.cursor or "") == {"from": ymd(today)}


@responses.activate
def test_the_next_poll_starts_at_aliyuns_day_when_its_clock_is_still_on_yesterday() -> None:
    """Before: the cursor moved to the hub's today, so reports Aliyun filed under its own (still
    yesterday's) date after the hub's midnight were never read."""
    today = today_beijing()
    midnight = datetime(today.year, today.month, today.day, tzinfo=ZoneInfo("Asia/Shanghai"))
    aliyun_now = (midnight - timedelta(minutes=5)).astimezone(UTC)  # 23:55 yesterday, Beijing time
    fake = FakeDetails({})

    def behind(request: Any) -> tuple[int, dict[str, str], str]:
        status, headers, body = fake(request)
        return status, {**headers, "Date": format_datetime(aliyun_now, usegmt=True)}, body

    responses.add_callback(responses.POST, URL, callback=behind)
    trigger = connector.trigger("send_details")
    result = trigger.poll(ctx(), {"phone_number": "1390000****"}, None)
    yesterday = (today - timedelta(days=1)).strftime("%Y%m%d")
    assert json.loads(result.cursor or "") == {"from": yesterday}


@responses.activate
def test_poll_with_biz_id_and_pending_reports_and_empty_page() -> None:
    today = today_beijing().strftime("%Y%m%d")
    fake = FakeDetails({today: [detail(1, "t 08:00:00")]})
    responses.add_callback(responses.POST, URL, callback=fake)
    trigger = connector.trigger("send_details")
    config = {"phone_number": "1390000****", "biz_id": "134523^4351232", "include_pending": True}
    result = trigger.poll(ctx(), config, None)
    assert fake.calls[0]["BizId"] == "134523^4351232" and fake.calls[0]["PageSize"] == "50"
    assert [i.id for i in result.items] == ["134523^4351232:1390000****:1"]
    assert result.items[0].data["status"] == "waiting" and result.items[0].data["biz_id"] == "134523^4351232"

    fake.days[today] = []
    empty = trigger.poll(ctx(), {"phone_number": "1390000****"}, None)
    assert empty.items == [] and json.loads(empty.cursor or "") == {"from": today}
    assert len(fake.calls) == 2


@responses.activate
def test_poll_never_looks_back_more_than_30_days_and_surfaces_errors() -> None:
    fake = FakeDetails({})
    responses.add_callback(responses.POST, URL, callback=fake)
    old = (today_beijing() - timedelta(days=90)).strftime("%Y%m%d")
    connector.trigger("send_details").poll(ctx(), {"phone_number": "1"}, json.dumps({"from": old}))
    assert len(fake.calls) == 30
    responses.replace(
        responses.POST, URL, json={"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
    )
    with pytest.raises(PermanentError, match="非法手机号"):
        connector.trigger("send_details").poll(ctx(), {"phone_number": "x"}, None)
