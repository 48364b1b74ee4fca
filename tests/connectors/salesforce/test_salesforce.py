"""Salesforce: each action's exact request, documented answers (201/204/200/300) and error arrays,
token refresh on INVALID_SESSION_ID, and the SystemModstamp poll (paging, overlap, dedupe, cursor)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import responses
from responses import matchers

from connectors.salesforce import connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.oauth import ensure_token

INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v60.0"
AUTH = {"Authorization": "Bearer 00Dxx!access"}
TRIGGER = connector.trigger("record_changed")


def ctx(**extra: Any) -> Context:
    connection = {
        "instance_url": INSTANCE,
        "client_id": "3MVG9",
        "client_secret": "csecret",
        "access_token": "00Dxx!access",
        "refresh_token": "5Aep861",
    }
    return Context(connector=connector, connection={**connection, **extra})


def run(action: str, **inputs: Any) -> dict[str, Any]:
    return connector.action(action).perform(ctx(), inputs)


def test_schemas_and_flags() -> None:
    schema = connector.connection_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"client_id", "client_secret"}  # instance_url comes with the tokens
    assert connector.auth.token_fields == ("instance_url",)
    assert "base_url" not in schema["properties"]
    for action in connector.action_map.values():
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
        jsonschema.validate(action.sample_output, action.output_schema)
    flags = {key: a.repeat_safe for key, a in connector.action_map.items()}
    assert flags == {"create_record": False, "update_record": True, "upsert_record": True, "query": True}


@responses.activate
def test_create_record_posts_json_and_returns_the_id() -> None:
    responses.post(
        f"{DATA}/sobjects/Lead/",
        status=201,
        json={"id": "00Q5g00000A1b2cEAB", "success": True, "errors": []},
        match=[
            matchers.header_matcher({**AUTH, "Content-Type": "application/json"}),
            matchers.json_params_matcher({"LastName": "Li", "Company": "Acme", "AnnualRevenue": 12800.5}),
        ],
    )
    out = run(
        "create_record",
        sobject="Lead",
        fields={"LastName": "Li", "Company": "Acme", "AnnualRevenue": Decimal("12800.50")},
    )
    assert out == {"id": "00Q5g00000A1b2cEAB", "created": True}
    assert b'"AnnualRevenue":12800.50' in responses.calls[0].request.body  # digit for digit, no float


@responses.activate
def test_update_record_patches_and_accepts_204() -> None:
    responses.patch(
        f"{DATA}/sobjects/Opportunity/0065g00000AbCdEAAZ",
        status=204,
        match=[matchers.header_matcher(AUTH), matchers.json_params_matcher({"StageName": "Closed Won"})],
    )
    out = run(
        "update_record", sobject="Opportunity", id="0065g00000AbCdEAAZ", fields={"StageName": "Closed Won"}
    )
    assert out == {"id": "0065g00000AbCdEAAZ", "created": False}


@responses.activate
def test_upsert_by_external_id_created_updated_and_old_204() -> None:
    url = f"{DATA}/sobjects/Lead/External_Email__c/li.lei%40example.com"
    responses.patch(
        url,
        status=201,
        json={"id": "00Q1", "success": True, "errors": [], "created": True},
        match=[
            matchers.header_matcher(AUTH),
            matchers.json_params_matcher({"LastName": "Li", "Email": "li.lei@example.com"}),
        ],
    )
    fields = {"LastName": "Li", "Email": "li.lei@example.com", "External_Email__c": "li.lei@example.com"}
    inputs = {
        "sobject": "Lead",
        "external_id_field": "External_Email__c",
        "external_id": "li.lei@example.com",
    }
    assert run("upsert_record", **inputs, fields=fields) == {"id": "00Q1", "created": True}
    assert responses.calls[0].request.url == url  # the @ is percent-encoded in the path
    responses.replace(
        responses.PATCH, url, status=200, json={"id": "00Q1", "success": True, "errors": [], "created": False}
    )
    assert run("upsert_record", **inputs, fields=fields) == {"id": "00Q1", "created": False}
    responses.replace(responses.PATCH, url, status=204)
    assert run("upsert_record", **inputs, fields=fields) == {"id": None, "created": False}


@responses.activate
def test_upsert_matching_several_records_is_a_clear_error() -> None:
    responses.patch(
        f"{DATA}/sobjects/Lead/Code__c/A%2F1",
        status=300,
        json=["/services/data/v60.0/sobjects/Lead/00Q1", "/services/data/v60.0/sobjects/Lead/00Q2"],
    )
    with pytest.raises(PermanentError, match="several Lead records have Code__c = 'A/1'"):
        run("upsert_record", sobject="Lead", external_id_field="Code__c", external_id="A/1", fields={})


@responses.activate
def test_query_follows_next_records_url_up_to_the_limit() -> None:
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'A%'"
    responses.get(
        f"{DATA}/query",
        json={
            "totalSize": 5,
            "done": False,
            "nextRecordsUrl": "/services/data/v60.0/query/01gD0000002HU6KIAW-2",
            "records": [{"Id": "1"}, {"Id": "2"}],
        },
        match=[matchers.query_param_matcher({"q": soql}), matchers.header_matcher(AUTH)],
    )
    responses.get(
        f"{DATA}/query/01gD0000002HU6KIAW-2",
        json={
            "totalSize": 5,
            "done": False,
            "nextRecordsUrl": "/services/data/v60.0/query/01gD0000002HU6KIAW-4",
            "records": [{"Id": "3"}, {"Id": "4"}],
        },
        match=[matchers.header_matcher(AUTH)],
    )
    responses.get(
        f"{DATA}/query/01gD0000002HU6KIAW-4",
        json={"totalSize": 5, "done": True, "records": [{"Id": "5"}]},
    )
    full = run("query", soql=soql)
    assert [r["Id"] for r in full["records"]] == ["1", "2", "3", "4", "5"]
    assert full["total_size"] == 5 and full["done"] is True
    capped = run("query", soql=soql, limit=3)
    assert [r["Id"] for r in capped["records"]] == ["1", "2", "3"] and capped["done"] is False
    assert parse_qs(urlsplit(responses.calls[0].request.url).query) == {"q": [soql]}


@responses.activate
def test_query_refuses_a_next_records_url_off_the_instance() -> None:
    responses.get(
        f"{DATA}/query",
        json={"totalSize": 3, "done": False, "nextRecordsUrl": "https://evil.example/x", "records": []},
    )
    with pytest.raises(PermanentError, match="unexpected nextRecordsUrl"):
        run("query", soql="SELECT Id FROM Account")


@responses.activate
def test_error_array_becomes_an_actionable_message() -> None:
    responses.post(
        f"{DATA}/sobjects/Lead/",
        status=400,
        json=[
            {
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"],
            }
        ],
    )
    with pytest.raises(PermanentError) as err:
        run("create_record", sobject="Lead", fields={"Company": "Acme"})
    assert (
        str(err.value)
        == "Salesforce: Required fields are missing: [LastName] (code REQUIRED_FIELD_MISSING) [HTTP 400]"
    )
    assert err.value.vendor_code == "REQUIRED_FIELD_MISSING" and not isinstance(err.value, AuthError)
    responses.patch(
        f"{DATA}/sobjects/Lead/00Q9",
        status=400,
        json=[
            {
                "message": "Email: invalid email address: nope",
                "errorCode": "INVALID_EMAIL_ADDRESS",
                "fields": ["Email"],
            },
            {
                "message": "bad value for restricted picklist field",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Status"],
            },
        ],
    )
    with pytest.raises(
        PermanentError,
        match=r"invalid email address: nope; bad value for restricted picklist field \(fields: Status\)",
    ):
        run("update_record", sobject="Lead", id="00Q9", fields={"Email": "nope", "Status": "x"})


@responses.activate
def test_limits_are_retryable_and_permissions_are_not_auth() -> None:
    responses.post(
        f"{DATA}/sobjects/Lead/",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    with pytest.raises(RetryableError) as limited:
        run("create_record", sobject="Lead", fields={"LastName": "Li"})
    assert limited.value.vendor_code == "REQUEST_LIMIT_EXCEEDED" and limited.value.retry_after == 600
    responses.patch(
        f"{DATA}/sobjects/Lead/00Q9",
        status=403,
        json=[
            {
                "message": "insufficient access rights on object id",
                "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY",
            }
        ],
    )
    with pytest.raises(PermanentError) as denied:
        run("update_record", sobject="Lead", id="00Q9", fields={"LastName": "Li"})
    assert not isinstance(denied.value, AuthError)
    responses.get(f"{DATA}/query", status=503, headers={"Retry-After": "30"}, body="Service Unavailable")
    with pytest.raises(RetryableError):
        run("query", soql="SELECT Id FROM Lead")


@responses.activate
def test_invalid_session_is_an_auth_error_and_the_sdk_refresh_uses_the_token_url() -> None:
    responses.post(
        f"{DATA}/sobjects/Lead/",
        status=401,
        json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    context = ctx()
    with pytest.raises(AuthError) as err:
        connector.action("create_record").perform(context, {"sobject": "Lead", "fields": {"LastName": "Li"}})
    assert err.value.vendor_code == "INVALID_SESSION_ID"
    refresh = responses.post(
        "https://test.salesforce.com/services/oauth2/token",
        json={
            "access_token": "00Dxx!fresh",
            "instance_url": INSTANCE,
            "token_type": "Bearer",
            "issued_at": "1",
        },
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "5Aep861",
                    "client_id": "3MVG9",
                    "client_secret": "csecret",
                }
            )
        ],
    )
    context.connection["token_url"] = "https://test.salesforce.com/services/oauth2/token"
    ensure_token(context, force=True)
    assert refresh.call_count == 1 and context.connection["access_token"] == "00Dxx!fresh"


def test_bad_names_and_versions_never_reach_the_url() -> None:
    with pytest.raises(PermanentError, match="not an API name"):
        run("create_record", sobject="Lead/../../x", fields={})
    with pytest.raises(PermanentError, match="not an API name"):
        run("create_record", sobject="Lead", fields={"Name; DELETE": 1})
    with pytest.raises(PermanentError, match="api_version"):
        connector.action("query").perform(ctx(api_version="latest"), {"soql": "SELECT Id FROM Lead"})
    with pytest.raises(PermanentError, match="no instance_url"):
        connector.action("query").perform(ctx(instance_url=""), {"soql": "SELECT Id FROM Lead"})


@responses.activate
def test_api_version_is_configurable() -> None:
    responses.get(f"{INSTANCE}/services/data/v58.0/query", json={"totalSize": 0, "done": True, "records": []})
    connector.action("query").perform(ctx(api_version="v58.0"), {"soql": "SELECT Id FROM Lead"})
    assert responses.calls[0].request.url.startswith(f"{INSTANCE}/services/data/v58.0/query?q=")


# --- record_changed -------------------------------------------------------------------------


def record(rid: str, stamp: str, name: str = "x") -> dict[str, Any]:
    return {
        "attributes": {"type": "Opportunity", "url": f"/services/data/v60.0/sobjects/Opportunity/{rid}"},
        "Id": rid,
        "SystemModstamp": stamp,
        "Name": name,
    }


def soql_of(call: Any) -> str:
    return parse_qs(urlsplit(call.request.url).query)["q"][0]


CONFIG = {
    "sobject": "Opportunity",
    "fields": ["Name", "StageName"],
    "where": "IsClosed = true",
    "overlap_s": 120,
}


@responses.activate
def test_first_poll_takes_its_start_from_salesforces_clock() -> None:
    """Changed with the vendor-time rule: the first poll used to store only the newest stamp (or the
    hub's clock for an empty object), so the next poll ran the records inside the overlap before it."""
    date = {"Date": "Mon, 23 Nov 2026 09:20:00 GMT"}  # Salesforce's clock, behind the hub's
    responses.get(
        f"{DATA}/query",
        json={"totalSize": 1, "done": True, "records": [record("006A", "2026-11-23T09:16:40.000+0000")]},
        headers=date,
    )
    result = TRIGGER.poll(ctx(), CONFIG, None)
    assert [i.id for i in result.items] == ["006A:2026-11-23T09:16:40.000Z"]  # stored as seen, not run
    assert result.cursor == "2026-11-23T09:16:40.000Z"
    assert soql_of(responses.calls[-1]) == (
        "SELECT Id, SystemModstamp, Name, StageName FROM Opportunity "
        "WHERE SystemModstamp > 2026-11-23T09:18:00Z AND (IsClosed = true) "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )
    responses.replace(
        responses.GET, f"{DATA}/query", json={"totalSize": 0, "done": True, "records": []}, headers=date
    )
    assert TRIGGER.poll(ctx(), CONFIG, None).cursor == "2026-11-23T09:20:00.000Z"


@responses.activate
def test_poll_looks_back_the_overlap_pages_and_dedupes() -> None:
    responses.get(
        f"{DATA}/query",
        json={
            "totalSize": 4,
            "done": False,
            "nextRecordsUrl": "/services/data/v60.0/query/01gX-2",
            "records": [
                record("006A", "2026-11-23T09:15:00.000+0000"),
                record("006B", "2026-11-23T09:17:00.000+0000"),
            ],
        },
    )
    responses.get(
        f"{DATA}/query/01gX-2",
        json={
            "totalSize": 4,
            "done": True,
            "records": [
                record("006B", "2026-11-23T09:17:00.000+0000"),
                record("006A", "2026-11-23T09:18:30.250+0000"),
            ],
        },
    )
    result = TRIGGER.poll(ctx(), CONFIG, "2026-11-23T09:16:40.000Z")
    assert soql_of(responses.calls[0]) == (
        "SELECT Id, SystemModstamp, Name, StageName FROM Opportunity "
        "WHERE SystemModstamp > 2026-11-23T09:14:40Z AND (IsClosed = true) "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )
    assert [i.id for i in result.items] == [
        "006A:2026-11-23T09:15:00.000Z",  # inside the overlap: the hub's seen-ids drop it if already taken
        "006B:2026-11-23T09:17:00.000Z",
        "006A:2026-11-23T09:18:30.250Z",  # the same record changed again is a new item
    ]
    assert result.items[2].data["Name"] == "x"
    assert result.cursor == "2026-11-23T09:18:30.250Z"


@responses.activate
def test_empty_poll_keeps_the_cursor_and_old_items_never_move_it_back() -> None:
    responses.get(f"{DATA}/query", json={"totalSize": 0, "done": True, "records": []})
    assert TRIGGER.poll(ctx(), CONFIG, "2026-11-23T09:16:40.000Z").cursor == "2026-11-23T09:16:40.000Z"
    responses.replace(
        responses.GET,
        f"{DATA}/query",
        json={"totalSize": 1, "done": True, "records": [record("006A", "2026-11-23T09:15:00.000+0000")]},
    )
    late = TRIGGER.poll(ctx(), CONFIG, "2026-11-23T09:16:40.000Z")
    assert len(late.items) == 1 and late.cursor == "2026-11-23T09:16:40.000Z"


@responses.activate
def test_cursor_only_moves_past_records_returned_when_max_records_cuts_the_read() -> None:
    responses.get(
        f"{DATA}/query",
        json={
            "totalSize": 3,
            "done": False,
            "nextRecordsUrl": "/services/data/v60.0/query/01gY-2",
            "records": [
                record("006A", "2026-11-23T10:00:00.000+0000"),
                record("006B", "2026-11-23T10:01:00.000+0000"),
            ],
        },
    )
    result = TRIGGER.poll(ctx(), {**CONFIG, "max_records": 1}, "2026-11-23T09:00:00.000Z")
    assert [i.id for i in result.items] == ["006A:2026-11-23T10:00:00.000Z"]
    assert result.cursor == "2026-11-23T10:00:00.000Z"
    assert len(responses.calls) == 1


@responses.activate
def test_backfill_starts_at_since_without_overlap_and_an_empty_one_keeps_it_as_the_cursor() -> None:
    """Changed with the shared base: a backfill finding nothing keeps `since` as the cursor (it used to
    store None, so the next poll started over from the newest record and skipped it)."""
    responses.get(f"{DATA}/query", json={"totalSize": 0, "done": True, "records": []})
    context = ctx()
    context.since = datetime(2026, 11, 1, tzinfo=UTC)
    assert TRIGGER.poll(context, {"sobject": "Lead"}, None).cursor == "2026-11-01T00:00:00.000Z"
    assert "WHERE SystemModstamp > 2026-11-01T00:00:00Z ORDER BY" in soql_of(responses.calls[0])
    assert soql_of(responses.calls[0]).startswith("SELECT Id, SystemModstamp, Name FROM Lead")


def test_trigger_config_is_checked() -> None:
    with pytest.raises(PermanentError):
        TRIGGER.check_config({"sobject": "Lead WHERE"})
    with pytest.raises(PermanentError):
        TRIGGER.check_config({"sobject": "Lead", "fields": ["Name, (SELECT Id FROM Tasks)"]})
    TRIGGER.check_config({"sobject": "Opportunity", "fields": ["Account.Name"]})
    assert json.dumps(TRIGGER.sample)


@responses.activate
def test_connection_test_reads_the_limits() -> None:
    responses.get(
        f"{DATA}/limits",
        json={"DailyApiRequests": {"Max": 15000, "Remaining": 14998}},
        match=[matchers.header_matcher(AUTH)],
    )
    assert connector.test_connection(ctx()) == "connected to Salesforce; API requests left today: 14998"
