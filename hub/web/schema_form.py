"""Forms generated from a connector's JSON Schema, and form data parsed back into JSON values.

One `Field` per schema property: text, number, select (enum), yes/no (boolean), nested groups
(objects with properties), lines (arrays of scalars), JSON (free-form objects and arrays) and secrets
(write-only password inputs that never show the stored value). Keys the schema does not describe
ride along in a hidden field so a document survives a trip through the form unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from hub import jsonutil, templating
from hub.recipes import REDACTED
from hub.sdk.i18n import ENUM_TITLES

EXTRA = "__extra"
SECRET_SET = "__set"  # noqa: S105 (a form-field suffix, not a password)
SCALARS = {"string", "number", "integer", "boolean"}


@dataclass
class Field:
    name: str
    path: str
    label: str
    kind: str  # text, textarea, number, select, bool, secret, json, lines, group
    value: str = ""
    help: str = ""
    placeholder: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    secret_set: bool = False
    templatable: bool = False
    error: str | None = None
    extra: str = ""  # JSON of keys the schema does not describe (groups only)

    @property
    def dom_id(self) -> str:
        return "f-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in self.name)


def _types(spec: dict[str, Any]) -> set[str]:
    kind = spec.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else set()


def is_secret(spec: dict[str, Any]) -> bool:
    return bool(spec.get("writeOnly") or spec.get("x-secret"))


def field_kind(spec: dict[str, Any]) -> str:
    types = _types(spec)
    if is_secret(spec):
        return "secret"
    if spec.get("readOnly"):
        return "readonly"
    if "enum" in spec:
        return "select"
    if types == {"boolean"}:
        return "bool"
    if types and types <= {"integer", "number"}:
        return "number"
    if types == {"object"} and isinstance(spec.get("properties"), dict) and spec["properties"]:
        return "group"
    if (
        types == {"array"}
        and _types(spec.get("items") or {}) & SCALARS
        and not (_types(spec.get("items") or {}) - SCALARS)
    ):
        return "lines"
    if types and types <= SCALARS:
        if spec.get("format") in ("textarea", "multiline") or spec.get("x-multiline"):
            return "textarea"
        return "text"
    return "json"


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return jsonutil.dumps(value)


def build_fields(
    schema: dict[str, Any] | None,
    values: dict[str, Any] | None,
    prefix: str,
    path: str,
    *,
    templatable: bool,
    errors: dict[str, str] | None = None,
    secrets_set: set[str] | None = None,
) -> list[Field]:
    """The form fields for `schema`, filled with `values`; errors keyed by JSON path go beside them."""
    schema = schema or {}
    values = values or {}
    errors = errors if errors is not None else {}
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = []
    for key, spec in props.items():
        if not isinstance(spec, dict):
            continue
        name, fpath = f"{prefix}.{key}", f"{path}.{key}"
        value = values.get(key)
        kind = field_kind(spec)
        if kind == "secret" and isinstance(value, str) and templating.is_template(value):
            kind = "text"
        item = Field(
            name=name,
            path=fpath,
            label=str(spec.get("title") or key),
            kind=kind,
            help=str(spec.get("description") or ""),
            required=key in required,
            templatable=templatable and kind not in ("secret", "group"),
            error=errors.pop(fpath, None),
        )
        if "default" in spec and kind != "group":
            item.placeholder = _show(spec["default"])
        if kind == "secret":
            item.secret_set = (value is not None and value != "") or key in (secrets_set or set())
        elif kind == "group":
            item.children = build_fields(
                spec,
                value if isinstance(value, dict) else {},
                name,
                fpath,
                templatable=templatable,
                errors=errors,
            )
            item.extra = _extra_json(spec, value if isinstance(value, dict) else {})
        elif kind == "select":
            titles = spec.get(ENUM_TITLES) or spec["enum"]  # from a translated schema (hub.sdk.i18n)
            item.options = [(_show(v), _show(t)) for v, t in zip(spec["enum"], titles, strict=False)]
            item.value = _show(value)
        elif kind == "bool":
            item.options = [("true", _("Yes")), ("false", _("No"))]
            item.value = _show(value)
        elif kind == "lines":
            item.value = "\n".join(_show(v) for v in value) if isinstance(value, list) else _show(value)
        elif kind == "json":
            item.value = (
                ""
                if value is None
                else (value if isinstance(value, str) else jsonutil.dumps(value, indent=2))
            )
        else:
            item.value = _show(value)
            if kind == "text" and "\n" in item.value:
                item.kind = "textarea"
        if kind in ("select", "bool"):  # "(default: ...)" names the default as its option does
            item.placeholder = dict(item.options).get(item.placeholder, item.placeholder)
        fields.append(item)
    return fields


def _extra_json(schema: dict[str, Any], values: dict[str, Any]) -> str:
    props = schema.get("properties") or {}
    extra = {k: v for k, v in values.items() if k not in props}
    return jsonutil.dumps(extra) if extra else ""


def extra_field(schema: dict[str, Any] | None, values: dict[str, Any] | None) -> str:
    return _extra_json(schema or {}, values or {})


def load_extra(text: str) -> dict[str, Any]:
    """The JSON object in a hidden extra-keys field; ValueError when it is anything else."""
    if not text.strip():
        return {}
    value = jsonutil.strict_loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


class FormErrors(dict[str, str]):
    """JSON path -> message for values the form could not turn into JSON."""


def read_number(text: str) -> int | Decimal:
    """A JSON number as the API reads it (decimals exact); NaN, Infinity and anything else refused."""
    value = jsonutil.strict_loads(text)
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite():
        raise ValueError(text)
    return value


def _number(text: str, spec: dict[str, Any]) -> Any:
    value = read_number(text)
    if _types(spec) == {"integer"}:
        if value != int(value):
            raise ValueError(text)
        return int(value)
    return value


def _scalar(text: str, spec: dict[str, Any]) -> Any:
    """A text value for a property of several scalar types: a number or yes/no when it reads as one."""
    types = _types(spec)
    if types == {"string"} or not types:
        return text
    try:
        value = jsonutil.strict_loads(text)
    except ValueError:
        return text
    if isinstance(value, bool) and "boolean" in types:
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and types & {"number", "integer"}:
        return value if Decimal(value).is_finite() else text
    return text


def parse_fields(
    schema: dict[str, Any] | None,
    form: MultiDict[str, str],
    prefix: str,
    path: str,
    *,
    templatable: bool,
    errors: FormErrors,
    redacted_when_set: bool = False,
) -> dict[str, Any]:
    """The JSON object the submitted fields describe; empty fields are left out.

    An empty secret stays out (a connection keeps its stored value); in a recipe (redacted_when_set)
    it becomes the [REDACTED] marker, which saving replaces with the previous version's value.
    """
    schema = schema or {}
    out: dict[str, Any] = {}
    try:
        out.update(load_extra(form.get(f"{prefix}.{EXTRA}") or ""))
    except ValueError:
        errors[path] = _("The hidden extra fields are not valid JSON.")
    for key, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        name, fpath = f"{prefix}.{key}", f"{path}.{key}"
        kind = field_kind(spec)
        if kind == "readonly":
            continue
        if kind == "group":
            nested = parse_fields(
                spec,
                form,
                name,
                fpath,
                templatable=templatable,
                errors=errors,
                redacted_when_set=redacted_when_set,
            )
            if nested or form.get(f"{name}.{EXTRA}"):
                out[key] = nested
            continue
        raw = form.get(name)
        if raw is None:
            continue
        text = raw.strip() if kind not in ("textarea", "json", "secret") else raw
        if kind == "secret":
            if text:
                out[key] = text
            elif redacted_when_set and form.get(f"{name}.{SECRET_SET}"):
                out[key] = REDACTED
            continue
        if not text.strip():
            continue
        if templatable and templating.is_template(text) and kind not in ("json", "lines"):
            out[key] = text
            continue
        try:
            out[key] = _parse_one(kind, text, spec)
        except ValueError:
            errors[fpath] = _messages()[kind]
            if kind == "number" and _types(spec) == {"integer"} and _is_number(text):
                errors[fpath] = _("Enter a whole number (no decimals): %(value)s is not one.", value=text)
            out[key] = text  # shown again as typed; the error keeps the form from being saved
    return out


def _is_number(text: str) -> bool:
    try:
        read_number(text)
    except ValueError:
        return False
    return True


def _messages() -> dict[str, str]:
    return {
        "number": _("Enter a number."),
        "select": _("Choose one of the listed values."),
        "bool": _("Choose yes or no."),
        "json": _("Enter valid JSON (or a {{ template }})."),
        "lines": _("Enter one value per line."),
        "text": _("This value is not valid."),
        "textarea": _("This value is not valid."),
    }


def _parse_one(kind: str, text: str, spec: dict[str, Any]) -> Any:
    if kind == "number":
        return _number(text, spec)
    if kind == "select":
        for option in spec["enum"]:
            if _show(option) == text:
                return option
        raise ValueError(text)
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if kind == "lines":
        item_spec = spec.get("items") or {}
        return [_scalar(line.strip(), item_spec) for line in text.splitlines() if line.strip()]
    if kind == "json":
        try:
            return jsonutil.strict_loads(text)
        except ValueError:
            if templating.is_template(text):
                return text.strip()
            raise
    return _scalar(text, spec)
