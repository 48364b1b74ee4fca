"""Salesforce record actions and SOQL queries over the REST API."""

from __future__ import annotations

from typing import Any

from connectors.salesforce.api import call, data_path, name, sobject_path
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

SOBJECT = {"type": "string", "title": "Object", "description": "API name, e.g. Lead, Contact, Invoice__c"}
FIELDS = {
    "type": "object",
    "title": "Fields",
    "description": 'Field API names to values, e.g. {"LastName": "Li", "Company": "Acme"}',
}
RECORD_OUT = {
    "type": "object",
    "properties": {"id": {"type": ["string", "null"]}, "created": {"type": "boolean"}},
}


def checked_fields(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise PermanentError("Salesforce: fields must be an object of field names to values")
    for key in fields:
        name(key, "field")
    return fields


class CreateRecord(Action):
    key = "create_record"
    title = "Create a record"
    description = "POST /sobjects/{object}: creates one record and returns its id."
    input_schema = {
        "type": "object",
        "required": ["sobject", "fields"],
        "additionalProperties": False,
        "properties": {"sobject": SOBJECT, "fields": FIELDS},
    }
    output_schema = RECORD_OUT
    sample_output = {"id": "00Q5g00000A1b2cEAB", "created": True}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = checked_fields(inputs["fields"])
        answer = call(ctx, "POST", sobject_path(ctx, inputs["sobject"]) + "/", json=body).json()
        return {"id": answer.get("id"), "created": True}


class UpdateRecord(Action):
    key = "update_record"
    title = "Update a record"
    description = "PATCH /sobjects/{object}/{id}: changes the given fields only (Salesforce answers 204)."
    repeat_safe = True  # setting the same values again leaves the record as it was
    input_schema = {
        "type": "object",
        "required": ["sobject", "id", "fields"],
        "additionalProperties": False,
        "properties": {"sobject": SOBJECT, "id": {"type": "string", "title": "Record ID"}, "fields": FIELDS},
    }
    output_schema = RECORD_OUT
    sample_output = {"id": "00Q5g00000A1b2cEAB", "created": False}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = checked_fields(inputs["fields"])
        call(ctx, "PATCH", sobject_path(ctx, inputs["sobject"], inputs["id"]), json=body)
        return {"id": inputs["id"], "created": False}


class UpsertRecord(Action):
    key = "upsert_record"
    title = "Create or update a record by external ID"
    description = (
        "PATCH /sobjects/{object}/{external_id_field}/{value}: updates the record with that external ID, "
        "or creates it. The field must be marked External ID in Salesforce."
    )
    repeat_safe = True  # an upsert by external ID lands on the same record however often it runs
    input_schema = {
        "type": "object",
        "required": ["sobject", "external_id_field", "external_id", "fields"],
        "additionalProperties": False,
        "properties": {
            "sobject": SOBJECT,
            "external_id_field": {
                "type": "string",
                "title": "External ID field",
                "description": "e.g. Email__c",
            },
            "external_id": {"type": ["string", "number"], "title": "External ID value"},
            "fields": FIELDS,
        },
    }
    output_schema = RECORD_OUT
    sample_output = {"id": "00Q5g00000A1b2cEAB", "created": True}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        field = name(inputs["external_id_field"], "external ID field")
        value = str(inputs["external_id"])
        if not value:
            raise PermanentError("Salesforce: the external ID value is empty")
        # the external ID travels in the URL only: a second copy in the body could disagree with it
        body = {k: v for k, v in checked_fields(inputs["fields"]).items() if k.lower() != field.lower()}
        response = call(ctx, "PATCH", sobject_path(ctx, inputs["sobject"], field, value), json=body)
        if response.status == 300:
            raise PermanentError(
                f"Salesforce: several {inputs['sobject']} records have {field} = {value!r}; "
                "make the field unique",
                vendor_code="MULTIPLE_CHOICES",
                status=300,
            )
        answer = response.json() if response.content and response.is_json else {}
        created = response.status == 201 or bool(answer.get("created"))
        return {"id": answer.get("id"), "created": created}


class Query(Action):
    key = "query"
    title = "Run a SOQL query"
    description = "GET /query?q=: follows nextRecordsUrl until done or `limit` records."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["soql"],
        "additionalProperties": False,
        "properties": {
            "soql": {
                "type": "string",
                "title": "SOQL",
                "description": "SELECT Id, Name FROM Account WHERE ...",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50000,
                "default": 2000,
                "title": "Max records",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "records": {"type": "array", "items": {"type": "object"}},
            "total_size": {"type": "integer"},
            "done": {"type": "boolean"},
        },
    }
    sample_output = {
        "records": [{"attributes": {"type": "Account"}, "Id": "0015g00000XyZ12AAB", "Name": "Acme"}],
        "total_size": 1,
        "done": True,
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        limit = int(inputs.get("limit") or 2000)
        records, total, done = query(ctx, inputs["soql"], limit)
        return {"records": records, "total_size": total, "done": done}


def query(ctx: Context, soql: str, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
    """(records, totalSize, whether every page was read), reading at most `limit` records."""
    page = call(ctx, "GET", data_path(ctx, "query"), params={"q": soql}).json()
    records: list[dict[str, Any]] = list(page.get("records") or [])
    total = int(page.get("totalSize") or 0)
    while not page.get("done", True) and page.get("nextRecordsUrl") and len(records) < limit:
        next_url = str(page["nextRecordsUrl"])
        if not next_url.startswith("/services/data/"):
            raise PermanentError(f"Salesforce: unexpected nextRecordsUrl {next_url[:80]!r}")
        page = call(ctx, "GET", next_url).json()
        records.extend(page.get("records") or [])
    done = bool(page.get("done", True)) and len(records) <= limit
    return records[:limit], total, done
