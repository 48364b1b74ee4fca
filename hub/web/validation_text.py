"""JSON Schema errors in the page's language: jsonschema words them in English only.

The core raises `SchemaViolation` with the keyword that failed and what the schema expected; a page
in another language says the same from these templates. English pages keep jsonschema's message,
which quotes the offending value.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from hub.recipes import SchemaViolation


def _type_name(name: Any) -> str:
    names = {
        "string": _("text"),
        "integer": _("a whole number"),
        "number": _("a number"),
        "boolean": _("yes or no"),
        "object": _("an object"),
        "array": _("a list"),
        "null": _("empty"),
    }
    kinds = name if isinstance(name, list) else [name]
    return _(" or ").join(names.get(str(kind), str(kind)) for kind in kinds)


def _format_name(name: Any) -> str:
    names = {
        "email": _("email address"),
        "uri": _("URL"),
        "date-time": _("date and time"),
        "date": _("date"),
        "time": _("time"),
        "ipv4": _("IPv4 address"),
        "ipv6": _("IPv6 address"),
        "hostname": _("host name"),
    }
    return names.get(str(name), str(name))


def _values(expected: Any) -> str:
    return ", ".join(str(v) for v in expected) if isinstance(expected, list) else str(expected)


def schema_message(exc: SchemaViolation, english: str) -> str:
    """The keyword's own sentence in the page's language (English pages too: the validator's wording
    names Python values); `english`, the message without its path, for a keyword not listed."""
    expected = exc.expected
    sentences = {
        "required": lambda: _("This field is required."),
        "type": lambda: _("Enter %(kind)s.", kind=_type_name(expected)),
        "enum": lambda: _("Choose one of: %(values)s.", values=_values(expected)),
        "const": lambda: _("Only %(value)s is allowed here.", value=expected),
        "minLength": lambda: _("Enter at least %(count)s characters.", count=expected),
        "maxLength": lambda: _("Enter at most %(count)s characters.", count=expected),
        "pattern": lambda: _("This text does not have the expected form (%(pattern)s).", pattern=expected),
        "format": lambda: _("This is not a valid %(format)s.", format=_format_name(expected)),
        "minimum": lambda: _("Enter %(limit)s or more.", limit=expected),
        "maximum": lambda: _("Enter %(limit)s or less.", limit=expected),
        "exclusiveMinimum": lambda: _("Enter more than %(limit)s.", limit=expected),
        "exclusiveMaximum": lambda: _("Enter less than %(limit)s.", limit=expected),
        "minItems": lambda: _("Give at least %(count)s items.", count=expected),
        "maxItems": lambda: _("Give at most %(count)s items.", count=expected),
        "uniqueItems": lambda: _("Each item may appear only once."),
        "additionalProperties": lambda: _("This object has fields that are not allowed here."),
        "minProperties": lambda: _("Give at least %(count)s fields.", count=expected),
        "maxProperties": lambda: _("Give at most %(count)s fields.", count=expected),
    }
    sentence = sentences.get(exc.keyword)
    return sentence() if sentence is not None else _("This value is not valid.")
