"""fadada actions, token and callback: form-encoded signed requests, FASC's codes mapped to the
SDK's errors, one token renewal, one token for two worker processes, and callbacks through the
real ingress (wait_for resumed; forged ones answered 401 and starting nothing)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from sqlalchemy import func, select

from connectors.fadada import connector
from connectors.fadada.signing import signature
from hub.connections import create_connection
from hub.db.models import Event, Run
from hub.recipe_store import hook_urls, save_recipe
from hub.runtime import Runtime
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from tests.connectors.fadada.fadada_kit import APP_ID, APP_SECRET, finished, signed_callback

API = "https://api.fadada.com/api/v5"
OK = {"code": "100000", "msg": "success"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def ctx() -> Context:
    return Context(
        connector=connector,
        connection={"app_id": APP_ID, "app_secret": APP_SECRET, "open_corp_id": "corp-open-1"},
    )


def token_route() -> Any:
    return responses.post(
        f"{API}/service/get-access-token", json={**OK, "data": {"accessToken": "tok-1", "expiresIn": 7200}}
    )


def sent_biz(call: Any) -> tuple[dict[str, str], dict[str, Any]]:
    form = dict(parse_qsl(call.request.body))
    return dict(call.request.headers), json.loads(form["bizContent"])


@responses.activate
def test_create_sign_task_is_a_signed_form_with_biz_content() -> None:
    fetch = token_route()
    create = responses.post(f"{API}/sign-task/create", json={**OK, "data": {"signTaskId": "ST-1"}})
    inputs = {
        "subject": "合同 C-7",
        "docs": [{"doc_id": "d1", "doc_name": "合同.pdf", "file_id": "F-9"}],
        "actors": [
            {
                "actor_id": "customer",
                "actor_type": "corp",
                "actor_name": "Acme Ltd",
                "account_name": "13800000001",
            }
        ],
        "trans_reference_id": "C-7",
    }
    action = connector.action("create_sign_task")
    assert action.perform(ctx(), inputs) == {"sign_task_id": "ST-1"}
    assert len(fetch.calls) == 1
    token_headers = fetch.calls[0].request.headers
    assert token_headers["X-FASC-Grant-Type"] == "client_credential" and not fetch.calls[0].request.body
    headers, biz = sent_biz(create.calls[0])
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["X-FASC-AccessToken"] == "tok-1" and headers["X-FASC-Api-SubVersion"] == "5.1"
    assert biz == {
        "signTaskSubject": "合同 C-7",
        "initiator": {"idType": "corp", "openId": "corp-open-1"},
        "docs": [{"docId": "d1", "docName": "合同.pdf", "docFileId": "F-9"}],
        "actors": [
            {
                "actor": {
                    "actorId": "customer",
                    "actorType": "corp",
                    "actorName": "Acme Ltd",
                    "permissions": ["sign"],
                    "accountName": "13800000001",
                    "sendNotification": True,
                }
            }
        ],
        "autoStart": True,
        "autoFinish": True,
        "signInOrder": False,
        "transReferenceId": "C-7",
    }
    # The signature covers the exact bizContent string that was sent.
    raw_biz = dict(parse_qsl(create.calls[0].request.body))["bizContent"]
    signed = {k: v for k, v in headers.items() if k.startswith("X-FASC-") and k != "X-FASC-Sign"}
    assert headers["X-FASC-Sign"] == signature(
        {**signed, "bizContent": raw_biz}, headers["X-FASC-Timestamp"], APP_SECRET
    )


@responses.activate
def test_get_cancel_and_download() -> None:
    token_route()
    responses.post(
        f"{API}/sign-task/app/get-detail",
        json={**OK, "data": {"signTaskStatus": "sign_progress", "signTaskSubject": "s"}},
    )
    cancel = responses.post(f"{API}/sign-task/cancel", json={**OK, "data": None})
    download = responses.post(
        f"{API}/sign-task/owner/get-download-url", json={**OK, "data": {"downloadUrl": "https://f.example/d"}}
    )
    got = connector.action("get_sign_task").perform(ctx(), {"sign_task_id": "ST-1"})
    assert got["status"] == "sign_progress" and got["sign_task_id"] == "ST-1" and got["source"] == "api"
    assert connector.action("cancel_sign_task").perform(ctx(), {"sign_task_id": "ST-1", "note": "作废"}) == {
        "sign_task_id": "ST-1"
    }
    assert sent_biz(cancel.calls[0])[1] == {"signTaskId": "ST-1", "terminationNote": "作废"}
    out = connector.action("get_download_url").perform(ctx(), {"sign_task_id": "ST-1"})
    assert out["download_url"] == "https://f.example/d"
    assert sent_biz(download.calls[0])[1] == {
        "ownerId": {"idType": "corp", "openId": "corp-open-1"},
        "signTaskId": "ST-1",
        "downloadMode": "download",
    }


@responses.activate
def test_codes_map_to_errors_and_a_refused_token_is_renewed_once() -> None:
    token_route()
    route = f"{API}/sign-task/app/get-detail"
    responses.post(route, json={"code": "211066", "msg": "参与方不存在"})
    with pytest.raises(PermanentError, match="参与方不存在") as raised:
        connector.action("get_sign_task").perform(ctx(), {"sign_task_id": "ST-1"})
    assert raised.value.vendor_code == "211066" and not isinstance(raised.value, AuthError)
    responses.upsert(responses.POST, route, status=503, json={"code": "500", "msg": "busy"})
    with pytest.raises(RetryableError):
        connector.action("get_sign_task").perform(ctx(), {"sign_task_id": "ST-1"})
    responses.upsert(responses.POST, route, status=401, json={"code": "100002", "msg": "accessToken invalid"})
    before = len(responses.calls)
    with pytest.raises(AuthError, match="refused again"):
        connector.action("get_sign_task").perform(ctx(), {"sign_task_id": "ST-1"})
    paths = [c.request.url.rsplit("/", 1)[1] for c in responses.calls[before:]]
    assert paths == ["get-access-token", "get-detail", "get-access-token", "get-detail"]  # renewed once


@responses.activate
def test_wrong_credentials_fail_test_connection() -> None:
    responses.post(f"{API}/service/get-access-token", json={"code": "100001", "msg": "appId或appSecret错误"})
    with pytest.raises(AuthError, match="appSecret"):
        connector.test_connection(ctx())


@responses.activate
def test_task_poll_reads_the_owner_list_and_remembers_finished_tasks() -> None:
    token_route()
    listing = responses.post(
        f"{API}/sign-task/owner/get-list",
        json={
            **OK,
            "data": {
                "signTasks": [{"signTaskId": "ST-1", "signTaskStatus": "task_finished"}],
                "listPageCount": 1,
            },
        },
    )
    trigger = connector.trigger("task_status_poll")
    first = trigger.poll(ctx(), {}, None)
    assert [e.id for e in first.items] == ["ST-1:task_finished::"]
    sent = sent_biz(listing.calls[0])[1]
    assert sent["ownerId"] == {"idType": "corp", "openId": "corp-open-1"} and sent["listPageSize"] == 100
    assert sent["listFilter"]["signTaskStatus"] == ["task_finished", "task_terminated", "expired", "revoked"]
    assert trigger.poll(ctx(), {}, first.cursor).items == []


# ---- callbacks through the real ingress ---------------------------------------------------------


@responses.activate
def test_wait_for_resumes_on_the_signed_callback_and_forgeries_start_nothing(
    runtime: Runtime, client: Any
) -> None:
    token_route()
    responses.post(f"{API}/sign-task/create", json={**OK, "data": {"signTaskId": "ST-7"}})
    with runtime.db.transaction() as session:
        create_connection(
            session,
            runtime.registry,
            runtime.vault,
            name="fdd",
            connector_id="fadada",
            config={"app_id": APP_ID, "app_secret": APP_SECRET, "open_corp_id": "corp-open-1"},
        )
    document = {
        "name": "sign",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "sign",
                "connector": "fadada",
                "action": "create_sign_task",
                "connection": "fdd",
                "input": {
                    "subject": "合同",
                    "docs": [{"doc_id": "d1", "doc_name": "c.pdf", "file_id": "F-1"}],
                    "actors": [{"actor_id": "c", "actor_type": "corp", "actor_name": "Acme"}],
                },
            },
            {
                "id": "signed",
                "type": "wait_for",
                "connector": "fadada",
                "trigger": "task_status",
                "connection": "fdd",
                "match": {"sign_task_id": "{{ steps.sign.sign_task_id }}", "status": "task_finished"},
                "timeout_s": 3600,
            },
        ],
    }
    with runtime.db.transaction() as session:
        saved = save_recipe(session, runtime, document)
        urls = hook_urls(session, runtime, saved)
    start = "/hooks/" + urls["webhook_url"].split("/hooks/")[1]
    wait = "/hooks/" + urls["wait_urls"]["signed"].split("/hooks/")[1]
    assert client.post(start, json={}).status_code == 202

    def post(headers: dict[str, str], body: bytes) -> Any:
        return client.post(wait, data=body, headers=headers)

    headers, body = signed_callback("sign-task-finished", finished("ST-7"))
    forged = [
        ({**headers, "X-FASC-Sign": "0" * 64}, body),
        (signed_callback("sign-task-finished", finished("ST-7"), secret="other")[0], body),
        signed_callback("sign-task-finished", finished("ST-7"), app_id="80000999"),
        signed_callback("sign-task-finished", finished("ST-7"), stamp=str(int((time.time() - 3600) * 1000))),
    ]
    for h, b in forged:
        assert post(h, b).status_code == 401
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count(Event.id)).where(Event.source != "webhook")) == 0
        assert session.scalars(select(Run)).one().status == "waiting"
    assert post(*signed_callback("sign-task-signed", finished("ST-7", "sign_progress"))).status_code == 200
    with runtime.db.transaction() as session:
        assert session.scalars(select(Run)).one().status == "waiting"  # not the status it waits for
    answer = post(headers, body)
    assert answer.status_code == 200 and answer.get_json() == {"msg": "success"}
    assert post(headers, body).get_json() == {"msg": "success"}  # FASC's retry: acknowledged again
    with runtime.db.transaction() as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "succeeded"
