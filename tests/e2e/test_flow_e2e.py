"""Flow control through a running hub, against vendor stand-ins on 127.0.0.1: a for_each building
K3Cloud receivable rows, a multi-level DingTalk approval that stops on the first rejection, a nightly
CRM sweep reminding each owner, and SMS + email in parallel joined before a CRM update."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.e2e.harness import HubProcess, connect, free_port, run_detail, runs, wait_until
from tests.e2e.standins import KD_PATH, Mailbox, Reply, Seen, StandIn

pytestmark = pytest.mark.e2e

FINAL = ("succeeded", "failed", "filtered", "cancelled")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, dict[str, str]]]:
    process = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    process.start()
    try:
        yield process, process.admin_headers()
    finally:
        process.stop()


def create(process: HubProcess, headers: dict[str, str], document: dict[str, Any]) -> dict[str, Any]:
    created = requests.post(f"{process.url}/api/v1/recipes", json=document, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def ended(process: HubProcess, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The runs' details once `count` runs have ended."""
    wait_until(
        lambda: len(found := runs(process, headers)) >= count and all(r["status"] in FINAL for r in found),
        timeout_s=60,
        what=f"{count} run(s) to end",
    )
    return [run_detail(process, headers, r["id"]) for r in runs(process, headers)]


def by_path(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["path"]: s for s in run["steps"]}


# ---------------------------------------------------------------- (1) won deal -> one K3Cloud receivable
KD_LOGIN = {"acctID": "62f8ff01e0b76e", "username": "hub-api", "password": "kd-pass", "lcid": 2052}
LINES = [
    {"sku": "MAT-001", "qty": 2, "price": "199.00"},
    {"sku": "MAT-002", "qty": 1, "price": "1200.50"},
    {"sku": "MAT-003", "qty": 10, "price": "9.90"},
    {"sku": "MAT-004", "qty": 3, "price": "45.00"},
    {"sku": "MAT-005", "qty": 5, "price": "18.80"},
]


def kingdee() -> StandIn:
    def login(seen: Seen) -> Reply:
        assert seen.json() == KD_LOGIN
        answer = {"LoginResultType": 1, "IsSuccessByAPI": True, "KDSVCSessionId": "kd-1", "Context": {}}
        return 200, answer, {"Set-Cookie": "kdservice-sessionid=kd-1; path=/; HttpOnly"}

    def save(seen: Seen) -> Reply:
        assert seen.headers.get("Cookie") == "kdservice-sessionid=kd-1"
        done = {"Id": 100200, "Number": "AR00000200", "DIndex": 0}
        status = {"ErrorCode": 0, "IsSuccess": True, "Errors": [], "SuccessEntitys": [done], "MsgCode": 0}
        return 200, {"Result": {"ResponseStatus": status, "Id": 100200, "Number": "AR00000200"}}, {}

    return StandIn(
        {
            ("POST", KD_PATH.format("AuthService.ValidateUser")): login,
            ("POST", KD_PATH.format("DynamicFormService.Save")): save,
        }
    )


RECEIVABLE_RECIPE: dict[str, Any] = {
    "name": "Won deal -> K3Cloud receivable",
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "deal.id"}},
    "filter": "{{ event.deal.stage == 'won' }}",
    "steps": [
        {
            "id": "rows",
            "type": "for_each",
            "items": "{{ event.deal.lines }}",
            "as": "line",
            "steps": [
                {
                    "id": "entry",
                    "type": "set",
                    "values": {
                        "FMATERIALID": {"FNumber": "{{ line.sku }}"},
                        "FPriceQty": "{{ line.qty }}",
                        "FTaxPrice": "{{ line.price | decimal }}",
                        "FEntryTaxRate": 13,
                        "FComment": "line {{ loop.index + 1 }} of {{ loop.length }}",
                    },
                }
            ],
        },
        {
            "id": "receivable",
            "connector": "kingdee",
            "action": "save",
            "connection": "kingdee-erp",
            "input": {
                "form_id": "AR_receivable",
                "model": {
                    "FBillTypeID": {"FNUMBER": "YSD01_SYS"},
                    "FDATE": "{{ event.deal.closed_on }}",
                    "FCUSTOMERID": {"FNumber": "{{ event.deal.customer }}"},
                    "FEntityDetail": "{{ steps.rows['items'] | map(attribute='entry') | list }}",
                },
            },
        },
    ],
}


def test_a_won_deal_becomes_one_receivable_with_a_row_per_line(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    kd = kingdee()
    try:
        connect(
            process,
            headers,
            "kingdee-erp",
            "kingdee",
            {
                "base_url": f"{kd.url}/k3cloud",
                "acct_id": "62f8ff01e0b76e",
                "username": "hub-api",
                "password": "kd-pass",
                "lcid": 2052,
            },
        )
        hook = create(process, headers, RECEIVABLE_RECIPE)["webhook_url"]
        deal = {
            "id": "D-9",
            "stage": "won",
            "customer": "CUST0042",
            "closed_on": "2026-12-01",
            "lines": LINES,
        }
        assert requests.post(hook, json={"deal": deal}, timeout=10).status_code == 202
        [run] = ended(process, headers, 1)
        assert run["status"] == "succeeded", run
        [save] = kd.calls("POST", KD_PATH.format("DynamicFormService.Save"))
        body = save.json()
        assert body["formid"] == "AR_receivable"
        model = body["data"]["Model"]
        assert model["FCUSTOMERID"] == {"FNumber": "CUST0042"} and model["FDATE"] == "2026-12-01"
        assert model["FEntityDetail"] == [
            {
                "FMATERIALID": {"FNumber": line["sku"]},
                "FPriceQty": line["qty"],
                "FTaxPrice": Decimal(line["price"]),
                "FEntryTaxRate": 13,
                "FComment": f"line {i + 1} of 5",
            }
            for i, line in enumerate(LINES)
        ]
        steps = by_path(run)
        assert [steps[f"rows.{i}.entry"]["item"] for i in range(5)] == list(range(5))
        assert (
            steps["rows"]["output"]["count"] == 5 and steps["receivable"]["output"]["number"] == "AR00000200"
        )
    finally:
        kd.close()


# ---------------------------------------------------------------- (2) discount approval, level by level
class DingTalk:
    """Approvals on api.dingtalk.com: each instance is decided at once by its approver's rule."""

    def __init__(self, decisions: dict[str, str]) -> None:
        self.decisions = decisions
        self.instances: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.standin = StandIn(
            {
                ("POST", "/v1.0/oauth2/accessToken"): self.token,
                ("POST", "/v1.0/workflow/processInstances"): self.start,
                ("POST", "/v1.0/workflow/processes/instanceIds/query"): self.list,
                ("GET", "/v1.0/workflow/processInstances"): self.get,
            }
        )

    def token(self, seen: Seen) -> Reply:
        assert seen.json() == {"appKey": "ding-e2e", "appSecret": "ding-secret"}
        return 200, {"accessToken": "dt-token", "expireIn": 7200}, {}

    def _authorized(self, seen: Seen) -> None:
        assert seen.headers.get("x-acs-dingtalk-access-token") == "dt-token"

    def start(self, seen: Seen) -> Reply:
        self._authorized(seen)
        body = seen.json()
        assert body["processCode"] == "PROC-DISCOUNT" and body["originatorUserId"] == "owner-7"
        [approvers] = body["approvers"]
        [approver] = approvers["userIds"]
        with self.lock:
            instance_id = f"PI-{len(self.instances) + 1}-{approver}"
            self.instances[instance_id] = {"approver": approver, "form": body["formComponentValues"]}
        return 200, {"instanceId": instance_id}, {}

    def list(self, seen: Seen) -> Reply:
        self._authorized(seen)
        assert seen.json()["processCode"] == "PROC-DISCOUNT"
        with self.lock:
            ids = list(self.instances)
        return 200, {"result": {"list": ids, "nextToken": None}, "success": True}, {}

    def get(self, seen: Seen) -> Reply:
        self._authorized(seen)
        with self.lock:
            instance = self.instances[seen.query["processInstanceId"]]
        result = {
            "status": "COMPLETED",
            "result": self.decisions[instance["approver"]],
            "processCode": "PROC-DISCOUNT",
        }
        return 200, {"result": result, "success": True}, {}


LEVELS = (
    "[{'level': 1, 'approver': 'mgr-1'}, {'level': 2, 'approver': 'dir-2'}, {'level': 3, 'approver': 'vp-3'}]"
)
APPROVAL_RECIPE: dict[str, Any] = {
    "name": "Discount approval by level",
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
    "steps": [
        {
            "id": "plan",
            "type": "set",
            "values": {
                "levels": "{{ "
                + LEVELS
                + "[: 3 if event.amount > 100000 else 2 if event.amount > 20000 else 1] }}"
            },
        },
        {
            "id": "levels",
            "type": "for_each",
            "items": "{{ steps.plan.levels }}",
            "as": "level",
            "steps": [
                {
                    "id": "ask",
                    "connector": "dingtalk",
                    "action": "start_approval",
                    "connection": "dingtalk",
                    "input": {
                        "process_code": "PROC-DISCOUNT",
                        "originator_user_id": "{{ event.owner }}",
                        "form_component_values": {
                            "Deal": "{{ event.deal }}",
                            "Discount": "{{ event.discount }}",
                            "Level": "{{ level.level }}",
                        },
                        "approvers": [{"action_type": "NONE", "user_ids": ["{{ level.approver }}"]}],
                    },
                },
                {
                    "id": "decided",
                    "type": "wait_for",
                    "connector": "dingtalk",
                    "trigger": "approval_status_poll",
                    "connection": "dingtalk",
                    "config": {"process_code": "PROC-DISCOUNT"},
                    "match": {"instance_id": "{{ steps.ask.instance_id }}"},
                    "timeout_s": 600,
                },
                {
                    "id": "rejected",
                    "type": "stop",
                    "when": "{{ steps.decided.result != 'agree' }}",
                    "status": "failed",
                    "message": "{{ event.deal }}: discount refused at level {{ level.level }} "
                    "by {{ level.approver }}",
                },
            ],
        },
        {
            "id": "apply",
            "connector": "http",
            "action": "request",
            "input": {
                "method": "POST",
                "url": "{{ event.crm }}/discounts",
                "json": {"deal": "{{ event.deal }}"},
            },
        },
    ],
}


def test_discount_approval_goes_level_by_level_and_stops_at_a_refusal(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    dingtalk = DingTalk({"mgr-1": "agree", "dir-2": "refuse", "vp-3": "agree"})
    crm = StandIn({("POST", "/discounts"): lambda seen: (200, {"ok": True}, {})})
    try:
        connect(
            process,
            headers,
            "dingtalk",
            "dingtalk",
            {"app_key": "ding-e2e", "app_secret": "ding-secret", "base_url": dingtalk.standin.url},
        )
        hook = create(process, headers, APPROVAL_RECIPE)["webhook_url"]
        big = {"deal": "D-big", "amount": 250000, "discount": "30%", "owner": "owner-7", "crm": crm.url}
        assert requests.post(hook, json=big, timeout=10).status_code == 202
        [run] = ended(process, headers, 1)
        assert run["status"] == "failed"
        assert run["error"]["message"] == "D-big: discount refused at level 2 by dir-2"
        assert [i["approver"] for i in dingtalk.instances.values()] == ["mgr-1", "dir-2"]  # vp-3 never asked
        steps = by_path(run)
        assert steps["levels.0.decided"]["output"]["result"] == "agree"
        assert steps["levels.1.rejected"]["status"] == "succeeded" and "levels.2.ask" not in steps
        assert not crm.calls("POST", "/discounts")

        small = {**big, "deal": "D-small", "amount": 15000}
        assert requests.post(hook, json=small, timeout=10).status_code == 202
        finished = ended(process, headers, 2)
        [run] = [r for r in finished if r["event"]["deal"] == "D-small"]
        assert run["status"] == "succeeded", run
        assert [i["approver"] for i in dingtalk.instances.values()] == ["mgr-1", "dir-2", "mgr-1"]
        [applied] = crm.calls("POST", "/discounts")
        assert applied.json() == {"deal": "D-small"}
    finally:
        dingtalk.standin.close()
        crm.close()


# ---------------------------------------------------------------- (3) nightly: remind stale customers' owners
def test_a_nightly_sweep_reminds_each_owner_of_a_stale_customer(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    stale = [
        {"id": "C-1", "name": "Acme", "owner": "li.wei@example.com", "last_follow_up": "2026-11-28"},
        {"id": "C-2", "name": "Globex", "owner": "zhang.min@example.com", "last_follow_up": "2026-11-27"},
        {"id": "C-3", "name": "Initech", "owner": "li.wei@example.com", "last_follow_up": "2026-11-20"},
    ]

    def customers(seen: Seen) -> Reply:
        assert seen.query == {"no_follow_up_days": "3"}
        return 200, {"customers": stale}, {}

    crm = StandIn(
        {
            ("GET", "/customers"): customers,
            ("POST", "/reminders"): lambda seen: (201, {"id": f"R-{seen.json()['customer']}"}, {}),
        }
    )
    try:
        document = {
            "name": "Nightly follow-up reminders",
            "trigger": {
                "connector": "schedule",
                "trigger": "cron",
                "config": {"expression": "0 2 * * *", "timezone": "Asia/Shanghai"},
            },
            "steps": [
                {
                    "id": "stale",
                    "connector": "http",
                    "action": "request",
                    "input": {
                        "method": "GET",
                        "url": f"{crm.url}/customers",
                        "query": {"no_follow_up_days": 3},
                    },
                },
                {
                    "id": "remind",
                    "type": "for_each",
                    "items": "{{ steps.stale.json.customers }}",
                    "as": "customer",
                    "concurrency": 3,
                    "steps": [
                        {
                            "id": "notify",
                            "connector": "http",
                            "action": "request",
                            "input": {
                                "method": "POST",
                                "url": f"{crm.url}/reminders",
                                "json": {
                                    "owner": "{{ customer.owner }}",
                                    "customer": "{{ customer.id }}",
                                    "text": "No follow-up with {{ customer.name }} since "
                                    "{{ customer.last_follow_up }}",
                                },
                            },
                        }
                    ],
                },
            ],
        }
        recipe_id = create(process, headers, document)["id"]
        tick = {"event": {"scheduled_at": "2026-12-04T18:00:00+00:00"}, "dry_run": False}
        answer = requests.post(
            f"{process.url}/api/v1/recipes/{recipe_id}/test", json=tick, headers=headers, timeout=10
        )
        assert answer.status_code in (200, 201, 202), answer.text
        [run] = ended(process, headers, 1)
        assert run["status"] == "succeeded", run
        sent = crm.calls("POST", "/reminders")
        assert sorted((s.json()["owner"], s.json()["customer"]) for s in sent) == [
            ("li.wei@example.com", "C-1"),
            ("li.wei@example.com", "C-3"),
            ("zhang.min@example.com", "C-2"),
        ]
        keys = sorted(s.headers.get("Idempotency-Key") for s in sent)
        assert keys == [f"{run['id']}:remind.{i}.notify" for i in range(3)]
        assert run_detail(process, headers, run["id"])["steps"][1]["output"]["count"] == 3
    finally:
        crm.close()


# ---------------------------------------------------------------- (4) SMS and email at once, then the CRM
TW_SID, TW_TOKEN = "AC" + "f1" * 16, "twilio-auth-token-flow"


def test_sms_and_email_in_parallel_are_joined_before_the_crm_update(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub

    def sms(seen: Seen) -> Reply:
        form = dict(parse_qsl(seen.body.decode()))
        assert form["To"] == "+8613800000009" and form["Body"] == "Order O-5 shipped"
        return 201, {"sid": "SM-flow-1", "status": "queued", "to": form["To"], "from": form["From"]}, {}

    twilio = StandIn({("POST", f"/2010-04-01/Accounts/{TW_SID}/Messages.json"): sms})
    crm = StandIn({("PATCH", "/orders/O-5"): lambda seen: (200, {"ok": True}, {})})
    mailbox, port = Mailbox(), free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        connect(
            process,
            headers,
            "twilio",
            "twilio",
            {"base_url": twilio.url, "account_sid": TW_SID, "auth_token": TW_TOKEN},
        )
        connect(
            process,
            headers,
            "smtp",
            "email",
            {"host": "127.0.0.1", "port": port, "security": "none", "from": "Shop <shop@example.com>"},
        )
        document = {
            "name": "Shipped: SMS + email, then CRM",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
            "steps": [
                {
                    "id": "notify",
                    "type": "parallel",
                    "branches": [
                        [
                            {
                                "id": "sms",
                                "connector": "twilio",
                                "action": "send_sms",
                                "connection": "twilio",
                                "input": {
                                    "to": "{{ event.phone }}",
                                    "from": "+15550001111",
                                    "body": "Order {{ event.order }} shipped",
                                },
                            }
                        ],
                        [
                            {
                                "id": "mail",
                                "connector": "email",
                                "action": "send_email",
                                "connection": "smtp",
                                "input": {
                                    "to": "{{ event.email }}",
                                    "subject": "Order {{ event.order }} shipped",
                                    "text": "On its way.",
                                },
                            }
                        ],
                    ],
                },
                {
                    "id": "crm",
                    "connector": "http",
                    "action": "request",
                    "input": {
                        "method": "PATCH",
                        "url": f"{crm.url}/orders/{{{{ event.order }}}}",
                        "json": {
                            "notified": True,
                            "sms": "{{ steps.sms.sid }}",
                            "email": "{{ steps.mail.message_id }}",
                        },
                    },
                },
            ],
        }
        hook = create(process, headers, document)["webhook_url"]
        event = {"order": "O-5", "phone": "+8613800000009", "email": "buyer@example.com"}
        assert requests.post(hook, json=event, timeout=10).status_code == 202
        [run] = ended(process, headers, 1)
        assert run["status"] == "succeeded", run
        [update] = crm.calls("PATCH", "/orders/O-5")
        [message] = mailbox.messages
        sent_id = next(
            line.split(":", 1)[1].strip()
            for line in message.content.decode().splitlines()
            if line.lower().startswith("message-id:")
        )
        assert update.json() == {"notified": True, "sms": "SM-flow-1", "email": sent_id}
        steps = by_path(run)
        assert steps["notify"]["output"] == {"branches": 2}
        assert steps["notify.0.sms"]["status"] == steps["notify.1.mail"]["status"] == "succeeded"
        assert json.loads(json.dumps(message.rcpt_tos)) == ["buyer@example.com"]
    finally:
        smtp.stop()
        twilio.close()
        crm.close()
