"""QuickBooks Online: exact requests (company path, minorversion, requestid, Basic-free Bearer auth,
Decimal amounts digit for digit), Fault answers mapped, CDC polling, and Intuit's webhook formats."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import responses
from responses import matchers

from connectors.quickbooks import connector, signing
from connectors.quickbooks.queries import literal
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError, SignatureError
from hub.sdk.oauth import ensure_token
from hub.sdk.types import InboundRequest

API = "https://quickbooks.api.intuit.com/v3/company/9130357766900456"
AUTH = {"Authorization": "Bearer eyJ.qbo-access", "Accept": "application/json"}
VERIFIER = "e7a9b5c1-verifier-token"
# The CloudEvents example of Intuit's migration notes, signed with
# `printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$VERIFIER" -binary | base64`.
CLOUD_BODY = (
    b'[{"specversion":"1.0","id":"88cd52aa-33b6-4351-9aa4-47572edbd068",'
    b'"source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"qbo.invoice.created.v1",'
    b'"datacontenttype":"application/json","time":"2026-05-31T21:31:25.179Z","intuitentityid":"95",'
    b'"intuitaccountid":"310687","data":{}}]'
)
CLOUD_SIGNATURE = "LXn4VDmPseM45CHOKBOjagxtczbIjJmVRVhkRpNgGHA="


def ctx(idempotency_key: str | None = "41:invoice", **extra: Any) -> Context:
    connection = {
        "realm_id": "9130357766900456",
        "client_id": "ABc",
        "client_secret": "s3",
        "access_token": "eyJ.qbo-access",
        "refresh_token": "AB11-refresh",
        "webhook_verifier_token": VERIFIER,
        **extra,
    }
    return Context(connector=connector, connection=connection, idempotency_key=idempotency_key)


def run(action: str, context: Context | None = None, **inputs: Any) -> dict[str, Any]:
    return connector.action(action).perform(context or ctx(), inputs)


def query_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_schemas_and_flags() -> None:
    schema = connector.connection_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"client_id", "client_secret"}  # realm_id comes with the consent
    assert connector.auth.callback_fields == {"realmId": "realm_id"}
    assert schema["properties"]["base_url"]["default"] == "https://quickbooks.api.intuit.com"
    assert "webhook_verifier_token" in connector.secret_fields()
    for action in connector.action_map.values():
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
        jsonschema.validate(action.sample_output, action.output_schema)
    flags = {key: a.repeat_safe for key, a in connector.action_map.items()}
    assert flags == {
        "create_customer": True,
        "find_customer": True,
        "create_invoice": True,
        "send_invoice": False,
    }


@responses.activate
def test_create_customer_request() -> None:
    responses.post(
        f"{API}/customer",
        json={
            "Customer": {"Id": "58", "DisplayName": "Acme Trading", "SyncToken": "0"},
            "time": "2026-11-23T01:00:00-08:00",
        },
        match=[
            matchers.query_param_matcher({"minorversion": "75", "requestid": "41:customer"}),
            matchers.header_matcher({**AUTH, "Content-Type": "application/json"}),
            matchers.json_params_matcher(
                {
                    "DisplayName": "Acme Trading",
                    "GivenName": "Lei",
                    "FamilyName": "Li",
                    "CompanyName": "Acme Trading Ltd",
                    "PrimaryEmailAddr": {"Address": "li.lei@example.com"},
                    "BillAddr": {
                        "Line1": "1 Main St",
                        "City": "Mountain View",
                        "CountrySubDivisionCode": "CA",
                        "PostalCode": "94043",
                    },
                    "Taxable": False,
                }
            ),
        ],
    )
    out = run(
        "create_customer",
        ctx("41:customer"),
        display_name="Acme Trading",
        given_name="Lei",
        family_name="Li",
        company_name="Acme Trading Ltd",
        email="li.lei@example.com",
        bill_address={"line1": "1 Main St", "city": "Mountain View", "region": "CA", "postal_code": "94043"},
        extra={"Taxable": False},
    )
    assert out["id"] == "58" and out["sync_token"] == "0" and out["display_name"] == "Acme Trading"


def test_query_literal_escapes_quotes_and_backslashes() -> None:
    assert literal("Amy's Bird Sanctuary") == "'Amy\\'s Bird Sanctuary'"
    assert literal("a\\' or 1=1") == "'a\\\\\\' or 1=1'"


@responses.activate
def test_find_customer_query_is_escaped() -> None:
    responses.get(
        f"{API}/query",
        json={
            "QueryResponse": {
                "Customer": [{"Id": "1", "DisplayName": "Amy's Bird Sanctuary"}],
                "startPosition": 1,
                "maxResults": 1,
            }
        },
        match=[
            matchers.query_param_matcher(
                {
                    "query": "select * from Customer where DisplayName = 'Amy\\'s Bird Sanctuary'",
                    "minorversion": "75",
                }
            ),
            matchers.header_matcher(AUTH),
        ],
    )
    assert run("find_customer", display_name="Amy's Bird Sanctuary") == {
        "found": True,
        "id": "1",
        "customer": {"Id": "1", "DisplayName": "Amy's Bird Sanctuary"},
    }
    responses.replace(
        responses.GET, f"{API}/query", json={"QueryResponse": {}, "time": "2026-11-23T01:00:00-08:00"}
    )
    assert run("find_customer", display_name="Nobody") == {"found": False, "id": None, "customer": None}


@responses.activate
def test_create_invoice_sends_decimal_amounts_exactly_and_the_requestid() -> None:
    responses.post(
        f"{API}/invoice",
        json={"Invoice": {"Id": "130", "DocNumber": "1037", "TotalAmt": 1280.50, "Balance": 1280.50}},
        match=[
            matchers.query_param_matcher({"minorversion": "75", "requestid": "41:invoice"}),
            matchers.header_matcher(AUTH),
        ],
    )
    out = run(
        "create_invoice",
        customer_id="58",
        lines=[
            {"amount": "1000.10", "description": "Annual licence", "item_id": "1"},
            {"quantity": "3", "unit_price": Decimal("93.4666666667"), "item_id": "2"},
            {"amount": 0.1, "description": "Rounding"},
        ],
        doc_number="1037",
        due_date="2026-12-23",
        email="ap@acme.example",
        memo="Thank you",
    )
    raw = responses.calls[0].request.body
    assert b'"Amount":1000.10' in raw and b'"UnitPrice":93.4666666667' in raw and b'"Amount":0.1,' in raw
    assert b'"Amount":280.4000000001' in raw  # 3 x 93.4666666667, computed in Decimal
    body = json.loads(raw, parse_float=Decimal)
    assert body == {
        "CustomerRef": {"value": "58"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("1000.10"),
                "Description": "Annual licence",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("280.4000000001"),
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "2"},
                    "Qty": 3,
                    "UnitPrice": Decimal("93.4666666667"),
                },
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("0.1"),
                "Description": "Rounding",
                "SalesItemLineDetail": {},
            },
        ],
        "DocNumber": "1037",
        "DueDate": "2026-12-23",
        "BillEmail": {"Address": "ap@acme.example"},
        "CustomerMemo": {"value": "Thank you"},
    }
    assert out["id"] == "130" and out["total"] == Decimal("1280.50") and out["doc_number"] == "1037"


def test_invoice_lines_are_checked_before_any_call() -> None:
    with pytest.raises(PermanentError, match="line 1 needs an amount"):
        run("create_invoice", customer_id="1", lines=[{"description": "x"}])
    with pytest.raises(PermanentError, match="line 1 amount 'ten' is not a number"):
        run("create_invoice", customer_id="1", lines=[{"amount": "ten"}])
    with pytest.raises(PermanentError, match="finite"):
        run("create_invoice", customer_id="1", lines=[{"amount": "NaN"}])
    with pytest.raises(PermanentError, match="at least one line"):
        run("create_invoice", customer_id="1", lines=[])


@responses.activate
def test_long_idempotency_keys_become_a_short_requestid() -> None:
    responses.post(f"{API}/invoice", json={"Invoice": {"Id": "1"}})
    run(
        "create_invoice",
        ctx("9" * 40 + ":a-very-long-step-identifier"),
        customer_id="1",
        lines=[{"amount": "1"}],
    )
    requestid = query_of(responses.calls[0])["requestid"][0]
    assert len(requestid) == 50 and requestid.isalnum()


@responses.activate
def test_send_invoice_request() -> None:
    responses.post(
        f"{API}/invoice/130/send",
        json={
            "Invoice": {
                "Id": "130",
                "EmailStatus": "EmailSent",
                "BillEmail": {"Address": "li.lei@example.com"},
                "DeliveryInfo": {"DeliveryType": "Email", "DeliveryTime": "2026-11-23T01:16:40-08:00"},
            }
        },
        match=[
            matchers.query_param_matcher({"sendTo": "li.lei@example.com", "minorversion": "75"}),
            matchers.header_matcher({**AUTH, "Content-Type": "application/octet-stream"}),
        ],
    )
    out = run("send_invoice", invoice_id="130", send_to="li.lei@example.com")
    assert out == {
        "id": "130",
        "email_status": "EmailSent",
        "sent_to": "li.lei@example.com",
        "delivery_time": "2026-11-23T01:16:40-08:00",
    }
    assert not responses.calls[0].request.body


@responses.activate
def test_fault_answers_become_clear_errors() -> None:
    responses.post(
        f"{API}/customer",
        status=400,
        json={
            "Fault": {
                "Error": [
                    {
                        "Message": "Duplicate Name Exists Error",
                        "Detail": "The name supplied already exists. : Id=58",
                        "code": "6240",
                        "element": "",
                    }
                ],
                "type": "ValidationFault",
            },
            "time": "2026-11-23T01:00:00.000-08:00",
        },
    )
    with pytest.raises(PermanentError) as err:
        run("create_customer", display_name="Acme Trading")
    assert (
        str(err.value)
        == "QuickBooks: Duplicate Name Exists Error: The name supplied already exists. : Id=58 "
        "(code 6240) [HTTP 400]"
    )
    assert err.value.vendor_code == "6240"
    responses.post(
        f"{API}/invoice",
        status=400,
        json={
            "Fault": {
                "Error": [
                    {
                        "Message": "Required param missing, need to supply the required value for the API",
                        "Detail": "Required parameter Line.Amount is missing in the request",
                        "code": "2020",
                        "element": "Line.Amount",
                    }
                ],
                "type": "ValidationFault",
            }
        },
    )
    with pytest.raises(
        PermanentError,
        match=r"Line\.Amount is missing in the request \(field Line\.Amount\) \(code 2020\)",
    ):
        run("create_invoice", customer_id="1", lines=[{"amount": "1"}])


@responses.activate
def test_a_fault_inside_a_200_answer_is_an_error_too() -> None:
    responses.get(
        f"{API}/query",
        json={
            "Fault": {
                "Error": [
                    {
                        "Message": "Error parsing query",
                        "Detail": 'QueryParserError: Encountered " <STRING> ...',
                        "code": "4000",
                    }
                ],
                "type": "ValidationFault",
            }
        },
    )
    with pytest.raises(PermanentError, match="Error parsing query") as err:
        run("find_customer", display_name="x")
    assert err.value.vendor_code == "4000"


@responses.activate
def test_throttling_is_retryable_and_401_is_auth() -> None:
    responses.post(
        f"{API}/invoice",
        status=429,
        json={
            "Fault": {
                "Error": [
                    {
                        "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                        "Detail": "The request limit was reached.",
                        "code": "3001",
                    }
                ],
                "type": "ThrottleExceeded",
            }
        },
    )
    with pytest.raises(RetryableError) as limited:
        run("create_invoice", customer_id="1", lines=[{"amount": "1"}])
    assert limited.value.retry_after == 60 and limited.value.vendor_code == "3001"
    responses.post(f"{API}/customer", status=429, headers={"Retry-After": "12"}, body="")
    with pytest.raises(RetryableError) as waited:
        run("create_customer", display_name="x")
    assert waited.value.retry_after == 12
    responses.get(
        f"{API}/query",
        status=401,
        json={
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": "Token expired: eyJ...",
                        "code": "3200",
                    }
                ],
                "type": "AUTHENTICATION",
            }
        },
    )
    with pytest.raises(AuthError) as auth:
        run("find_customer", display_name="x")
    assert auth.value.vendor_code == "3200" and "AuthenticationFailed" in str(auth.value)


@responses.activate
def test_refresh_uses_basic_client_auth_at_intuits_token_endpoint() -> None:
    import base64

    refresh = responses.post(
        "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        json={
            "access_token": "eyJ.new",
            "refresh_token": "AB11-rotated",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
            "token_type": "bearer",
        },
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "AB11-refresh"}
            ),
            matchers.header_matcher({"Authorization": "Basic " + base64.b64encode(b"ABc:s3").decode()}),
        ],
    )
    context = ctx()
    ensure_token(context, force=True)
    assert refresh.call_count == 1
    assert (
        context.connection["access_token"] == "eyJ.new"
        and context.connection["refresh_token"] == "AB11-rotated"
    )


@responses.activate
def test_sandbox_base_url_and_minor_version_are_per_connection() -> None:
    responses.get(
        "https://sandbox-quickbooks.api.intuit.com/v3/company/9130357766900456/query",
        json={"QueryResponse": {}},
    )
    run(
        "find_customer",
        ctx(base_url="https://sandbox-quickbooks.api.intuit.com", minor_version="70"),
        display_name="x",
    )
    assert query_of(responses.calls[0])["minorversion"] == ["70"]


def test_realm_is_required() -> None:
    with pytest.raises(PermanentError, match="realm ID"):
        run("find_customer", ctx(realm_id=""), display_name="x")


# --- entity_changed (CDC) --------------------------------------------------------------------

POLL = connector.trigger("entity_changed")


def cdc(*groups: dict[str, Any], time: str | None = "2026-11-23T02:00:00.000-08:00") -> dict[str, Any]:
    answer: dict[str, Any] = {"CDCResponse": [{"QueryResponse": list(groups)}]}
    if time:
        answer["time"] = time
    return answer


def obj(oid: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": oid,
        "MetaData": {"CreateTime": "2026-11-01T00:00:00-08:00", "LastUpdatedTime": updated},
        **extra,
    }


def recent(minutes: int) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0)


def text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@responses.activate
def test_first_poll_starts_at_intuits_time() -> None:
    """Changed with the vendor-time rule: the first cursor was the hub's clock (no call), so changes an
    Intuit clock behind the hub's stamped earlier were never fetched; now CDC's `time` sets it."""
    responses.get(f"{API}/cdc", json=cdc(time="2026-11-23T02:00:00.000-08:00"))
    result = POLL.poll(ctx(), {"entities": ["Customer"]}, None)
    assert result.items == [] and result.cursor == "2026-11-23T10:00:00Z"


@responses.activate
def test_poll_request_overlap_dedupe_deleted_and_cursor() -> None:
    cursor = recent(60)
    t1, t2 = recent(50), recent(40)
    offset = t2.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    responses.get(
        f"{API}/cdc",
        json=cdc(
            {
                "Customer": [
                    obj("58", text(t1), DisplayName="Acme"),
                    obj("58", text(t1), DisplayName="Acme"),
                ],
                "startPosition": 1,
                "maxResults": 2,
            },
            {
                "Invoice": [
                    obj("130", offset, TotalAmt=1280.50),
                    {
                        "domain": "QBO",
                        "status": "Deleted",
                        "Id": "131",
                        "MetaData": {"LastUpdatedTime": text(t1)},
                    },
                ]
            },
            time=None,  # the default `time` (Nov 23) is older than these changes: it would cap the cursor
        ),
        match=[
            matchers.query_param_matcher(
                {
                    "entities": "Customer,Invoice",
                    "changedSince": text(cursor - timedelta(seconds=60)),
                    "minorversion": "75",
                }
            ),
            matchers.header_matcher(AUTH),
        ],
    )
    result = POLL.poll(ctx(), {"entities": ["Customer", "Invoice"]}, text(cursor))
    assert [i.id for i in result.items] == [
        f"Customer:58:{text(t1)}",
        f"Invoice:130:{text(t2)}",
        f"Invoice:131:{text(t1)}",
    ]
    assert [i.data["operation"] for i in result.items] == ["changed", "changed", "deleted"]
    assert result.items[1].data["object"]["TotalAmt"] == Decimal("1280.50")
    assert result.cursor == text(t2)


@responses.activate
def test_empty_poll_moves_to_intuits_time_and_old_items_never_move_the_cursor_back() -> None:
    cursor = recent(10)
    responses.get(f"{API}/cdc", json=cdc(time="2026-11-23T02:00:00.000-08:00"))
    assert POLL.poll(ctx(), {"entities": ["Invoice"]}, text(cursor)).cursor == "2026-11-23T10:00:00Z"
    responses.replace(responses.GET, f"{API}/cdc", json=cdc(time=None))
    assert POLL.poll(ctx(), {"entities": ["Invoice"]}, text(cursor)).cursor == text(cursor)
    responses.replace(responses.GET, f"{API}/cdc", json=cdc({"Invoice": [obj("1", text(recent(11)))]}))
    late = POLL.poll(ctx(), {"entities": ["Invoice"]}, text(cursor))
    assert len(late.items) == 1 and late.cursor == text(cursor)


@responses.activate
def test_cdc_is_clamped_to_30_days_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(f"{API}/cdc", json=cdc(time=None))
    context = ctx()
    context.since = datetime(2020, 1, 1, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="hub.connector"):
        result = POLL.poll(context, {"entities": ["Invoice"]}, None)
    sent = datetime.fromisoformat(query_of(responses.calls[0])["changedSince"][0])
    edge = datetime.now(UTC) - timedelta(days=30)
    assert timedelta(minutes=4) < sent - edge < timedelta(minutes=6)
    assert "30 days at most" in caplog.text and "2020-01-01T00:00:00Z" in caplog.text
    assert result.items == [] and datetime.fromisoformat(result.cursor) > edge


def test_entity_names_are_checked() -> None:
    with pytest.raises(PermanentError):
        POLL.check_config({"entities": ["Invoice&changedSince=2000-01-01"]})


# --- webhook --------------------------------------------------------------------------------

HOOK = connector.trigger("webhook")


def inbound(body: bytes, sig: str | None) -> InboundRequest:
    headers = {"Content-Type": "application/cloudevents-batch+json"}
    if sig is not None:
        headers["intuit-signature"] = sig
    return InboundRequest("POST", "https://hub.example.com/hooks/t", "/hooks/t", headers, {}, body)


def test_signature_matches_the_openssl_vector() -> None:
    assert signing.signature(VERIFIER, CLOUD_BODY) == CLOUD_SIGNATURE
    HOOK.verify(ctx(), {}, inbound(CLOUD_BODY, CLOUD_SIGNATURE))


@pytest.mark.parametrize(
    ("body", "sig", "why"),
    [
        (CLOUD_BODY.replace(b'"95"', b'"96"'), CLOUD_SIGNATURE, "does not match"),
        (CLOUD_BODY, CLOUD_SIGNATURE.lower(), "does not match"),
        (CLOUD_BODY, "sha256=" + CLOUD_SIGNATURE, "does not match"),
        (CLOUD_BODY, None, "missing"),
    ],
)
def test_tampered_or_unsigned_notifications_are_refused(body: bytes, sig: str | None, why: str) -> None:
    with pytest.raises(SignatureError, match=why):
        HOOK.verify(ctx(), {}, inbound(body, sig))


def test_no_verifier_token_refuses() -> None:
    with pytest.raises(SignatureError, match="webhook_verifier_token"):
        HOOK.verify(ctx(webhook_verifier_token=""), {}, inbound(CLOUD_BODY, CLOUD_SIGNATURE))


def cloud(eid: str, kind: str, entity_id: str, realm: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "intuit.abc",
        "type": kind,
        "datacontenttype": "application/json",
        "time": "2026-11-23T09:16:40.000Z",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
        "data": {},
    }


def test_cloudevents_keep_only_this_realm_and_the_chosen_entities() -> None:
    mine = "9130357766900456"
    body = json.dumps(
        [
            cloud("e1", "qbo.invoice.created.v1", "95", mine),
            cloud("e2", "qbo.customer.updated.v1", "58", "310687"),  # another company on the same app
            cloud("e3", "qbo.customer.deleted.v1", "59", mine),
            cloud("e4", "qbo.payment.created.v1", "7", mine),
        ]
    ).encode()
    events = HOOK.parse(ctx(), {}, inbound(body, None))
    assert [(e.id, e.data["entity"], e.data["id"], e.data["operation"]) for e in events] == [
        ("e1", "invoice", "95", "created"),
        ("e3", "customer", "59", "deleted"),
        ("e4", "payment", "7", "created"),
    ]
    assert all(e.data["realm_id"] == mine and e.data["format"] == "cloudevents" for e in events)
    filtered = HOOK.parse(
        ctx(), {"entities": ["Customer", "Invoice"], "operations": ["deleted"]}, inbound(body, None)
    )
    assert [e.id for e in filtered] == ["e3"]


def test_legacy_event_notifications() -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "9130357766900456",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": "58",
                                "operation": "Create",
                                "lastUpdated": "2026-11-23T09:16:40.000Z",
                            },
                            {
                                "name": "Invoice",
                                "id": "130",
                                "operation": "Void",
                                "lastUpdated": "2026-11-23T09:17:00.000Z",
                            },
                        ]
                    },
                },
                {
                    "realmId": "310687",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Vendor",
                                "id": "1",
                                "operation": "Update",
                                "lastUpdated": "2026-11-23T09:00:00.000Z",
                            }
                        ]
                    },
                },
            ]
        }
    ).encode()
    events = HOOK.parse(ctx(), {}, inbound(body, None))
    assert [(e.data["entity"], e.data["id"], e.data["operation"], e.data["format"]) for e in events] == [
        ("customer", "58", "created", "legacy"),
        ("invoice", "130", "voided", "legacy"),
    ]
    assert events[0].id == "9130357766900456:customer:58:created:2026-11-23T09:16:40.000Z"


def test_unknown_shapes_are_bad_requests_and_the_answer_is_200() -> None:
    with pytest.raises(PermanentError, match="neither"):
        HOOK.parse(ctx(), {}, inbound(b'{"hello": 1}', None))
    answer = HOOK.acknowledge(ctx(), {}, inbound(CLOUD_BODY, None), ["5"])
    assert answer is not None and answer.status == 200


@responses.activate
def test_connection_test_reads_the_company() -> None:
    responses.get(
        f"{API}/companyinfo/9130357766900456",
        json={"CompanyInfo": {"CompanyName": "Sandbox Company_US_1", "Id": "1"}},
        match=[matchers.query_param_matcher({"minorversion": "75"}), matchers.header_matcher(AUTH)],
    )
    assert connector.test_connection(ctx()) == "connected to QuickBooks: Sandbox Company_US_1"
