"""The install form of a recipe template, generated from its parameters, and read back into values.

A connection parameter is a list of the connections of its connector that recipes of the current
project may use; a value parameter is the field its JSON Schema calls for (hub.web.schema_form), so
a number is a number input, an enum a list, a list of texts one per line. Problems go beside the
field they concern under the JSON path `parameters.<name>`, the path install errors name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from hub.templates.params import text_in
from hub.web.schema_form import Field, FormErrors, build_fields, parse_fields

PREFIX = "p"
PATH = "parameters"


@dataclass
class ConnectionChoice:
    """A connection parameter: a list of the usable connections of one connector."""

    name: str
    label: str
    help: str
    connector: str
    connector_label: str
    options: list[tuple[str, str]]  # (connection id, connection name)
    value: str = ""
    error: str | None = None
    kind: str = "connection"

    @property
    def dom_id(self) -> str:
        return f"{PREFIX}-{self.name}"


@dataclass
class InstallForm:
    """What the install form draws: one item per parameter, in the template's order."""

    items: list[ConnectionChoice | Field] = field(default_factory=list)
    top_errors: list[str] = field(default_factory=list)


def _value_schema(param: dict[str, Any], lang: str) -> dict[str, Any]:
    """The parameter as the one property of an object schema, so schema_form can draw and read it."""
    spec = dict(param.get("schema") or {})
    spec["title"] = text_in(param.get("title"), lang) or param["name"]
    if param.get("description"):
        spec["description"] = text_in(param["description"], lang)
    spec.pop("default", None)  # the input is filled with the default instead of hinting at it
    return {
        "type": "object",
        "properties": {param["name"]: spec},
        "required": [] if "default" in param else [param["name"]],
    }


def initial_values(parameters: list[dict[str, Any]], *, examples: bool) -> dict[str, Any]:
    """Each value parameter's default, or its example when asked (and when it has no default)."""
    values: dict[str, Any] = {}
    for param in parameters:
        if param.get("kind") != "value":
            continue
        if examples and "example" in param:
            values[param["name"]] = param["example"]
        elif "default" in param:
            values[param["name"]] = param["default"]
    return values


def build_form(
    parameters: list[dict[str, Any]],
    values: dict[str, Any],
    errors: dict[str, str],
    connections: dict[str, list[tuple[str, str]]],
    connector_labels: dict[str, str],
    lang: str,
) -> InstallForm:
    """The form for `parameters` filled with `values`; errors keyed `parameters.<name>` go beside
    their fields and the others to the top of the form."""
    errors = dict(errors)
    form = InstallForm()
    for param in parameters:
        name = param["name"]
        if param.get("kind") == "connection":
            connector = str(param.get("connector") or "")
            form.items.append(
                ConnectionChoice(
                    name=name,
                    label=text_in(param.get("title"), lang) or name,
                    help=text_in(param.get("description"), lang),
                    connector=connector,
                    connector_label=connector_labels.get(connector, connector),
                    options=connections.get(connector, []),
                    value=str(values.get(name) or ""),
                    error=errors.pop(f"{PATH}.{name}", None),
                )
            )
        else:
            schema = _value_schema(param, lang)
            form.items.extend(build_fields(schema, values, PREFIX, PATH, templatable=False, errors=errors))
    form.top_errors = [message if path == "$" else f"{path}: {message}" for path, message in errors.items()]
    return form


def read_form(
    parameters: list[dict[str, Any]],
    form: MultiDict[str, str],
    connections: dict[str, list[tuple[str, str]]],
    lang: str,
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """(the values to install with, the values as typed to show again, problems by JSON path).

    An empty value parameter with a default is left out so install fills the default in; a connection
    is sent as its id, and must be one the list offered."""
    errors = FormErrors()
    values: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for param in parameters:
        name = param["name"]
        path = f"{PATH}.{name}"
        if param.get("kind") == "connection":
            chosen = (form.get(f"{PREFIX}.{name}") or "").strip()
            shown[name] = chosen
            offered = {cid for cid, _name in connections.get(str(param.get("connector") or ""), [])}
            if not chosen:
                errors[path] = _("Choose a connection.")
            elif chosen not in offered:
                errors[path] = _("Choose one of the listed connections.")
            else:
                values[name] = int(chosen)
            continue
        read = parse_fields(_value_schema(param, lang), form, PREFIX, PATH, templatable=False, errors=errors)
        if name in read:
            shown[name] = read[name]
            if path not in errors:
                values[name] = read[name]
        elif "default" not in param:
            errors[path] = _("This field is required.")
    return values, shown, errors
