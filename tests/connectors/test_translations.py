"""Every installed connector speaks Chinese: each string the UI shows of it has a zh translation.

A connector merged without one fails here, naming the strings (add them to the connector's
translations/zh.json; docs/connector-sdk.md, "Translations")."""

from __future__ import annotations

import json

import pytest

from hub.registry import default_registry
from hub.sdk.i18n import catalogue_folder, untranslated, visible_strings

INSTALLED = [connector.id for connector in default_registry().all()]


@pytest.mark.parametrize("connector_id", INSTALLED)
def test_every_visible_string_has_a_chinese_translation(connector_id: str) -> None:
    connector = default_registry().get(connector_id)
    assert connector is not None
    missing = untranslated(connector, "zh")
    assert not missing, f"{connector_id}: no zh translation for {json.dumps(missing, ensure_ascii=False)}"


@pytest.mark.parametrize("connector_id", INSTALLED)
def test_catalogues_hold_only_strings_the_connector_shows(connector_id: str) -> None:
    """Entries left over from renamed fields would hide that the new text is untranslated.

    Connectors defined in one folder (hub/utilities) share its catalogue."""
    connector = default_registry().get(connector_id)
    assert connector is not None
    folder = catalogue_folder(connector)
    if folder is None or not folder.is_dir():
        return
    shown = {
        text
        for other in default_registry().all()
        if catalogue_folder(other) == folder
        for text in visible_strings(other)
    }
    for path in sorted(folder.glob("*.json")):
        stale = set(json.loads(path.read_text(encoding="utf-8"))) - shown
        assert not stale, f"{path}: entries no visible string uses: {sorted(stale)}"
