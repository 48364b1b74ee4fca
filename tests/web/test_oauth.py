"""The 'Connect' button: OAuth2 authorization-code consent with a signed state, tokens stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask

from hub.app import create_app
from hub.connections import merged_fields
from hub.db.models import Connection
from hub.engine.executor import InlineExecutor
from hub.runtime import Runtime
from hub.sdk.auth import OAuth2
from hub.sdk.connector import Connector
from hub.users import create_user
from tests.conftest import installed_connectors, make_settings
from tests.web.helpers import PASSWORD, csrf_token, sign_in


class ConsentDemo(Connector):
    id = "consent_demo"
    name = "Consent demo"
    auth = OAuth2(
        authorize_url="https://vendor.example/oauth/authorize",
        token_url="https://vendor.example/oauth/token",
        scopes=["read", "write"],
    )


@pytest.fixture
def oauth_app(tmp_path: Path) -> Iterator[Flask]:
    registry = installed_connectors()
    registry.register(ConsentDemo())
    rt = Runtime.create(
        make_settings(tmp_path / "home", f"sqlite:///{tmp_path / 'hub.db'}"), registry=registry
    )
    rt.executor = InlineExecutor(rt)
    with rt.db.transaction() as db:
        create_user(db, "ed@example.com", "editor", PASSWORD)
    app = create_app(rt)
    yield app
    rt.close()


@responses.activate
def test_connect_button_runs_the_consent_and_stores_the_tokens(oauth_app: Flask) -> None:
    client = oauth_app.test_client()
    sign_in(client, "ed@example.com")
    page = client.get("/connections/new?connector=consent_demo").text
    assert 'type="password" id="f-c-client_secret"' in page
    form = {
        "csrf_token": csrf_token(page),
        "connector": "consent_demo",
        "op": "save",
        "name": "Demo",
        "c.client_id": "cid-1",
        "c.client_secret": "cs-secret-1",
    }
    edit_url = client.post("/connections/new", data=form).headers["Location"]
    page = client.get(edit_url).text
    assert ">Connect</button>" in page
    started = client.post(f"{edit_url}/connect", data={"csrf_token": csrf_token(page)})
    assert started.status_code == 302
    consent = urlsplit(started.headers["Location"])
    query = parse_qs(consent.query)
    assert consent.netloc == "vendor.example" and query["client_id"] == ["cid-1"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/oauth/callback"]
    state = query["state"][0]

    tampered = client.get(f"/oauth/callback?code=c0de&state={state[:-2]}xx")
    assert tampered.status_code == 400

    responses.post(
        "https://vendor.example/oauth/token",
        json={"access_token": "at-123456", "refresh_token": "rt-123456", "expires_in": 3600},
    )
    done = client.get(f"/oauth/callback?code=c0de&state={state}")
    assert done.status_code == 200 and "Connected" in done.text
    assert "code=c0de" in responses.calls[0].request.body
    page = client.get(edit_url).text
    assert "at-123456" not in page and 'name="c.access_token.__set" value="1"' in page
    rt = oauth_app.extensions["hub"]
    with rt.db.transaction() as db:
        stored = merged_fields(db.query(Connection).one(), rt.vault)
    assert stored["access_token"] == "at-123456" and stored["refresh_token"] == "rt-123456"
