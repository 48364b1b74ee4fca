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
from flask_babel import Babel

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


def init_babel(app: Flask) -> None:
    target = Path(app.extensions["hub"].settings.home) / "i18n"
    compile_catalogues(SOURCE, target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    Babel(app, locale_selector=select_locale)
