"""The OAuth2 consent flow over HTTP: consent URL with a signed state, callback stores tokens encrypted."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import select

from hub.connections import merged_fields
from hub.db.models import AuditEntry, Connection
from tests.hub.sdk.test_oauth_refresh import TOKEN_URL, Vendor


def oauth_connection(client: Any, rt: Any, headers: dict[str, str]) -> int:
    rt.registry.register(Vendor(), source="tests")
    answer = client.post(
        "/api/v1/connections",
        headers=headers,
        json={
            "name": "crm",
            "connector": "oauthvendor",
            "config": {"client_id": "cid", "client_secret": "csecret"},
        },
    )
    assert answer.status_code == 201
    return answer.get_json()["id"]


@responses.activate
def test_consent_then_callback_stores_tokens(api: Any) -> None:
    client, rt, _kit, headers = api
    connection_id = oauth_connection(client, rt, headers["editor"])
    started = client.post(
        f"/api/v1/connections/{connection_id}/oauth/authorize", json={}, headers=headers["editor"]
    )
    assert started.status_code == 200
    url = started.get_json()["authorize_url"]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://auth.example.com/authorize?")
    assert query["client_id"] == ["cid"] and query["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback"]
    token = responses.post(
        TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600}
    )
    done = client.get("/oauth/callback", query_string={"code": "the-code", "state": query["state"][0]})
    assert done.status_code == 200 and "Connected" in done.get_data(as_text=True)
    sent = parse_qs(token.calls[0].request.body)
    assert sent["code"] == ["the-code"] and sent["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback"]
    with rt.db.transaction() as session:
        row = session.get(Connection, connection_id)
        assert merged_fields(row, rt.vault)["refresh_token"] == "rt-1" and "rt-1" not in (row.secrets or "")
        assert session.scalar(
            select(AuditEntry.actor).where(AuditEntry.action == "connection.authorize")
        ) == ("editor@example.com")
    view = client.get(f"/api/v1/connections/{connection_id}", headers=headers["viewer"]).get_json()
    assert view["secrets"]["access_token"] is True and "at-1" not in str(view)


@responses.activate
def test_forged_or_denied_callbacks_store_nothing(api: Any) -> None:
    client, rt, _kit, headers = api
    connection_id = oauth_connection(client, rt, headers["editor"])
    forged = client.get(
        "/oauth/callback", query_string={"code": "c", "state": "eyJjb25uZWN0aW9uIjogMX0.forged"}
    )
    assert forged.status_code == 400 and "not started by this hub" in forged.get_data(as_text=True)
    denied = client.get(
        "/oauth/callback", query_string={"error": "access_denied", "error_description": "<b>no</b>"}
    )
    assert denied.status_code == 400 and "&lt;b&gt;no&lt;/b&gt;" in denied.get_data(as_text=True)
    assert len(responses.calls) == 0
    with rt.db.transaction() as session:
        assert "access_token" not in merged_fields(session.get(Connection, connection_id), rt.vault)


def test_non_oauth_connector_cannot_start_consent(api: Any) -> None:
    client, _rt, _kit, headers = api
    made = client.post(
        "/api/v1/connections",
        headers=headers["editor"],
        json={"name": "k", "connector": "enginekit", "config": {"api_key": "x"}},
    ).get_json()
    answer = client.post(
        f"/api/v1/connections/{made['id']}/oauth/authorize", json={}, headers=headers["editor"]
    )
    assert answer.status_code == 409 and "authorization-code" in answer.get_json()["error"]["message"]
