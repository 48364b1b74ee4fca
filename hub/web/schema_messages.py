"""JSON Schema validation messages in the user's language, for the editor to show beside fields.

The API keeps the validator's English messages; the editor shows the common ones translated and
passes any other message through as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^(.*) does not match '(.*)'$", re.S),
        lambda m: _("%(value)s does not have the expected form (%(pattern)s).", value=m[1], pattern=m[2]),
    ),
    (
        re.compile(r"^(.*) is not one of \[(.*)\]$", re.S),
        lambda m: _("Choose one of: %(choices)s.", choices=m[2]),
    ),
    (re.compile(r"^(.*) is too long$", re.S), lambda m: _("This value is too long.")),
    (re.compile(r"^(.*) (is too short|should be non-empty)$", re.S), lambda m: _("This value is too short.")),
    (
        re.compile(r"^(.*) is not of type (.*)$", re.S),
        lambda m: _("This value has the wrong type (expected %(type)s).", type=m[2]),
    ),
    (
        re.compile(r"^(.*) is less than the minimum of (.*)$", re.S),
        lambda m: _("The smallest allowed value is %(minimum)s.", minimum=m[2]),
    ),
    (
        re.compile(r"^(.*) is greater than the maximum of (.*)$", re.S),
        lambda m: _("The largest allowed value is %(maximum)s.", maximum=m[2]),
    ),
    (
        re.compile(r"^Additional properties are not allowed \((.*) (?:was|were) unexpected\)$", re.S),
        lambda m: _("These keys are not allowed here: %(keys)s.", keys=m[1]),
    ),
]


def translated(text: str) -> str:
    for pattern, message in PATTERNS:
        found = pattern.match(text)
        if found:
            return message(found)
    return text
