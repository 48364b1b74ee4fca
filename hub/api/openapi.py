"""GET /api/v1/openapi.json: the API described as OpenAPI 3.1, with the recipe document's own schema."""

from __future__ import annotations

from typing import Any

from flask import Response

from hub.api import api_blueprint
from hub.api.auth import public
from hub.api.common import reply
from hub.connections import NAME_MAX
from hub.current import runtime
from hub.ids import MAX_ID
from hub.projects import NAME_PATTERN
from hub.recipes import recipe_schema
from hub.redaction import MIN_SECRET_LENGTH
from hub.registry import Registry
from hub.services.connections import MAX_CONCURRENCY, MAX_RATE
from hub.templates.catalogue import CATEGORIES, template_schema
from hub.users import EMAIL_MAX
from hub.utilities import secrets as named_secrets
from hub.utilities import tables
from hub.utilities.values import KEY_PATTERN, MAX_KEY, MAX_TTL_S, MIN_TTL_S, STORAGE_SCOPE_PATTERN

OBJ: dict[str, Any] = {"type": "object"}
# A connection's limits: 0 clears one, null or absent keeps it.
LIMITS: dict[str, Any] = {
    "concurrency_limit": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_CONCURRENCY},
    "rate_limit": {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": MAX_RATE,
        "description": "per second",
    },
}
NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": r"\S"}
ERROR = {"$ref": "#/components/schemas/Error"}
RUN = {"$ref": "#/components/schemas/Run"}
RECIPE = {"$ref": "#/components/schemas/Recipe"}
STATS = {"$ref": "#/components/schemas/Stats"}
ID: dict[str, Any] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
QUERY_TYPES: dict[str, Any] = {
    "recipe_id": ID,
    "cursor": {**ID, "description": "next_cursor of the previous page"},
    "status": {
        "enum": ["queued", "running", "waiting", "held", "succeeded", "failed", "filtered", "cancelled"]
    },
}

_TIME = {"type": ["string", "null"], "format": "date-time"}
_ATTEMPT = {
    "type": "object",
    "properties": {
        "number": {"type": "integer"},
        "status": {"type": "string"},
        "idempotency_key": {"type": ["string", "null"]},
        "started_at": _TIME,
        "finished_at": _TIME,
        "duration_ms": {"type": ["number", "null"]},
        "error": {},
    },
}
_STEP = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "path": {"type": "string", "description": "the step id, or e.g. lines.3.post inside a for_each item"},
        "item": {"type": ["integer", "null"], "description": "the innermost for_each item it ran for"},
        "depth": {"type": "integer", "description": "how many flow steps enclose it"},
        "phase": {"enum": ["main", "on_failure"]},
        "status": {"type": "string"},
        "attempts": {"type": "integer"},
        "input": {"description": "rendered input, secrets redacted"},
        "output": {"description": "secrets redacted"},
        "error": {},
        "started_at": _TIME,
        "finished_at": _TIME,
        "attempt_log": {"type": "array", "items": _ATTEMPT},
    },
}
RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "recipe_id", "recipe_version", "status", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "recipe_id": {"type": "integer"},
        "recipe_version": {"type": "integer"},
        "status": QUERY_TYPES["status"],
        "dry_run": {"type": "boolean"},
        "event": {"description": "the trigger's item; secret headers and fields redacted"},
        "steps": {"type": "array", "items": _STEP, "description": "absent in lists"},
        "error": {},
        "replay_of": {"type": ["integer", "null"]},
        "from_step": {"type": ["string", "null"]},
        "output": {"description": "the recipe's rendered top-level `output` once the run succeeded"},
        "parent_run_id": {"type": ["integer", "null"], "description": "the run whose recipe.call started it"},
        "parent_path": {"type": ["string", "null"], "description": "the path of that call step"},
        "created_at": _TIME,
        "started_at": _TIME,
        "finished_at": _TIME,
    },
}

_PERCENTILES = {
    "type": "object",
    "properties": {"p50": {"type": ["number", "null"]}, "p95": {"type": ["number", "null"]}},
}
_FIGURES: dict[str, Any] = {
    "runs": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "by status"},
    "completion_rate": {
        "type": ["number", "null"],
        "description": "succeeded / finished (succeeded, failed, filtered, cancelled)",
    },
    "duration_ms": {**_PERCENTILES, "description": "from the event's arrival to the run's end"},
    "steps": {
        "type": "object",
        "description": "by step path",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "succeeded": {"type": "integer"},
                "failed": {"type": "integer"},
                "attempts": {"type": "integer"},
                "duration_ms": _PERCENTILES,
            },
        },
    },
    "waits": {
        "type": "object",
        "description": "wait_for steps by id",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "resumed": {"type": "integer"},
                "timed_out": {"type": "integer"},
                "wait_s": _PERCENTILES,
            },
        },
    },
}
STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_FIGURES,
        "by_version": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": _FIGURES},
        },
    },
}
PERIOD: dict[str, Any] = {
    name: {
        "type": "string",
        "format": "date-time",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*(Z|z|[+-][0-9]{2}:?[0-9]{2})$",
        "description": f"runs created {rel}; a date alone (YYYY-MM-DD, midnight UTC) is taken too",
    }
    for name, rel in (("since", "at or after"), ("until", "before"))
}


_WEIGHTS = {
    "type": "object",
    "propertyNames": {"pattern": "^[1-9][0-9]*$"},
    "additionalProperties": {"type": "integer", "minimum": 0},
    "minProperties": 2,
    "description": "version number -> weight; the weights add up to more than 0",
}
SPLIT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["versions"],
    "properties": {"versions": _WEIGHTS},
}
SPLIT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "active": {"type": "boolean"},
        "versions": {"oneOf": [_WEIGHTS, {"type": "null"}]},
        "current_version": {"type": "integer"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _limit(largest: int, default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": largest, "default": default}


def _op(
    summary: str,
    *,
    body: Any = None,
    ok: int = 200,
    answer: Any = OBJ,
    role: str = "viewer",
    params: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    yaml: bool = False,
) -> dict[str, Any]:
    """One operation; `params` and `query` map each parameter's name to its schema."""
    success: dict[str, Any] = {"description": "success"}
    if ok != 204:
        success["content"] = {"application/json": {"schema": answer}}
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Needs the {role} role.",
        "responses": {
            str(ok): success,
            "401": _error("no valid bearer token (WWW-Authenticate: Bearer)"),
            "403": _error("the token's role is too low"),
            "503": _error("the database is unavailable for now; retry after Retry-After seconds"),
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in (params or {}).items()
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in (query or {}).items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if params:
        operation["responses"]["404"] = _error("no such object")
    if query:
        operation["responses"]["400"] = _error("a bad query parameter, named in the message")
    if body is not None:
        operation["responses"]["400"] = _error(
            "the body is not valid JSON" + (" or YAML" if yaml else "") + ", or not an object"
        )
        content: dict[str, Any] = {"application/json": {"schema": body}}
        if yaml:
            content["application/yaml"] = {"schema": body}
        # An empty body reads as {}: it is optional wherever the schema requires nothing (a $ref'd
        # schema, the recipe, always requires something).
        needed = "$ref" in body or bool(body.get("required"))
        operation["requestBody"] = {"required": needed, "content": content}
        operation["responses"]["422"] = _error("invalid; details.path names the field")
    if role != "viewer":
        operation["responses"]["409"] = _error("conflicts with the current state")
    return operation


def _connection_body(registry: Registry) -> dict[str, Any]:
    """A connection: its connector one of those installed, its config that connector's schema."""
    variants = []
    for connector in registry.all():
        schema = connector.connection_schema()
        variant: dict[str, Any] = {"properties": {"connector": {"const": connector.id}, "config": schema}}
        if schema.get("required"):
            variant["required"] = ["config"]
        variants.append(variant)
    return {
        "type": "object",
        "required": ["name", "connector"],
        "properties": {
            "name": NAME,
            "connector": {"enum": sorted(c.id for c in registry.all())},
            "config": OBJ,
            **LIMITS,
        },
        "oneOf": variants,
    }


def _installed_connectors(schema: Any, ids: list[str]) -> Any:
    """The recipe schema with every `connector` field narrowed to the installed connectors."""
    if isinstance(schema, dict):
        return {
            key: (
                {"enum": ids}
                if key == "connector" and value == {"$ref": "#/$defs/key"}
                else _installed_connectors(value, ids)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_installed_connectors(item, ids) for item in schema]
    return schema


def document(registry: Registry) -> dict[str, Any]:
    """The API as it is on this hub: connector fields list the connectors installed here."""
    connector_ids = sorted(c.id for c in registry.all())
    rid, cid, run = {"recipe_id": ID}, {"connection_id": ID}, {"run_id": ID}
    paths: dict[str, dict[str, Any]] = {
        "/connectors": {"get": _op("List installed connectors")},
        "/connectors/{connector_id}": {
            "get": _op(
                "A connector with its JSON Schemas",
                params={"connector_id": {"type": "string", "enum": connector_ids}},
            )
        },
        "/connections": {
            "get": _op("List connections (secret fields only as set / not set)"),
            "post": _op("Create a connection", body=_connection_body(registry), ok=201, role="editor"),
        },
        "/connections/{connection_id}": {
            "get": _op("A connection", params=cid),
            "put": _op(
                "Change a connection; fields left out keep their value",
                body={
                    "type": "object",
                    "properties": {
                        "name": {
                            **NAME,
                            "type": ["string", "null"],
                            "description": "null or absent keeps it",
                        },
                        "config": OBJ,
                        **LIMITS,
                    },
                },
                role="editor",
                params=cid,
            ),
            "delete": _op(
                "Delete a connection not used by an enabled recipe", ok=204, role="editor", params=cid
            ),
        },
        "/connections/{connection_id}/test": {
            "post": _op(
                "Test a connection's credentials",
                role="editor",
                params=cid,
                answer={
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}, "message": {"type": "string"}},
                },
            )
        },
        "/connections/{connection_id}/oauth/authorize": {
            "post": _op(
                "Start OAuth2 consent; open authorize_url in a browser",
                role="editor",
                params=cid,
                body={"type": "object", "properties": {"redirect_uri": {"type": "string"}}},
            )
        },
        "/recipes": {
            "get": _op("List recipes with status, last run and success rate"),
            "post": _op("Create a recipe (JSON or YAML)", body=RECIPE, ok=201, role="editor", yaml=True),
        },
        "/recipes/{recipe_id}": {
            "get": _op("A recipe with its document, hook URLs and trigger state", params=rid),
            "put": _op("Save a new version", body=RECIPE, role="editor", params=rid, yaml=True),
            "delete": _op("Delete a recipe", ok=204, role="editor", params=rid),
        },
        "/recipes/{recipe_id}/enable": {"post": _op("Enable", role="operator", params=rid)},
        "/recipes/{recipe_id}/disable": {"post": _op("Disable", role="operator", params=rid)},
        "/recipes/{recipe_id}/versions": {"get": _op("Version history", params=rid)},
        "/recipes/{recipe_id}/versions/{version}": {
            "get": _op("One version's document", params={**rid, "version": ID})
        },
        "/recipes/{recipe_id}/versions/{version}/restore": {
            "post": _op(
                "Save that version's document again as the newest version (ends an A/B split)",
                role="editor",
                params={**rid, "version": ID},
                ok=201,
            )
        },
        "/recipes/{recipe_id}/split": {
            "get": _op("The A/B split of new runs between versions", params=rid, answer=SPLIT),
            "put": _op(
                "Split new runs between versions by weight (chosen by a hash of the event's id)",
                role="editor",
                params=rid,
                body=SPLIT_BODY,
                answer=SPLIT,
            ),
            "delete": _op(
                "End the split: every new run starts the current version",
                role="editor",
                params=rid,
                answer=SPLIT,
            ),
        },
        "/recipes/{recipe_id}/test": {
            "post": _op(
                "Run on a given event now (dry_run renders only)",
                role="editor",
                params=rid,
                body={
                    "type": "object",
                    "properties": {"event": OBJ, "dry_run": {"type": "boolean", "default": True}},
                },
                answer=RUN,
            )
        },
        "/recipes/{recipe_id}/replay": {
            "post": _op(
                "Replay failed runs, optionally since a time",
                role="operator",
                params=rid,
                body={
                    "type": "object",
                    "properties": {
                        "status": {"const": "failed"},
                        "since": {"type": "string", "format": "date-time"},
                    },
                },
            )
        },
        "/recipes/{recipe_id}/trigger/reset": {
            "post": _op(
                "Set or clear the poll cursor",
                role="editor",
                params=rid,
                body={
                    "type": "object",
                    "properties": {
                        "cursor": {"type": ["string", "null"]},
                        "backfill_from": {
                            "type": ["string", "null"],
                            "format": "date-time",
                            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*(Z|[+-][0-9]{2}:?[0-9]{2})$",
                        },
                    },
                },
            )
        },
        "/recipes/{recipe_id}/stats": {
            "get": _op("Run statistics over a period", params=rid, query=PERIOD, answer=STATS)
        },
        "/stats": {
            "get": _op(
                "Run statistics of every recipe over a period",
                query=PERIOD,
                answer={
                    "type": "object",
                    "properties": {"recipes": {"type": "object", "additionalProperties": STATS}},
                },
            )
        },
        "/runs": {"get": _op("List runs, newest first", query={**QUERY_TYPES, "limit": _limit(200, 50)})},
        "/runs/{run_id}": {
            "get": _op("A run with every step's input, output, error and attempts", params=run, answer=RUN)
        },
        "/runs/{run_id}/replay": {
            "post": _op(
                "Replay whole or from a step",
                role="operator",
                params=run,
                ok=201,
                answer=RUN,
                body={
                    "type": "object",
                    "properties": {
                        "from_step": {
                            "type": "string",
                            "description": "a step id, or an inner step's path: lines.3.post",
                        }
                    },
                },
            )
        },
        "/runs/{run_id}/cancel": {"post": _op("Cancel now", role="operator", params=run, answer=RUN)},
        "/runs/{run_id}/resolve": {
            "post": _op(
                "Decide on a held run",
                role="operator",
                params=run,
                answer=RUN,
                body={
                    "type": "object",
                    "required": ["action"],
                    "properties": {"action": {"enum": ["retry", "mark_done", "fail"]}, "output": OBJ},
                },
            )
        },
        "/users": {
            "get": _op("List users", role="admin"),
            "post": _op(
                "Create a user",
                role="admin",
                ok=201,
                body={
                    "type": "object",
                    "required": ["email", "role"],
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": EMAIL_MAX},
                        "role": {"enum": ["admin", "editor", "viewer"]},
                        "password": {
                            "type": ["string", "null"],
                            "minLength": 10,
                            "description": "null or absent: the user signs in with API tokens only",
                        },
                    },
                },
            ),
        },
        "/users/{user_id}/tokens": {
            "post": _op(
                "Create an API token (shown once)",
                role="admin",
                ok=201,
                params={"user_id": ID},
                body={"type": "object", "properties": {"name": {"type": "string", "maxLength": 200}}},
            )
        },
        "/tokens": {"get": _op("List API tokens", role="admin")},
        "/tokens/{token_id}": {
            "delete": _op("Revoke a token", role="admin", ok=204, params={"token_id": ID})
        },
        "/audit": {"get": _op("The audit log", role="admin", query={"limit": _limit(1000, 100)})},
        **_table_and_secret_paths(),
        **project_paths(),
        **template_paths(),
    }
    paths.update(_storage_paths())
    recipe = _installed_connectors(
        {k: v for k, v in recipe_schema().items() if k not in ("$schema", "$id")}, connector_ids
    )
    recipe_defs = recipe.pop("$defs", {})
    schemas: dict[str, Any] = {
        "Template": _template_schema(),
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
                }
            },
        },
        "Run": RUN_SCHEMA,
        "Stats": STATS_SCHEMA,
        "Recipe": _rebase(recipe),
        **{f"Recipe_{name}": _rebase(schema) for name, schema in recipe_defs.items()},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Integration hub API",
            "version": "1",
            "description": (
                "JSON bodies follow one policy: no NaN or Infinity, no NUL or unpaired surrogates in "
                "keys or strings, nesting at most 256 deep; a body breaking it answers 400."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
    }


def _storage_paths() -> dict[str, Any]:
    """The storage utility's keys, addressed by scope (`global` or `recipe:<id>`) and key."""
    scope = {"type": "string", "pattern": STORAGE_SCOPE_PATTERN, "examples": ["global", "recipe:1"]}
    key = {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": KEY_PATTERN}
    address = {"scope": scope, "key": key}
    entry = {
        "type": "object",
        "required": ["scope", "key", "value", "expires_at", "updated_at"],
        "properties": {
            "scope": {"type": "string"},
            "key": {"type": "string"},
            "value": {"description": "any JSON"},
            "expires_at": _TIME,
            "updated_at": _TIME,
        },
    }
    listing = {
        "type": "object",
        "properties": {
            "scope": {"type": "string"},
            "entries": {"type": "array", "items": entry},
            "next_cursor": {"type": ["string", "null"], "description": "pass as cursor for the next page"},
        },
    }
    text = {"type": "string", "maxLength": MAX_KEY}
    paths = {
        "/storage": {
            "get": _op(
                "Scopes holding storage keys",
                answer={"type": "object", "properties": {"scopes": {"type": "array", "items": text}}},
            )
        },
        "/storage/{scope}": {
            "get": _op(
                "List live keys of a scope, in key order",
                params={"scope": scope},
                query={"prefix": text, "cursor": text, "limit": _limit(500, 50)},
                answer=listing,
            )
        },
        "/storage/{scope}/{key}": {
            "get": _op("A key's value", params=address, answer=entry),
            "put": _op(
                "Set a key (replacing its value and expiry)",
                role="editor",
                params=address,
                answer=entry,
                body={
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "value": {"description": "any JSON, at most 64 KiB"},
                        "ttl_s": {
                            "type": ["number", "null"],
                            "minimum": MIN_TTL_S,
                            "maximum": MAX_TTL_S,
                            "description": "seconds until it expires; null or absent: never",
                        },
                    },
                },
            ),
            "delete": _op("Delete a key", ok=204, role="editor", params=address),
        },
    }
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"]["400"] = _error("a malformed scope, key or query parameter")
    return paths


def _in_project(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation that names a project: one the caller cannot see is a 404."""
    operation["responses"]["404"] = _error("no such project (or not one of the caller's)")
    return operation


def _table_and_secret_paths() -> dict[str, Any]:
    """Lookup tables (editors write, viewers read) and named secrets (admins write, values never read)."""
    table_name = {"type": "string", "pattern": tables.NAME_PATTERN.pattern}
    table = {"table_name": table_name}
    project = {"type": ["integer", "string"], "description": "a project id or name"}
    secret = {"name": {"type": "string", "pattern": named_secrets.NAME_PATTERN.pattern}}
    column = {
        "type": "string",
        "minLength": 1,
        "maxLength": tables.MAX_COLUMN_NAME,
        "pattern": r"^\S(.*\S)?$",
    }
    cell = {"type": ["string", "number", "boolean", "null"]}
    rows = {
        "type": "array",
        "maxItems": tables.MAX_ROWS,
        "items": {"type": "object", "additionalProperties": cell},
    }
    rows_body: dict[str, Any] = {
        "description": "row objects (column: value), or {rows: [...]}; or text/csv with a header row",
        "anyOf": [
            rows,
            {
                "type": "object",
                "required": ["rows"],
                "additionalProperties": False,
                "properties": {"rows": rows},
            },
        ],
    }
    replace_rows = _op("Replace every row (JSON or text/csv)", body=rows_body, role="editor", params=table)
    replace_rows["requestBody"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    value = {"type": "string", "minLength": MIN_SECRET_LENGTH, "maxLength": named_secrets.MAX_VALUE_CHARS}
    return {
        "/tables": {
            "get": _in_project(
                _op("List the lookup tables of the caller's projects", query={"project": project})
            ),
            "post": _in_project(
                _op(
                    "Create a lookup table (in `project`, else the token's project, else the default one)",
                    role="editor",
                    ok=201,
                    body={
                        "type": "object",
                        "required": ["name", "columns", "key"],
                        "properties": {
                            "name": table_name,
                            "columns": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": tables.MAX_COLUMNS,
                                "uniqueItems": True,
                                "items": column,
                            },
                            "key": {"type": "string", "description": "one of the columns"},
                            "project": project,
                        },
                    },
                )
            ),
        },
        "/tables/{table_name}": {
            "get": _op("A lookup table's definition and row count", params=table),
            "delete": _op("Delete a lookup table and its rows", ok=204, role="editor", params=table),
        },
        "/tables/{table_name}/rows": {
            "get": _op(
                "The rows in table order (CSV with Accept: text/csv)",
                params=table,
                query={
                    "offset": {"type": "integer", "minimum": 0, "maximum": tables.MAX_ROWS},
                    "limit": {"type": "integer", "minimum": 1, "maximum": tables.MAX_ROWS},
                },
            ),
            "put": replace_rows,
        },
        "/secrets": {
            "get": _op("List named secrets: names and times, never values"),
            "post": _op(
                "Create a named secret (write-only)",
                role="admin",
                ok=201,
                body={
                    "type": "object",
                    "required": ["name", "value"],
                    "properties": {"name": secret["name"], "value": value},
                },
            ),
        },
        "/secrets/{name}": {
            "put": _op(
                "Replace a named secret's value",
                role="admin",
                params=secret,
                body={"type": "object", "required": ["value"], "properties": {"value": value}},
            ),
            "delete": _op("Delete a named secret", ok=204, role="admin", params=secret),
        },
    }


def _rebase(schema: Any) -> Any:
    """Point the recipe schema's internal $refs at components."""
    if isinstance(schema, dict):
        return {
            k: (
                f"#/components/schemas/Recipe_{v.rsplit('/', 1)[-1]}"
                if k == "$ref" and isinstance(v, str)
                else _rebase(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


@api_blueprint.get("/openapi.json")
@public
def openapi_json() -> Response:
    return reply(document(runtime().registry))


def project_paths() -> dict[str, Any]:
    """Projects, their members, moving a recipe and lending a connection (hub.projects)."""
    name = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NAME_PATTERN}
    pid, ref = {"project_id": ID}, {"oneOf": [ID, name], "description": "a project id or name"}
    project = {
        "type": "object",
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "archived": {"type": "boolean"},
            "archived_at": {"type": ["string", "null"]},
            "recipes": {"type": "integer"},
            "connections": {"type": "integer"},
        },
    }
    name_body = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": name},
    }
    member = {"project_id": ID, "user_id": ID}
    role_body = {
        "type": "object",
        "required": ["role"],
        "properties": {"role": {"enum": ["owner", "editor", "operator", "viewer"]}},
    }
    share = {"connection_id": ID, "project": {"type": "string", "description": "a project id or name"}}
    shared = {"type": "object", "properties": {"shared_with": {"type": "array", "items": {"type": "string"}}}}
    return {
        "/projects": {
            "get": _op("Projects the caller may see", query={"archived": {"type": "boolean"}}),
            "post": _op("Create a project", role="admin", ok=201, body=name_body, answer=project),
        },
        "/projects/{project_id}": {
            "get": _op("A project, with the caller's role in it", params=pid, answer=project),
            "put": _op("Rename a project", role="owner", params=pid, body=name_body, answer=project),
        },
        "/projects/{project_id}/archive": {
            "post": _op("Archive a project whose recipes are all disabled", role="owner", params=pid)
        },
        "/projects/{project_id}/members": {"get": _op("Members and their roles", params=pid)},
        "/projects/{project_id}/members/{user_id}": {
            "put": _op("Give a user a role here", role="owner", params=member, body=role_body),
            "delete": _op("Remove a member", role="owner", ok=204, params=member),
        },
        "/recipes/{recipe_id}/move": {
            "post": _op(
                "Move a recipe to another project (its connections must be reachable there)",
                role="editor",
                params={"recipe_id": ID},
                body={"type": "object", "required": ["project"], "properties": {"project": ref}},
            )
        },
        "/connections/{connection_id}/shares/{project}": {
            "put": _op(
                "Let a project's recipes use this connection", role="owner", params=share, answer=shared
            ),
            "delete": _op("Stop lending this connection", role="owner", params=share, answer=shared),
        },
    }


def _template_schema() -> dict[str, Any]:
    """recipes/template.schema.json, its $defs inlined (components hold one $defs: the recipe's)."""
    schema = {k: v for k, v in template_schema().items() if k not in ("$schema", "$id")}
    defs = schema.pop("$defs")

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


def template_paths() -> dict[str, Any]:
    """Recipe templates (hub.templates): the catalogue, installing one, any recipe as a template."""
    template = {"$ref": "#/components/schemas/Template"}
    name = {
        "template_name": {"type": "string", "pattern": template_schema()["properties"]["name"]["pattern"]}
    }
    categories = {"enum": list(CATEGORIES)}
    summary = {"type": "object", "description": "a template without its recipe"}
    install = _op(
        "Install a template as a draft (disabled) recipe in a project where the caller is an editor",
        role="editor",
        params=name,
        ok=201,
        answer={"type": "object", "description": "the new recipe, as GET /recipes/{recipe_id} answers"},
        body={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "values": {
                    "type": "object",
                    "description": "parameter name -> value; a connection parameter takes a connection id or "
                    "name; parameters left out take their default",
                },
                "project": {"oneOf": [ID, {"type": "string"}], "description": "a project id or name"},
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "description": "the recipe's name",
                },
            },
        },
    )
    install["responses"]["404"] = _error("no such template, or no such project (or not one of the caller's)")
    install["responses"]["422"] = _error(
        "details lists every bad, missing or unknown parameter as {path: parameters.<name>, message}, "
        "or the filled recipe's problems as a recipe save reports them"
    )
    export = _op(
        "The recipe's current version as a template: connections and literal secrets become parameters",
        params={"recipe_id": ID},
        query={"name": name["template_name"], "category": categories},
        answer=template,
    )
    return {
        "/templates": {
            "get": _op(
                "The recipe template catalogue",
                query={"category": categories, "system": {"type": "string"}, "q": {"type": "string"}},
                answer={"type": "object", "properties": {"templates": {"type": "array", "items": summary}}},
            )
        },
        "/templates/{template_name}": {
            "get": _op("A template with its recipe", params=name, answer=template)
        },
        "/templates/{template_name}/install": {"post": install},
        "/recipes/{recipe_id}/template": {"get": export},
    }
