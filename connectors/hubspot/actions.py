"""HubSpot CRM v3 actions: contacts upsert, deal update, tasks, search and read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.hubspot.api import OBJECT_TYPE, call, next_after, search, segment
from hub.sdk.connector import Action
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError

PROPERTIES = {
    "type": "object",
    "title": "Properties",
    "description": 'Internal property names and values, e.g. {"dealstage": "closedwon"}.',
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
# HubSpot-defined association type ids from a task to each kind of record.
TASK_ASSOCIATION_TYPES = {"contacts": 204, "companies": 192, "deals": 216, "tickets": 230}


def wire_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """HubSpot stores every property as a string: booleans become 'true'/'false', numbers their digits."""
    out: dict[str, Any] = {}
    for name, value in (properties or {}).items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        else:
            out[name] = str(value)  # Decimal amounts keep every digit
    return out


def record(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(obj.get("id")),
        "properties": obj.get("properties") or {},
        "created_at": obj.get("createdAt"),
        "updated_at": obj.get("updatedAt"),
        "archived": bool(obj.get("archived", False)),
    }


class UpsertContact(Action):
    key = "upsert_contact"
    title = "Create or update a contact by email"
    description = (
        "Batch upsert with idProperty=email: creates the contact or updates the one with that email."
    )
    repeat_safe = True  # an upsert keyed by email lands on the same record when repeated
    input_schema = {
        "type": "object",
        "required": ["email"],
        "additionalProperties": False,
        "properties": {
            "email": {"type": "string", "minLength": 3, "title": "Email"},
            "properties": PROPERTIES,
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "created": {"type": "boolean"},
            "properties": {"type": "object"},
        },
    }
    sample_output = {"id": "151", "created": True, "properties": {"email": "li.lei@example.com"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        email = str(inputs["email"]).strip()
        properties = {**wire_properties(inputs.get("properties") or {}), "email": email}
        answer = call(
            ctx,
            "POST",
            "/crm/v3/objects/contacts/batch/upsert",
            json={"inputs": [{"idProperty": "email", "id": email, "properties": properties}]},
        )
        errors = answer.get("errors") or []
        results = answer.get("results") or []
        if errors or not results:
            first = errors[0] if errors else {}
            raise PermanentError(
                f"HubSpot: contact {email} was not saved: {first.get('message') or 'no result returned'}",
                vendor_code=first.get("category"),
            )
        created = results[0]
        return {**record(created), "created": bool(created.get("new", False))}


class UpdateDeal(Action):
    key = "update_deal"
    title = "Update a deal"
    description = "PATCH the given properties of one deal; other properties are left as they are."
    repeat_safe = True  # setting the same values twice leaves the same deal
    input_schema = {
        "type": "object",
        "required": ["deal_id", "properties"],
        "additionalProperties": False,
        "properties": {
            "deal_id": {"type": ["string", "integer"], "title": "Deal ID"},
            "properties": PROPERTIES,
        },
    }
    sample_output = {
        "id": "7001",
        "properties": {"dealstage": "closedwon"},
        "updated_at": "2026-11-20T10:00:00Z",
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        path = f"/crm/v3/objects/deals/{segment(inputs['deal_id'], 'deal_id')}"
        answer = call(ctx, "PATCH", path, json={"properties": wire_properties(inputs["properties"])})
        return record(answer)


class CreateTask(Action):
    key = "create_task"
    title = "Create a task"
    description = "A task with subject, body, due time and owner, linked to contacts, companies or deals."
    input_schema = {
        "type": "object",
        "required": ["subject"],
        "additionalProperties": False,
        "properties": {
            "subject": {"type": "string", "minLength": 1},
            "body": {"type": "string"},
            "due_at": {"type": "string", "title": "Due (ISO-8601 or epoch ms; default now)"},
            "status": {"enum": ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"]},
            "priority": {"enum": ["LOW", "MEDIUM", "HIGH"]},
            "task_type": {"enum": ["TODO", "CALL", "EMAIL"]},
            "owner_id": {"type": ["string", "integer"], "title": "Owner (hubspot_owner_id)"},
            "associations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["object_type", "id"],
                    "properties": {
                        "object_type": {"enum": sorted(TASK_ASSOCIATION_TYPES)},
                        "id": {"type": ["string", "integer"]},
                        "association_type_id": {"type": "integer"},
                    },
                },
            },
            "properties": PROPERTIES,
        },
    }
    sample_output = {"id": "9001", "properties": {"hs_task_subject": "Send the contract"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {
            "hs_timestamp": inputs.get("due_at") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "hs_task_subject": inputs["subject"],
        }
        for field, name in (
            ("body", "hs_task_body"),
            ("status", "hs_task_status"),
            ("priority", "hs_task_priority"),
            ("task_type", "hs_task_type"),
            ("owner_id", "hubspot_owner_id"),
        ):
            if inputs.get(field) not in (None, ""):
                props[name] = str(inputs[field])
        props.update(wire_properties(inputs.get("properties") or {}))
        associations = [
            {
                "to": {"id": str(a["id"])},
                "types": [
                    {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": int(
                            a.get("association_type_id") or TASK_ASSOCIATION_TYPES[a["object_type"]]
                        ),
                    }
                ],
            }
            for a in inputs.get("associations") or []
        ]
        body: dict[str, Any] = {"properties": props}
        if associations:
            body["associations"] = associations
        return record(call(ctx, "POST", "/crm/v3/objects/tasks", json=body))


SEARCH_INPUT = {
    "type": "object",
    "required": ["object_type"],
    "additionalProperties": False,
    "properties": {
        "object_type": OBJECT_TYPE,
        "filter_groups": {
            "type": "array",
            "title": "filterGroups",
            "description": "OR of groups; each group ANDs its filters {propertyName, operator, value}.",
            "items": {"type": "object"},
        },
        "query": {"type": "string", "title": "Full-text query"},
        "sorts": {"type": "array", "items": {"type": "object"}},
        "properties": {"type": "array", "items": {"type": "string"}},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 100},
        "after": {"type": ["string", "null"], "title": "Paging cursor from a previous answer"},
        "all_pages": {"type": "boolean", "default": False, "title": "Follow `after` to the last page"},
        "max_results": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
    },
}


class Search(Action):
    key = "search"
    title = "Search CRM records"
    description = "POST /crm/v3/objects/{type}/search with filterGroups, sorts and `after` paging."
    repeat_safe = True
    input_schema = SEARCH_INPUT
    output_schema = {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "results": {"type": "array"},
            "after": {"type": ["string", "null"]},
        },
    }
    sample_output = {
        "total": 1,
        "results": [{"id": "7001", "properties": {"dealname": "Acme"}}],
        "after": None,
    }

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filterGroups": inputs.get("filter_groups") or [],
            "limit": int(inputs.get("limit") or 100),
        }
        for field, name in (("query", "query"), ("sorts", "sorts"), ("properties", "properties")):
            if inputs.get(field):
                body[name] = inputs[field]
        after = inputs.get("after")
        cap = int(inputs.get("max_results") or 1000)
        results: list[dict[str, Any]] = []
        total = 0
        while True:
            page = search(ctx, inputs["object_type"], {**body, **({"after": str(after)} if after else {})})
            total = int(page.get("total") or 0)
            results.extend(record(r) for r in page.get("results") or [])
            after = next_after(page)
            if not inputs.get("all_pages") or after is None or len(results) >= cap:
                break
        if inputs.get("all_pages"):
            results = results[:cap]
        return {"total": total, "results": results, "after": after}


class GetObject(Action):
    key = "get_object"
    title = "Get a CRM record"
    description = "Read one record by id with the properties you name (webhook events carry only the id)."
    repeat_safe = True
    input_schema = {
        "type": "object",
        "required": ["object_type", "object_id"],
        "additionalProperties": False,
        "properties": {
            "object_type": OBJECT_TYPE,
            "object_id": {"type": ["string", "integer"]},
            "properties": {"type": "array", "items": {"type": "string"}},
            "associations": {"type": "array", "items": {"type": "string"}},
        },
    }
    sample_output = {"id": "7001", "properties": {"dealname": "Acme", "amount": "1200.50"}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        path = (
            f"/crm/v3/objects/{segment(inputs['object_type'], 'object_type')}"
            f"/{segment(inputs['object_id'], 'object_id')}"
        )
        params: dict[str, Any] = {}
        if inputs.get("properties"):
            params["properties"] = ",".join(inputs["properties"])
        if inputs.get("associations"):
            params["associations"] = ",".join(inputs["associations"])
        answer = call(ctx, "GET", path, params=params or None)
        return {**record(answer), "associations": answer.get("associations") or {}}
