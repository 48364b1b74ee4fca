"""QuickBooks Online actions: customers, invoices, and sending an invoice by email."""

from __future__ import annotations

from typing import Any

from connectors.quickbooks.api import call, company_path, request_id
from connectors.quickbooks.money import decimal
from connectors.quickbooks.queries import literal
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

TEXT = {"type": "string"}
NUMBER = {"type": ["string", "number"], "description": "A decimal number; give strings for exact money"}
ADDRESS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "line1": TEXT,
        "line2": TEXT,
        "city": TEXT,
        "region": {**TEXT, "description": "State or province code"},
        "postal_code": TEXT,
        "country": TEXT,
    },
}


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    names = {
        "line1": "Line1",
        "line2": "Line2",
        "city": "City",
        "region": "CountrySubDivisionCode",
        "postal_code": "PostalCode",
        "country": "Country",
    }
    return {names[k]: v for k, v in value.items() if v not in (None, "")}


def _drop_empty(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v not in (None, "", {})}


class CreateCustomer(Action):
    key = "create_customer"
    title = "Create a customer"
    description = "POST /customer. DisplayName must be unique among customers, vendors and employees."
    repeat_safe = True  # sends requestid: QuickBooks answers a repeat with the first result
    input_schema = {
        "type": "object",
        "required": ["display_name"],
        "additionalProperties": False,
        "properties": {
            "display_name": {**TEXT, "title": "Display name"},
            "given_name": {**TEXT, "title": "First name"},
            "family_name": {**TEXT, "title": "Last name"},
            "company_name": {**TEXT, "title": "Company"},
            "email": {**TEXT, "title": "Email"},
            "phone": {**TEXT, "title": "Phone"},
            "bill_address": {**ADDRESS, "title": "Billing address"},
            "notes": {**TEXT, "title": "Notes"},
            "extra": {"type": "object", "title": "Other Customer fields, as QuickBooks names them"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"id": TEXT, "display_name": TEXT, "sync_token": TEXT, "customer": {"type": "object"}},
    }
    sample_output = {"id": "58", "display_name": "Acme Trading", "sync_token": "0", "customer": {"Id": "58"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = _drop_empty(
            {
                "DisplayName": inputs["display_name"],
                "GivenName": inputs.get("given_name"),
                "FamilyName": inputs.get("family_name"),
                "CompanyName": inputs.get("company_name"),
                "PrimaryEmailAddr": {"Address": inputs["email"]} if inputs.get("email") else None,
                "PrimaryPhone": {"FreeFormNumber": inputs["phone"]} if inputs.get("phone") else None,
                "BillAddr": _address(inputs.get("bill_address")),
                "Notes": inputs.get("notes"),
            }
        )
        body.update(inputs.get("extra") or {})
        params = {"requestid": request_id(ctx.idempotency_key)} if ctx.idempotency_key else {}
        customer = (
            call(ctx, "POST", company_path(ctx, "customer"), params=params, json=body).get("Customer") or {}
        )
        return {
            "id": customer.get("Id"),
            "display_name": customer.get("DisplayName"),
            "sync_token": customer.get("SyncToken"),
            "customer": customer,
        }


class FindCustomer(Action):
    key = "find_customer"
    title = "Find a customer by display name"
    description = "Runs select * from Customer where DisplayName = '...' (exact match, quotes escaped)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["display_name"],
        "additionalProperties": False,
        "properties": {"display_name": {**TEXT, "title": "Display name"}},
    }
    output_schema = {
        "type": "object",
        "properties": {"found": {"type": "boolean"}, "id": {"type": ["string", "null"]}, "customer": {}},
    }
    sample_output = {"found": True, "id": "58", "customer": {"Id": "58", "DisplayName": "Acme Trading"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        name = literal(inputs["display_name"])  # quoted and escaped: the value cannot end the string
        statement = f"select * from Customer where DisplayName = {name}"  # noqa: S608
        answer = call(ctx, "GET", company_path(ctx, "query"), params={"query": statement})
        customers = (answer.get("QueryResponse") or {}).get("Customer") or []
        first = customers[0] if customers else None
        return {"found": first is not None, "id": first.get("Id") if first else None, "customer": first}


LINE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "amount": {**NUMBER, "title": "Line amount", "description": "Defaults to quantity x unit_price"},
        "description": TEXT,
        "item_id": {**TEXT, "title": "Product/service ID"},
        "quantity": NUMBER,
        "unit_price": NUMBER,
    },
}


def invoice_line(line: dict[str, Any], index: int) -> dict[str, Any]:
    where = f"line {index + 1}"
    detail: dict[str, Any] = {}
    if line.get("item_id"):
        detail["ItemRef"] = {"value": str(line["item_id"])}
    if line.get("quantity") is not None:
        detail["Qty"] = decimal(line["quantity"], f"{where} quantity")
    if line.get("unit_price") is not None:
        detail["UnitPrice"] = decimal(line["unit_price"], f"{where} unit_price")
    if line.get("amount") is not None:
        amount = decimal(line["amount"], f"{where} amount")
    elif "Qty" in detail and "UnitPrice" in detail:
        amount = detail["Qty"] * detail["UnitPrice"]
    else:
        raise PermanentError(f"QuickBooks: {where} needs an amount, or quantity and unit_price")
    body: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": detail,
    }
    if line.get("description"):
        body["Description"] = line["description"]
    return body


class CreateInvoice(Action):
    key = "create_invoice"
    title = "Create an invoice"
    description = "POST /invoice with sales lines; amounts are sent exactly as given (Decimal)."
    repeat_safe = True  # sends requestid: QuickBooks answers a repeat with the first invoice
    input_schema = {
        "type": "object",
        "required": ["customer_id", "lines"],
        "additionalProperties": False,
        "properties": {
            "customer_id": {**TEXT, "title": "Customer ID"},
            "lines": {"type": "array", "minItems": 1, "items": LINE, "title": "Lines"},
            "doc_number": {**TEXT, "title": "Invoice number"},
            "txn_date": {**TEXT, "format": "date", "title": "Invoice date"},
            "due_date": {**TEXT, "format": "date", "title": "Due date"},
            "email": {
                **TEXT,
                "title": "Billing email",
                "description": "Where send_invoice mails it by default",
            },
            "memo": {**TEXT, "title": "Message on the invoice"},
            "private_note": {**TEXT, "title": "Private note"},
            "extra": {"type": "object", "title": "Other Invoice fields, as QuickBooks names them"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "id": TEXT,
            "doc_number": {"type": ["string", "null"]},
            "total": {},
            "balance": {},
            "invoice": {"type": "object"},
        },
    }
    sample_output = {
        "id": "130",
        "doc_number": "1037",
        "total": "1280.50",
        "balance": "1280.50",
        "invoice": {},
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        lines = inputs.get("lines") or []
        if not isinstance(lines, list) or not lines:
            raise PermanentError("QuickBooks: an invoice needs at least one line")
        body = _drop_empty(
            {
                "CustomerRef": {"value": str(inputs["customer_id"])},
                "Line": [invoice_line(line, i) for i, line in enumerate(lines)],
                "DocNumber": inputs.get("doc_number"),
                "TxnDate": inputs.get("txn_date"),
                "DueDate": inputs.get("due_date"),
                "BillEmail": {"Address": inputs["email"]} if inputs.get("email") else None,
                "CustomerMemo": {"value": inputs["memo"]} if inputs.get("memo") else None,
                "PrivateNote": inputs.get("private_note"),
            }
        )
        body.update(inputs.get("extra") or {})
        params = {"requestid": request_id(ctx.idempotency_key)} if ctx.idempotency_key else {}
        invoice = (
            call(ctx, "POST", company_path(ctx, "invoice"), params=params, json=body).get("Invoice") or {}
        )
        return {
            "id": invoice.get("Id"),
            "doc_number": invoice.get("DocNumber"),
            "total": invoice.get("TotalAmt"),
            "balance": invoice.get("Balance"),
            "invoice": invoice,
        }


class SendInvoice(Action):
    key = "send_invoice"
    title = "Email an invoice"
    description = "POST /invoice/{id}/send: QuickBooks mails the invoice PDF (to sendTo, or the BillEmail)."
    repeat_safe = False  # a repeat mails the customer twice
    input_schema = {
        "type": "object",
        "required": ["invoice_id"],
        "additionalProperties": False,
        "properties": {
            "invoice_id": {**TEXT, "title": "Invoice ID"},
            "send_to": {**TEXT, "title": "Send to", "description": "Defaults to the invoice's billing email"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"id": TEXT, "email_status": TEXT, "sent_to": {}, "delivery_time": {}},
    }
    sample_output = {
        "id": "130",
        "email_status": "EmailSent",
        "sent_to": "li.lei@example.com",
        "delivery_time": "2026-11-23T01:16:40-08:00",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {"sendTo": inputs["send_to"]} if inputs.get("send_to") else {}
        path = company_path(ctx, "invoice", str(inputs["invoice_id"]), "send")
        answer = call(ctx, "POST", path, params=params, headers={"Content-Type": "application/octet-stream"})
        invoice = answer.get("Invoice") or {}
        delivery = invoice.get("DeliveryInfo") or {}
        return {
            "id": invoice.get("Id"),
            "email_status": invoice.get("EmailStatus"),
            "sent_to": (invoice.get("BillEmail") or {}).get("Address"),
            "delivery_time": delivery.get("DeliveryTime"),
        }
