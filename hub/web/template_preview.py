"""A template's recipe as its page previews it: the editor's step cards need a plain recipe, so each
parameter marker is filled for drawing: a value parameter with its default, or with its title in
angle quotes when it has none (the person fills it in), and connections left unnamed."""

from __future__ import annotations

from typing import Any

from hub.templates.catalogue import Template
from hub.templates.params import substitute


def preview_document(template: Template, lang: str) -> dict[str, Any]:
    """The template's recipe with every `{"$param": NAME}` replaced for drawing, never for saving."""
    values: dict[str, Any] = {}
    for param in template.parameters:
        if param.kind == "connection":
            values[param.name] = None
        else:
            values[param.name] = (
                param.default if param.has_default else f"‹{param.title(lang) or param.name}›"
            )
    return substitute(template.recipe, values)
