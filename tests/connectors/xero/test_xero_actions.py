"""Xero actions against a faked Accounting API: exact requests, the spec's examples, errors, Decimals."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses

from connectors.xero import connector
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError

API = "https://api.xero.com/api.xro/2.0"
TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
EXAMPLES = json.loads((Path(__file__).parent / "spec_examples.json").read_text())


def ctx(**connection: Any) -> Context:
    fields = {"client_id": "cid", "client_secret": "cs", "access_token": "at-1", "tenant_id": TENANT}
    return Context(connector=connector, connection={**fields, **connection}, idempotency_key="77:invoice")


def check_common(request: Any, idempotent: bool = True) -> None:
    assert request.headers["Authorization"] == "Bearer at-1"
    assert request.headers["xero-tenant-id"] == TENANT
    assert request.headers["Accept"] == "application/json"
    assert request.headers.get("Idempotency-Key") == ("77:invoice" if idempotent else None)


@responses.activate
def test_create_invoice_puts_accrec_with_exact_decimals_and_idempotency_key() -> None:
    route = responses.put(f"{API}/Invoices", json=EXAMPLES["createInvoices_200"])
    out = connector.action("create_invoice").perform(
        ctx(),
        {
            "contact_id": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7",
            "date": "2026-11-20",
            "due_date": "2026-12-20",
            "reference": "Deal 7001",
            "status": "AUTHORISED",
            "currency_code": "NZD",
            "line_items": [
                {
                    "description": "Licence",
                    "quantity": "1",
                    "unit_amount": Decimal("12345678901234.10"),
                    "account_code": "200",
                    "tax_type": "OUTPUT2",
                },
                {"description": "Setup", "quantity": 2, "unit_amount": "0.10", "discount_rate": "12.5"},
            ],
        },
    )
    request = route.calls[0].request
    assert request.method == "PUT" and request.url == f"{API}/Invoices"
    check_common(request)
    assert request.body == (
        b'{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"a3675fc4-f8dd-4f03-ba5b-f1870566bcd7"},'
        b'"LineItems":[{"Description":"Licence","Quantity":1,"UnitAmount":12345678901234.10,'
        b'"AccountCode":"200","TaxType":"OUTPUT2"},{"Description":"Setup","Quantity":2,"UnitAmount":0.10,'
        b'"DiscountRate":12.5}],"Status":"AUTHORISED","Date":"2026-11-20","DueDate":"2026-12-20",'
        b'"Reference":"Deal 7001","CurrencyCode":"NZD"}]}'
    )
    invoice = EXAMPLES["createInvoices_200"]["Invoices"][0]
    assert out["invoice_id"] == invoice["InvoiceID"] and out["invoice_number"] == invoice["InvoiceNumber"]
    assert out["status"] == invoice["Status"]
    assert connector.action("create_invoice").repeat_safe


@responses.activate
def test_four_decimal_unit_price_opts_in_with_unitdp_and_amounts_come_back_as_decimal() -> None:
    route = responses.put(
        f"{API}/Invoices",
        body='{"Invoices":[{"InvoiceID":"i1","InvoiceNumber":"INV-9","Total":0.30,"AmountDue":0.30,'
        '"Status":"DRAFT","UpdatedDateUTC":"/Date(1541176290160+0000)/"}]}',
        content_type="application/json",
    )
    out = connector.action("create_invoice").perform(
        ctx(),
        {
            "contact_name": "Acme Ltd",
            "line_items": [{"description": "x", "quantity": 3, "unit_amount": "0.0999"}],
        },
    )
    assert route.calls[0].request.url == f"{API}/Invoices?unitdp=4"
    assert b'"Contact":{"Name":"Acme Ltd"}' in route.calls[0].request.body
    assert b'"UnitAmount":0.0999' in route.calls[0].request.body
    assert out["total"] == Decimal("0.30") and str(out["total"]) == "0.30"
    assert out["updated_at"] == "2018-11-02T16:31:30.160Z"


def test_bad_amounts_and_missing_contact_are_refused_before_any_call() -> None:
    action = connector.action("create_invoice")
    with pytest.raises(PermanentError, match="not a number"):
        action.perform(
            ctx(), {"contact_id": "c", "line_items": [{"description": "x", "unit_amount": "12,5"}]}
        )
    with pytest.raises(PermanentError, match="must be a number"):
        action.perform(ctx(), {"contact_id": "c", "line_items": [{"description": "x", "unit_amount": True}]})
    with pytest.raises(PermanentError, match="contact_id or contact_name"):
        action.perform(ctx(), {"line_items": [{"description": "x"}]})
    with pytest.raises(PermanentError, match="tenant_id"):
        action.perform(ctx(tenant_id=""), {"contact_id": "c", "line_items": [{"description": "x"}]})


@responses.activate
def test_validation_exception_lists_every_validation_message() -> None:
    responses.put(f"{API}/Contacts", status=400, json=EXAMPLES["createContacts_400"])
    with pytest.raises(PermanentError) as err:
        connector.action("create_contact").perform(ctx(), {"name": "Buzz Lightyear"})
    assert not isinstance(err.value, RetryableError)
    assert err.value.vendor_code == "ValidationException" and err.value.status == 400
    assert err.value.message == (
        "Xero: A validation exception occurred: The contact name Buzz Lightyear is already assigned to "
        "another contact. The contact name must be unique across all active contacts. "
        "(code ValidationException) [HTTP 400]"
    )


@responses.activate
def test_invoice_line_item_validation_errors_are_found_where_xero_nests_them() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "Type": "ACCREC",
                "LineItems": [
                    {
                        "Description": "x",
                        "ValidationErrors": [
                            {"Message": "Account code '999' is not a valid code for this document."}
                        ],
                    }
                ],
                "ValidationErrors": [{"Message": "Invoice not of valid status for creation"}],
            }
        ],
    }
    responses.put(f"{API}/Invoices", status=400, json=body)
    with pytest.raises(PermanentError) as err:
        connector.action("create_invoice").perform(
            ctx(), {"contact_id": "c", "line_items": [{"description": "x"}]}
        )
    assert "Invoice not of valid status for creation" in err.value.message
    assert "Account code '999' is not a valid code" in err.value.message


@responses.activate
def test_rate_limit_is_retryable_after_retry_after_and_names_the_problem() -> None:
    responses.put(
        f"{API}/Invoices",
        status=429,
        body="",
        headers={
            "Retry-After": "37",
            "X-Rate-Limit-Problem": "minute",
            "X-MinLimit-Remaining": "0",
            "X-DayLimit-Remaining": "4210",
            "X-AppMinLimit-Remaining": "9000",
        },
    )
    with pytest.raises(RetryableError) as err:
        connector.action("create_invoice").perform(
            ctx(), {"contact_id": "c", "line_items": [{"description": "x"}]}
        )
    assert err.value.retry_after == 37.0 and err.value.vendor_code == "rate_limit_minute"
    assert err.value.details["rate_limit"]["x-daylimit-remaining"] == "4210"
    assert "minute limit reached" in err.value.message


@responses.activate
def test_unauthorised_and_forbidden_tenant_are_auth_errors() -> None:
    responses.get(
        f"{API}/Contacts",
        status=401,
        json={"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"},
    )
    responses.get(
        f"{API}/Contacts",
        status=403,
        json={"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"},
    )
    for detail in ("AuthenticationUnsuccessful", "AuthorizationUnsuccessful"):
        with pytest.raises(AuthError) as err:
            connector.action("find_contact").perform(ctx(), {"email": "a@b.c"})
        assert err.value.vendor_code == detail and detail in err.value.message


@responses.activate
def test_find_contact_by_email_uses_the_where_filter_without_an_idempotency_key() -> None:
    route = responses.get(f"{API}/Contacts", json=EXAMPLES["getContacts_200"])
    out = connector.action("find_contact").perform(ctx(), {"email": 'li"lei@example.com'})
    request = route.calls[0].request
    check_common(request, idempotent=False)
    assert request.url == f"{API}/Contacts?where=EmailAddress%3D%3D%22li%5C%22lei%40example.com%22"
    first = EXAMPLES["getContacts_200"]["Contacts"][0]
    assert out["found"] is True and out["contact_id"] == first["ContactID"]
    assert out["count"] == len(EXAMPLES["getContacts_200"]["Contacts"])


@responses.activate
def test_find_contact_by_name_and_search_term_and_nothing_found() -> None:
    route = responses.get(f"{API}/Contacts", json={"Contacts": []})
    out = connector.action("find_contact").perform(
        ctx(), {"name": "Acme Ltd", "search_term": "acme", "include_archived": True}
    )
    assert route.calls[0].request.url == (
        f"{API}/Contacts?where=Name%3D%3D%22Acme+Ltd%22&searchTerm=acme&includeArchived=true"
    )
    assert out == {"found": False, "count": 0, "contact_id": None, "contact": None, "contacts": []}
    with pytest.raises(PermanentError, match="give an email"):
        connector.action("find_contact").perform(ctx(), {"include_archived": True})


@responses.activate
def test_create_contact_puts_the_contact_with_the_idempotency_key() -> None:
    route = responses.put(f"{API}/Contacts", json=EXAMPLES["createContacts_200"])
    out = connector.action("create_contact").perform(
        ctx(),
        {
            "name": "Acme Ltd",
            "email": "ap@acme.example",
            "first_name": "Lei",
            "phone": "+86 10 1234 5678",
            "fields": {"DefaultCurrency": "CNY"},
        },
    )
    check_common(route.calls[0].request)
    assert json.loads(route.calls[0].request.body) == {
        "Contacts": [
            {
                "Name": "Acme Ltd",
                "EmailAddress": "ap@acme.example",
                "FirstName": "Lei",
                "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "+86 10 1234 5678"}],
                "DefaultCurrency": "CNY",
            }
        ]
    }
    assert out["contact_id"] == EXAMPLES["createContacts_200"]["Contacts"][0]["ContactID"]


@responses.activate
def test_create_payment_puts_invoice_account_and_exact_amount() -> None:
    route = responses.put(f"{API}/Payments", json=EXAMPLES["createPayments_200"])
    out = connector.action("create_payment").perform(
        ctx(),
        {
            "invoice_number": "INV-0007",
            "account_code": "090",
            "amount": "1200.50",
            "date": "2026-11-21",
            "reference": "wire",
        },
    )
    check_common(route.calls[0].request)
    assert route.calls[0].request.body == (
        b'{"Payments":[{"Invoice":{"InvoiceNumber":"INV-0007"},"Account":{"Code":"090"},"Amount":1200.50,'
        b'"Date":"2026-11-21","Reference":"wire"}]}'
    )
    saved = EXAMPLES["createPayments_200"]["Payments"][0]
    assert out["payment_id"] == saved["PaymentID"] and out["amount"] == 1.0
    assert out["warnings"] == ["Payment amount exceeds the amount outstanding on this document"]
    with pytest.raises(PermanentError, match="bank account"):
        connector.action("create_payment").perform(ctx(), {"invoice_id": "i", "amount": "1"})


@responses.activate
def test_long_idempotency_keys_are_hashed_to_xeros_128_characters() -> None:
    route = responses.put(f"{API}/Payments", json=EXAMPLES["createPayments_200"])
    context = ctx()
    context.idempotency_key = "k" * 200
    connector.action("create_payment").perform(context, {"invoice_id": "i", "account_id": "a", "amount": 1})
    key = route.calls[0].request.headers["Idempotency-Key"]
    assert len(key) == 64 and key != "k" * 128


@responses.activate
def test_token_refresh_uses_basic_client_auth_at_xero_identity() -> None:
    token = responses.post(
        "https://identity.xero.com/connect/token",
        json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 1800, "token_type": "Bearer"},
    )
    route = responses.get(f"{API}/Contacts", json={"Contacts": []})
    connector.action("find_contact").perform(ctx(refresh_token="rt-1", expires_at=1), {"name": "x"})
    assert token.calls[0].request.headers["Authorization"] == "Basic Y2lkOmNz"
    assert token.calls[0].request.body == "grant_type=refresh_token&refresh_token=rt-1"
    assert route.calls[0].request.headers["Authorization"] == "Bearer at-2"


@responses.activate
def test_element_with_validation_errors_and_no_id_was_not_saved() -> None:
    responses.put(
        f"{API}/Payments",
        json={
            "Payments": [
                {
                    "Amount": 5.0,
                    "HasValidationErrors": True,
                    "ValidationErrors": [{"Message": "Invoice is voided"}],
                }
            ]
        },
    )
    with pytest.raises(PermanentError, match="Xero: Invoice is voided") as err:
        connector.action("create_payment").perform(ctx(), {"invoice_id": "i", "account_id": "a", "amount": 5})
    assert err.value.vendor_code == "ValidationException"


@responses.activate
def test_connection_test_reads_the_organisation() -> None:
    route = responses.get(f"{API}/Organisation", json={"Organisations": [{"Name": "Demo Company (NZ)"}]})
    assert connector.test_connection(ctx()) == "Xero answered for organisation Demo Company (NZ)"
    check_common(route.calls[0].request, idempotent=False)
