"""Xero Accounting actions: contacts, sales invoices and payments (amounts always Decimal)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.xero.api import call, iso, money, quoted
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

AMOUNT = {"type": ["string", "number"], "description": 'Exact decimal; a string such as "1200.50" is safest.'}


def first(answer: dict[str, Any], collection: str, id_field: str) -> dict[str, Any]:
    """The one element created; an element flagged with validation errors and no id was not saved."""
    items = answer.get(collection) or []
    if not items or not isinstance(items[0], dict):
        raise PermanentError(f"Xero: the answer holds no {collection}")
    item = items[0]
    messages = [
        str(e["Message"])
        for e in item.get("ValidationErrors") or []
        if isinstance(e, dict) and e.get("Message")
    ]
    if (item.get("HasErrors") or item.get("HasValidationErrors")) and not item.get(id_field):
        raise PermanentError(
            f"Xero: {'; '.join(messages) or 'validation failed'}", vendor_code="ValidationException"
        )
    return item


def warnings(item: dict[str, Any]) -> list[str]:
    return [
        str(e["Message"])
        for e in item.get("ValidationErrors") or []
        if isinstance(e, dict) and e.get("Message")
    ]


def contact_output(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "contact_id": contact.get("ContactID"),
        "name": contact.get("Name"),
        "email": contact.get("EmailAddress"),
        "status": contact.get("ContactStatus"),
        "updated_at": iso(contact.get("UpdatedDateUTC")),
        "contact": contact,
    }


class CreateContact(Action):
    key = "create_contact"
    title = "Create a contact"
    description = "PUT /Contacts with the step's Idempotency-Key, so a retry never makes a second contact."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "title": "Name (unique in Xero)"},
            "email": {"type": "string"},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "contact_number": {"type": "string"},
            "account_number": {"type": "string"},
            "tax_number": {"type": "string"},
            "phone": {"type": "string"},
            "fields": {"type": "object", "title": "Other Contact fields, in Xero's names"},
        },
    }
    sample_output = {"contact_id": "bd2270c3-8706-4c11-9cfb-000b551c3f51", "name": "Acme Ltd"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        contact: dict[str, Any] = {"Name": inputs["name"]}
        for field, name in (
            ("email", "EmailAddress"),
            ("first_name", "FirstName"),
            ("last_name", "LastName"),
            ("contact_number", "ContactNumber"),
            ("account_number", "AccountNumber"),
            ("tax_number", "TaxNumber"),
        ):
            if inputs.get(field):
                contact[name] = inputs[field]
        if inputs.get("phone"):
            contact["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": inputs["phone"]}]
        contact.update(inputs.get("fields") or {})
        answer = call(ctx, "PUT", "/Contacts", json={"Contacts": [contact]}, idempotent=True)
        return contact_output(first(answer, "Contacts", "ContactID"))


class FindContact(Action):
    key = "find_contact"
    title = "Find a contact"
    description = "By exact email, name or contact number (the `where` filter), or a free-text searchTerm."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "email": {"type": "string"},
            "name": {"type": "string"},
            "contact_number": {"type": "string"},
            "search_term": {"type": "string", "title": "Text in name, email or contact number"},
            "include_archived": {"type": "boolean", "default": False},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "found": {"type": "boolean"},
            "count": {"type": "integer"},
            "contact_id": {"type": ["string", "null"]},
            "contact": {"type": ["object", "null"]},
            "contacts": {"type": "array"},
        },
    }
    sample_output = {"found": True, "count": 1, "contact_id": "bd2270c3-8706-4c11-9cfb-000b551c3f51"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        clauses = [
            f"{name}=={quoted(inputs[field])}"
            for field, name in (
                ("email", "EmailAddress"),
                ("name", "Name"),
                ("contact_number", "ContactNumber"),
            )
            if inputs.get(field)
        ]
        params: dict[str, Any] = {}
        if clauses:
            params["where"] = " AND ".join(clauses)
        if inputs.get("search_term"):
            params["searchTerm"] = inputs["search_term"]
        if not params:
            raise PermanentError("Xero: give an email, name, contact number or search term to find a contact")
        if inputs.get("include_archived"):
            params["includeArchived"] = "true"
        contacts = call(ctx, "GET", "/Contacts", params=params).get("Contacts") or []
        match = contacts[0] if contacts else None
        return {
            "found": match is not None,
            "count": len(contacts),
            "contact_id": match.get("ContactID") if match else None,
            "contact": match,
            "contacts": contacts,
        }


LINE_ITEM = {
    "type": "object",
    "required": ["description"],
    "properties": {
        "description": {"type": "string"},
        "quantity": AMOUNT,
        "unit_amount": AMOUNT,
        "account_code": {"type": "string"},
        "tax_type": {"type": "string"},
        "item_code": {"type": "string"},
        "discount_rate": AMOUNT,
        "tracking": {"type": "array", "items": {"type": "object"}},
    },
}


def line_item(item: dict[str, Any], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {"Description": item["description"]}
    if item.get("quantity") is not None:
        out["Quantity"] = money(item["quantity"], f"line {n} quantity")
    if item.get("unit_amount") is not None:
        out["UnitAmount"] = money(item["unit_amount"], f"line {n} unit_amount")
    if item.get("discount_rate") is not None:
        out["DiscountRate"] = money(item["discount_rate"], f"line {n} discount_rate")
    for field, name in (("account_code", "AccountCode"), ("tax_type", "TaxType"), ("item_code", "ItemCode")):
        if item.get(field):
            out[name] = str(item[field])
    if item.get("tracking"):
        out["Tracking"] = item["tracking"]
    return out


def places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class CreateInvoice(Action):
    key = "create_invoice"
    title = "Create a sales invoice"
    description = (
        "PUT /Invoices (ACCREC by default) with exact Decimal amounts and the step's Idempotency-Key."
    )
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["line_items"],
        "additionalProperties": False,
        "properties": {
            "contact_id": {"type": "string", "title": "ContactID (or give contact_name)"},
            "contact_name": {"type": "string"},
            "type": {"enum": ["ACCREC", "ACCPAY"], "default": "ACCREC"},
            "date": {"type": "string", "title": "Date (YYYY-MM-DD)"},
            "due_date": {"type": "string", "title": "Due date (YYYY-MM-DD)"},
            "reference": {"type": "string"},
            "invoice_number": {"type": "string"},
            "status": {"enum": ["DRAFT", "SUBMITTED", "AUTHORISED"], "default": "DRAFT"},
            "currency_code": {"type": "string", "minLength": 3, "maxLength": 3},
            "line_amount_types": {"enum": ["Exclusive", "Inclusive", "NoTax"]},
            "line_items": {"type": "array", "minItems": 1, "items": LINE_ITEM},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "invoice_id": {"type": "string"},
            "invoice_number": {"type": "string"},
            "status": {"type": "string"},
            "total": {"type": ["string", "number"]},
            "amount_due": {"type": ["string", "number"]},
            "invoice": {"type": "object"},
        },
    }
    sample_output = {
        "invoice_id": "ed255415-e141-4150-aab7-89c3bbbb851c",
        "invoice_number": "INV-0007",
        "status": "DRAFT",
        "total": "40.00",
        "amount_due": "40.00",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs.get("contact_id"):
            contact = {"ContactID": inputs["contact_id"]}
        elif inputs.get("contact_name"):
            contact = {"Name": inputs["contact_name"]}
        else:
            raise PermanentError("Xero: an invoice needs contact_id or contact_name")
        lines = [line_item(item, n) for n, item in enumerate(inputs["line_items"], start=1)]
        invoice: dict[str, Any] = {
            "Type": inputs.get("type") or "ACCREC",
            "Contact": contact,
            "LineItems": lines,
            "Status": inputs.get("status") or "DRAFT",
        }
        for field, name in (
            ("date", "Date"),
            ("due_date", "DueDate"),
            ("reference", "Reference"),
            ("invoice_number", "InvoiceNumber"),
            ("currency_code", "CurrencyCode"),
            ("line_amount_types", "LineAmountTypes"),
        ):
            if inputs.get(field):
                invoice[name] = inputs[field]
        # Unit prices with 3-4 decimals are rounded to 2 by Xero unless the call opts in with unitdp=4.
        precise = any(places(line["UnitAmount"]) > 2 for line in lines if "UnitAmount" in line)
        answer = call(
            ctx,
            "PUT",
            "/Invoices",
            json={"Invoices": [invoice]},
            params={"unitdp": 4} if precise else None,
            idempotent=True,
        )
        created = first(answer, "Invoices", "InvoiceID")
        return {
            "invoice_id": created.get("InvoiceID"),
            "invoice_number": created.get("InvoiceNumber"),
            "status": created.get("Status"),
            "total": created.get("Total"),
            "amount_due": created.get("AmountDue"),
            "currency_code": created.get("CurrencyCode"),
            "updated_at": iso(created.get("UpdatedDateUTC")),
            "warnings": warnings(created),
            "invoice": created,
        }


class CreatePayment(Action):
    key = "create_payment"
    title = "Record a payment"
    description = "PUT /Payments against an invoice into a bank account, with the step's Idempotency-Key."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["amount"],
        "additionalProperties": False,
        "properties": {
            "invoice_id": {"type": "string"},
            "invoice_number": {"type": "string"},
            "account_id": {"type": "string", "title": "Bank account ID (or account_code)"},
            "account_code": {"type": "string"},
            "amount": AMOUNT,
            "date": {"type": "string", "title": "Date (YYYY-MM-DD)"},
            "reference": {"type": "string"},
            "currency_rate": AMOUNT,
        },
    }
    sample_output = {
        "payment_id": "99ea7f6b-c513-4066-bc27-b7c65dcd76c2",
        "status": "AUTHORISED",
        "amount": "40.00",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        if inputs.get("invoice_id"):
            invoice = {"InvoiceID": inputs["invoice_id"]}
        elif inputs.get("invoice_number"):
            invoice = {"InvoiceNumber": inputs["invoice_number"]}
        else:
            raise PermanentError("Xero: a payment needs invoice_id or invoice_number")
        if inputs.get("account_id"):
            account = {"AccountID": inputs["account_id"]}
        elif inputs.get("account_code"):
            account = {"Code": inputs["account_code"]}
        else:
            raise PermanentError("Xero: a payment needs the bank account_id or account_code it was paid into")
        payment: dict[str, Any] = {
            "Invoice": invoice,
            "Account": account,
            "Amount": money(inputs["amount"], "amount"),
        }
        if inputs.get("date"):
            payment["Date"] = inputs["date"]
        if inputs.get("reference"):
            payment["Reference"] = inputs["reference"]
        if inputs.get("currency_rate") is not None:
            payment["CurrencyRate"] = money(inputs["currency_rate"], "currency_rate")
        answer = call(ctx, "PUT", "/Payments", json={"Payments": [payment]}, idempotent=True)
        created = first(answer, "Payments", "PaymentID")
        return {
            "payment_id": created.get("PaymentID"),
            "status": created.get("Status"),
            "amount": created.get("Amount"),
            "date": iso(created.get("Date")),
            "warnings": warnings(created),
            "payment": created,
        }
