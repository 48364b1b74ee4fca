"""English and Simplified Chinese: the language comes from the user's setting, else the browser.

The .po catalogues live in hub/web/translations; their compiled .mo files are build output, so they
are compiled at start-up into HUB_HOME (written only when the .po is newer) with Babel's own API.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel, get_locale

from hub.current import runtime
from hub.registry import Registry
from hub.sdk.connector import Connector

SOURCE = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"


def compile_catalogues(source: Path, target: Path) -> None:
    """Compile every <lang>/LC_MESSAGES/messages.po under `source` into the same layout under `target`."""
    for po_path in source.glob("*/LC_MESSAGES/messages.po"):
        out = target / po_path.relative_to(source).with_suffix(".mo")
        if out.exists() and out.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        partial = out.with_suffix(f".mo.{os.getpid()}.tmp")  # each process starting at once writes its own
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        partial.replace(out)


def select_locale() -> str:
    chosen = getattr(g, "web_locale", None) or session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


class LocalizedRegistry(Registry):
    """The installed connectors as a page in `locale` shows them (hub/sdk/i18n.py)."""

    def __init__(self, base: Registry, locale: str) -> None:
        super().__init__()
        self.base, self.locale = base, locale

    def get(self, connector_id: str) -> Connector | None:
        found = self.base.get(connector_id)
        return found.localized(self.locale) if found is not None else None

    def source(self, connector_id: str) -> str | None:
        return self.base.source(connector_id)

    def all(self) -> list[Connector]:
        return [connector.localized(self.locale) for connector in self.base.all()]


def connectors() -> Registry:
    """The registry for showing connectors on this request's page: translated unless in English.

    Translated copies differ only in titles and descriptions, so forms parsed and documents checked
    with them come out the same."""
    locale = str(get_locale() or DEFAULT)
    base = runtime().registry
    return base if locale == DEFAULT else LocalizedRegistry(base, locale)


def trigger_label(spec: dict[str, str]) -> str:
    """A recipe's trigger as people read it, "HubSpot / New contact", in the page's language; the ids
    when the connector or trigger is not installed."""
    connector = connectors().get(spec.get("connector") or "")
    trigger = connector.trigger(spec.get("trigger") or "") if connector is not None else None
    if connector is None or trigger is None:
        return f"{spec.get('connector')} / {spec.get('trigger')}"
    return f"{connector.name or connector.id} / {trigger.title or trigger.key}"


def init_babel(app: Flask) -> None:
    target = Path(app.extensions["hub"].settings.home) / "i18n"
    compile_catalogues(SOURCE, target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    Babel(app, locale_selector=select_locale)
