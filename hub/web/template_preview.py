"""A template's recipe as its page previews it: the editor's step cards need a plain recipe, so each
parameter marker is filled with the parameter's default or example (connections left unnamed)."""

from __future__ import annotations

import copy
from typing import Any

from hub.templates import params


def preview_document(template: Any) -> dict[str, Any]:
    """The template's recipe with every `{"$param": NAME}` replaced for drawing, never for saving."""
    values: dict[str, Any] = {}
    for param in template.document.get("parameters") or []:
        if param.get("kind") == "connection":
            values[param["name"]] = None
        else:
            values[param["name"]] = param.get("default", param.get("example"))
    return params.substitute(copy.deepcopy(template.recipe), values)
