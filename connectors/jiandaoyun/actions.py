"""简道云 data actions: create, update, get one record and query records (cursor paging by `_id`)."""

from __future__ import annotations

from typing import Any

from connectors.jiandaoyun.api import call
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

PAGE_MAX = 100  # data/list answers at most 100 records a call

APP_ID = {"type": "string", "minLength": 1, "title": "App ID", "description": "The app's id (应用 ID)."}
ENTRY_ID = {
    "type": "string",
    "minLength": 1,
    "title": "Form ID",
    "description": "The form's id (表单 entry_id), shown in the form's API settings.",
}
DATA_ID = {"type": "string", "minLength": 1, "title": "Record ID", "description": "The record's `_id`."}
DATA = {
    "type": "object",
    "title": "Data",
    "description": 'Widget values as the API takes them: {"_widget_1432728651402": {"value": "张三"}}.',
}
VALUES = {
    "type": "object",
    "title": "Values (shorthand)",
    "description": 'Widget values without the wrapper: {"_widget_1432728651402": "张三"}; merged into data.',
}
START_TRIGGER = {
    "type": "boolean",
    "default": False,
    "title": "Run the form's data triggers (智能助手)",
    "description": "is_start_trigger: false (the API's default) writes without firing the form's triggers.",
}
RECORD = {"type": "object", "description": "The record: _id, system fields and widget values."}
SAMPLE_RECORD = {
    "_id": "5b1a2f7f0b2f5e0001a1b2c3",
    "appId": "5b1a2f7f0b2f5e0001a1b2aa",
    "entryId": "5b1a2f7f0b2f5e0001a1b2bb",
    "createTime": "2026-11-20T02:00:00.000Z",
    "updateTime": "2026-11-20T02:05:00.000Z",
    "_widget_1432728651402": "张三",
}


def widget_data(inputs: dict[str, Any]) -> dict[str, Any]:
    """`data` plus the `values` shorthand, each value wrapped as {"value": …}."""
    data = dict(inputs.get("data") or {})
    data.update({key: {"value": value} for key, value in (inputs.get("values") or {}).items()})
    if not data:
        raise PermanentError("简道云: give data or values (at least one widget)")
    return data


def record_of(answer: dict[str, Any], what: str) -> dict[str, Any]:
    record = answer.get("data")
    if not isinstance(record, dict) or not record.get("_id"):
        raise PermanentError(f"简道云 {what}: the answer carries no record with an _id")
    return record


class CreateData(Action):
    key = "create_data"
    title = "Create a record"
    description = "POST /v5/app/entry/data/create: one new record in a form (20 calls/s)."
    # No idempotency key for single creates: a repeat after a timeout could add a second record.
    repeat_safe = False
    input_schema = {
        "type": "object",
        "required": ["app_id", "entry_id"],
        "additionalProperties": False,
        "properties": {
            "app_id": APP_ID,
            "entry_id": ENTRY_ID,
            "data": DATA,
            "values": VALUES,
            "data_creator": {
                "type": "string",
                "title": "Submitter",
                "description": "The member's username recorded as the submitter (data_creator).",
            },
            "is_start_workflow": {
                "type": "boolean",
                "default": False,
                "title": "Start the form's workflow",
                "description": "is_start_workflow: for workflow forms, start the process at its first node.",
            },
            "is_start_trigger": START_TRIGGER,
            "transaction_id": {
                "type": "string",
                "title": "Transaction ID",
                "description": "Binds files uploaded with the same transaction_id to this record.",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["id", "record"],
        "properties": {"id": {"type": "string"}, "record": RECORD},
    }
    sample_output = {"id": SAMPLE_RECORD["_id"], "record": SAMPLE_RECORD}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "app_id": inputs["app_id"],
            "entry_id": inputs["entry_id"],
            "data": widget_data(inputs),
            "is_start_workflow": bool(inputs.get("is_start_workflow", False)),
            "is_start_trigger": bool(inputs.get("is_start_trigger", False)),
        }
        for name in ("data_creator", "transaction_id"):
            if inputs.get(name):
                body[name] = inputs[name]
        record = record_of(call(ctx, "/v5/app/entry/data/create", body), "create")
        return {"id": str(record["_id"]), "record": record}


class UpdateData(Action):
    key = "update_data"
    title = "Update a record"
    description = "POST /v5/app/entry/data/update: sets the given widgets of one record (20 calls/s)."
    repeat_safe = True  # setting the same values again changes nothing
    input_schema = {
        "type": "object",
        "required": ["app_id", "entry_id", "data_id"],
        "additionalProperties": False,
        "properties": {
            "app_id": APP_ID,
            "entry_id": ENTRY_ID,
            "data_id": DATA_ID,
            "data": DATA,
            "values": VALUES,
            "is_start_trigger": START_TRIGGER,
            "transaction_id": {"type": "string", "title": "Transaction ID (uploaded files)"},
        },
    }
    output_schema = CreateData.output_schema
    sample_output = CreateData.sample_output

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "app_id": inputs["app_id"],
            "entry_id": inputs["entry_id"],
            "data_id": inputs["data_id"],
            "data": widget_data(inputs),
            "is_start_trigger": bool(inputs.get("is_start_trigger", False)),
        }
        if inputs.get("transaction_id"):
            body["transaction_id"] = inputs["transaction_id"]
        record = record_of(call(ctx, "/v5/app/entry/data/update", body), "update")
        return {"id": str(record["_id"]), "record": record}


class GetData(Action):
    key = "get_data"
    title = "Get a record"
    description = "POST /v5/app/entry/data/get: one record by its _id (30 calls/s)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["app_id", "entry_id", "data_id"],
        "additionalProperties": False,
        "properties": {"app_id": APP_ID, "entry_id": ENTRY_ID, "data_id": DATA_ID},
    }
    output_schema = CreateData.output_schema
    sample_output = CreateData.sample_output

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = {k: inputs[k] for k in ("app_id", "entry_id", "data_id")}
        record = record_of(call(ctx, "/v5/app/entry/data/get", body), "get")
        return {"id": str(record["_id"]), "record": record}


def list_page(
    ctx: Context,
    app_id: str,
    entry_id: str,
    *,
    after: str | None,
    limit: int,
    fields: list[str] | None = None,
    filter_: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One page of data/list: records after `_id` `after`, in `_id` order."""
    body: dict[str, Any] = {"app_id": app_id, "entry_id": entry_id, "limit": limit}
    if after:
        body["data_id"] = after
    if fields:
        body["fields"] = fields
    if filter_:
        body["filter"] = filter_
    page = call(ctx, "/v5/app/entry/data/list", body).get("data")
    if not isinstance(page, list):
        raise PermanentError("简道云 data/list: the answer's data is not a list")
    return [r for r in page if isinstance(r, dict)]


class QueryData(Action):
    key = "query_data"
    title = "Query records"
    description = (
        "POST /v5/app/entry/data/list: records matching a filter, 100 a call, following the `_id` "
        "cursor until max_records (30 calls/s)."
    )
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["app_id", "entry_id"],
        "additionalProperties": False,
        "properties": {
            "app_id": APP_ID,
            "entry_id": ENTRY_ID,
            "fields": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Fields",
                "description": "Widget ids to return (all when empty).",
            },
            "filter": {
                "type": "object",
                "title": "Filter",
                "description": 'e.g. {"rel": "and", "cond": [{"field": "_widget_1", "type": "text", '
                '"method": "eq", "value": ["赢单"]}]}',
            },
            "after_id": {
                "type": "string",
                "title": "Start after record",
                "description": "Continue from a previous query's next_after_id.",
            },
            "page_size": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_MAX},
            "max_records": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
                "default": 1000,
                "title": "Stop after this many records",
            },
        },
    }
    output_schema = {
        "type": "object",
        "required": ["records", "count"],
        "properties": {
            "records": {"type": "array", "items": RECORD},
            "count": {"type": "integer"},
            "next_after_id": {
                "type": ["string", "null"],
                "description": "Set when max_records stopped the paging: pass it as after_id.",
            },
        },
    }
    sample_output = {"records": [SAMPLE_RECORD], "count": 1, "next_after_id": None}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        size = int(inputs.get("page_size") or PAGE_MAX)
        wanted = int(inputs.get("max_records") or 1000)
        records: list[dict[str, Any]] = []
        after = inputs.get("after_id") or None
        while True:
            limit = min(size, wanted - len(records))
            page = list_page(
                ctx,
                inputs["app_id"],
                inputs["entry_id"],
                after=after,
                limit=limit,
                fields=inputs.get("fields"),
                filter_=inputs.get("filter"),
            )
            records.extend(page)
            if len(page) < limit:  # a short page is the last one
                return {"records": records, "count": len(records), "next_after_id": None}
            after = str(page[-1]["_id"])
            if len(records) >= wanted:
                return {"records": records, "count": len(records), "next_after_id": after}
