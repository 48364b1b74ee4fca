"""Every recipe template in recipes/templates/ installs with its example parameters and runs end to end.

For each template file there is a scenario below: install it through the template installer (as a
draft, then enabled), fire its trigger the way the vendor or the scheduler would (a signed hook
delivery, a poll finding a new record, a schedule slot), run it to the end on SQLite against the
shared vendor stand-ins on 127.0.0.1, and check both the run's outcome and what the vendors received.
A template without a scenario fails here by name, and so does one that no longer validates.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.config import Settings
from hub.db.models import Run
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from hub.services import recipes as recipe_service
from hub.templates import catalogue
from tests.conftest import installed_connectors, make_settings
from tests.connectors.jotform.fixtures import RAW_REQUEST, delivery_fields, multipart
from tests.e2e.standins import KD_PATH, Seen
from tests.e2e.template_hub import ACTOR, TemplateHub
from tests.e2e.vendor_kit import QBO_REALM, TWILIO_SID, VendorKit, form, sign_jiandaoyun, sign_typeform

pytestmark = pytest.mark.e2e

TEMPLATES = Path(__file__).resolve().parents[2] / "recipes" / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")
JSON = {"Content-Type": "application/json"}
DEAL = {
    "deal": {
        "id": "7001",
        "stage": "won",
        "currency": "CNY",
        "customer": {"name": "杭州云帆科技有限公司", "email": "ap@yunfan.example", "code": "CUST-0042"},
        "lines": [
            {"name": "CRM 企业版年费", "sku": "SKU-CRM-ENT", "qty": 2, "unit_price": "12800.50"},
            {"name": "实施服务", "sku": "SKU-SVC-IMPL", "qty": 1, "unit_price": "6000.00"},
        ],
    }
}


def template_names() -> list[str]:
    return sorted(path.stem for path in TEMPLATES.glob("*.json"))


@pytest.fixture(scope="module")
def kit() -> Iterator[VendorKit]:
    shared = VendorKit()
    yield shared
    shared.close()


@pytest.fixture
def hub(kit: VendorKit, tmp_path: Path) -> Iterator[TemplateHub]:
    kit.reset()
    settings: Settings = make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}")
    rt = Runtime.create(settings, registry=installed_connectors())
    rt.executor = InlineExecutor(rt)
    try:
        yield TemplateHub(rt, kit)
    finally:
        rt.close()


# ---------------------------------------------------------------------------------------- helpers
def post_json(hub: TemplateHub, recipe_id: int, payload: dict[str, Any]) -> None:
    status = hub.deliver(recipe_id, json.dumps(payload, ensure_ascii=False).encode(), JSON)
    assert status == 202, status


def one_run(hub: TemplateHub, recipe_id: int, status: str = "succeeded") -> Run:
    runs = hub.settle(recipe_id)
    assert len(runs) == 1, [(r.id, r.status) for r in runs]
    assert runs[0].status == status, (runs[0].status, runs[0].error, failed_steps(hub, runs[0].id))
    return runs[0]


def all_succeeded(hub: TemplateHub, recipe_id: int, count: int) -> list[Run]:
    runs = hub.settle(recipe_id)
    assert len(runs) == count, [(r.id, r.status) for r in runs]
    assert {r.status for r in runs} == {"succeeded"}, [
        (r.status, r.error, failed_steps(hub, r.id)) for r in runs
    ]
    return runs


def failed_steps(hub: TemplateHub, run_id: int) -> dict[str, Any]:
    return {path: step.error for path, step in hub.steps(run_id).items() if step.error}


def bodies(seen: list[Seen]) -> list[Any]:
    return [s.json() for s in seen]


def twilio_texts(kit: VendorKit) -> list[dict[str, str]]:
    return [form(s) for s in kit["twilio"].calls("POST", f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")]


def aliyun_sms(kit: VendorKit) -> list[dict[str, str]]:
    return [form(s) for s in kit["aliyun_sms"].calls("POST", "/") if form(s).get("Action") == "SendSms"]


def wecom_messages(kit: VendorKit) -> list[dict[str, Any]]:
    return bodies(kit["wecom"].calls("POST", "/cgi-bin/message/send"))


def ding_notices(kit: VendorKit) -> list[dict[str, Any]]:
    return bodies(kit["dingtalk"].calls("POST", "/topapi/message/corpconversation/asyncsend_v2"))


def feishu_texts(kit: VendorKit) -> list[tuple[str, str]]:
    sent = bodies(kit["feishu"].calls("POST", "/open-apis/im/v1/messages"))
    return [(body["receive_id"], json.loads(body["content"])["text"]) for body in sent]


def now_ms(offset_s: float = -2) -> int:
    return int((time.time() + offset_s) * 1000)


def sf_stamp(offset_s: float = -2) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def today(days: int = 0) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days)).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------------------------- leads
def lead_round_robin(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("lead-round-robin-fxiaoke-wecom", {})
    assert hub.poll(rid)["new"] == 0  # the first poll starts "from now"
    kit.poll_items["fxiaoke.LeadsObj"] = [
        {
            "_id": f"lead-{n}",
            "name": f"线索{n}",
            "company": f"公司{n}",
            "create_time": now_ms(),
            "last_modified_time": now_ms(),
        }
        for n in (1, 2)
    ]
    assert hub.poll(rid)["new"] == 2
    all_succeeded(hub, rid, 2)
    owners = {
        b["data"]["object_data"]["_id"]: b["data"]["object_data"]["owner"]
        for b in bodies(kit["fxiaoke"].calls("POST", "/cgi/crm/v2/data/update"))
    }
    assert sorted(map(tuple, owners.values())) == [("FSUID_LISI",), ("FSUID_ZHANGSAN",)], owners
    told = {m["touser"]: m["text"]["content"] for m in wecom_messages(kit)}
    assert set(told) == {"ZhangSan", "LiSi"}
    assert told["ZhangSan"].startswith("张三，新线索「") and "已分配给你" in told["ZhangSan"]


def lead_territory(hub: TemplateHub, kit: VendorKit) -> None:
    hub.table(
        "territories",
        ["province", "region", "zoho_user_id", "wecom_userid"],
        "province",
        [
            {
                "province": "浙江",
                "region": "华东",
                "zoho_user_id": "5725767000000411002",
                "wecom_userid": "WangFang",
            },
            {
                "province": "广东",
                "region": "华南",
                "zoho_user_id": "5725767000000411003",
                "wecom_userid": "LiLei",
            },
        ],
    )
    rid = hub.install("lead-territory-zoho-wecom", {})
    lead = {"id": "5725767000000900001", "name": "陈晨", "company": "杭州云帆", "province": "浙江"}
    post_json(hub, rid, {"lead": lead})
    one_run(hub, rid)
    [update] = bodies(kit["zoho_crm"].calls("PUT", "/crm/v7/Leads/5725767000000900001"))
    assert update["data"][0]["Owner"] == {"id": "5725767000000411002"}, update
    [message] = wecom_messages(kit)
    assert message["touser"] == "WangFang" and "华东" in message["text"]["content"]


def lead_follow_up(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("lead-follow-up-reminder-zoho-email", {})
    kit.poll_items["zoho.Leads"] = [
        {
            "id": "5725767000000900011",
            "Last_Name": "赵敏",
            "Company": "宁波海曙贸易",
            "Owner": {"id": "5725767000000411001", "name": "Ann", "email": "ann@example.com"},
            "Last_Activity_Time": "2026-11-28T10:00:00+08:00",
        },
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [search] = kit["zoho_crm"].calls("GET", "/crm/v7/Leads/search")
    cutoff = (datetime.now(SHANGHAI) - timedelta(days=3)).strftime("%Y-%m-%dT")
    criteria = search.query["criteria"]
    assert criteria.startswith(
        f"((Lead_Status:equals:Not Contacted)and(Last_Activity_Time:less_than:{cutoff}"
    ), criteria
    [mail] = kit.mails()
    assert (
        mail["to"] == ["ann@example.com"] and "赵敏" in mail["subject"] and "超过 3 天未跟进" in mail["text"]
    )


def duplicate_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("duplicate-lead-zoho-wecom", {})
    kit.poll_items["zoho.Leads"] = [
        {"id": "5725767000000900001", "Email": "li.lei@example.com"},
        {"id": "5725767000000900002", "Email": "li.lei@example.com"},
    ]
    post_json(
        hub, rid, {"lead": {"id": "5725767000000900002", "name": "Li Lei", "email": "li.lei@example.com"}}
    )
    one_run(hub, rid)
    [note] = bodies(kit["zoho_crm"].calls("POST", "/crm/v7/Leads/5725767000000900002/Notes"))
    assert note["data"][0]["Note_Content"] == "Same e-mail as lead(s) 5725767000000900001", note
    [message] = wecom_messages(kit)
    assert message["touser"] == "SalesOps" and "5725767000000900001" in message["text"]["content"]


def typeform_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("form-typeform-salesforce-twilio", {})
    secret = kit.typeform_secrets["lT4Z3j"]  # registered with "Typeform" when the recipe was enabled
    fields = [
        ("first_name", "short_text", "text", "Lei"),
        ("last_name", "short_text", "text", "Li"),
        ("company", "short_text", "text", "Acme Ltd"),
        ("email", "email", "email", "li.lei@example.com"),
        ("phone", "phone_number", "phone_number", "+8613800000001"),
    ]
    response = {
        "form_id": "lT4Z3j",
        "token": "tok-1",
        "landed_at": "2026-12-05T09:15:02Z",
        "submitted_at": "2026-12-05T09:16:40Z",
        "definition": {
            "id": "lT4Z3j",
            "title": "Contact us",
            "fields": [
                {"id": f"f{i}", "title": ref, "type": kind, "ref": ref}
                for i, (ref, kind, _, _) in enumerate(fields)
            ],
        },
        "answers": [
            {"type": key, key: value, "field": {"id": f"f{i}", "type": kind, "ref": ref}}
            for i, (ref, kind, key, value) in enumerate(fields)
        ],
    }
    body = json.dumps(
        {"event_id": "01HTPL0001", "event_type": "form_response", "form_response": response}
    ).encode()
    assert hub.deliver(rid, body, {**JSON, "Typeform-Signature": sign_typeform(secret, body)}) == 202
    one_run(hub, rid)
    [lead] = bodies(kit["salesforce"].calls("POST", "/services/data/v60.0/sobjects/Lead/"))
    assert lead == {
        "FirstName": "Lei",
        "LastName": "Li",
        "Company": "Acme Ltd",
        "Email": "li.lei@example.com",
        "MobilePhone": "+8613800000001",
        "LeadSource": "Typeform",
    }, lead
    [sms] = twilio_texts(kit)
    assert sms["To"] == "+8613800000001" and sms["From"] == "+15557122661"
    assert sms["Body"].startswith("Hi Lei, thanks for contacting Acme.")


def jotform_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("form-jotform-hubspot-twilio", {})
    assert kit.jotform_hooks and kit.jotform_hooks[-1].endswith(hub.hook_path(rid))
    raw = {**RAW_REQUEST, "q5_phoneNumber": {"full": "+8613800000002"}}
    fields = {
        **delivery_fields(submission_id="5931738482018634099"),
        "rawRequest": json.dumps(raw, ensure_ascii=False),
    }
    body, content_type = multipart(fields)
    assert hub.deliver(rid, body, {"Content-Type": content_type}) == 202
    one_run(hub, rid)
    [upsert] = bodies(kit["hubspot"].calls("POST", "/crm/v3/objects/contacts/batch/upsert"))
    assert upsert["inputs"][0]["id"] == "li.lei@example.com"
    assert upsert["inputs"][0]["properties"] == {
        "firstname": "Li",
        "lastname": "Lei",
        "phone": "+8613800000002",
        "lifecyclestage": "lead",
        "email": "li.lei@example.com",
    }
    [sms] = twilio_texts(kit)
    assert sms["To"] == "+8613800000002" and sms["Body"].startswith("Hi Li, thanks for your interest")


def jinshuju_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("form-jinshuju-fxiaoke-aliyun-sms", {})
    entry = {
        "serial_number": 123,
        "field_1": "张三",
        "field_2": "13812345678",
        "field_3": "杭州云帆科技",
        "created_at": "2026-12-05T01:55:04.123Z",
    }
    post_json(hub, rid, {"form": "E0Tqhk", "form_name": "客户咨询登记", "entry": entry})
    one_run(hub, rid)
    [created] = bodies(kit["fxiaoke"].calls("POST", "/cgi/crm/v2/data/create"))
    record = created["data"]["object_data"]
    assert (record["name"], record["mobile"], record["company"]) == (
        "杭州云帆科技",
        "13812345678",
        "杭州云帆科技",
    )
    [sms] = aliyun_sms(kit)
    assert sms["PhoneNumbers"] == "13812345678" and sms["SignName"] == "艾可科技"
    assert json.loads(sms["TemplateParam"]) == {"name": "张三"} and sms["TemplateCode"] == "SMS_460915012"


def jiandaoyun_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("form-jiandaoyun-zoho-aliyun-sms", {})
    data = {
        "_id": "6f0a1b2c3d4e5f6a7b8c9d0e",
        "appId": "app-1",
        "entryId": "5b1a2f7f0b2f5e0001a1b2bb",
        "_widget_1432728651401": "王五",
        "_widget_1432728651402": "13900000003",
        "_widget_1432728651403": "深圳前海贸易",
    }
    body = json.dumps({"op": "data_create", "data": data}, ensure_ascii=False).encode()
    stamp, nonce = str(int(time.time())), "0f5ade"
    headers = {**JSON, "X-JDY-Signature": sign_jiandaoyun(body, stamp, nonce), "X-JDY-DeliverId": "deliver-1"}
    assert (
        hub.deliver(rid, body, headers, query=f"timestamp={stamp}&nonce={nonce}") == 200
    )  # 简道云 wants 200
    one_run(hub, rid)
    [upsert] = bodies(kit["zoho_crm"].calls("POST", "/crm/v7/Leads/upsert"))
    assert upsert["data"] == [
        {"Last_Name": "王五", "Company": "深圳前海贸易", "Mobile": "13900000003", "Lead_Source": "简道云"}
    ]
    assert upsert["duplicate_check_fields"] == ["Mobile"]
    [sms] = aliyun_sms(kit)
    assert sms["PhoneNumbers"] == "13900000003" and json.loads(sms["TemplateParam"]) == {"name": "王五"}


def google_forms_lead(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("form-google-forms-salesforce-twilio", {})
    assert hub.poll(rid)["new"] == 0
    submitted = (
        (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    answers = {
        "1a2b3c4d": "Chen Chen",
        "2b3c4d5e": "Ningbo Trading",
        "3c4d5e6f": "chen@ningbo.example",
        "4d5e6f7a": "+8613800000006",
    }
    kit.poll_items["google_forms.responses"] = [
        {
            "responseId": "ACYDBNj5tpl",
            "createTime": submitted,
            "lastSubmittedTime": submitted,
            "answers": {
                qid: {"questionId": qid, "textAnswers": {"answers": [{"value": value}]}}
                for qid, value in answers.items()
            },
        }
    ]
    assert hub.poll(rid)["new"] == 1
    one_run(hub, rid)
    [lead] = bodies(kit["salesforce"].calls("POST", "/services/data/v60.0/sobjects/Lead/"))
    assert lead == {
        "LastName": "Chen Chen",
        "Company": "Ningbo Trading",
        "Email": "chen@ningbo.example",
        "MobilePhone": "+8613800000006",
        "LeadSource": "Google Forms",
    }
    [sms] = twilio_texts(kit)
    assert (
        sms["To"] == "+8613800000006"
        and sms["Body"] == "Hi Chen Chen, thanks for signing up with Acme. We will call you soon."
    )


# ---------------------------------------------------------------------------------------- approvals
def quote(amount: int, requester: str) -> dict[str, Any]:
    return {
        "quote": {
            "id": f"Q-{amount}",
            "customer": "杭州云帆科技",
            "amount": amount,
            "discount_pct": 15,
            "requester": requester,
        }
    }


def decided_after_a_wait(
    hub: TemplateHub, kit: VendorKit, recipe_id: int, told: Callable[[], list[Any]]
) -> None:
    """The approval is still pending at first: the run waits and tells nobody; then it is approved."""
    [parked] = hub.settle(recipe_id, rounds=3)
    assert parked.status == "waiting" and told() == []
    kit.hold_approvals = False


def discount_dingtalk(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("discount-approval-dingtalk", {})
    kit.hold_approvals = True
    post_json(hub, rid, quote(60000, "sales-rep-07"))
    decided_after_a_wait(hub, kit, rid, lambda: ding_notices(kit))
    one_run(hub, rid)
    [started] = bodies(kit["dingtalk"].calls("POST", "/v1.0/workflow/processInstances"))
    assert (
        started["processCode"] == "PROC-FF6Y4BE1N2-DISCOUNT" and started["originatorUserId"] == "sales-rep-07"
    )
    assert [a["userIds"] for a in started["approvers"]] == [["sales-lead-01"], ["manager-01"], ["finance-01"]]
    [notice] = ding_notices(kit)
    assert notice["userid_list"] == "sales-rep-07"
    assert notice["msg"]["text"]["content"] == "折扣申请 Q-60000（杭州云帆科技，60000 元）已通过。"


def discount_feishu(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("discount-approval-feishu", {})
    kit.hold_approvals = True
    post_json(hub, rid, quote(20000, "ou_requester7"))
    decided_after_a_wait(hub, kit, rid, lambda: feishu_texts(kit))
    one_run(hub, rid)
    [started] = bodies(kit["feishu"].calls("POST", "/open-apis/approval/v4/instances"))
    assert started["approval_code"] == "7C468A54-8745-2245-9675-08B7C63E7A02", started  # the manager level
    assert json.loads(started["form"])[1] == {"id": "amount", "type": "amount", "value": 20000}
    assert feishu_texts(kit) == [("ou_requester7", "折扣申请 Q-20000（杭州云帆科技，20000 元）已通过。")]


def discount_wecom(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("discount-approval-wecom", {})
    kit.hold_approvals = True
    post_json(hub, rid, quote(5000, "SalesRep7"))
    decided_after_a_wait(hub, kit, rid, lambda: wecom_messages(kit))
    one_run(hub, rid)
    [applied] = bodies(kit["wecom"].calls("POST", "/cgi-bin/oa/applyevent"))
    assert applied["use_template_approver"] == 0
    assert [node["userid"] for node in applied["process"]["node_list"]] == [["SalesLead"]], applied
    [message] = wecom_messages(kit)
    assert message["touser"] == "SalesRep7" and "已通过" in message["text"]["content"]


def undecided_until_timeout(hub: TemplateHub, kit: VendorKit, template: str, requester: str) -> None:
    """Nobody decides: the run waits, then its wait times out and the escalation goes out."""
    kit.hold_approvals = True
    rid = hub.install(template, {})
    post_json(
        hub, rid, {"request": {"id": "EXP-9", "title": "差旅报销", "amount": 3200, "requester": requester}}
    )
    [parked] = hub.settle(rid, rounds=3)
    assert parked.status == "waiting"
    hub.expire_waits()
    one_run(hub, rid)


TIMED_OUT = "审批超时：差旅报销（3200 元"
LATE = "已超过 24.0 小时未审批，请尽快处理。"


def timeout_dingtalk(hub: TemplateHub, kit: VendorKit) -> None:
    undecided_until_timeout(hub, kit, "approval-timeout-escalation-dingtalk", "emp-9")
    [notice] = ding_notices(kit)
    assert notice["userid_list"] == "manager-01,emp-9"
    assert notice["msg"]["text"]["content"] == f"{TIMED_OUT}，申请人 emp-9）{LATE}"


def timeout_feishu(hub: TemplateHub, kit: VendorKit) -> None:
    undecided_until_timeout(hub, kit, "approval-timeout-escalation-feishu", "ou_emp9")
    assert sorted(feishu_texts(kit)) == [
        ("ou_emp9", f"{TIMED_OUT}）{LATE}"),
        ("ou_manager01", f"{TIMED_OUT}）{LATE}"),
    ]


def timeout_wecom(hub: TemplateHub, kit: VendorKit) -> None:
    undecided_until_timeout(hub, kit, "approval-timeout-escalation-wecom", "Emp9")
    [message] = wecom_messages(kit)
    [applied] = bodies(kit["wecom"].calls("POST", "/cgi-bin/oa/applyevent"))
    assert applied["apply_data"]["contents"][0] == {
        "control": "Text",
        "id": "Text-1569573760851",
        "value": {"text": "差旅报销"},
    }
    assert message["touser"] == "ManagerWang|Emp9"
    assert message["text"]["content"].startswith(TIMED_OUT) and message["text"]["content"].endswith(LATE)


# ---------------------------------------------------------------------------------------- finance
def won_xero(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("won-deal-invoice-xero", {})
    post_json(hub, rid, DEAL)
    one_run(hub, rid)
    [contact] = bodies(kit["xero"].calls("PUT", "/api.xro/2.0/Contacts"))
    assert contact["Contacts"][0]["Name"] == "杭州云帆科技有限公司"
    [invoice] = bodies(kit["xero"].calls("PUT", "/api.xro/2.0/Invoices"))
    sent = invoice["Invoices"][0]
    assert sent["Type"] == "ACCREC" and sent["Reference"] == "7001" and sent["Status"] == "AUTHORISED"
    assert [
        (li["Description"], li["Quantity"], li["UnitAmount"], li["ItemCode"], li["AccountCode"])
        for li in sent["LineItems"]
    ] == [
        ("CRM 企业版年费", 2, Decimal("12800.50"), "SKU-CRM-ENT", "200"),
        ("实施服务", 1, Decimal("6000.00"), "SKU-SVC-IMPL", "200"),
    ]


def won_quickbooks(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("won-deal-invoice-quickbooks", {})
    post_json(hub, rid, DEAL)
    one_run(hub, rid)
    base = f"/v3/company/{QBO_REALM}"
    [customer] = bodies(kit["quickbooks"].calls("POST", f"{base}/customer"))
    assert customer["DisplayName"] == "杭州云帆科技有限公司"
    [invoice] = bodies(kit["quickbooks"].calls("POST", f"{base}/invoice"))
    lines = [(line.get("Description"), line["Amount"]) for line in invoice["Line"]]
    assert lines == [("CRM 企业版年费", Decimal("25601.00")), ("实施服务", Decimal("6000.00"))], invoice
    assert invoice["BillEmail"] == {"Address": "ap@yunfan.example"}


def won_kingdee(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("won-deal-receivable-kingdee", {})
    post_json(hub, rid, DEAL)
    one_run(hub, rid)
    [saved] = bodies(kit["kingdee"].calls("POST", KD_PATH.format("DynamicFormService.Save")))
    assert saved["formid"] == "AR_receivable" and saved["data"]["IsAutoSubmitAndAudit"] is True
    model = saved["data"]["Model"]
    assert model["FCUSTOMERID"] == {"FNumber": "CUST-0042"} and model["FSETTLEORGID"] == {"FNumber": "100"}
    assert model["FEntityDetail"] == [
        {"FMATERIALID": {"FNumber": "SKU-CRM-ENT"}, "FPriceQty": 2, "FTaxPrice": "12800.50"},
        {"FMATERIALID": {"FNumber": "SKU-SVC-IMPL"}, "FPriceQty": 1, "FTaxPrice": "6000.00"},
    ]


def won_yonyou(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("won-deal-sales-order-yonyou", {})
    post_json(hub, rid, DEAL)
    one_run(hub, rid)
    [saved] = bodies(kit["yonyou"].calls("POST", "/iuap-api-gateway/yonbip/sd/voucherorder/singleSave"))
    record = saved["data"]
    assert record["agentId"] == "CUST-0042" and record["salesOrgId"] == "org01"
    assert [(d["productId"], d["qty"], d["oriSum"]) for d in record["orderDetails"]] == [
        ("SKU-CRM-ENT", 2, Decimal("25601.00")),
        ("SKU-SVC-IMPL", 1, Decimal("6000.00")),
    ]


def paid_xero(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("payment-received-xero-hubspot-twilio", {})
    assert hub.poll(rid)["new"] == 0
    kit.poll_items["hubspot.deals"] = [
        {"id": "7001", "properties": {"dealname": "云帆 CRM", "customer_mobile": "+8613800000005"}}
    ]
    kit.poll_items["xero.invoices"] = [
        {
            "InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
            "InvoiceNumber": "INV-0042",
            "Type": "ACCREC",
            "Status": "PAID",
            "Reference": "7001",
            "Total": "31601.00",
            "AmountDue": "0.00",
            "Contact": {"ContactID": "c-1", "Name": "杭州云帆科技有限公司"},
            "UpdatedDateUTC": f"/Date({now_ms()}+0000)/",
        }
    ]
    assert hub.poll(rid)["new"] == 1
    one_run(hub, rid)
    [patched] = bodies(kit["hubspot"].calls("PATCH", "/crm/v3/objects/deals/7001"))
    assert patched == {"properties": {"payment_status": "paid"}}
    [sms] = twilio_texts(kit)
    assert sms["To"] == "+8613800000005"
    assert sms["Body"] == "Thank you! We received your payment of 31601.00 for invoice INV-0042."


def paid_kingdee(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("payment-received-kingdee-fxiaoke-sms", {})
    assert hub.poll(rid)["new"] == 0
    modified = (
        (datetime.now(SHANGHAI) - timedelta(seconds=2)).replace(tzinfo=None).isoformat(timespec="seconds")
    )
    kit.poll_items["kingdee.AR_RECEIVEBILL"] = [
        {
            "FID": 200001,
            "FModifyDate": modified,
            "FBillNo": "SKD00000123",
            "FRECAMOUNTFOR": 31601,
            "FDocumentStatus": "C",
            "F_ora_FxOrderId": "fx-order-9",
            "F_ora_Mobile": "13900000009",
        }
    ]
    assert hub.poll(rid)["new"] == 1
    one_run(hub, rid)
    [update] = bodies(kit["fxiaoke"].calls("POST", "/cgi/crm/v2/data/update"))
    assert update["data"]["object_data"]["_id"] == "fx-order-9"
    assert update["data"]["object_data"]["payment_status__c"] == "paid"
    assert update["data"]["object_data"]["dataObjectApiName"] == "SalesOrderObj"
    [sms] = aliyun_sms(kit)
    assert sms["PhoneNumbers"] == "13900000009"
    assert json.loads(sms["TemplateParam"]) == {"bill": "SKD00000123", "amount": "31601"}


# ---------------------------------------------------------------------------------------- contracts
def contract_docusign(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("contract-esign-docusign-xero", {})
    contract = {
        "id": "C-7",
        "status": "approved",
        "customer": "Acme Ltd",
        "signer_name": "Li Lei",
        "signer_email": "li.lei@acme.example",
        "amount": "12800.50",
        "currency": "NZD",
    }
    post_json(hub, rid, {"contract": contract})
    one_run(hub, rid)
    [envelope] = bodies(kit["docusign"].calls("POST", r"/restapi/v2\.1/accounts/[^/]+/envelopes"))
    assert envelope["templateId"] == "TPL-CONTRACT-0001"
    assert envelope["templateRoles"] == [
        {"name": "Li Lei", "email": "li.lei@acme.example", "roleName": "Customer"}
    ]
    [invoice] = bodies(kit["xero"].calls("PUT", "/api.xro/2.0/Invoices"))
    sent = invoice["Invoices"][0]
    assert (
        sent["Contact"] == {"Name": "Acme Ltd"}
        and sent["Status"] == "AUTHORISED"
        and sent["CurrencyCode"] == "NZD"
    )
    assert sent["LineItems"][0]["UnitAmount"] == Decimal("12800.50")


def contract_docusign_kingdee(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("contract-esign-docusign-kingdee", {})
    contract = {
        "id": "HT-2026-031",
        "status": "approved",
        "customer_code": "CUST-0042",
        "signer_name": "陈晨",
        "signer_email": "chen@yunfan.example",
        "amount": "88000.00",
        "material": "SKU-CRM-ENT",
    }
    kit.hold_approvals = True  # not signed yet: the run waits for the envelope
    post_json(hub, rid, {"contract": contract})
    [parked] = hub.settle(rid, rounds=3)
    assert parked.status == "waiting" and kit["kingdee"].seen == []
    kit.hold_approvals = False  # signed
    one_run(hub, rid)
    [envelope] = bodies(kit["docusign"].calls("POST", r"/restapi/v2\.1/accounts/[^/]+/envelopes"))
    assert envelope["emailSubject"] == "请签署合同 HT-2026-031"
    [saved] = bodies(kit["kingdee"].calls("POST", KD_PATH.format("DynamicFormService.Save")))
    model = saved["data"]["Model"]
    assert saved["formid"] == "AR_receivable" and model["FCUSTOMERID"] == {"FNumber": "CUST-0042"}
    assert model["FEntityDetail"] == [
        {"FMATERIALID": {"FNumber": "SKU-CRM-ENT"}, "FPriceQty": 1, "FTaxPrice": "88000.00"}
    ]


def contract_expiry(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("contract-expiry-reminder-salesforce-email", {})
    kit.poll_items["salesforce.Contract"] = [
        {
            "Id": "800A1",
            "ContractNumber": "00000101",
            "EndDate": today(30),
            "Account": {"Name": "Acme Ltd"},
            "Owner": {"Email": "ann@example.com", "Name": "Ann"},
        },
        {
            "Id": "800A2",
            "ContractNumber": "00000102",
            "EndDate": today(7),
            "Account": {"Name": "Globex"},
            "Owner": {"Email": "bob@example.com", "Name": "Bob"},
        },
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [query] = kit["salesforce"].calls("GET", "/services/data/v60.0/query")
    assert f"EndDate = {today(30)} OR EndDate = {today(7)}" in query.query["q"]
    subjects = {m["to"][0]: m["subject"] for m in kit.mails()}
    assert subjects == {
        "ann@example.com": f"合同 00000101 将于 {today(30)} 到期（还有 30 天）",
        "bob@example.com": f"合同 00000102 将于 {today(7)} 到期（还有 7 天）",
    }


def quote_expiry(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("quote-expiry-reminder-salesforce-email", {})
    kit.poll_items["salesforce.Quote"] = [
        {
            "Id": "0Q0A1",
            "QuoteNumber": "00000042",
            "Name": "云帆 CRM 报价",
            "ExpirationDate": today(3),
            "GrandTotal": 31601,
            "Email": "buyer@yunfan.example",
            "Contact": {"Name": "Chen Chen"},
            "Opportunity": {"Owner": {"Email": "ann@example.com"}},
        }
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [mail] = kit.mails()
    assert sorted(mail["to"]) == ["ann@example.com", "buyer@yunfan.example"]
    assert (
        mail["subject"] == f"Your quote 00000042 expires on {today(3)}" and "Dear Chen Chen" in mail["text"]
    )


# ------------------------------------------------------------------------ customers, support, alerts
def customer_sync(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("customer-sync-salesforce-kingdee", {})
    assert hub.poll(rid)["new"] == 0
    kit.poll_items["kingdee.BD_Customer"] = [{"FCUSTID": 300042, "FNumber": "CUST-0042"}]
    kit.poll_items["salesforce.Account"] = [
        {
            "Id": "0015g00000AcMe1AAB",
            "SystemModstamp": sf_stamp(),
            "Name": "杭州云帆科技有限公司",
            "AccountNumber": "CUST-0042",
            "Phone": "0571-88886666",
            "BillingCity": "杭州",
            "BillingStreet": "文三路 90 号",
            "Type": "Customer",
        }
    ]
    assert hub.poll(rid)["new"] == 1
    one_run(hub, rid)
    [saved] = bodies(kit["kingdee"].calls("POST", KD_PATH.format("DynamicFormService.Save")))
    model = saved["data"]["Model"]
    assert saved["formid"] == "BD_Customer" and model["FCUSTID"] == 300042  # the existing customer: an update
    assert (model["FNumber"], model["FName"], model["FADDRESS"]) == (
        "CUST-0042",
        "杭州云帆科技有限公司",
        "杭州 文三路 90 号",
    )
    assert kit.mails() == []  # nothing failed, nobody alerted

    kit.fail_next.add("kingdee")  # the next change is refused by 金蝶: the admin is alerted
    changed = {
        **kit.poll_items["salesforce.Account"][0],
        "Name": "杭州云帆科技股份有限公司",
        "SystemModstamp": sf_stamp(-1),
    }
    kit.poll_items["salesforce.Account"] = [changed]
    assert hub.poll(rid)["new"] == 1
    failed = hub.settle(rid)[1]
    assert (
        failed.status == "failed" and failed.error is not None and "编码已被使用" in failed.error["message"]
    )
    [alert] = kit.mails()
    assert alert["to"] == ["it-admin@example.com"]
    assert (
        alert["subject"] == "客户同步失败：杭州云帆科技股份有限公司（CUST-0042）"
        and "编码已被使用" in alert["text"]
    )


def churn_risk(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("churn-risk-alert-salesforce-feishu", {})
    kit.poll_items["salesforce.Account"] = [
        {"Id": "001A", "Name": "Acme Ltd", "Owner": {"Name": "Ann"}, "LastActivityDate": "2026-09-01"},
        {"Id": "001B", "Name": "Globex", "Owner": {"Name": "Bob"}, "LastActivityDate": "2026-10-15"},
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [(chat, text)] = feishu_texts(kit)
    assert chat == "oc_5ad11d72b830411d72b836c20"
    assert text.startswith(
        "流失风险：2 个客户超过 30 天无活动\n• Acme Ltd（负责人 Ann，最后活动 2026-09-01）"
    )


def ticket_sla(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("ticket-sla-escalation-dingtalk", {})
    kit.poll_items["http.tickets"] = [{"id": "4711", "status": "open"}]
    post_json(hub, rid, {"ticket": {"id": "4711", "subject": "无法登录", "priority": "high"}})
    run = one_run(hub, rid)
    assert hub.steps(run.id)["wait_sla"].status == "succeeded"
    [raised] = bodies(kit["http"].calls("PUT", "/api/v2/tickets/4711"))
    assert raised == {
        "priority": "urgent",
        "group_id": "360001234567",
        "comment": "Escalated: open past its 4 h SLA",
    }
    [notice] = ding_notices(kit)
    assert (
        notice["userid_list"] == "support-manager"
        and "超过 4 小时 SLA 仍未解决" in notice["msg"]["text"]["content"]
    )


def sync_failure_alert(hub: TemplateHub, kit: VendorKit) -> None:
    alert_id = hub.install("sync-failure-alert-wecom", {})
    caller = {
        "name": "A sync that failed",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "alert",
                "connector": "recipe",
                "action": "call",
                "input": {
                    "recipe": alert_id,
                    "event": {
                        "sync": "Salesforce -> 金蝶 客户",
                        "record": "{{ event.record }}",
                        "error": "{{ event.error }}",
                        "run_id": 99,
                    },
                },
            }
        ],
    }
    caller_id = recipe_service.save_recipe(hub.rt, caller, actor=ACTOR, project_id=1).id
    post_json(hub, caller_id, {"record": "CUST-0042", "error": "Kingdee: 编码已被使用"})
    one_run(hub, caller_id)
    one_run(hub, alert_id)
    [message] = wecom_messages(kit)
    assert message["touser"] == "ZhangSan|LiSi" and message["msgtype"] == "markdown"
    assert "**同步失败**：Salesforce -> 金蝶 客户" in message["markdown"]["content"]
    [mail] = kit.mails()
    assert mail["to"] == ["it-admin@example.com"] and "Kingdee: 编码已被使用" in mail["text"]


# ---------------------------------------------------------------------------------------- reports
def summary_wecom(hub: TemplateHub, kit: VendorKit) -> None:
    hub.secret("WECOM_SALES_ROBOT_URL", f"{kit['wecom'].url}/cgi-bin/webhook/send?key=tpl-robot-key")
    rid = hub.install("daily-sales-summary-wecom", {})
    kit.poll_items["fxiaoke.OpportunityObj"] = [
        {"_id": "o1", "name": "云帆 CRM", "amount": "25601.00"},
        {"_id": "o2", "name": "海曙 ERP", "amount": "6000.50"},
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [robot] = kit["wecom"].calls("POST", "/cgi-bin/webhook/send")
    assert robot.query == {"key": "tpl-robot-key"}
    run = hub.runs(rid)[0]
    assert "tpl-robot-key" not in json.dumps(hub.steps(run.id)["post"].input)  # the robot's key stays secret
    posted = robot.json()
    assert posted["msgtype"] == "markdown"
    assert (
        f"**{today()} 销售简报**\n赢单 2 个，合计 31601.50 元\n- 云帆 CRM: 25601.00\n- 海曙 ERP: 6000.50"
        in posted["markdown"]["content"]
    )


def summary_dingtalk(hub: TemplateHub, kit: VendorKit) -> None:
    hub.secret("DINGTALK_SALES_ROBOT_URL", f"{kit['dingtalk'].url}/robot/send?access_token=tpl-robot-token")
    rid = hub.install("daily-sales-summary-dingtalk", {})
    kit.poll_items["salesforce.Opportunity"] = [{"Id": "006A", "Name": "Acme renewal", "Amount": 12000.5}]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [query] = kit["salesforce"].calls("GET", "/services/data/v60.0/query")
    assert "IsWon = true AND CloseDate = TODAY" in query.query["q"]
    [robot] = kit["dingtalk"].calls("POST", "/robot/send")
    assert robot.query == {"access_token": "tpl-robot-token"}
    posted = robot.json()
    assert posted["markdown"]["title"] == "销售简报"
    assert posted["markdown"]["text"].startswith(f"### 销售简报 {today()}\n赢单 1 个，合计 12000.5")


def summary_feishu(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("daily-sales-summary-feishu", {})
    kit.poll_items["hubspot.deals"] = [
        {"id": "7001", "properties": {"dealname": "Acme", "amount": "100.25"}},
        {"id": "7002", "properties": {"dealname": "Globex", "amount": "50"}},
    ]
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [search] = bodies(kit["hubspot"].calls("POST", "/crm/v3/objects/deals/search"))
    assert search["filterGroups"][0]["filters"][0] == {
        "propertyName": "dealstage",
        "operator": "EQ",
        "value": "closedwon",
    }
    [(chat, text)] = feishu_texts(kit)
    assert chat == "oc_5ad11d72b830411d72b836c20"
    assert text == f"{today()} 销售简报：赢单 2 个，合计 150.25\n- Acme: 100.25\n- Globex: 50\n"


def report_http_wecom(hub: TemplateHub, kit: VendorKit) -> None:
    values = {"report_url": f"{kit['http'].url}/reports/daily"}
    rid = hub.install("daily-http-report-wecom", values)
    kit.poll_items["http.report"] = {"total": "31601.50", "deals": 2}
    assert len(hub.tick()) == 1
    one_run(hub, rid)
    [message] = wecom_messages(kit)
    assert message["msgtype"] == "markdown" and "31601.50" in message["markdown"]["content"]


# ---------------------------------------------------------------------------------------- marketing
def onboarding(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("onboarding-drip-email", {})
    post_json(hub, rid, {"customer": {"id": "CUS-1", "name": "Chen", "email": "chen@yunfan.example"}})
    run = one_run(hub, rid)
    assert {hub.steps(run.id)[d].status for d in ("wait_tips", "wait_checkin")} == {"succeeded"}
    assert [(m["to"], m["subject"]) for m in kit.mails()] == [
        (["chen@yunfan.example"], "Welcome to Acme, Chen"),
        (["chen@yunfan.example"], "Getting started with Acme"),
        (["chen@yunfan.example"], "How is it going?"),
    ]


def variant_of(mobile: str) -> str:
    return "A" if hashlib.sha256(mobile.encode()).hexdigest()[0] in "01234567" else "B"


def ab_reminder(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("ab-reminder-sms-twilio", {})
    mobiles = [f"+86138000000{n:02d}" for n in range(40)]
    a = next(m for m in mobiles if variant_of(m) == "A")
    b = next(m for m in mobiles if variant_of(m) == "B")
    for number, mobile in enumerate((a, b)):
        invoice = {
            "id": f"INV-{number}",
            "number": f"INV-{number}",
            "amount": "99.00",
            "due_date": "2026-12-20",
            "customer": {"name": "Chen", "mobile": mobile},
        }
        post_json(hub, rid, {"invoice": invoice})
    runs = all_succeeded(hub, rid, 2)
    texts = {sms["To"]: sms["Body"] for sms in twilio_texts(kit)}
    assert texts == {
        a: "Hi Chen, invoice INV-0 (99.00) is due on 2026-12-20.",
        b: "Chen, pay invoice INV-1 by 2026-12-20 and keep your service running.",
    }
    counts = [hub.steps(run.id)["count"].output["value"] for run in runs]
    assert counts == [1, 1]  # one send counted per variant


# ---------------------------------------------------------------------------------------- generic ones
def jiandaoyun_wecom(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("jiandaoyun-form-wecom-message", {})
    entry = catalogue_example("jiandaoyun-form-wecom-message", "entry_id")
    data = {"_id": "d-1", "entryId": entry, "appId": "a-1", "_widget_name": "张三"}
    body = json.dumps({"op": "data_create", "data": data}, ensure_ascii=False).encode()
    stamp, nonce = str(int(time.time())), "a1b2c3"
    headers = {**JSON, "X-JDY-Signature": sign_jiandaoyun(body, stamp, nonce), "X-JDY-DeliverId": "deliver-2"}
    assert (
        hub.deliver(rid, body, headers, query=f"timestamp={stamp}&nonce={nonce}") == 200
    )  # 简道云 wants 200
    one_run(hub, rid)
    [message] = wecom_messages(kit)
    assert message["text"]["content"] == "新线索：张三"


def forward_http(hub: TemplateHub, kit: VendorKit) -> None:
    rid = hub.install("webhook-forward-http", {"target_url": f"{kit['http'].url}/hooks/inbound"})
    post_json(hub, rid, {"order": {"id": "SO-1", "total": "10.50"}})
    one_run(hub, rid)
    [forwarded] = kit["http"].calls("POST", "/hooks/inbound")
    assert forwarded.json()["order"] == {"id": "SO-1", "total": "10.50"}
    assert forwarded.headers.get("X-Source") == "integration-hub"


def catalogue_example(template: str, parameter: str) -> Any:
    [found] = [p for p in catalogue.get(template).parameters if p.name == parameter]
    return found.example


SCENARIOS: dict[str, Callable[[TemplateHub, VendorKit], None]] = {
    "lead-round-robin-fxiaoke-wecom": lead_round_robin,
    "lead-territory-zoho-wecom": lead_territory,
    "lead-follow-up-reminder-zoho-email": lead_follow_up,
    "duplicate-lead-zoho-wecom": duplicate_lead,
    "form-typeform-salesforce-twilio": typeform_lead,
    "form-jotform-hubspot-twilio": jotform_lead,
    "form-jinshuju-fxiaoke-aliyun-sms": jinshuju_lead,
    "form-jiandaoyun-zoho-aliyun-sms": jiandaoyun_lead,
    "form-google-forms-salesforce-twilio": google_forms_lead,
    "discount-approval-dingtalk": discount_dingtalk,
    "discount-approval-feishu": discount_feishu,
    "discount-approval-wecom": discount_wecom,
    "approval-timeout-escalation-dingtalk": timeout_dingtalk,
    "approval-timeout-escalation-feishu": timeout_feishu,
    "approval-timeout-escalation-wecom": timeout_wecom,
    "won-deal-invoice-xero": won_xero,
    "won-deal-invoice-quickbooks": won_quickbooks,
    "won-deal-receivable-kingdee": won_kingdee,
    "won-deal-sales-order-yonyou": won_yonyou,
    "payment-received-xero-hubspot-twilio": paid_xero,
    "payment-received-kingdee-fxiaoke-sms": paid_kingdee,
    "contract-esign-docusign-xero": contract_docusign,
    "contract-esign-docusign-kingdee": contract_docusign_kingdee,
    "contract-expiry-reminder-salesforce-email": contract_expiry,
    "quote-expiry-reminder-salesforce-email": quote_expiry,
    "customer-sync-salesforce-kingdee": customer_sync,
    "churn-risk-alert-salesforce-feishu": churn_risk,
    "ticket-sla-escalation-dingtalk": ticket_sla,
    "sync-failure-alert-wecom": sync_failure_alert,
    "daily-sales-summary-wecom": summary_wecom,
    "daily-sales-summary-dingtalk": summary_dingtalk,
    "daily-sales-summary-feishu": summary_feishu,
    "daily-http-report-wecom": report_http_wecom,
    "onboarding-drip-email": onboarding,
    "ab-reminder-sms-twilio": ab_reminder,
    "jiandaoyun-form-wecom-message": jiandaoyun_wecom,
    "webhook-forward-http": forward_http,
}


def test_every_template_file_is_in_the_catalogue_and_has_a_scenario() -> None:
    """A template added without a scenario, or a scenario left for a removed template, fails here."""
    names = template_names()
    assert sorted(catalogue.load()) == names  # loading validates every template against its schema
    assert [n for n in names if n not in SCENARIOS] == [], "templates without an end-to-end scenario"
    assert [n for n in SCENARIOS if n not in names] == [], "scenarios without a template"
    catalogue_doc = (TEMPLATES.parents[1] / "docs" / "templates.md").read_text(encoding="utf-8")
    assert [n for n in names if f"| `{n}` |" not in catalogue_doc] == [], (
        "templates missing in docs/templates.md"
    )


@pytest.mark.parametrize("name", template_names())
def test_template_installs_with_its_examples_and_runs_end_to_end(
    name: str, hub: TemplateHub, kit: VendorKit
) -> None:
    scenario = SCENARIOS.get(name)
    assert scenario is not None, f"template {name} has no end-to-end scenario in SCENARIOS"
    scenario(hub, kit)
    unrouted = {name: vendor.unrouted for name, vendor in kit.vendors.items() if vendor.unrouted}
    assert unrouted == {}, "the template called vendor APIs the stand-ins do not have"
