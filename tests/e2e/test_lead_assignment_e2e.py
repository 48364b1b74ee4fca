"""New 纷享销客 leads are shared out through a running hub: the `object_changed` poll finds them (a
backfill, then a lead created later, found by the next poll) -> `assign.round_robin` picks the owner
among three reps -> a 企业微信 app message tells that rep. The 纷享销客 and WeCom APIs are stand-ins
on 127.0.0.1 that check every request the way the vendors document them; each rep gets a fair share,
each message goes to the rep the lead was given to, and each vendor's token is fetched once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.e2e.harness import HubProcess, VendorStub, add_connections, finished, run_detail, runs, wait_until

pytestmark = pytest.mark.e2e

APP_ID = "FSAID_e2e"
OPERATOR = "FSUID_OPERATOR"
REPS = [
    {"id": "ZhangSan", "name": "张三"},
    {"id": "LiSi", "name": "李四"},
    {"id": "WangWu", "name": "王五"},
]
DAY = int(datetime(2026, 12, 2, tzinfo=UTC).timestamp() * 1000)  # the leads' day, in epoch ms


def lead(n: int) -> dict[str, Any]:
    return {
        "_id": f"lead-{n}",
        "name": f"线索 {n}",
        "company": f"客户公司 {n}",
        "last_modified_time": DAY + n * 60_000,
    }


class Fxiaoke:
    """纷享销客's open API: a corpAccessToken for the app's permanent code, and LeadsObj by data/query."""

    def __init__(self) -> None:
        self.leads = [lead(n) for n in range(1, 7)]  # in the CRM before the recipe: read by its backfill
        self.stub = VendorStub(self.handle)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        assert method == "POST" and headers.get("content-type", "").startswith("application/json"), method
        sent = json.loads(body)
        if path == "/cgi/corpAccessToken/get/V2":
            assert sent == {"appId": APP_ID, "appSecret": "fx-secret", "permanentCode": "fx-permanent"}, sent
            return 200, {"errorCode": 0, "errorMessage": "success", "corpAccessToken": "fx-token",
                         "corpId": "FSCID_e2e", "expiresIn": 7200}  # fmt: skip
        assert sent.get("corpAccessToken") == "fx-token" and sent.get("corpId") == "FSCID_e2e", "no token"
        assert path == "/cgi/crm/v2/data/query", path
        assert sent["currentOpenUserId"] == OPERATOR, sent
        data = sent["data"]
        assert data["dataObjectApiName"] == "LeadsObj", data
        info = data["search_query_info"]
        assert info["orders"] == [{"fieldName": "last_modified_time", "isAsc": True}], info
        [since] = [f for f in info["filters"] if f["field_name"] == "last_modified_time"]
        assert since["operator"] == "GTE" and isinstance(since["field_values"][0], int), since
        found = [row for row in list(self.leads) if row["last_modified_time"] >= since["field_values"][0]]
        page = found[info["offset"] : info["offset"] + info["limit"]]
        return 200, {"errorCode": 0, "errorMessage": "OK", "data": {"dataList": page, "total": len(found)}}

    def token_fetches(self) -> int:
        return len(self.stub.find("/cgi/corpAccessToken/get/V2"))


class WeCom:
    """企业微信: gettoken for the app's secret, and message/send with that token."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.stub = VendorStub(self.handle)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        route, query = urlsplit(path).path, dict(parse_qsl(urlsplit(path).query))
        if route == "/cgi-bin/gettoken":
            assert method == "GET" and query == {"corpid": "ww-e2e-corp", "corpsecret": "wecom-secret"}, query
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": "wecom-token", "expires_in": 7200}
        assert query.get("access_token") == "wecom-token", "missing access_token"
        assert method == "POST" and route == "/cgi-bin/message/send", route
        sent = json.loads(body)
        assert sent["msgtype"] == "text" and sent["agentid"] == 1000002, sent
        self.messages.append(sent)
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{len(self.messages)}", "invaliduser": ""}

    def token_fetches(self) -> int:
        return len(self.stub.find("/cgi-bin/gettoken"))


def recipe() -> dict[str, Any]:
    return {
        "name": "New 纷享销客 lead -> next rep -> WeCom",
        "trigger": {
            "connector": "fxiaoke",
            "trigger": "object_changed",
            "connection": "fx",
            "config": {"object": "LeadsObj", "only_new": False},
            "start": {"backfill_from": "2026-12-01T00:00:00+00:00"},
            "interval_s": 60,  # the trigger's shortest
        },
        "steps": [
            {
                "id": "rep",
                "connector": "assign",
                "action": "round_robin",
                "input": {"rotation": "fxiaoke-leads", "members": REPS},
            },
            {
                "id": "tell",
                "connector": "wecom",
                "action": "send_message",
                "connection": "wecom",
                "input": {
                    "touser": "{{ steps.rep.assignee.id }}",
                    "content": "{{ steps.rep.assignee.name }}，新线索 {{ event.name }}"
                    "（{{ event.company }}）分配给你了",
                },
            },
        ],
    }


def test_new_fxiaoke_leads_are_shared_round_robin_and_each_rep_is_told_on_wecom(tmp_path: Path) -> None:
    fx, wecom = Fxiaoke(), WeCom()
    hub = HubProcess(tmp_path / "home")
    hub.start()
    try:
        headers = hub.admin_headers()
        api = f"{hub.url}/api/v1"
        add_connections(
            api,
            headers,
            [
                ("fx", "fxiaoke", {"base_url": fx.stub.url, "app_id": APP_ID, "app_secret": "fx-secret",
                                   "permanent_code": "fx-permanent", "current_open_user_id": OPERATOR}),
                ("wecom", "wecom", {"base_url": wecom.stub.url, "corp_id": "ww-e2e-corp",
                                    "corp_secret": "wecom-secret", "agent_id": 1000002}),
            ],
        )  # fmt: skip
        created = requests.post(f"{api}/recipes", json=recipe(), headers=headers, timeout=10)
        assert created.status_code == 201, created.text

        wait_until(lambda: finished(hub, headers, 6), timeout_s=90, what="a run per backfilled lead")
        check_shares(hub, headers, fx, wecom, per_rep=2)
        fx.leads += [lead(n) for n in range(7, 10)]  # new leads, found by the next poll a minute on
        wait_until(lambda: finished(hub, headers, 9), timeout_s=120, what="a run per new lead")
        check_shares(hub, headers, fx, wecom, per_rep=3)
        assert fx.token_fetches() == 1 and wecom.token_fetches() == 1
    finally:
        hub.stop()
        fx.stub.close()
        wecom.stub.close()


def check_shares(hub: HubProcess, headers: dict[str, str], fx: Fxiaoke, wecom: WeCom, per_rep: int) -> None:
    """One succeeded run per lead, `per_rep` leads for each rep, and each rep told of exactly theirs."""
    done = runs(hub, headers)
    assert len(done) == len(fx.leads) and {r["status"] for r in done} == {"succeeded"}, done
    assert fx.stub.errors == [] and wecom.stub.errors == []
    given: dict[str, str] = {}  # lead id -> rep id, as the runs recorded it
    for summary in done:
        detail = run_detail(hub, headers, summary["id"])
        steps = {s["id"]: s for s in detail["steps"]}
        given[detail["event"]["_id"]] = steps["rep"]["output"]["assignee"]["id"]
    assert sorted(given) == sorted(row["_id"] for row in fx.leads)
    shares = {rep["id"]: list(given.values()).count(rep["id"]) for rep in REPS}
    assert shares == {rep["id"]: per_rep for rep in REPS}, shares
    names = {rep["id"]: rep["name"] for rep in REPS}
    told = {}
    for message in wecom.messages:
        [row] = [row for row in fx.leads if f"新线索 {row['name']}（" in message["text"]["content"]]
        told[row["_id"]] = message["touser"]
        assert message["text"]["content"].startswith(names[message["touser"]])
    assert told == given and len(wecom.messages) == len(fx.leads)
