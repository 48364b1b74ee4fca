"""google_forms.new_response under the hub's poller: a service-account connection from the vault,
its token cached in the shared (database) cache across polls, priming, runs and cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from hub.connections import create_connection
from hub.db.models import CacheEntry, Event, TriggerState
from hub.engine.poller import poll_recipe
from hub.recipe_store import save_recipe
from hub.runtime import Runtime

FORM = "1FAIpQLSd3example0formId"
RESPONSES_URL = f"https://forms.googleapis.com/v1/forms/{FORM}/responses"
TOKEN_URL = "https://oauth2.googleapis.com/token"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def make_recipe(runtime: Runtime) -> int:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {
        "type": "service_account",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "forms-reader@acme-hub.iam.gserviceaccount.com",
        "token_uri": TOKEN_URL,
    }
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="forms-sa",
            connector_id="google_forms",
            config={"auth_type": "service_account", "service_account_json": json.dumps(key)},
        )
        document = {
            "name": "google form leads",
            "trigger": {
                "connector": "google_forms",
                "trigger": "new_response",
                "connection": "forms-sa",
                "config": {"form_id": FORM},
            },
            "steps": [],
        }
        return save_recipe(session, runtime, document).id


def response(rid: str, submitted: str) -> dict[str, Any]:
    return {
        "responseId": rid,
        "createTime": submitted,
        "lastSubmittedTime": submitted,
        "answers": {"q1": {"questionId": "q1", "textAnswers": {"answers": [{"value": rid}]}}},
    }


@responses.activate
def test_poller_primes_then_runs_new_responses_with_one_cached_token(runtime: Runtime) -> None:
    recipe_id = make_recipe(runtime)
    now = datetime.now(UTC)
    before, after = (f"{(now + timedelta(seconds=d)):%Y-%m-%dT%H:%M:%S}.5Z" for d in (-30, 30))
    token = responses.post(TOKEN_URL, json={"access_token": "ya29.sa", "expires_in": 3600})
    responses.get(RESPONSES_URL, json={"responses": [response("r1", before)]})
    assert poll_recipe(runtime, recipe_id)["primed"] == 1
    responses.replace(
        responses.GET,
        RESPONSES_URL,
        json={"responses": [response("r1", before), response("r2", after)]},
    )
    assert poll_recipe(runtime, recipe_id)["new"] == 1
    assert len(token.calls) == 1  # the second poll used the token cached in the database
    with runtime.db.transaction() as session:
        state = session.scalar(select(TriggerState).where(TriggerState.recipe_id == recipe_id))
        events = session.scalars(select(Event).where(Event.recipe_id == recipe_id)).all()
        cached = session.scalars(select(CacheEntry)).all()
        assert state.cursor == after
        assert [e.payload["answers"] for e in events] == [{"q1": "r2"}]
        assert cached and all("ya29.sa" not in str(c.value) for c in cached)  # encrypted at rest
    for call in responses.calls:
        if call.request.method == "GET":
            assert call.request.headers["Authorization"] == "Bearer ya29.sa"
