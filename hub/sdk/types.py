"""Plain data passed between the hub and connectors; no Flask, no database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from hub.sdk.errors import PermanentError


@dataclass(frozen=True)
class InboundRequest:
    """A webhook request as the hub received it: the raw body is kept for signature checks."""

    method: str
    url: str  # the public URL the vendor called (what vendors sign), from HUB_BASE_URL
    path: str
    headers: Mapping[str, str]  # case-insensitive
    query: Mapping[str, str]
    body: bytes
    remote_addr: str | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, numbers with decimals kept as Decimal; PermanentError when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as exc:
            raise PermanentError(f"body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, Any]:
        """An urlencoded body as a dict; repeated fields become lists."""
        try:
            pairs = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise PermanentError(f"form body is not UTF-8: {exc}") from exc
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                prev = out[key]
                out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                out[key] = value
        return out


@dataclass
class WebhookResponse:
    """What to answer a vendor instead of the default 202 (handshakes, encrypted acks)."""

    status: int = 200
    body: bytes | str | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class TriggerEvent:
    """One event out of a webhook or a poll: `id` is the vendor's stable id, used for dedupe."""

    data: dict[str, Any]
    id: str | None = None


@dataclass
class PollResult:
    """Items found by one poll and the cursor to store once they are saved."""

    items: list[TriggerEvent]
    cursor: str | None = None
