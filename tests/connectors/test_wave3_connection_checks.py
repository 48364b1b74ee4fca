""" "Test connection" through the hub's API for wecom, fadada and zoho_crm: a person with the editor
role saves the form's fields and presses test; the vendor's answer (or refusal) comes back, and the
secrets never do."""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses

from hub.runtime import Runtime
from hub.users import create_token, create_user

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/gettoken"
FADADA = "https://api.fadada.com/api/v5/service/get-access-token"
ZOHO_CN = "https://www.zohoapis.com.cn/crm/v7/org"

CASES: dict[str, dict[str, Any]] = {
    "wecom": {
        "config": {"corp_id": "ww0c1d2e3f", "corp_secret": "wecom-SECRET-value", "agent_id": 1000002},
        "route": ("GET", WECOM),
        "ok": {"errcode": 0, "errmsg": "ok", "access_token": "t", "expires_in": 7200},
        "refused": {"errcode": 40001, "errmsg": "invalid credential"},
        "message": "WeCom issued an access token for this app",
    },
    "fadada": {
        "config": {"app_id": "80000123", "app_secret": "fadada-SECRET-value"},
        "route": ("POST", FADADA),
        "ok": {"code": "100000", "msg": "success", "data": {"accessToken": "t", "expiresIn": 7200}},
        "refused": {"code": "100001", "msg": "appSecret错误"},
        "message": "法大大 issued an access token for this app",
    },
    "zoho_crm": {
        "config": {
            "data_center": "cn",
            "client_id": "1000.CID",
            "client_secret": "zoho-SECRET-value",
            "access_token": "zoho-SECRET-token",
            "expires_at": int(time.time()) + 3600,
        },
        "route": ("GET", ZOHO_CN),
        "ok": {"org": [{"id": "7000", "company_name": "Acme 中国"}]},
        "refused": {"code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope to access this URL"},
        "message": "connected to Zoho CRM org Acme 中国",
    },
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def editor(runtime: Runtime) -> dict[str, str]:
    with runtime.db.transaction() as session:
        user = create_user(session, "editor@example.com", "editor", password="a long passphrase")
        return {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}


@responses.activate
@pytest.mark.parametrize("connector_id", list(CASES))
def test_connection_check_passes_and_fails_with_the_vendors_words(
    connector_id: str, client: Any, editor: dict[str, str]
) -> None:
    case = CASES[connector_id]
    method, url = case["route"]
    form = client.get(f"/api/v1/connectors/{connector_id}", headers=editor).get_json()["connection_schema"]
    assert set(case["config"]) <= set(form["properties"])
    made = client.post(
        "/api/v1/connections",
        json={"name": connector_id, "connector": connector_id, "config": case["config"]},
        headers=editor,
    )
    assert made.status_code == 201, made.get_json()
    test_url = f"/api/v1/connections/{made.get_json()['id']}/test"

    responses.add(method, url, json=case["ok"])
    passed = client.post(test_url, headers=editor)
    assert passed.get_json() == {"ok": True, "message": case["message"]}, passed.get_json()

    responses.replace(method, url, status=401 if connector_id == "zoho_crm" else 200, json=case["refused"])
    failed = client.post(test_url, headers=editor)
    result = failed.get_json()
    assert result["ok"] is False and str(next(iter(case["refused"].values()))) in result["message"], result
    assert "SECRET" not in failed.get_data(as_text=True) + passed.get_data(as_text=True)
