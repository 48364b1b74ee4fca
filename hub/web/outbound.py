"""Warn in the editor when a recipe's step calls a private address the hub will refuse to reach.

Runs refuse loopback, private and link-local addresses unless HUB_ALLOW_PRIVATE_NETWORK is on
(`hub.sdk.netguard`); the editor says so while the recipe is written rather than at its first run.
Only addresses visible in the text are judged (an IP literal or a local-only name); names are not
resolved here, and the part of a URL after a template is unknown until the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hub.sdk.netguard import is_forbidden_address
from hub.web.recipe_form import all_steps

LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True)
class PrivateTarget:
    step_id: str
    url: str
    reason: str


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _private_reason(url: str) -> str | None:
    head = url.split("{{", 1)[0].split("{%", 1)[0]
    if not head.lower().startswith(("http://", "https://")):
        return None
    try:
        host = urlsplit(head).hostname
    except ValueError:
        return None
    if not host or (head.endswith(host) and "{{" in url):  # the host itself is templated
        return None
    if host == "localhost" or host.endswith(LOCAL_NAMES):
        return "a local-only name"
    reason = is_forbidden_address(host)
    return None if reason in (None, "not an IP address") else reason


def private_targets(doc: dict[str, Any], allowed: bool) -> list[PrivateTarget]:
    """Step inputs that call an address the network guard refuses (none when private calls are allowed)."""
    if allowed:
        return []
    found = []
    for step in all_steps(doc):
        for text in _strings(step.get("input")):
            reason = _private_reason(text.strip())
            if reason:
                found.append(PrivateTarget(str(step.get("id") or ""), text.strip(), reason))
    return found
