"""Connector strings in other languages, for the web UI.

A catalogue maps the English text a connector declares to its translation: the connector's name and
description, each trigger's and action's title and description, and in their JSON Schemas (connection,
config, input, output) every `title`, `description` and string `enum` value. Catalogues are keyed by
the English text, so a connector's code stays as it is and a translator needs no paths.

A connector ships them as `translations/<locale>.json` next to the module that defines its class (a
JSON object of English text to translation), or inline in `Connector.translations`; inline entries
win. The SDK's own strings (the auth kinds' fields, "Base URL") are in hub/sdk/translations/ and
apply to every connector. `localize()` gives a display copy: same keys, enum values and rules, with
translated annotations, and an `x-enum-titles` list beside an `enum` whose values have translations.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from hub.sdk.connector import Connector

FOLDER = "translations"
ENUM_TITLES = "x-enum-titles"
ANNOTATIONS = ("title", "description")
NOT_SCHEMAS = frozenset({"enum", "const", "default", "examples", ENUM_TITLES, *ANNOTATIONS})
SDK_CATALOGUES = Path(__file__).resolve().parent / FOLDER

C = TypeVar("C", bound="Connector")


@lru_cache(maxsize=256)
def _read(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: a translation catalogue is a JSON object of text to text")
    return data


def catalogue_folder(connector: Connector) -> Path | None:
    """The `translations` folder next to the module defining the connector's class (if it has a file)."""
    module = sys.modules.get(type(connector).__module__)
    source = getattr(module, "__file__", None)
    return Path(source).resolve().parent / FOLDER if source else None


def catalogue(connector: Connector, locale: str) -> dict[str, str]:
    """The SDK's strings, then the connector's file, then its inline `translations`, for `locale`."""
    words = dict(_read(SDK_CATALOGUES / f"{locale}.json"))
    folder = catalogue_folder(connector)
    if folder is not None:
        words.update(_read(folder / f"{locale}.json"))
    words.update(connector.translations.get(locale, {}))
    return words


def shipped_locales(connector: Connector) -> list[str]:
    """The locales the connector has a catalogue for, as a file or inline."""
    folder = catalogue_folder(connector)
    files = {path.stem for path in folder.glob("*.json")} if folder is not None and folder.is_dir() else set()
    return sorted(files | set(connector.translations))


def untranslated(connector: Connector, locale: str) -> list[str]:
    """The visible strings of `connector` its catalogue for `locale` leaves in English."""
    words = catalogue(connector, locale)
    return [text for text in visible_strings(connector) if text not in words]


def _schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every (sub)schema object of a JSON Schema: properties, items, oneOf, if/then, $defs, ..."""
    if isinstance(schema, list):
        for item in schema:
            yield from _schema_nodes(item)
    elif isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    yield from _schema_nodes(sub)
            elif key not in NOT_SCHEMAS and isinstance(value, dict | list):
                yield from _schema_nodes(value)


def _form_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """The (sub)schemas a form draws as fields: through properties and items, not if/oneOf/..."""
    if isinstance(schema, dict):
        yield schema
        props = schema.get("properties")
        for sub in props.values() if isinstance(props, dict) else ():
            yield from _form_nodes(sub)
        yield from _form_nodes(schema.get("items"))


def _untitled(node: dict[str, Any]) -> list[str]:
    """Keys of properties without a title: a form labels those fields with the key itself."""
    props = node.get("properties")
    if not isinstance(props, dict):
        return []
    return [key for key, sub in props.items() if isinstance(sub, dict) and not sub.get("title")]


def schema_strings(schema: Any, *, form: bool = True) -> list[str]:
    """The English a person sees of a schema: titles, descriptions, string enum values and, in a
    schema drawn as a form (`form`), the keys that label untitled fields."""
    found: list[str] = []
    for node in _schema_nodes(schema):
        found.extend(node[k] for k in ANNOTATIONS if isinstance(node.get(k), str) and node[k])
        if isinstance(node.get("enum"), list):
            found.extend(v for v in node["enum"] if isinstance(v, str) and v)
    if form:
        for node in _form_nodes(schema):
            found.extend(_untitled(node))
    return found


def visible_strings(connector: Connector) -> list[str]:
    """Everything of `connector` the UI shows as text, in order and without repeats."""
    found = [connector.name, connector.description, *schema_strings(connector.connection_schema())]
    parts: list[Any] = [*connector.trigger_map.values(), *connector.action_map.values()]
    for part in parts:
        found += [part.title, part.description]
        for name in ("config_schema", "input_schema"):
            found += schema_strings(getattr(part, name, None))
        found += schema_strings(
            getattr(part, "output_schema", None), form=False
        )  # the picker shows keys as paths
    return [text for text in dict.fromkeys(found) if text]


def translate_schema(schema: Any, words: dict[str, str]) -> Any:
    """A copy of `schema` with translated titles and descriptions, and enum titles where known."""
    if not isinstance(schema, dict | list):
        return schema
    copied = copy.deepcopy(schema)
    for node in _form_nodes(copied):
        for key in _untitled(node):
            if key in words:
                node["properties"][key]["title"] = words[key]
    for node in _schema_nodes(copied):
        for key in ANNOTATIONS:
            if isinstance(node.get(key), str):
                node[key] = words.get(node[key], node[key])
        values = node.get("enum")
        if isinstance(values, list) and any(isinstance(v, str) and v in words for v in values):
            node[ENUM_TITLES] = [words.get(v, v) if isinstance(v, str) else v for v in values]
    return copied


def _translated_part(part: Any, words: dict[str, str], schemas: tuple[str, ...]) -> Any:
    clone = copy.copy(part)
    vars(clone).update(
        title=words.get(part.title, part.title),
        description=words.get(part.description, part.description),
        **{name: translate_schema(getattr(part, name), words) for name in schemas},
    )
    return clone


def localize(connector: C, locale: str) -> C:
    """A copy of `connector` for showing in `locale` (itself when there is nothing to translate).

    Only for display and form building: its triggers and actions still belong to the original."""
    words = catalogue(connector, locale)
    if not words:
        return connector
    clone = copy.copy(connector)
    vars(clone).pop("_localized", None)  # the original's cache of copies is not the copy's
    vars(clone).update(
        name=words.get(connector.name, connector.name),
        description=words.get(connector.description, connector.description),
        _words=words,
        _triggers={
            key: _translated_part(t, words, ("config_schema", "output_schema"))
            for key, t in connector.trigger_map.items()
        },
        _actions={
            key: _translated_part(a, words, ("input_schema", "output_schema"))
            for key, a in connector.action_map.items()
        },
    )
    return clone
