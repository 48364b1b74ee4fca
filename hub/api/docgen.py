"""The REST API reference in Markdown, rendered from the OpenAPI document so the two cannot drift.

`hub openapi --markdown --built-in > docs/api.md` regenerates docs/api.md; a test fails when the
committed page differs from what this module renders.
"""

from __future__ import annotations

import json
from typing import Any

ENUM_ALL = 10  # enums up to this long are shown whole; longer ones (connector ids) their first values
ENUM_SHOWN = 6
NESTING = 3  # levels of nested object fields listed as dotted rows
CONSTRAINTS = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("minItems", "items ≥ {}"),
    ("maxItems", "items ≤ {}"),
    ("pattern", "pattern `{}`"),
    ("default", "default `{}`"),
)
SCHEMA_PREFIX = "#/components/schemas/"


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cell(text: str) -> str:
    """Table cells may not hold a bare | or a line break."""
    return " ".join(text.replace("|", "\\|").split())


def _enum(values: list[Any]) -> str:
    if len(values) <= ENUM_ALL:
        return "one of " + ", ".join(f"`{_literal(v)}`" for v in values)
    shown = ", ".join(f"`{_literal(v)}`" for v in values[:ENUM_SHOWN])
    return f"one of {len(values)}: {shown}, …"


def _anchor(name: str) -> str:
    return name.lower().replace("_", "-")


def describe(schema: Any) -> str:
    """One line for a schema: its type, format and limits; objects and variants are only named."""
    if schema is True or schema == {}:
        return "any"
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(SCHEMA_PREFIX)
        return f"[{name}](#schema-{_anchor(name)})"
    parts: list[str] = []
    if "const" in schema:
        parts.append(f"`{_literal(schema['const'])}`")
    if "enum" in schema:
        parts.append(_enum(schema["enum"]))
    kinds = schema.get("type")
    if kinds:
        kind = " or ".join(kinds) if isinstance(kinds, list) else kinds
        if kind == "array" and "items" in schema:
            kind = f"array of {describe(schema['items'])}"
        if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            kind = f"object of {describe(schema['additionalProperties'])}"
        elif kind == "object" and schema.get("properties"):
            kind = "object with " + ", ".join(f"`{name}`" for name in schema["properties"])
        if "format" in schema:
            kind += f" ({schema['format']})"
        parts.append(kind)
    for word in ("oneOf", "anyOf"):
        if word in schema:
            variants = schema[word]
            if len(variants) <= 3:
                parts.append(" or ".join(f"({describe(v)})" for v in variants))
            else:
                parts.append(f"{word} {len(variants)} variants")
    for key, pattern in CONSTRAINTS:
        if key in schema:
            value = schema[key]
            parts.append(pattern.format(_literal(value) if key == "default" else value))
    text = ", ".join(parts) or "any"
    if schema.get("description"):
        text += f"; {schema['description']}"
    return text


def _condition(schema: dict[str, Any]) -> str:
    """An `if` clause in words: `type` is `"delay"`, or `type` absent."""
    if "anyOf" in schema:
        return " or ".join(_condition(option) for option in schema["anyOf"])
    if "not" in schema and set(schema["not"]) == {"required"}:
        return " and ".join(f"`{name}` absent" for name in schema["not"]["required"])
    words = [
        f"`{name}` is `{_literal(spec['const'])}`" for name, spec in schema.get("properties", {}).items()
    ]
    return " and ".join(words) or "always"


def _rows(schema: dict[str, Any], prefix: str, depth: int) -> list[str]:
    """One table row per field; fields of nested objects (and of array items) follow as dotted names."""
    required = set(schema.get("required") or ())
    rows = []
    for name, spec in (schema.get("properties") or {}).items():
        if spec is True:
            continue
        field = f"{prefix}{name}"
        rows.append(f"| `{field}` | {'yes' if name in required else ''} | {_cell(describe(spec))} |")
        inner = spec.get("items") if spec.get("type") == "array" else spec
        if depth < NESTING and isinstance(inner, dict) and inner.get("properties"):
            rows += _rows(inner, f"{field}{'[].' if inner is not spec else '.'}", depth + 1)
    return rows


def _properties(schema: dict[str, Any], lines: list[str]) -> None:
    rows = _rows(schema, "", 1)
    if rows:
        lines += ["| field | required | schema |", "|---|---|---|", *rows, ""]
    extra = schema.get("additionalProperties")
    if extra is False:
        lines += ["No other fields.", ""]
    elif isinstance(extra, dict):
        lines += [f"Other fields: {describe(extra)}.", ""]
    for rule in schema.get("allOf") or ():
        if "if" in rule and "then" in rule:
            lines.append(f"When {_condition(rule['if'])}:")
            lines.append("")
            _properties(rule["then"], lines)
    variants = schema.get("oneOf") or ()
    if len(variants) > 3:
        keyed = {next(iter(v.get("properties", {})), "") for v in variants}
        per = f", one per `{keyed.pop()}` value" if len(keyed) == 1 and "" not in keyed else ""
        lines += [
            f"Exactly one of {len(variants)} variants (`oneOf` in the OpenAPI document) applies{per}.",
            "",
        ]


def _schema_block(schema: Any, lines: list[str]) -> None:
    if isinstance(schema, dict) and ("properties" in schema or "allOf" in schema):
        _properties(schema, lines)
    else:
        lines += [describe(schema), ""]


def _operation(method: str, path: str, op: dict[str, Any], lines: list[str]) -> None:
    lines += [
        f"### `{method.upper()} {path}`",
        "",
        f"{op['summary']}. {op.get('description', '')}".strip(),
        "",
    ]
    params = op.get("parameters") or []
    if params:
        lines += ["| parameter | in | required | schema |", "|---|---|---|---|"]
        for param in params:
            needed = "yes" if param.get("required") else ""
            lines.append(
                f"| `{param['name']}` | {param['in']} | {needed} | {_cell(describe(param['schema']))} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body:
        types = ", ".join(f"`{t}`" for t in body["content"])
        need = "required" if body.get("required") else "optional (empty reads as `{}`)"
        lines += [f"Body ({types}, {need}):", ""]
        _schema_block(next(iter(body["content"].values()))["schema"], lines)
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, answer in sorted(op["responses"].items()):
        content = answer.get("content") or {}
        shape = describe(content["application/json"]["schema"]) if "application/json" in content else ""
        lines.append(f"| {status} | {_cell(answer['description'])} | {_cell(shape)} |")
    lines.append("")


def markdown(document: dict[str, Any]) -> str:
    """The whole reference: every path and method, then the shared schemas."""
    base = document["servers"][0]["url"]
    lines = [
        "# REST API reference",
        "",
        "<!-- Generated from the OpenAPI document by `hub openapi --markdown --built-in > docs/api.md`;",
        "     do not edit by hand (tests/docs/test_generated_docs.py checks it is current). -->",
        "",
        f"{document['info']['title']}, version {document['info']['version']}, OpenAPI "
        f"{document['openapi']}. Every path below is under `{base}`.",
        "Requests and answers are JSON; send `Authorization: Bearer <token>` (make one with",
        "`hub tokens create EMAIL` or `POST /users/{user_id}/tokens`). A running hub serves this",
        "document at `/api/v1/openapi.json`, listing the connectors installed there; this page lists",
        "the built-in ones. Errors answer",
        '`{"error": {"code": "...", "message": "...", "details": ...}}`; on a 422 `details.path` is the',
        "JSON path of the bad field, and for a recipe document `details` lists every problem found,",
        '`[{"path": "...", "message": "..."}, ...]`. Roles: viewer < editor < admin.',
        "",
        "## Operations",
        "",
    ]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            lines.append(f"- `{method.upper()} {path}`: {op['summary']}")
    lines.append("")
    for path, methods in document["paths"].items():
        lines += [f"## `{path}`", ""]
        for method, op in methods.items():
            _operation(method, path, op, lines)
    lines += ["## Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += [f'<a id="schema-{_anchor(name)}"></a>', "", f"### {name}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        _schema_block(schema, lines)
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
