"""HubSpot actions against a faked api.hubapi.com: exact requests, documented answers and errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import responses

from connectors.hubspot import connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError

API = "https://api.hubapi.com"
# The error body HubSpot documents for a bad property value.
VALIDATION_ERROR = {
    "status": "error",
    "message": 'Property values were not valid: [{"isValid":false,"message":"Property \\"color\\" does not '
    'exist","error":"PROPERTY_DOESNT_EXIST","name":"color"}]',
    "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
    "category": "VALIDATION_ERROR",
}


def ctx(**connection: Any) -> Context:
    fields = {"client_id": "cid", "client_secret": "csecret", "access_token": "at-1", **connection}
    return Context(connector=connector, connection=fields, idempotency_key="run1:step")


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


@responses.activate
def test_upsert_contact_batch_upserts_by_email_with_oauth_token() -> None:
    route = responses.post(
        f"{API}/crm/v3/objects/contacts/batch/upsert",
        json={
            "status": "COMPLETE",
            "results": [
                {
                    "id": "512",
                    "properties": {"email": "li.lei@example.com", "firstname": "Lei", "hs_object_id": "512"},
                    "createdAt": "2026-11-20T10:00:00.000Z",
                    "updatedAt": "2026-11-20T10:00:00.000Z",
                    "archived": False,
                    "new": True,
                }
            ],
            "startedAt": "2026-11-20T10:00:00.000Z",
            "completedAt": "2026-11-20T10:00:00.100Z",
        },
    )
    out = connector.action("upsert_contact").perform(
        ctx(), {"email": " li.lei@example.com ", "properties": {"firstname": "Lei", "vip": True, "score": 3}}
    )
    request = route.calls[0].request
    assert request.method == "POST" and request.headers["Authorization"] == "Bearer at-1"
    assert request.headers["Content-Type"] == "application/json"
    assert sent_json(route.calls[0]) == {
        "inputs": [
            {
                "idProperty": "email",
                "id": "li.lei@example.com",
                "properties": {
                    "firstname": "Lei",
                    "vip": "true",
                    "score": "3",
                    "email": "li.lei@example.com",
                },
            }
        ]
    }
    assert out["id"] == "512" and out["created"] is True and out["properties"]["firstname"] == "Lei"
    assert connector.action("upsert_contact").repeat_safe


@responses.activate
def test_upsert_contact_multi_status_error_is_permanent() -> None:
    responses.post(
        f"{API}/crm/v3/objects/contacts/batch/upsert",
        status=207,
        json={
            "status": "COMPLETE",
            "results": [],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Email is invalid"}],
        },
    )
    with pytest.raises(PermanentError) as err:
        connector.action("upsert_contact").perform(ctx(), {"email": "bad@"})
    assert "Email is invalid" in err.value.message and err.value.vendor_code == "VALIDATION_ERROR"


@responses.activate
def test_private_app_token_is_used_without_an_oauth_refresh() -> None:
    route = responses.patch(
        f"{API}/crm/v3/objects/deals/7001",
        json={"id": "7001", "properties": {"dealstage": "closedwon"}, "updatedAt": "2026-11-20T10:00:00Z"},
    )
    connection = {"private_app_token": "pat-na1-123", "client_secret": "csecret"}
    context = Context(connector=connector, connection=connection)
    out = connector.action("update_deal").perform(
        context, {"deal_id": 7001, "properties": {"dealstage": "closedwon", "amount": Decimal("1200.50")}}
    )
    assert route.calls[0].request.headers["Authorization"] == "Bearer pat-na1-123"
    assert route.calls[0].request.body == b'{"properties":{"dealstage":"closedwon","amount":"1200.50"}}'
    assert out == {
        "id": "7001",
        "properties": {"dealstage": "closedwon"},
        "created_at": None,
        "updated_at": "2026-11-20T10:00:00Z",
        "archived": False,
    }
    assert len(responses.calls) == 1  # no token endpoint call


@responses.activate
def test_a_refused_private_app_token_keeps_hubspots_message_and_is_never_refreshed() -> None:
    responses.get(
        f"{API}/crm/v3/objects/deals/7001",
        status=401,
        json={
            "status": "error",
            "message": "Authentication credentials not found.",
            "correlationId": "a43683b0-5717-4ceb-80b4-104d02915d8c",
            "category": "INVALID_AUTHENTICATION",
        },
    )
    connection = {"private_app_token": "pat-na1-revoked", "refresh_token": "rt-1", "client_secret": "cs"}
    assert not connector.auth.can_refresh(connection)  # so the engine does not force a refresh either
    with pytest.raises(AuthError, match="Authentication credentials not found") as refused:
        connector.action("get_object").perform(
            Context(connector=connector, connection=connection), {"object_type": "deals", "object_id": "7001"}
        )
    assert refused.value.vendor_code == "INVALID_AUTHENTICATION" and len(responses.calls) == 1


@responses.activate
def test_expired_oauth_token_is_refreshed_at_the_hubspot_token_url_first() -> None:
    token = responses.post(
        f"{API}/oauth/v1/token", json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 1800}
    )
    route = responses.patch(f"{API}/crm/v3/objects/deals/9", json={"id": "9", "properties": {}})
    context = ctx(refresh_token="rt-1", expires_at=1)
    connector.action("update_deal").perform(context, {"deal_id": "9", "properties": {"a": "b"}})
    form = dict(x.split("=") for x in token.calls[0].request.body.split("&"))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert route.calls[0].request.headers["Authorization"] == "Bearer at-2"
    assert context.connection["refresh_token"] == "rt-2"


@responses.activate
def test_update_deal_validation_error_keeps_message_correlation_id_and_category() -> None:
    responses.patch(f"{API}/crm/v3/objects/deals/7001", status=400, json=VALIDATION_ERROR)
    with pytest.raises(PermanentError) as err:
        connector.action("update_deal").perform(ctx(), {"deal_id": "7001", "properties": {"color": "red"}})
    assert not isinstance(err.value, RetryableError)
    assert err.value.vendor_code == "VALIDATION_ERROR" and err.value.status == 400
    assert VALIDATION_ERROR["message"] in err.value.message
    assert "correlationId aeb5f871-7f07-4993-9211-075dc63e7cbf" in err.value.message
    assert err.value.message.startswith("HubSpot: Property values were not valid")


@responses.activate
def test_expired_token_answer_is_an_auth_error() -> None:
    responses.patch(
        f"{API}/crm/v3/objects/deals/1",
        status=401,
        json={
            "status": "error",
            "message": "Authentication credentials not found.",
            "correlationId": "3d1c1b5e-1c1f-4b43-9d0a-4b7e7d3a9c11",
            "category": "INVALID_AUTHENTICATION",
        },
    )
    with pytest.raises(AuthError) as err:
        connector.action("update_deal").perform(ctx(), {"deal_id": "1", "properties": {}})
    assert err.value.vendor_code == "INVALID_AUTHENTICATION"


@responses.activate
def test_rate_limit_is_retryable_with_the_window_from_the_headers() -> None:
    responses.post(
        f"{API}/crm/v3/objects/tasks",
        status=429,
        headers={
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": "0",
        },
        json={
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad2d",
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": "cos_sample_group",
        },
    )
    with pytest.raises(RetryableError) as err:
        connector.action("create_task").perform(ctx(), {"subject": "x"})
    assert err.value.retry_after == 10.0 and err.value.vendor_code == "TEN_SECONDLY_ROLLING"
    assert "ten_secondly_rolling limit" in err.value.message and err.value.status == 429


@responses.activate
def test_daily_limit_waits_an_hour_and_retry_after_wins_when_sent() -> None:
    body = {"status": "error", "message": "You have reached your daily limit.", "policyName": "DAILY"}
    responses.post(f"{API}/crm/v3/objects/tasks", status=429, json=body)
    responses.post(f"{API}/crm/v3/objects/tasks", status=429, json=body, headers={"Retry-After": "7"})
    for expected in (3600.0, 7.0):
        with pytest.raises(RetryableError) as err:
            connector.action("create_task").perform(ctx(), {"subject": "x"})
        assert err.value.retry_after == expected


@responses.activate
def test_create_task_sends_task_properties_and_hubspot_defined_associations() -> None:
    route = responses.post(
        f"{API}/crm/v3/objects/tasks",
        status=201,
        json={
            "id": "9001",
            "properties": {"hs_task_subject": "Send the contract", "hs_timestamp": "2026-12-01T09:00:00Z"},
            "createdAt": "2026-11-20T10:00:00Z",
            "updatedAt": "2026-11-20T10:00:00Z",
            "archived": False,
        },
    )
    out = connector.action("create_task").perform(
        ctx(),
        {
            "subject": "Send the contract",
            "body": "Ask for a PO number",
            "due_at": "2026-12-01T09:00:00Z",
            "status": "NOT_STARTED",
            "priority": "HIGH",
            "owner_id": 42,
            "associations": [
                {"object_type": "deals", "id": 7001},
                {"object_type": "contacts", "id": "512"},
                {"object_type": "companies", "id": "3", "association_type_id": 999},
            ],
        },
    )
    assert sent_json(route.calls[0]) == {
        "properties": {
            "hs_timestamp": "2026-12-01T09:00:00Z",
            "hs_task_subject": "Send the contract",
            "hs_task_body": "Ask for a PO number",
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hubspot_owner_id": "42",
        },
        "associations": [
            {
                "to": {"id": "7001"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 216}],
            },
            {
                "to": {"id": "512"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
            },
            {
                "to": {"id": "3"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 999}],
            },
        ],
    }
    assert out["id"] == "9001"
    assert not connector.action("create_task").repeat_safe  # HubSpot has no idempotency key for creates


@responses.activate
def test_search_follows_after_when_asked_and_returns_the_next_cursor() -> None:
    first_page = {
        "total": 3,
        "results": [{"id": "1", "properties": {"dealname": "A"}}, {"id": "2", "properties": {}}],
        "paging": {"next": {"after": "2", "link": "?after=2"}},
    }
    last_page = {"total": 3, "results": [{"id": "3", "properties": {}}]}
    route = responses.post(f"{API}/crm/v3/objects/deals/search", json=first_page)
    for page in (first_page, last_page):
        responses.post(f"{API}/crm/v3/objects/deals/search", json=page)
    groups = [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}]
    first = connector.action("search").perform(
        ctx(), {"object_type": "deals", "filter_groups": groups, "properties": ["dealname"], "limit": 2}
    )
    assert sent_json(route.calls[0]) == {"filterGroups": groups, "limit": 2, "properties": ["dealname"]}
    assert [r["id"] for r in first["results"]] == ["1", "2"] and first["after"] == "2" and first["total"] == 3
    every = connector.action("search").perform(
        ctx(), {"object_type": "deals", "filter_groups": groups, "limit": 2, "all_pages": True}
    )
    assert sent_json(responses.calls[1]) == {"filterGroups": groups, "limit": 2}
    assert sent_json(responses.calls[2]) == {"filterGroups": groups, "limit": 2, "after": "2"}
    assert [r["id"] for r in every["results"]] == ["1", "2", "3"] and every["after"] is None


@responses.activate
def test_get_object_reads_named_properties() -> None:
    route = responses.get(
        f"{API}/crm/v3/objects/deals/7001",
        json={"id": "7001", "properties": {"dealname": "Acme", "amount": "1200.50"}, "archived": False},
    )
    out = connector.action("get_object").perform(
        ctx(), {"object_type": "deals", "object_id": 7001, "properties": ["dealname", "amount"]}
    )
    assert route.calls[0].request.url == f"{API}/crm/v3/objects/deals/7001?properties=dealname%2Camount"
    assert out["properties"]["amount"] == "1200.50"


def test_empty_ids_are_refused_before_any_call() -> None:
    with pytest.raises(PermanentError):
        connector.action("update_deal").perform(ctx(), {"deal_id": " ", "properties": {}})


def test_connection_form_offers_oauth_and_private_app_token() -> None:
    schema = connector.connection_schema()
    assert schema["required"] == []
    assert {"client_id", "client_secret", "access_token", "private_app_token"} <= set(schema["properties"])
    assert {"client_secret", "private_app_token"} <= connector.secret_fields()
    described = connector.auth.describe()
    assert described["authorize_url"] == "https://app.hubspot.com/oauth/authorize"
    assert described["token_url"] == "https://api.hubapi.com/oauth/v1/token"


@responses.activate
def test_connection_test_reads_one_contact() -> None:
    route = responses.get(f"{API}/crm/v3/objects/contacts", json={"results": []})
    assert "HubSpot answered" in connector.test_connection(ctx())
    assert route.calls[0].request.url == f"{API}/crm/v3/objects/contacts?limit=1"
    assert route.calls[0].request.headers["Authorization"] == "Bearer at-1"
