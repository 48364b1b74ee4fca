"""Every UI string goes through gettext and has a Simplified Chinese translation with the same fields."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.web.i18n import SOURCE, compile_catalogues

WEB = Path(__file__).resolve().parents[2] / "hub" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options, keywords={"_": None, "gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_chinese_translation_with_the_same_placeholders() -> None:
    with (SOURCE / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    messages = extracted()
    assert len(messages) > 200
    missing = sorted(messages - set(translated))
    assert not missing, f"untranslated: {missing}"
    for msgid in messages:
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(translated[msgid])), msgid


def test_templates_hold_no_untranslated_english_sentences() -> None:
    """Text between tags is either a {{ _('...') }} call, markup, or punctuation."""
    words = re.compile(r">\s*([A-Za-z][A-Za-z ,.'’]{3,})\s*<")
    allowed = {"JSON", "YAML"}
    for template in (WEB / "templates").glob("*.html"):
        for text in words.findall(template.read_text(encoding="utf-8")):
            assert text.strip() in allowed, f"{template.name}: '{text}' is not translatable"


def test_catalogues_compile_to_mo(tmp_path: Path) -> None:
    compile_catalogues(SOURCE, tmp_path)
    assert (tmp_path / "zh" / "LC_MESSAGES" / "messages.mo").stat().st_size > 1000
