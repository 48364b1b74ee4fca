"""Recipes that use the utilities end to end, over the API with a vendor stand-in on 127.0.0.1:
territory routing from a CSV-loaded table (Chinese region names), and a 用友-style signed call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from hub.runtime import Runtime
from tests.hub.utilities.standin import StandIn

H = dict[str, dict[str, str]]
TERRITORIES = (
    "\ufeffprovince,region,owner\r\n"
    "浙江,华东,wang.fang@example.com\r\n"
    "广东,华南,li.lei@example.com\r\n"
    "四川,西南,zhao.min@example.com\r\n"
)
APP_SECRET = "yonyou-app-secret-5d1c"


def save_and_run(client: Any, headers: H, document: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    made = client.post("/api/v1/recipes", json=document, headers=headers["editor"])
    assert made.status_code == 201, made.get_json()
    answer = client.post(
        f"/api/v1/recipes/{made.get_json()['id']}/test",
        json={"event": event, "dry_run": False},
        headers=headers["editor"],
    )
    assert answer.status_code == 200, answer.get_json()
    return dict(client.get(f"/api/v1/runs/{answer.get_json()['id']}", headers=headers["viewer"]).get_json())


def routing_recipe(url: str) -> dict[str, Any]:
    return {
        "name": "route leads by province",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "route",
                "connector": "lookup",
                "action": "find",
                "input": {
                    "table": "territories",
                    "where": {"province": "{{ event.province }}"},
                    "default": {"owner": "sales-inbox@example.com"},
                },
            },
            {
                "id": "assign",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": url + "/leads",
                    "json": {
                        "name": "{{ event.name }}",
                        "owner": "{{ steps.route.row.owner }}",
                        "region": "{{ lookup('territories', event.province, 'region') }}",
                        "matched": "{{ steps.route.found }}",
                    },
                },
            },
        ],
    }


def test_a_territory_table_loaded_by_csv_routes_leads_to_their_owner(
    client: Any, runtime: Runtime, headers: H, vendor: StandIn
) -> None:
    editor = headers["editor"]
    table = {"name": "territories", "columns": ["province", "region", "owner"], "key": "province"}
    assert client.post("/api/v1/tables", json=table, headers=editor).status_code == 201
    loaded = client.put(
        "/api/v1/tables/territories/rows",
        data=TERRITORIES.encode("utf-8"),
        headers={**editor, "Content-Type": "text/csv"},
    )
    assert loaded.status_code == 200 and loaded.get_json()["row_count"] == 3

    run = save_and_run(client, headers, routing_recipe(vendor.url), {"name": "李雷", "province": "广东"})
    assert run["status"] == "succeeded", run
    assert vendor.requests[-1]["json"] == {
        "name": "李雷",
        "owner": "li.lei@example.com",
        "region": "华南",
        "matched": True,
    }
    assert run["steps"][0]["output"] == {
        "row": {"province": "广东", "region": "华南", "owner": "li.lei@example.com"},
        "found": True,
    }

    run = save_and_run(client, headers, routing_recipe(vendor.url), {"name": "韩梅梅", "province": "西藏"})
    assert run["status"] == "succeeded", run
    assert vendor.requests[-1]["json"] == {
        "name": "韩梅梅",
        "owner": "sales-inbox@example.com",
        "region": None,
        "matched": False,
    }


def test_lookup_errors_are_step_errors(client: Any, headers: H, vendor: StandIn) -> None:
    document = routing_recipe(vendor.url)
    run = save_and_run(client, headers, document, {"name": "李雷", "province": "广东"})
    assert run["status"] == "failed" and not vendor.requests
    assert run["steps"][0]["error"]["message"] == "lookup.find: no table named 'territories' in this project"
    table = {"name": "territories", "columns": ["province", "region", "owner"], "key": "province"}
    client.post("/api/v1/tables", json=table, headers=headers["editor"])
    document["steps"][1]["input"]["json"]["region"] = "{{ lookup('territories', event.province, 'city') }}"
    run = save_and_run(client, headers, document, {"name": "李雷", "province": "广东"})
    assert run["steps"][1]["error"]["message"] == (
        "$.steps[1].input.json.region: lookup: 'city' is not a column of table 'territories'"
    )


def test_a_yonyou_style_signed_call_built_with_hmac_and_b64encode(
    client: Any, headers: H, vendor: StandIn
) -> None:
    client.post(
        "/api/v1/secrets", json={"name": "YONYOU_APP_SECRET", "value": APP_SECRET}, headers=headers["admin"]
    )
    payload = "{{ event.order | tojson | b64encode }}"
    document = {
        "name": "signed ERP call",
        "timezone": "Asia/Shanghai",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "token",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "GET",
                    "url": vendor.url + "/open-auth/selfAppAuth/base/v1/getAccessToken",
                    # signature = URLEncode(Base64(HmacSHA256(appSecret, "appKey" + key + "timestamp" + ts)));
                    # the query is URL-encoded once by the HTTP client
                    "query": {
                        "appKey": "{{ event.app_key }}",
                        "timestamp": "{{ event.ts }}",
                        "signature": "{{ ('appKey' ~ event.app_key ~ 'timestamp' ~ event.ts)"
                        " | hmac(secrets.YONYOU_APP_SECRET, 'sha256', 'base64') }}",
                    },
                },
            },
            {
                "id": "order",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": vendor.url + "/yonbip/sd/voucherorder/singleSave",
                    "json": {
                        "data": payload,
                        "sign": "{{ (event.order | tojson | b64encode)"
                        " | hmac(secrets.YONYOU_APP_SECRET, 'sha256', 'base64') }}",
                        "vouchdate": "{{ event.at | format_datetime('%Y-%m-%d %H:%M:%S') }}",
                    },
                },
            },
        ],
    }
    event = {
        "app_key": "ak-123",
        "ts": "1733300000000",
        "order": {"客户": "杭州某公司", "金额": "1200.00"},
        "at": "2024-12-04T16:30:00Z",
    }
    run = save_and_run(client, headers, document, event)
    assert run["status"] == "succeeded", run
    token_call, order_call = vendor.requests
    expected = base64.b64encode(
        hmac.new(APP_SECRET.encode(), b"appKeyak-123timestamp1733300000000", hashlib.sha256).digest()
    ).decode()
    assert token_call["query"] == {"appKey": "ak-123", "timestamp": "1733300000000", "signature": expected}
    body = order_call["json"]
    assert json.loads(base64.b64decode(body["data"])) == event["order"]
    assert (
        body["sign"]
        == base64.b64encode(
            hmac.new(APP_SECRET.encode(), body["data"].encode(), hashlib.sha256).digest()
        ).decode()
    )
    assert body["vouchdate"] == "2024-12-05 00:30:00"  # the recipe's zone, Asia/Shanghai
    assert APP_SECRET not in json.dumps(run, ensure_ascii=False)


def test_a_recipe_timezone_must_be_an_iana_name(client: Any, headers: H, vendor: StandIn) -> None:
    document = {**routing_recipe(vendor.url), "timezone": "Beijing"}
    answer = client.post("/api/v1/recipes", json=document, headers=headers["editor"])
    assert answer.status_code == 422
    assert [p["path"] for p in answer.get_json()["error"]["details"]] == ["$.timezone"]
    assert "unknown time zone 'Beijing'" in answer.get_json()["error"]["message"]
