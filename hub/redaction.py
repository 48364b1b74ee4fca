"""Scrub secrets from values before they reach logs, run history or error reports.

Two rules: known secret strings are cut out wherever they appear, and values stored under names that
look secret are hidden whatever they hold. The name rule is one pattern used for JSON keys, HTTP
header names and URL query parameters alike, so a credential is hidden however it travelled.
Redaction errs towards hiding too much: a log line missing a value is cheap, a leaked credential is not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

REDACTED = "[REDACTED]"

# Searched (not matched) case-insensitively, so "db_password", "X-Auth-Token" and "accessToken" hit.
# Multi-word names also accept "-", " " or no separator: "api-key", "API Key", "ApiKey", "accessKey".
# Short words only count standing alone ("X-Auth", "key", "Idempotency-Key", "sig"), not inside
# ordinary words ("author", "keyboard", "design").
SECRET_KEY_PATTERN = re.compile(
    r"pass(?:word|wd|phrase)|secret|token|credential|signature|cookie|authorization"
    r"|api[_\-\s]?key|access[_\-\s]?key|private[_\-\s]?key"
    r"|(?<![a-z])(?:auth|key|sig|pwd)(?![a-z])"
    r"|(?<![a-z])session(?:[_\-\s]?(?:id|key|token))?(?![a-z])",
    re.IGNORECASE,
)

# Shorter secrets would match ordinary text ("abc", "1") and redact half of every log line.
MIN_SECRET_LENGTH = 4

# A query parameter anywhere in a string (a URL in a step input, an error message quoting one).
_QUERY_PAIR = re.compile(r"(?P<lead>[?&#])(?P<name>[^=&#?\s]+)=(?P<value>[^&#\s\"'<>]*)")
# The password of `scheme://user:password@host`.
_USERINFO = re.compile(r"(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s]*):(?P<password>[^/@\s]+)@")


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a JSON key, header name or query parameter name looks like it holds a credential.
    Kept per name: every stored step input and output asks for each of its keys, the same few
    hundred names over and over, and the pattern's search is the larger part of redacting them."""
    return SECRET_KEY_PATTERN.search(name) is not None


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Return a copy of a JSON-like value with known secrets and secret-named fields replaced.

    Strings have every occurrence of each secret (at least MIN_SECRET_LENGTH long, also URL-encoded)
    replaced, and the values of secret-named query parameters and URL passwords hidden; dict values
    under a secret-looking key are replaced whole. The input is never modified.
    """
    return _redact(value, _secret_regex(secrets))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`redact` for one string (a URL, an error message)."""
    return _redact_str(text, _secret_regex(secrets))


def redact_headers(headers: Mapping[str, str], *, secrets: Iterable[str] = ()) -> dict[str, str]:
    """Copy HTTP headers with credential-bearing ones hidden, e.g. before storing or showing them."""
    pattern = _secret_regex(secrets)
    return {
        name: REDACTED if is_secret_key(name) else _redact_str(value, pattern)
        for name, value in headers.items()
    }


def _secret_regex(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of all secrets, longest first, so a secret containing another goes whole."""
    usable = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
    forms = usable | {quote(s, safe="") for s in usable} | {quote_plus(s) for s in usable}
    if not forms:
        return None
    ordered = sorted(forms, key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered))


def _hide_query_value(match: re.Match[str]) -> str:
    if not is_secret_key(unquote_plus(match["name"])) or not match["value"]:
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


def _redact_str(text: str, pattern: re.Pattern[str] | None) -> str:
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if "=" in text:
        text = _QUERY_PAIR.sub(_hide_query_value, text)
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['lead']}:{REDACTED}@", text)
    return text


def _redact(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """Concrete types are asked first: `isinstance(x, Mapping)` is an ABC check, ~1 µs for every
    number and null of a stored step's input and output."""
    if isinstance(value, str):
        return _redact_str(value, pattern)
    if isinstance(value, dict):
        return _redact_mapping(value, pattern)
    if isinstance(value, list | tuple):
        items = [_redact(item, pattern) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, Mapping):
        return _redact_mapping(value, pattern)
    return value


def _redact_mapping(value: Mapping[Any, Any], pattern: re.Pattern[str] | None) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and is_secret_key(key):
            result[_redact(key, pattern)] = REDACTED
        else:
            result[_redact(key, pattern)] = _redact(item, pattern)
    return result
