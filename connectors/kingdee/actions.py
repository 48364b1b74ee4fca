"""Kingdee K3Cloud actions: Save, Submit, Audit and ExecuteBillQuery on any form (单据/基础资料)."""

from __future__ import annotations

from typing import Any

from connectors.kingdee.api import call, exchange, response_status
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse

FORM_ID = {
    "type": "string",
    "minLength": 1,
    "title": "Form ID",
    "description": "e.g. AR_receivable, SAL_SaleOrder",
}
MAX_LIMIT = 10000


def entities(answer: dict[str, Any]) -> list[dict[str, Any]]:
    status = response_status(answer) or {}
    return [e for e in status.get("SuccessEntitys") or [] if isinstance(e, dict)]


def field_list(value: Any) -> list[str]:
    keys = value.split(",") if isinstance(value, str) else list(value or [])
    keys = [str(k).strip() for k in keys if str(k).strip()]
    if not keys:
        raise PermanentError("Kingdee: give at least one field key")
    return keys


class Save(Action):
    key = "save"
    title = "Save a bill or master record"
    description = "DynamicFormService.Save: creates (no FID in the model) or updates (with FID) one record."
    input_schema = {
        "type": "object",
        "required": ["form_id", "model"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "model": {"type": "object", "title": "Model (field keys as in the form's metadata)"},
            "need_update_fields": {"type": "array", "items": {"type": "string"}},
            "need_return_fields": {"type": "array", "items": {"type": "string"}},
            "is_delete_entry": {"type": "boolean", "default": True},
            "is_auto_submit_and_audit": {"type": "boolean", "default": False},
            "options": {"type": "object", "title": "Other Save options (IsVerifyBaseDataField, …)"},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"id": {}, "number": {"type": ["string", "null"]}, "entities": {"type": "array"}},
    }
    sample_output = {
        "id": 100012,
        "number": "AR00000123",
        "entities": [{"Id": 100012, "Number": "AR00000123"}],
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "NeedUpDateFields": inputs.get("need_update_fields") or [],
            "NeedReturnFields": inputs.get("need_return_fields") or [],
            "IsDeleteEntry": inputs.get("is_delete_entry", True),
            "IsAutoSubmitAndAudit": inputs.get("is_auto_submit_and_audit", False),
            **(inputs.get("options") or {}),
            "Model": inputs["model"],
        }
        answer = call(ctx, "DynamicFormService.Save", {"formid": inputs["form_id"], "data": data}, "Save")
        found = entities(answer)
        result = answer.get("Result") or {}
        return {
            "id": found[0].get("Id") if found else result.get("Id"),
            "number": found[0].get("Number") if found else result.get("Number"),
            "entities": found,
            "return_data": result.get("NeedReturnData") or [],
        }


class _Operation(Action):
    """Submit and Audit share one shape: the records by bill number or by internal id."""

    service = ""
    input_schema = {
        "type": "object",
        "required": ["form_id"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "numbers": {"type": "array", "items": {"type": "string"}, "title": "Bill numbers (FBillNo)"},
            "ids": {"type": "array", "items": {"type": ["string", "integer"]}, "title": "Internal ids (FID)"},
        },
    }
    sample_output = {"entities": [{"Id": 100012, "Number": "AR00000123"}], "ids": [100012]}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if inputs.get("numbers"):
            data["Numbers"] = [str(n) for n in inputs["numbers"]]
        if inputs.get("ids"):
            data["Ids"] = ",".join(str(i) for i in inputs["ids"])  # the service wants one comma string
        if not data:
            raise PermanentError(f"Kingdee {self.service}: give numbers or ids")
        answer = call(
            ctx,
            f"DynamicFormService.{self.service}",
            {"formid": inputs["form_id"], "data": data},
            self.service,
        )
        found = entities(answer)
        return {
            "entities": found,
            "ids": [e.get("Id") for e in found],
            "numbers": [e.get("Number") for e in found],
        }


class Submit(_Operation):
    key = "submit"
    title = "Submit bills"
    description = "DynamicFormService.Submit for the given bill numbers or ids."
    service = "Submit"


class Audit(_Operation):
    key = "audit"
    title = "Audit bills"
    description = "DynamicFormService.Audit for the given bill numbers or ids."
    service = "Audit"


def query_body(
    form_id: str, keys: list[str], filter_string: str, order_string: str, start_row: int, limit: int
) -> dict[str, Any]:
    return {
        "data": {
            "FormId": form_id,
            "FieldKeys": ",".join(keys),
            "FilterString": filter_string,
            "OrderString": order_string,
            "TopRowCount": 0,
            "StartRow": start_row,
            "Limit": limit,
            "SubSystemId": "",
        }
    }


def run_query(ctx: Context, body: dict[str, Any]) -> list[list[Any]]:
    return query_exchange(ctx, body)[0]


def query_exchange(ctx: Context, body: dict[str, Any]) -> tuple[list[list[Any]], HttpResponse]:
    """ExecuteBillQuery's rows and the response they came in (its Date header is the server's clock)."""
    rows, response = exchange(ctx, "DynamicFormService.ExecuteBillQuery", body, "ExecuteBillQuery")
    if not isinstance(rows, list) or any(not isinstance(r, list) for r in rows):
        raise PermanentError("Kingdee ExecuteBillQuery: the answer is not a list of rows")
    return rows, response


class Query(Action):
    key = "query"
    title = "Query records"
    description = "DynamicFormService.ExecuteBillQuery: rows of the field keys you name, filtered and paged."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["form_id", "field_keys"],
        "additionalProperties": False,
        "properties": {
            "form_id": FORM_ID,
            "field_keys": {
                "type": ["array", "string"],
                "items": {"type": "string"},
                "title": "Field keys (FID, FBillNo, FCustomerID.FNumber, …)",
            },
            "filter_string": {
                "type": "string",
                "default": "",
                "title": "FilterString (e.g. FDocumentStatus='C')",
            },
            "order_string": {"type": "string", "default": ""},
            "start_row": {"type": "integer", "minimum": 0, "default": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 2000},
        },
    }
    output_schema = {
        "type": "object",
        "properties": {"rows": {"type": "array"}, "records": {"type": "array"}, "count": {"type": "integer"}},
    }
    sample_output = {
        "rows": [[100012, "AR00000123"]],
        "records": [{"FID": 100012, "FBillNo": "AR00000123"}],
        "count": 1,
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        keys = field_list(inputs["field_keys"])
        body = query_body(
            inputs["form_id"],
            keys,
            inputs.get("filter_string") or "",
            inputs.get("order_string") or "",
            int(inputs.get("start_row") or 0),
            int(inputs.get("limit") or 2000),
        )
        rows = run_query(ctx, body)
        return {
            "rows": rows,
            "records": [dict(zip(keys, row, strict=False)) for row in rows],
            "count": len(rows),
        }
