"""The connection forms of wecom, fadada and zoho_crm as the web UI draws them from the schemas:
every field labelled with its title and described, secrets as password fields, Zoho's data centre
as a choice; a filled form saves a connection whose secrets are stored, not shown."""

from __future__ import annotations

import html

import pytest
from flask import Flask

from hub.connections import merged_fields
from hub.db.models import Connection
from hub.runtime import Runtime
from hub.sdk.testing import load_connector
from tests.web.helpers import csrf_token, sign_in

FILLED = {
    "wecom": {"c.corp_id": "ww0c1d2e3f", "c.corp_secret": "wecom-secret-1", "c.agent_id": "1000002"},
    "fadada": {"c.app_id": "80000123", "c.app_secret": "fasc-secret-1", "c.open_corp_id": "corp-open-1"},
    "zoho_crm": {"c.client_id": "1000.CID", "c.client_secret": "zoho-secret-1", "c.data_center": "cn"},
}


@pytest.mark.parametrize("connector_id", list(FILLED))
def test_connection_form_is_drawn_from_the_schema_and_saves(
    connector_id: str, web_app: Flask, web_runtime: Runtime
) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    page = client.get(f"/connections/new?connector={connector_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    connector = load_connector(connector_id)
    for name, spec in connector.connection_schema()["properties"].items():
        if spec.get("readOnly"):
            continue
        assert spec["title"] in text and f'id="f-c-{name}"' in text, name
        assert spec.get("description", "") in text, name
    for name in connector.secret_fields():
        assert f'type="password" id="f-c-{name}"' in text, name
    if connector_id == "zoho_crm":
        assert '<option value="cn"' in text and '<option value="eu"' in text

    form = {
        "csrf_token": csrf_token(page.text),
        "connector": connector_id,
        "op": "save",
        "name": connector_id,
    }
    created = client.post("/connections/new", data={**form, **FILLED[connector_id]})
    assert created.status_code == 302, created.text
    secret = next(v for k, v in FILLED[connector_id].items() if "secret" in k)
    assert secret not in client.get(created.headers["Location"]).text
    with web_runtime.db.transaction() as db:
        stored = merged_fields(db.query(Connection).one(), web_runtime.vault)
    assert {f"c.{k}": str(v) for k, v in stored.items() if f"c.{k}" in FILLED[connector_id]} == FILLED[
        connector_id
    ]
