"""Plain data passed between the hub and connectors; no Flask, no database."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, overload
from urllib.parse import parse_qsl

from hub.jsonutil import InvalidJSON, strict_loads
from hub.sdk.errors import InvalidBodyError, PermanentError


class HeaderMap(Protocol):
    """Request headers looked up by name, case-insensitively: werkzeug's Headers in the hub, a plain
    dict in tests. Not a Mapping: iterating werkzeug's Headers yields (name, value) pairs."""

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, default: str, /) -> str: ...
    @overload
    def get(self, key: str, default: str | None, /) -> str | None: ...
    def __getitem__(self, key: str, /) -> str: ...
    def __contains__(self, key: str, /) -> bool: ...
    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True)
class InboundRequest:
    """A webhook request as the hub received it: the raw body is kept for signature checks."""

    method: str
    url: str  # the public URL the vendor called (what vendors sign), from HUB_BASE_URL
    path: str
    headers: HeaderMap
    query: Mapping[str, str]
    body: bytes
    remote_addr: str | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON under the hub's strict policy (hub.jsonutil.strict_loads), numbers with
        decimals kept as Decimal; InvalidBodyError (answered 400) when it is not acceptable JSON."""
        try:
            return strict_loads(self.body)
        except InvalidJSON as exc:
            raise InvalidBodyError(f"body is not valid JSON: {exc}") from None

    def form(self) -> dict[str, Any]:
        """A form body (urlencoded or multipart/form-data) as a dict; repeated fields become lists.

        Multipart file parts are left out: vendors post answers as plain fields, and a webhook body
        is already size-capped by the hub before it gets here."""
        if self.content_type == "multipart/form-data":
            return _multipart_fields(self.header("Content-Type") or "", self.body)
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidBodyError(f"form body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        try:  # strict: a percent-encoded lone surrogate or bad byte is refused, not silently replaced
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidBodyError(
                f"form body is not UTF-8: a percent-encoded field has an {exc.reason}"
            ) from None
        return _grouped(pairs)


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _multipart_fields(content_type: str, body: bytes) -> dict[str, Any]:
    from werkzeug.exceptions import HTTPException
    from werkzeug.formparser import FormDataParser
    from werkzeug.http import parse_options_header

    mimetype, options = parse_options_header(content_type)
    if not options.get("boundary"):
        raise PermanentError("multipart body without a boundary in its Content-Type")
    parser = FormDataParser(max_form_memory_size=len(body) + 1)
    try:
        _, form, _files = parser.parse(io.BytesIO(body), mimetype, len(body), options)
    except (ValueError, HTTPException) as exc:
        raise PermanentError(f"unreadable multipart body: {exc}") from exc
    return _grouped(form.items(multi=True))


@dataclass
class WebhookResponse:
    """What to answer a vendor instead of the default 202 (handshakes, encrypted acks)."""

    status: int = 200
    body: bytes | str | dict[str, Any] | None = None
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
