"""Scrub secrets from values before they reach logs, run history or error reports.

Two rules: known secret strings are cut out wherever they appear, and values stored under names that
look secret ("password", "api_key", "Authorization", ...) are hidden whatever they hold. Redaction
errs towards hiding too much: a log line missing a value is cheap, a leaked credential is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Searched (not matched) case-insensitively, so "db_password", "X-Auth-Token" and "accessToken" hit.
# Multi-word names also accept "-", " " or no separator: "api-key", "API Key", "ApiKey", "accessKey".
SECRET_KEY_PATTERN = re.compile(
    r"password|passwd|secret|token|api[_\-\s]?key|access[_\-\s]?key|private[_\-\s]?key"
    r"|authorization|client[_\-\s]?secret|refresh[_\-\s]?token|signature|cookie",
    re.IGNORECASE,
)

# Shorter secrets would match ordinary text ("abc", "1") and redact half of every log line.
MIN_SECRET_LENGTH = 4

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"},
)
_SECRET_HEADER_WORDS = ("token", "secret", "signature", "key", "password", "auth", "cookie")


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Return a copy of a JSON-like value with known secrets and secret-named fields replaced.

    Strings have every occurrence of each secret (at least MIN_SECRET_LENGTH long) replaced; dict
    values under a secret-looking key are replaced whole. The input is never modified.
    """
    return _redact(value, _secret_regex(secrets))


def redact_headers(headers: Mapping[str, str], *, secrets: Iterable[str] = ()) -> dict[str, str]:
    """Copy HTTP headers with credential-bearing ones hidden, e.g. for logging a request or response."""
    pattern = _secret_regex(secrets)
    result: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _SECRET_HEADERS or any(word in lowered for word in _SECRET_HEADER_WORDS):
            result[name] = REDACTED
        else:
            result[name] = _redact(value, pattern)
    return result


def is_secret_key(name: str) -> bool:
    """Whether a field name looks like it holds a credential."""
    return SECRET_KEY_PATTERN.search(name) is not None


def _secret_regex(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of all secrets, longest first, so a secret containing another goes whole."""
    usable = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
    if not usable:
        return None
    ordered = sorted(usable, key=lambda s: (-len(s), s))
    return re.compile("|".join(re.escape(s) for s in ordered))


def _redact(value: Any, pattern: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value) if pattern is not None else value
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key):
                result[_redact(key, pattern)] = REDACTED
            else:
                result[_redact(key, pattern)] = _redact(item, pattern)
        return result
    if isinstance(value, list | tuple):
        items = [_redact(item, pattern) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value
