"""CRM → ERP flows of the wave-3 connectors through a real `hub serve`, against stand-ins on 127.0.0.1:

1. a 简道云 data push of a won opportunity becomes a 用友 receivable (signature checked, redelivery
   deduped, the 用友 token and data centre fetched once for every run);
2. a 销售易 opportunity found by polling becomes a 金蝶 receivable (backfill, then a new one).

The stand-ins check requests the way the vendors document them (signatures, tokens, paths, bodies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from tests.e2e.harness import HubProcess, connect, finished, run_detail, runs, wait_until
from tests.e2e.standins import KD_PATH, Kingdee, Reply, Seen, StandIn

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, dict[str, str]]]:
    process = HubProcess(tmp_path / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    process.start()
    try:
        yield process, process.admin_headers()
    finally:
        process.stop()


# ---------------------------------------------------------------- 用友 stand-in
YS_KEY, YS_SECRET, TENANT = "ys-app-key-01", "ys-app-secret-9f8e7d", "t8f2k1"
YS_TOKEN = "ys+token/with=specials"


class Yonyou:
    """Data-centre lookup, the signed token call and the receivable save of one tenant."""

    def __init__(self) -> None:
        self.receivables: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.standin = StandIn(
            {
                ("GET", "/open-auth/dataCenter/getGatewayAddress"): self.lookup,
                ("GET", "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"): self.token,
                ("POST", "/iuap-api-gateway/yonbip/fi/oar/save"): self.save,
            }
        )

    def lookup(self, seen: Seen) -> Reply:
        if seen.query.get("tenantId") != TENANT:
            return 200, {"code": "10001", "message": "租户不存在"}, {}
        base = self.standin.url
        data = {"gatewayUrl": f"{base}/iuap-api-gateway", "tokenUrl": f"{base}/iuap-api-auth"}
        return 200, {"code": "00000", "message": "成功！", "data": data}, {}

    def token(self, seen: Seen) -> Reply:
        stamp = seen.query.get("timestamp", "")
        text = f"appKey{YS_KEY}timestamp{stamp}".encode()
        expected = base64.b64encode(hmac.new(YS_SECRET.encode(), text, hashlib.sha256).digest()).decode()
        if seen.query.get("appKey") != YS_KEY or seen.query.get("signature") != expected:
            return 200, {"code": "1090003500065", "message": "签名错误"}, {}
        return 200, {"code": "00000", "data": {"access_token": YS_TOKEN, "expire": 7200}}, {}

    def save(self, seen: Seen) -> Reply:
        if seen.query.get("access_token") != YS_TOKEN:
            return 401, {"code": "401", "message": "token 已失效"}, {}
        record = seen.json()["data"]
        key = record.get("resubmitCheckKey")
        if not key or record.get("_status") != "Insert":
            return 200, {"code": "999", "message": "resubmitCheckKey and _status are required here"}, {}
        with self.lock:  # MDD idempotency: the same key answers the first save again
            if key not in self.receivables:
                made = {
                    **record,
                    "id": f"ar-{len(self.receivables) + 1}",
                    "code": f"AR{len(self.receivables) + 1:04d}",
                }
                self.receivables[key] = made
            return 200, {"code": "200", "message": "操作成功", "data": self.receivables[key]}, {}


JDY_SECRET = "jdy-push-secret"
WON_RECIPE: dict[str, Any] = {
    "name": "简道云 won opportunity -> 用友 receivable",
    "trigger": {
        "connector": "jiandaoyun",
        "trigger": "data_push",
        "connection": "jdy",
        "config": {"ops": ["data_update"], "entry_id": "opp-form"},
    },
    "filter": "{{ event.data._widget_stage == '赢单' }}",
    "steps": [
        {
            "id": "receivable",
            "connector": "yonyou",
            "action": "save_receivable",
            "connection": "ys",
            "input": {
                "record": {
                    "accentity_code": "org01",
                    "vouchdate": "{{ event.data.updateTime[:10] }}",
                    "customer_code": "{{ event.data._widget_customer }}",
                    "currency_code": "CNY",
                    "oriSum": "{{ event.data._widget_amount }}",
                    "description": "简道云 opportunity {{ event.data_id }}",
                }
            },
        }
    ],
}


def opportunity(data_id: str, stage: str, amount: str, customer: str) -> dict[str, Any]:
    return {
        "_id": data_id,
        "appId": "crm-app",
        "entryId": "opp-form",
        "updateTime": "2026-11-20T02:05:00.000Z",
        "_widget_stage": stage,
        "_widget_amount": amount,
        "_widget_customer": customer,
    }


def push(hook: str, body: bytes, deliver: str, secret: str = JDY_SECRET) -> requests.Response:
    stamp, nonce = str(int(time.time())), "0f5ade"
    signature = hashlib.sha1(b":".join([nonce.encode(), body, secret.encode(), stamp.encode()])).hexdigest()
    return requests.post(
        f"{hook}?timestamp={stamp}&nonce={nonce}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-JDY-Signature": signature,
            "X-JDY-DeliverId": deliver,
        },
        timeout=10,
    )


def test_jiandaoyun_won_opportunity_push_becomes_a_yonyou_receivable(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    ys = Yonyou()
    try:
        connect(process, headers, "jdy", "jiandaoyun", {"api_key": "jdy-key", "push_secret": JDY_SECRET})
        connect(
            process,
            headers,
            "ys",
            "yonyou",
            {"base_url": ys.standin.url, "app_key": YS_KEY, "app_secret": YS_SECRET, "tenant_id": TENANT},
        )
        created = requests.post(f"{process.url}/api/v1/recipes", json=WON_RECIPE, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        hook = created.json()["webhook_url"]

        won = json.dumps(
            {"op": "data_update", "data": opportunity("opp-1", "赢单", "12000.50", "C0001")}
        ).encode()
        won2 = json.dumps(
            {"op": "data_update", "data": opportunity("opp-2", "赢单", "999.99", "C0002")}
        ).encode()
        lost = json.dumps({"op": "data_update", "data": opportunity("opp-3", "输单", "10", "C0003")}).encode()
        forged = push(hook, won, "d-0", secret="not-the-secret")
        assert forged.status_code == 401 and forged.text == "fail"
        for body, deliver in ((won, "d-1"), (won2, "d-2"), (lost, "d-3")):
            answer = push(hook, body, deliver)
            assert answer.status_code == 200 and answer.text == "success", answer.text
        wait_until(lambda: finished(process, headers, 3), timeout_s=30, what="three runs to finish")
        again = push(hook, won, "d-1")  # 简道云 redelivers with the same X-JDY-DeliverId
        assert again.status_code == 200 and again.text == "success"

        found = runs(process, headers)
        assert sorted(r["status"] for r in found) == ["filtered", "succeeded", "succeeded"], [
            run_detail(process, headers, r["id"]) for r in found
        ]
        saves = ys.standin.calls("POST", "/iuap-api-gateway/yonbip/fi/oar/save")
        bodies = {s.json()["data"]["customer_code"]: s.json()["data"] for s in saves}
        assert sorted(bodies) == ["C0001", "C0002"]
        first = bodies["C0001"]
        assert {k: v for k, v in first.items() if k != "resubmitCheckKey"} == {
            "accentity_code": "org01",
            "vouchdate": "2026-11-20",
            "customer_code": "C0001",
            "currency_code": "CNY",
            "oriSum": "12000.50",
            "description": "简道云 opportunity opp-1",
            "_status": "Insert",
        }
        assert re.fullmatch(r"[0-9a-f]{32}", first["resubmitCheckKey"])
        assert all(s.query["access_token"] == YS_TOKEN for s in saves)
        # One data-centre lookup and one token for both runs (the shared, database-backed cache).
        assert len(ys.standin.calls("GET", "/open-auth/dataCenter/getGatewayAddress")) == 1
        assert (
            len(ys.standin.calls("GET", "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken")) == 1
        )
    finally:
        ys.standin.close()


# ---------------------------------------------------------------- 销售易 stand-in
NEO_TOKEN = "neo-access-token"
XOQL = re.compile(
    r"select id, updatedAt, opportunityName, money, accountCode from opportunity "
    r"where updatedAt >= (\d+) and \(saleStageId = 5\) order by updatedAt asc"
)


class Neocrm:
    """The password-grant token and an XOQL scroll over opportunities, filtered honestly."""

    def __init__(self) -> None:
        self.opportunities: list[dict[str, Any]] = [
            {"id": 7001, "updatedAt": 1795000000000, "saleStageId": 5, "opportunityName": "年度采购",
             "money": 12000.5, "accountCode": "CUST001"},
            {"id": 7002, "updatedAt": 1795000100000, "saleStageId": 3, "opportunityName": "试点",
             "money": 50, "accountCode": "CUST002"},
        ]  # fmt: skip
        self.lock = threading.Lock()
        self.standin = StandIn(
            {
                ("POST", "/auc/oauth2/token"): self.token,
                ("POST", "/rest/data/v2.0/query/xoqlScroll"): self.scroll,
            }
        )

    def token(self, seen: Seen) -> Reply:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        wanted = {
            "grant_type": "password",
            "client_id": "neo-client",
            "client_secret": "neo-secret",
            "redirect_uri": "https://hub.example/callback",
            "username": "api@example.com",
            "password": "pw123SECTOKEN",
        }
        if form != wanted:
            return 400, {"error": "invalid_grant", "error_description": "用户名或密码错误"}, {}
        return 200, {"access_token": NEO_TOKEN, "expires_in": 7200}, {}

    def scroll(self, seen: Seen) -> Reply:
        if seen.headers.get("Authorization") != f"Bearer {NEO_TOKEN}":
            return 401, {"code": 401, "msg": "token expired"}, {}
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        match = XOQL.fullmatch(form.get("xoql", ""))
        if not match:
            return 400, {"code": 1000001, "msg": f"unexpected xoql: {form.get('xoql')}"}, {}
        since = int(match.group(1))
        with self.lock:
            rows = sorted(
                (o for o in self.opportunities if o["updatedAt"] >= since and o["saleStageId"] == 5),
                key=lambda o: o["updatedAt"],
            )
        records = [
            {k: o[k] for k in ("id", "updatedAt", "opportunityName", "money", "accountCode")} for o in rows
        ]
        return 200, {"code": 200, "msg": "OK", "data": {"records": records, "queryLocator": None}}, {}

    def win(self, opportunity: dict[str, Any]) -> None:
        with self.lock:
            self.opportunities.append(opportunity)


WON_POLL_RECIPE: dict[str, Any] = {
    "name": "销售易 won opportunity -> 金蝶 receivable",
    "trigger": {
        "connector": "xiaoshouyi",
        "trigger": "object_changed",
        "connection": "neo",
        "config": {
            "object": "opportunity",
            "fields": ["opportunityName", "money", "accountCode"],
            "where": "saleStageId = 5",
        },
        "start": {"backfill_from": "2026-11-01T00:00:00+00:00"},
        "interval_s": 10,
    },
    "steps": [
        {
            "id": "receivable",
            "connector": "kingdee",
            "action": "save",
            "connection": "kingdee-erp",
            "input": {
                "form_id": "AR_receivable",
                "model": {
                    "FCUSTOMERID": {"FNumber": "{{ event.accountCode }}"},
                    "FALLAMOUNTFOR": "{{ event.money }}",
                    "F_ora_NeoOpportunityId": "{{ event.id }}",
                    "FREMARK": "{{ event.opportunityName }}",
                },
            },
        }
    ],
}


def kingdee_with_save() -> tuple[Kingdee, list[dict[str, Any]]]:
    """The finance stand-in's K3Cloud, taught DynamicFormService.Save for receivables."""
    kd, saved = Kingdee(), []

    def save(seen: Seen) -> Reply:
        sid = seen.headers.get("Cookie", "").removeprefix("kdservice-sessionid=")
        if sid not in kd.live:
            lost = {"IsSuccess": False, "MsgCode": 1, "Errors": [{"Message": "会话信息已丢失，请重新登录"}]}
            return 200, {"Result": {"ResponseStatus": lost}}, {}
        body = seen.json()
        assert body["formid"] == "AR_receivable", body
        saved.append(body["data"]["Model"])
        fid, number = 100100 + len(saved), f"AR{len(saved):08d}"
        status = {"IsSuccess": True, "SuccessEntitys": [{"Id": fid, "Number": number, "DIndex": 0}]}
        return 200, {"Result": {"ResponseStatus": status, "Id": fid, "Number": number}}, {}

    kd.standin.routes[("POST", KD_PATH.format("DynamicFormService.Save"))] = save
    return kd, saved


def test_xiaoshouyi_opportunity_poll_becomes_a_kingdee_receivable(
    hub: tuple[HubProcess, dict[str, str]],
) -> None:
    process, headers = hub
    neo = Neocrm()
    kd, saved = kingdee_with_save()
    try:
        connect(
            process,
            headers,
            "neo",
            "xiaoshouyi",
            {
                "base_url": neo.standin.url,
                "token_url": f"{neo.standin.url}/auc/oauth2/token",
                "client_id": "neo-client",
                "client_secret": "neo-secret",
                "redirect_uri": "https://hub.example/callback",
                "username": "api@example.com",
                "password": "pw123",
                "security_token": "SECTOKEN",
            },
        )
        connect(
            process,
            headers,
            "kingdee-erp",
            "kingdee",
            {
                "base_url": f"{kd.standin.url}/k3cloud",
                "acct_id": "62f8ff01e0b76e",
                "username": "hub-api",
                "password": "kd-pass",
            },
        )
        created = requests.post(
            f"{process.url}/api/v1/recipes", json=WON_POLL_RECIPE, headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        wait_until(lambda: len(saved) == 1, timeout_s=30, what="the backfilled won opportunity in Kingdee")
        assert saved[0] == {
            "FCUSTOMERID": {"FNumber": "CUST001"},
            "FALLAMOUNTFOR": Decimal("12000.5"),  # the amount stays an exact number end to end
            "F_ora_NeoOpportunityId": 7001,
            "FREMARK": "年度采购",
        }
        # An opportunity won now (just after the hub's first poll) is found by a later poll.
        neo.win(
            {"id": 7003, "updatedAt": int(time.time() * 1000), "saleStageId": 5, "opportunityName": "扩容",
             "money": 999.99, "accountCode": "CUST003"}
        )  # fmt: skip
        wait_until(lambda: len(saved) == 2, timeout_s=40, what="the newly won opportunity in Kingdee")
        assert saved[1]["F_ora_NeoOpportunityId"] == 7003 and saved[1]["FALLAMOUNTFOR"] == Decimal("999.99")
        wait_until(lambda: finished(process, headers, 2), timeout_s=20, what="both runs to finish")
        time.sleep(1)
        assert len(saved) == 2  # re-read in the overlap window, never saved twice
        assert sorted(r["status"] for r in runs(process, headers)) == ["succeeded", "succeeded"]
        assert len(neo.standin.calls("POST", "/auc/oauth2/token")) == 1  # one token for every poll
        first = parse_qs(neo.standin.calls("POST", "/rest/data/v2.0/query/xoqlScroll")[0].body.decode())[
            "xoql"
        ][0]
        assert "updatedAt >= 1793491200000 " in first  # the backfill start, 2026-11-01T00:00Z, in ms
    finally:
        neo.standin.close()
        kd.standin.close()
