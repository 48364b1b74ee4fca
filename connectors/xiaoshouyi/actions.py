"""销售易 object actions: create, update, get (xobjects) and query (XOQL, paged by queryLocator)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.xiaoshouyi.api import call
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

XOBJECTS = "/rest/data/v2.0/xobjects"
SCROLL = "/rest/data/v2.0/query/xoqlScroll"
OBJECT = {
    "type": "string",
    "pattern": "^[A-Za-z][A-Za-z0-9_]*$",
    "title": "Object apiKey",
    "description": "account, contact, opportunity, lead, activityrecord, or a custom object's apiKey (…__c).",
}
RECORD_ID = {"type": ["string", "integer"], "title": "Record id"}
FIELDS = {
    "type": "object",
    "title": "Fields",
    "description": 'Field apiKeys and values, e.g. {"accountName": "某某"}.',
}
RECORD = {
    "type": "object",
    "description": "The record: id, fields by apiKey, createdAt, updatedAt (epoch ms).",
}
SAMPLE = {"id": 1234567890123, "opportunityName": "年度采购", "money": 12000.5, "updatedAt": 1795428300000}


def object_url(api_key: str, record_id: Any = None) -> str:
    path = f"{XOBJECTS}/{quote(api_key, safe='')}"
    return path if record_id is None else f"{path}/{quote(str(record_id), safe='')}"


class CreateObject(Action):
    key = "create_object"
    title = "Create a record"
    description = 'POST /rest/data/v2.0/xobjects/{apiKey} {"data": {…}}.'
    repeat_safe = False  # no idempotency key: a repeat after a timeout could create a duplicate
    input_schema = {
        "type": "object",
        "required": ["object", "fields"],
        "additionalProperties": False,
        "properties": {"object": OBJECT, "fields": FIELDS},
    }
    output_schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    sample_output = {"id": "1234567890123"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        answer = call(ctx, "POST", object_url(inputs["object"]), json={"data": inputs["fields"]})
        data = answer.get("data")
        found = data.get("id") if isinstance(data, dict) else data
        if found in (None, ""):
            raise PermanentError("销售易: the create answer carries no id")
        return {"id": str(found)}


class UpdateObject(Action):
    key = "update_object"
    title = "Update a record"
    description = 'PATCH /rest/data/v2.0/xobjects/{apiKey}/{id} {"data": {…}}.'
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object", "id", "fields"],
        "additionalProperties": False,
        "properties": {"object": OBJECT, "id": RECORD_ID, "fields": FIELDS},
    }
    output_schema = CreateObject.output_schema
    sample_output = CreateObject.sample_output

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        call(ctx, "PATCH", object_url(inputs["object"], inputs["id"]), json={"data": inputs["fields"]})
        return {"id": str(inputs["id"])}


class GetObject(Action):
    key = "get_object"
    title = "Get a record"
    description = "GET /rest/data/v2.0/xobjects/{apiKey}/{id}."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object", "id"],
        "additionalProperties": False,
        "properties": {"object": OBJECT, "id": RECORD_ID},
    }
    output_schema = RECORD
    sample_output = SAMPLE

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        record = call(ctx, "GET", object_url(inputs["object"], inputs["id"])).get("data")
        if not isinstance(record, dict):
            raise PermanentError(f"销售易: no {inputs['object']} record {inputs['id']} in the answer")
        return record


def scroll(ctx: Context, xoql: str, locator: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One XOQL page: (records, the queryLocator of the next page or None)."""
    form = {"xoql": xoql, **({"queryLocator": locator} if locator else {})}
    answer = call(ctx, "POST", SCROLL, data=form)
    raw = answer.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else answer
    rows = [r for r in (data.get("records") or []) if isinstance(r, dict)]
    following = data.get("queryLocator") or answer.get("queryLocator")
    return rows, str(following) if following and rows and str(following) != locator else None


class Query(Action):
    key = "query"
    title = "Query records (XOQL)"
    description = "POST /rest/data/v2.0/query/xoqlScroll with an XOQL statement, following queryLocator."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["xoql"],
        "additionalProperties": False,
        "properties": {
            "xoql": {
                "type": "string",
                "minLength": 1,
                "title": "XOQL",
                "description": "e.g. select id, opportunityName, money from opportunity "
                "where saleStageId = 3",
            },
            "query_locator": {"type": "string", "title": "Continue from (queryLocator)"},
            "max_pages": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["records", "count"],
        "properties": {
            "records": {"type": "array", "items": RECORD},
            "count": {"type": "integer"},
            "query_locator": {
                "type": ["string", "null"],
                "description": "Set when max_pages stopped the paging.",
            },
        },
    }
    sample_output = {"records": [SAMPLE], "count": 1, "query_locator": None}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        locator = inputs.get("query_locator") or None
        for _ in range(int(inputs.get("max_pages") or 10)):
            rows, locator = scroll(ctx, inputs["xoql"], locator)
            records.extend(rows)
            if locator is None:
                break
        return {"records": records, "count": len(records), "query_locator": locator}
