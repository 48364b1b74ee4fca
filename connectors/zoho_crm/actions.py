"""Zoho CRM actions: upsert, update, get and search records, COQL queries, notes."""

from __future__ import annotations

from typing import Any

from connectors.zoho_crm.api import VERSION, call, module_path, record_results
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

MODULE = {
    "type": "string",
    "title": "Module API name",
    "pattern": "^[A-Za-z][A-Za-z0-9_]*$",
    "default": "Deals",
}
RECORD_ID = {"type": "string", "title": "Record id", "pattern": "^[0-9]+$"}
WRITE_OUTPUT = {
    "type": "object",
    "properties": {
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "action": {"type": ["string", "null"]},
                    "duplicate_field": {"type": ["string", "null"]},
                },
            },
        },
        "id": {"type": "string", "title": "Id of the first record"},
    },
}
WRITE_SAMPLE = {
    "records": [{"id": "5725767000000524157", "action": "update", "duplicate_field": "Email"}],
    "id": "5725767000000524157",
}
LIST_OUTPUT = {
    "type": "object",
    "properties": {
        "records": {"type": "array", "items": {"type": "object"}},
        "count": {"type": "integer"},
        "more_records": {"type": "boolean"},
    },
}
LIST_SAMPLE = {
    "records": [{"id": "5725767000000524157", "Deal_Name": "Acme renewal", "Stage": "Contract"}],
    "count": 1,
    "more_records": False,
}


def _written(payload: dict[str, Any]) -> dict[str, Any]:
    records = record_results(payload)
    return {"records": records, "id": records[0]["id"] if records else ""}


def _listed(payload: dict[str, Any]) -> dict[str, Any]:
    records = [r for r in payload.get("data") or [] if isinstance(r, dict)]
    info = payload.get("info") or {}
    return {"records": records, "count": len(records), "more_records": bool(info.get("more_records"))}


class UpsertRecords(Action):
    key = "upsert_records"
    title = "Upsert records"
    description = (
        "Inserts records, or updates those matching the duplicate-check fields (POST /{module}/upsert)."
    )
    repeat_safe = True  # an upsert again finds the record it made and updates it
    input_schema = {
        "type": "object",
        "required": ["module", "records"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE,
            "records": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "items": {"type": "object"},
                "title": "Records (field API name: value)",
            },
            "duplicate_check_fields": {
                "type": "array",
                "items": {"type": "string"},
                "title": "Match on these fields (default: the module's unique fields)",
            },
            "trigger": {
                "type": "array",
                "items": {"enum": ["workflow", "approval", "blueprint"]},
                "title": "Run these Zoho automations",
            },
        },
    }
    output_schema = WRITE_OUTPUT
    sample_output = WRITE_SAMPLE

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"data": inputs["records"], "trigger": list(inputs.get("trigger") or [])}
        if inputs.get("duplicate_check_fields"):
            body["duplicate_check_fields"] = list(inputs["duplicate_check_fields"])
        return _written(call(ctx, "POST", module_path(inputs["module"], "upsert"), json=body))


class UpdateRecord(Action):
    key = "update_record"
    title = "Update a record"
    description = "Sets fields of one record (PUT /{module}/{id})."
    repeat_safe = True  # setting the same values again changes nothing
    input_schema = {
        "type": "object",
        "required": ["module", "id", "fields"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE,
            "id": RECORD_ID,
            "fields": {"type": "object", "title": "Fields (API name: value)"},
            "trigger": {"type": "array", "items": {"enum": ["workflow", "approval", "blueprint"]}},
        },
    }
    output_schema = WRITE_OUTPUT
    sample_output = {
        "records": [{"id": "5725767000000524157", "action": None, "duplicate_field": None}],
        "id": "5725767000000524157",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body = {"data": [dict(inputs["fields"])], "trigger": list(inputs.get("trigger") or [])}
        return _written(call(ctx, "PUT", module_path(inputs["module"], str(inputs["id"])), json=body))


class GetRecord(Action):
    key = "get_record"
    title = "Get a record"
    description = "Reads one record by id (GET /{module}/{id})."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["module", "id"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE,
            "id": RECORD_ID,
            "fields": {"type": "array", "items": {"type": "string"}, "title": "Only these fields"},
        },
    }
    output_schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    sample_output = {"id": "5725767000000524157", "Deal_Name": "Acme renewal", "Stage": "Contract"}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {"fields": ",".join(inputs["fields"])} if inputs.get("fields") else None
        rows = (
            call(ctx, "GET", module_path(inputs["module"], str(inputs["id"])), params=params).get("data")
            or []
        )
        if not rows or not isinstance(rows[0], dict):
            raise PermanentError(f"Zoho CRM: no {inputs['module']} record {inputs['id']}")
        return {**rows[0], "id": str(rows[0].get("id") or inputs["id"])}


class SearchRecords(Action):
    key = "search_records"
    title = "Search records"
    description = "Finds records by criteria, email, phone or word (GET /{module}/search)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["module"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE,
            "criteria": {
                "type": "string",
                "title": "Criteria",
                "description": "e.g. ((Stage:equals:Contract)and(Amount:greater_than:1000))",
            },
            "email": {"type": "string"},
            "phone": {"type": "string"},
            "word": {"type": "string"},
            "page": {"type": "integer", "minimum": 1, "default": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 200, "default": 200},
        },
    }
    output_schema = LIST_OUTPUT
    sample_output = LIST_SAMPLE

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {k: inputs[k] for k in ("criteria", "email", "phone", "word") if inputs.get(k)}
        if not params:
            raise PermanentError("give criteria, email, phone or word")
        params.update(page=int(inputs.get("page") or 1), per_page=int(inputs.get("per_page") or 200))
        return _listed(call(ctx, "GET", module_path(inputs["module"], "search"), params=params))


class CoqlQuery(Action):
    key = "coql_query"
    title = "Run a COQL query"
    description = "select … from … where … (POST /coql; at most 2000 rows a call, 50 fields, 25 criteria)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["query"],
        "additionalProperties": False,
        "properties": {
            "query": {
                "type": "string",
                "title": "COQL query",
                "description": "e.g. select Deal_Name, Amount from Deals where Stage = 'Contract' limit 200",
            }
        },
    }
    output_schema = LIST_OUTPUT
    sample_output = LIST_SAMPLE

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        return _listed(call(ctx, "POST", f"/crm/{VERSION}/coql", json={"select_query": inputs["query"]}))


class AddNote(Action):
    key = "add_note"
    title = "Add a note"
    description = "Adds a note to a record (POST /{module}/{id}/Notes)."
    repeat_safe = False  # Zoho takes no idempotency key for notes: a blind retry could add a second one
    input_schema = {
        "type": "object",
        "required": ["module", "id", "content"],
        "additionalProperties": False,
        "properties": {
            "module": MODULE,
            "id": RECORD_ID,
            "title": {"type": "string", "title": "Title"},
            "content": {"type": "string", "title": "Text"},
        },
    }
    output_schema = WRITE_OUTPUT
    sample_output = {
        "records": [{"id": "5725767000000611001", "action": None, "duplicate_field": None}],
        "id": "5725767000000611001",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        note = {"Note_Content": inputs["content"]}
        if inputs.get("title"):
            note["Note_Title"] = inputs["title"]
        path = module_path(inputs["module"], str(inputs["id"]), "Notes")
        return _written(call(ctx, "POST", path, json={"data": [note]}))
