"""Connector translations (hub.sdk.i18n): catalogues keyed by English text, applied to a display copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hub.registry import built_in_registry
from hub.sdk import Action, BearerAuth, Connector
from hub.sdk.i18n import ENUM_TITLES, _read, localize, shipped_locales, untranslated, visible_strings


class Ship(Action):
    key = "ship"
    title = "Ship an order"
    description = "Sends the parcel."
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "speed": {"title": "Speed", "enum": ["fast", "slow", 3]},
            "box": {"type": "object", "properties": {"size": {"title": "Size", "description": "In cm."}}},
            "tags": {"type": "array", "items": {"title": "Tag"}},
        },
    }


class Parcels(Connector):
    id = "parcels"
    name = "Parcels"
    description = "Send parcels."
    auth = BearerAuth()
    actions = (Ship,)
    translations: ClassVar[dict[str, dict[str, str]]] = {
        "zh": {
            "Parcels": "包裹",
            "Send parcels.": "寄送包裹。",
            "Ship an order": "发货",
            "Sends the parcel.": "寄出包裹。",
            "Speed": "速度",
            "fast": "快",
            "Size": "尺寸",
            "In cm.": "单位厘米。",
            "box": "箱子",
        }
    }


def test_a_localized_copy_translates_what_is_shown_and_keeps_the_rules() -> None:
    original = Parcels()
    shown = original.localized("zh")
    assert (shown.name, shown.description) == ("包裹", "寄送包裹。")
    action = shown.action("ship")
    assert action is not None and (action.title, action.description) == ("发货", "寄出包裹。")
    speed = action.input_schema["properties"]["speed"]
    assert speed["title"] == "速度" and speed["enum"] == ["fast", "slow", 3]
    assert speed[ENUM_TITLES] == ["快", "slow", 3]  # untranslated values show as they are
    assert action.input_schema["properties"]["box"]["properties"]["size"] == {
        "title": "尺寸",
        "description": "单位厘米。",
    }
    assert shown.connection_schema()["properties"]["token"]["title"] == "令牌"  # the SDK's own catalogue
    # the original is untouched, and the copy is made once per locale
    assert original.name == "Parcels" and Ship.input_schema["properties"]["speed"]["title"] == "Speed"
    assert original.connection_schema()["properties"]["token"]["title"] == "Token"
    assert original.localized("zh") is shown and original.localized("en") is original


def test_untranslated_names_every_visible_string_without_an_entry() -> None:
    connector = Parcels()
    assert "Tag" in visible_strings(connector) and "slow" in visible_strings(connector)
    # "Token" comes from the SDK's catalogue; "tags" labels its field, having no title
    assert untranslated(connector, "zh") == ["slow", "Tag", "tags"]
    assert untranslated(connector, "fr") == visible_strings(connector)
    assert shipped_locales(connector) == ["zh"]


def test_a_file_next_to_the_connector_is_read_and_inline_entries_win(tmp_path: Path) -> None:
    http = built_in_registry().get("http")
    assert http is not None
    assert http.localized("zh").action("request").title == "发送 HTTP 请求"  # type: ignore[union-attr]
    assert "zh" in shipped_locales(http)

    class Overriding(type(http)):  # type: ignore[misc]
        translations: ClassVar[dict[str, dict[str, str]]] = {"zh": {"Make an HTTP request": "请求"}}

    assert localize(Overriding(), "zh").action("request").title == "请求"  # type: ignore[union-attr]


def test_a_catalogue_that_is_not_text_to_text_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "zh.json"
    path.write_text(json.dumps({"Title": ["not", "text"]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"zh\.json: a translation catalogue is a JSON object"):
        _read(path)
