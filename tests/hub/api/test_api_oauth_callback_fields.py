"""The consent callback stores declared redirect parameters: QuickBooks' realmId becomes realm_id."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from hub.connections import merged_fields
from hub.db.models import Connection

INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


def quickbooks_connection(client: Any, headers: dict[str, str]) -> int:
    answer = client.post(
        "/api/v1/connections",
        headers=headers,
        json={
            "name": "books",
            "connector": "quickbooks",
            "config": {"client_id": "cid", "client_secret": "cs"},
        },
    )
    assert answer.status_code == 201, answer.get_json()  # no realm ID needed before consent
    return answer.get_json()["id"]


@responses.activate
def test_callback_saves_realm_id_with_the_tokens(api: Any) -> None:
    client, rt, _kit, headers = api
    connection_id = quickbooks_connection(client, headers["editor"])
    started = client.post(
        f"/api/v1/connections/{connection_id}/oauth/authorize", json={}, headers=headers["editor"]
    )
    state = parse_qs(urlsplit(started.get_json()["authorize_url"]).query)["state"][0]
    responses.post(
        INTUIT_TOKEN_URL,
        json={
            "access_token": "eyJ-at",
            "refresh_token": "AB11-rt",
            "expires_in": 3600,
            "token_type": "bearer",
        },
    )
    done = client.get(
        "/oauth/callback", query_string={"code": "AB11-code", "state": state, "realmId": "9130350000000000"}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    with rt.db.transaction() as session:
        fields = merged_fields(session.get(Connection, connection_id), rt.vault)
    assert fields["realm_id"] == "9130350000000000" and fields["refresh_token"] == "AB11-rt"
    view = client.get(f"/api/v1/connections/{connection_id}", headers=headers["viewer"]).get_json()
    assert "9130350000000000" in str(view)  # not a secret: shown and editable like any field


@responses.activate
def test_callback_without_realm_id_keeps_the_one_typed_by_hand(api: Any) -> None:
    client, rt, _kit, headers = api
    connection_id = quickbooks_connection(client, headers["editor"])
    patched = client.put(
        f"/api/v1/connections/{connection_id}",
        json={"config": {"realm_id": "4620816365"}},
        headers=headers["editor"],
    )
    assert patched.status_code == 200, patched.get_json()
    started = client.post(
        f"/api/v1/connections/{connection_id}/oauth/authorize", json={}, headers=headers["editor"]
    )
    state = parse_qs(urlsplit(started.get_json()["authorize_url"]).query)["state"][0]
    responses.post(INTUIT_TOKEN_URL, json={"access_token": "at", "refresh_token": "rt", "expires_in": 3600})
    assert client.get("/oauth/callback", query_string={"code": "c", "state": state}).status_code == 200
    with rt.db.transaction() as session:
        assert merged_fields(session.get(Connection, connection_id), rt.vault)["realm_id"] == "4620816365"
