"""纷享销客 CRM object actions: create, update, get and query leads, accounts, opportunities and
custom objects."""

from __future__ import annotations

from typing import Any

from connectors.fxiaoke.api import crm, object_path
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

OBJECT = {
    "type": "string",
    "minLength": 1,
    "title": "Object API name",
    "description": "LeadsObj (线索), AccountObj (客户), OpportunityObj (商机), ContactObj, or a custom "
    "object's api name ending in __c.",
}
FIELDS = {
    "type": "object",
    "title": "Fields",
    "description": 'Field api names and values, e.g. {"name": "某某公司"}.',
}
FLOWS = {
    "trigger_flows": {
        "type": "boolean",
        "default": False,
        "title": "Run approval and work flows",
        "description": "triggerApprovalFlow / triggerWorkFlow: off, so an integration write starts "
        "no approval.",
    }
}
RECORD = {"type": "object", "description": "The object data: _id, name, owner, last_modified_time, …"}
SAMPLE = {"_id": "5ea6cdd489225f0001fbc39d", "name": "某某公司", "last_modified_time": 1763892000000}


def flow_flags(inputs: dict[str, Any]) -> dict[str, bool]:
    on = bool(inputs.get("trigger_flows", False))
    return {"triggerApprovalFlow": on, "triggerWorkFlow": on}


def written_id(answer: dict[str, Any]) -> str:
    data = answer.get("data")
    found = answer.get("dataId") or (
        data.get("_id") or data.get("dataId") if isinstance(data, dict) else None
    )
    if not found:
        raise PermanentError("纷享销客: the write's answer carries no dataId")
    return str(found)


class CreateObject(Action):
    key = "create_object"
    title = "Create a CRM record"
    description = "POST /cgi/crm/v2/data/create (custom objects: /cgi/crm/custom/v2/data/create)."
    repeat_safe = False  # no idempotency key: a repeat after a timeout could create a duplicate
    input_schema = {
        "type": "object",
        "required": ["object", "fields"],
        "additionalProperties": False,
        "properties": {"object": OBJECT, "fields": FIELDS, **FLOWS},
    }
    output_schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    sample_output = {"id": "5ea6cdd489225f0001fbc39d"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        record = {**inputs["fields"], "dataObjectApiName": inputs["object"]}
        answer = crm(
            ctx, object_path(inputs["object"], "create"), {"object_data": record, **flow_flags(inputs)}
        )
        return {"id": written_id(answer)}


class UpdateObject(Action):
    key = "update_object"
    title = "Update a CRM record"
    description = "POST /cgi/crm/v2/data/update: sets the given fields of one record."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object", "id", "fields"],
        "additionalProperties": False,
        "properties": {
            "object": OBJECT,
            "id": {"type": "string", "minLength": 1, "title": "Record _id"},
            "fields": FIELDS,
            **FLOWS,
        },
    }
    output_schema = CreateObject.output_schema
    sample_output = CreateObject.sample_output

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        record = {**inputs["fields"], "dataObjectApiName": inputs["object"], "_id": inputs["id"]}
        crm(ctx, object_path(inputs["object"], "update"), {"object_data": record, **flow_flags(inputs)})
        return {"id": str(inputs["id"])}


class GetObject(Action):
    key = "get_object"
    title = "Get a CRM record"
    description = "POST /cgi/crm/v2/data/get {dataObjectApiName, objectDataId}."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object", "id"],
        "additionalProperties": False,
        "properties": {"object": OBJECT, "id": {"type": "string", "minLength": 1, "title": "Record _id"}},
    }
    output_schema = RECORD
    sample_output = SAMPLE

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        data = {"dataObjectApiName": inputs["object"], "objectDataId": inputs["id"]}
        record = crm(ctx, object_path(inputs["object"], "get"), data).get("data")
        if not isinstance(record, dict):
            raise PermanentError(f"纷享销客: no {inputs['object']} record {inputs['id']} in the answer")
        return record


def query_page(
    ctx: Context, api_name: str, filters: list[Any], orders: list[Any], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of data/query: (records, total)."""
    info = {"limit": limit, "offset": offset, "filters": filters, "orders": orders}
    answer = crm(
        ctx, object_path(api_name, "query"), {"dataObjectApiName": api_name, "search_query_info": info}
    )
    data = answer.get("data") or {}
    rows = [r for r in data.get("dataList") or [] if isinstance(r, dict)] if isinstance(data, dict) else []
    total = data.get("total") if isinstance(data, dict) else None
    return rows, int(total) if total is not None else None


class QueryObjects(Action):
    key = "query_objects"
    title = "Query CRM records"
    description = "POST /cgi/crm/v2/data/query with filters and orders, offset paging up to max_records."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object"],
        "additionalProperties": False,
        "properties": {
            "object": OBJECT,
            "filters": {
                "type": "array",
                "items": {"type": "object"},
                "default": [],
                "title": "Filters",
                "description": '[{"field_name": "name", "field_values": ["某某"], "operator": "LIKE"}]; '
                "operators EQ, N, GT, GTE, LT, LTE, LIKE, IN, BETWEEN, …",
            },
            "orders": {
                "type": "array",
                "items": {"type": "object"},
                "default": [],
                "description": '[{"fieldName": "last_modified_time", "isAsc": false}]',
            },
            "offset": {"type": "integer", "minimum": 0, "default": 0},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
            "max_records": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["records", "count"],
        "properties": {
            "records": {"type": "array", "items": RECORD},
            "count": {"type": "integer"},
            "total": {"type": ["integer", "null"]},
            "next_offset": {"type": ["integer", "null"]},
        },
    }
    sample_output = {"records": [SAMPLE], "count": 1, "total": 1, "next_offset": None}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        offset, size = int(inputs.get("offset") or 0), int(inputs.get("page_size") or 100)
        wanted = int(inputs.get("max_records") or 1000)
        records: list[dict[str, Any]] = []
        total: int | None = None
        while True:
            limit = min(size, wanted - len(records))
            rows, total = query_page(
                ctx, inputs["object"], inputs.get("filters") or [], inputs.get("orders") or [], offset, limit
            )
            records.extend(rows)
            offset += len(rows)
            done = len(rows) < limit or (total is not None and offset >= total)
            if done or len(records) >= wanted:
                return {
                    "records": records,
                    "count": len(records),
                    "total": total,
                    "next_offset": None if done else offset,
                }
