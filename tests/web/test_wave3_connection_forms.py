"""Wave-3 connection forms come from their schemas, and "test connection" reaches the vendor."""

from __future__ import annotations

import json

import pytest
import responses
from flask import Flask

from hub.connections import create_connection
from hub.runtime import Runtime
from tests.web.helpers import csrf_token, sign_in

SECRETS = {
    "jiandaoyun": ["api_key", "push_secret"],
    "yonyou": ["app_secret"],
    "fxiaoke": ["app_secret", "permanent_code"],
    "xiaoshouyi": ["client_secret", "password", "security_token"],
}


@pytest.mark.parametrize("connector_id", sorted(SECRETS))
def test_the_form_shows_every_field_with_its_title_and_secrets_as_passwords(
    web_app: Flask, web_runtime: Runtime, connector_id: str
) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    page = client.get(f"/connections/new?connector={connector_id}")
    assert page.status_code == 200
    schema = web_runtime.registry.get(connector_id).connection_schema()
    for name, spec in schema["properties"].items():
        assert spec.get("title") and spec.get("description"), (
            f"{connector_id}.{name} needs a title and description"
        )
        assert f'for="f-c-{name}"' in page.text, name
    for name in SECRETS[connector_id]:
        assert f'type="password" id="f-c-{name}"' in page.text, name


@responses.activate
def test_test_connection_from_the_ui_reaches_jiandaoyun(web_app: Flask, web_runtime: Runtime) -> None:
    route = responses.post(
        "https://api.jiandaoyun.com/api/v5/app/list", json={"apps": [{"app_id": "a1", "name": "CRM"}]}
    )
    with web_runtime.db.transaction() as db:
        connection = create_connection(
            db,
            web_runtime.registry,
            web_runtime.vault,
            name="jdy",
            connector_id="jiandaoyun",
            config={"api_key": "k-1"},
        )
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get(f"/connections/{connection.id}").text)
    answer = client.post(
        f"/connections/{connection.id}/test", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Test passed" in answer.text and "1 apps visible" in answer.text
    assert route.calls[0].request.headers["Authorization"] == "Bearer k-1"
    assert json.loads(route.calls[0].request.body) == {"skip": 0, "limit": 100}
