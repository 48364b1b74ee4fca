"""Recipe documents as text: JSON or YAML in, with one set of rules for the API, the editor and the CLI.

JSON goes through the strict policy (no NaN, lone surrogates or runaway nesting); YAML is read safely
without aliases (a few bytes of anchors can expand into a huge document) and must then hold only what
JSON could, so either format stores the same way.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml

from hub import jsonutil

Format = Literal["json", "yaml"]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class DocumentError(ValueError):
    """The text is not a document the hub can store; the message says why, naming the format."""


class NoAliasLoader(yaml.SafeLoader):
    """safe_load without anchors/aliases, which can expand a small body into a huge document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def parse_document(text: str | bytes, fmt: Format) -> Any:
    if fmt == "json":
        try:
            return jsonutil.strict_loads(text)
        except ValueError as exc:
            raise DocumentError(f"not valid JSON: {exc}") from exc
    try:
        loaded = yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 (a SafeLoader without aliases)
        jsonutil.check_storable(loaded)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise DocumentError(f"not valid YAML: {exc}") from exc
    return loaded
