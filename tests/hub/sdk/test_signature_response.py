"""SignatureError(response=...): a refused webhook gets the answer the vendor's protocol asks for."""

from __future__ import annotations

from typing import Any

import pytest

from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.connector import Connector, WebhookTrigger
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest, TriggerEvent, WebhookResponse


class Signed(WebhookTrigger):
    key = "signed"

    def verify(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> None:
        given = request.header("X-Sig")
        if given == "plain-refusal":
            raise SignatureError("Sigvendor: bad signature")
        if given != "good":
            raise SignatureError(
                "Sigvendor: bad signature",
                response=WebhookResponse(status=401, body=b"", headers={"X-Why": "sig"}),
            )

    def parse(self, ctx: Context, config: dict[str, Any], request: InboundRequest) -> list[TriggerEvent]:
        return [TriggerEvent(data={"ok": True}, id="e1")]


class SigVendor(Connector):
    id = "sigvendor"
    name = "Sigvendor"
    triggers = (Signed,)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def hook_path(runtime: Runtime) -> str:
    runtime.registry.register(SigVendor(), source="tests")
    with runtime.db.transaction() as session:
        document = {"name": "sig", "trigger": {"connector": "sigvendor", "trigger": "signed"}, "steps": []}
        recipe = save_recipe(session, runtime, document)
        url = hook_urls(session, runtime, recipe)["webhook_url"]
    return "/hooks/" + url.split("/hooks/")[1]


def bad_signatures(runtime: Runtime) -> float | None:
    return runtime.metrics.registry.get_sample_value("hub_webhooks_total", {"result": "bad_signature"})


def test_refusal_with_a_response_is_answered_with_it_and_counted(runtime: Runtime, client: Any) -> None:
    path = hook_path(runtime)
    refused = client.post(path, data=b"{}", headers={"X-Sig": "forged"})
    assert (refused.status_code, refused.get_data(), refused.headers["X-Why"]) == (401, b"", "sig")
    plain = client.post(path, data=b"{}", headers={"X-Sig": "plain-refusal"})
    assert plain.status_code == 401 and plain.get_json()["error"]["code"] == "bad_signature"
    assert bad_signatures(runtime) == 2.0
    accepted = client.post(path, data=b"{}", headers={"X-Sig": "good"})
    assert accepted.status_code == 202
