"""The two polling shapes connectors share, with the cursor rules kept here rather than in each poll().

Cursors come from the vendor's own clock, never the hub's: a vendor whose clock runs behind the
hub's stamps new records "earlier" than the hub's now, so a cursor taken from the hub's clock
would skip them for good. A time-window cursor is therefore the newest item time seen, or, when a
poll has no item to go by, the time the vendor gave in its answer's `Date` header.

- `TimeWindowPolling`: items changed since a time; each poll re-reads `overlap_s` before the
  cursor (late commits, search-index lag) and the engine's seen-ids drop the repeats.
- `NewestIdPolling`: items with ids that only grow (serial numbers, response tokens in order);
  the cursor is the newest id seen, and a source with no items yet is read from its first item.

A third shape re-reads a window of states each poll (approvals, sign flows listed by start time);
`load_done` / `done_cursor` keep what it already reported in a final state out of the next poll.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse
from hub.sdk.types import PollResult, TriggerEvent

# The order a TimeWindowPolling vendor lists a window's items in, across pages (`page_order`).
OLDEST_FIRST = "oldest_first"
NEWEST_FIRST = "newest_first"
UNORDERED = "unordered"
PAGE_ORDERS = (OLDEST_FIRST, NEWEST_FIRST, UNORDERED)
# A NewestIdPolling cursor meaning "the source had no items yet: read from its first one".
FROM_FIRST_ITEM = ""
# How many finished items a re-read-window cursor remembers at most; the hub's seen-ids still dedupe.
MAX_DONE = 5000


def vendor_time(response: HttpResponse) -> datetime | None:
    """The vendor's clock when it answered (the `Date` header, RFC 9110), or None without one."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return aware(moment)  # "-0000" (no zone said) parses naive: still UTC


def with_defaults(schema: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the top-level `default`s of its JSON Schema filled in where a key is absent."""
    filled = dict(config)
    for name, spec in (schema.get("properties") or {}).items():
        if name not in filled and isinstance(spec, dict) and "default" in spec:
            filled[name] = copy.deepcopy(spec["default"])
    return filled


def aware(moment: datetime) -> datetime:
    """A datetime in UTC; a naive one is taken to be UTC already."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso_ms(moment: datetime) -> str:
    """2026-11-20T10:00:00.000Z: the default cursor text."""
    return aware(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Page:
    """One vendor answer: raw items (in the trigger's `page_order`), how to ask for the next page, and
    the vendor's clock."""

    items: list[Any] = field(default_factory=list)
    next_page: Any = None  # None: this was the last page
    vendor_now: datetime | None = None  # from vendor_time(response), or the answer's own server time


@dataclass
class _Read:
    """What one pass over the pages found."""

    items: list[TriggerEvent] = field(default_factory=list)
    newest: datetime | None = None
    vendor_now: datetime | None = None
    complete: bool = True  # False when max_pages stopped the paging


class TimeWindowPolling(PollingTrigger):
    """Items changed since a vendor time. Subclasses say how to fetch a page and read an item.

    The base owns the cursor: the first poll (no cursor) starts a backfill at `ctx.since`; otherwise
    it only learns where "now" is on the vendor's clock (the engine stores what it finds as seen
    without runs), so its cursor is the vendor's `Date` (or the newest item's time). Every later poll
    reads from the cursor minus the overlap; the cursor moves to the newest item time seen, capped at
    the vendor's clock when the poll started so an item stamped in the future cannot skip others.

    A poll cut short by `max_pages` moves the cursor to the newest item read, which is only safe when
    the pages come oldest first (the unread pages are newer). A vendor that lists newest first, or in
    no order, says so in `page_order`; a poll of it that hits `max_pages` fails with a clear error and
    leaves the cursor where it was, rather than skip the older items it did not reach.
    """

    default_overlap_s: ClassVar[int] = 120
    overlap_on_backfill: ClassVar[bool] = False  # also read `overlap_s` before a backfill's `since`
    default_max_pages: ClassVar[int] = 20
    # When a poll finds nothing, move the cursor to the vendor's clock (even back from a cursor the
    # hub's clock once set), for APIs that only look back so far, like QuickBooks CDC. Otherwise the
    # cursor moves only as far as the items returned, or to the vendor's clock on a first poll.
    cursor_follows_vendor_clock: ClassVar[bool] = False
    page_order: ClassVar[str] = OLDEST_FIRST  # or NEWEST_FIRST, UNORDERED

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.page_order not in PAGE_ORDERS:
            raise TypeError(f"{cls.__name__}.page_order is {cls.page_order!r}; expected one of {PAGE_ORDERS}")

    def reread_window_s(self, config: dict[str, Any]) -> float | None:
        return float(config.get("overlap_s", self.default_overlap_s))

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        """Items changed at or after `since`, in `page_order`; `page_token` is None for the first page.

        Give `vendor_now` from the answer (vendor_time(response), or the vendor's own server time)."""
        raise NotImplementedError

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        """The item's change time on the vendor's clock; raise PermanentError when it has none."""
        raise NotImplementedError

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        """The event of one item version; its id must change when the item changes again."""
        raise NotImplementedError

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        try:
            return aware(datetime.fromisoformat(cursor.replace("Z", "+00:00")))
        except ValueError as exc:
            raise PermanentError(f"{self.key}: stored cursor {cursor!r} is not a time") from exc

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return iso_ms(moment)

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        config = with_defaults(self.config_schema, config)
        self.check_config(config)
        overlap = timedelta(seconds=int(config.get("overlap_s", self.default_overlap_s)))
        previous = self.read_cursor(ctx, cursor) if cursor else None
        start, wanted = self._window(ctx, previous, overlap)
        since = self.clamp_since(ctx, config, wanted)
        read = self._read(ctx, config, since)
        vendor_start = read.vendor_now - overlap if read.vendor_now is not None else None
        if previous is None and ctx.since is None and vendor_start is not None and vendor_start < since:
            # The vendor's clock is behind the hub's: read its own last overlap, so the records
            # from just before the start are stored as seen instead of run by the next poll.
            since = vendor_start
            read = self._read(ctx, config, since)
        # Without a Date or an item, the cursor stays at the start (moved into reach when clamped).
        moment = self._next_cursor(previous, read) or (start if since == wanted else since + overlap)
        return PollResult(items=read.items, cursor=self.write_cursor(ctx, moment))

    def _window(
        self, ctx: Context, previous: datetime | None, overlap: timedelta
    ) -> tuple[datetime, datetime]:
        """(start, where the read begins): the cursor or a backfill's `since`, less the overlap. The
        hub's clock only bounds what a first poll reads (stored as seen, not run)."""
        if previous is not None:
            return previous, previous - overlap
        if ctx.since is not None:
            since = aware(ctx.since)
            return since, since - overlap if self.overlap_on_backfill else since
        now = datetime.now(UTC)
        return now, now - overlap

    def _read(self, ctx: Context, config: dict[str, Any], since: datetime) -> _Read:
        read = _Read()
        ids: set[str] = set()
        token: Any = None
        max_pages = int(config.get("max_pages") or self.default_max_pages)
        for _ in range(max_pages):
            page = self.fetch_page(ctx, config, since, token)
            read.vendor_now = read.vendor_now or page.vendor_now
            for raw in page.items:
                stamp = aware(self.item_time(ctx, config, raw))
                event = self.item_event(ctx, config, raw, stamp)
                read.newest = stamp if read.newest is None else max(read.newest, stamp)
                if str(event.id) not in ids:
                    ids.add(str(event.id))
                    read.items.append(event)
            token = page.next_page
            if token is None:
                return read
        read.complete = False
        if self.page_order != OLDEST_FIRST:
            raise PermanentError(
                f"{self.key}: more than {max_pages} pages of "
                f"changes since {iso_ms(since)}, listed {self.page_order.replace('_', ' ')}: stopping here "
                "would skip the older ones not read; raise max_pages (or the page size)"
            )
        return read

    def clamp_since(self, ctx: Context, config: dict[str, Any], since: datetime) -> datetime:
        """Where the window may start at the earliest (for APIs that only look back so far)."""
        return since

    def _next_cursor(self, previous: datetime | None, read: _Read) -> datetime | None:
        newest, vendor_now = read.newest, read.vendor_now
        if newest is None:
            # Nothing changed up to the vendor's now: a first poll (or a follower) moves there.
            follow = previous is None or self.cursor_follows_vendor_clock
            return vendor_now if vendor_now is not None and read.complete and follow else previous
        if vendor_now is not None:
            newest = min(newest, vendor_now)  # an item stamped in the future must not skip others
        return max(newest, previous) if previous is not None else newest


class NewestIdPolling(PollingTrigger):
    """Items whose ids grow over time: the cursor is the newest id seen.

    The first poll without a backfill stores the newest id there is (or FROM_FIRST_ITEM for an empty
    source, so its first item is not skipped); a backfill's first poll reads from `ctx.since`."""

    default_max_pages: ClassVar[int] = 50

    def newest_id(self, ctx: Context, config: dict[str, Any]) -> str | None:
        """The newest item's id at the vendor now, or None when there are no items."""
        raise NotImplementedError

    def fetch_after(
        self, ctx: Context, config: dict[str, Any], after: str | None, since: datetime | None, page_token: Any
    ) -> Page:
        """Items after id `after` (None: from the first item, or at/after `since` on a backfill), oldest
        first; `page_token` is None for the first page."""
        raise NotImplementedError

    def item_id(self, item: Any) -> str:
        raise NotImplementedError

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any) -> TriggerEvent:
        raise NotImplementedError

    def newer(self, candidate: str, than: str) -> bool:
        """Whether id `candidate` comes after `than`: as numbers when both are digits; otherwise (and for
        opaque tokens, override to always True) the order the vendor gives them in."""
        if candidate.isdigit() and than.isdigit():
            return int(candidate) > int(than)
        return True  # opaque ids (tokens) arrive in order: the last one read is the newest

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        config = with_defaults(self.config_schema, config)
        self.check_config(config)
        if cursor is None and ctx.since is None:
            return PollResult(items=[], cursor=self._newest_or_first(ctx, config))
        items, newest = self._read_after(ctx, config, cursor or None, ctx.since if cursor is None else None)
        if newest is None:  # nothing new; a backfill that found nothing starts from the newest id
            newest = cursor if cursor is not None else self._newest_or_first(ctx, config)
        return PollResult(items=items, cursor=newest)

    def _newest_or_first(self, ctx: Context, config: dict[str, Any]) -> str:
        newest = self.newest_id(ctx, config)
        return newest if newest is not None else FROM_FIRST_ITEM

    def _read_after(
        self, ctx: Context, config: dict[str, Any], after: str | None, since: datetime | None
    ) -> tuple[list[TriggerEvent], str | None]:
        items: list[TriggerEvent] = []
        ids: set[str] = set()
        newest: str | None = None
        token: Any = None
        for _ in range(int(config.get("max_pages") or self.default_max_pages)):
            page = self.fetch_after(ctx, config, after, since, token)
            for raw in page.items:
                item_id = self.item_id(raw)
                if item_id in ids or (after is not None and not self.newer(item_id, after)):
                    continue
                ids.add(item_id)
                items.append(self.item_event(ctx, config, raw))
                newest = item_id if newest is None or self.newer(item_id, newest) else newest
            token = page.next_page
            if token is None:
                break
        return items, newest


@dataclass
class RereadWindow:
    """One poll of a re-read window: read from `start_ms` to `now_ms`; `done` holds what was already
    reported in a final state (mark more with `done[id] = now_ms`, store `done_cursor(done)`)."""

    now_ms: int
    start_ms: int
    done: dict[str, int]


def reread_window(ctx: Context, cursor: str | None, days: int, now_ms: int | None = None) -> RereadWindow:
    """The last `days` up to now; a backfill's first poll starts at `ctx.since` when that is later.

    The hub's clock is used here only to bound what is re-read: the cursor is ids, not a time."""
    now = now_ms if now_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
    oldest = now - days * 86_400_000
    start = oldest
    if cursor is None and ctx.since is not None:
        start = max(start, int(aware(ctx.since).timestamp() * 1000))
    return RereadWindow(now_ms=now, start_ms=start, done=load_done(cursor, oldest))


def load_done(cursor: str | None, oldest_ms: int) -> dict[str, int]:
    """A re-read-window cursor's `{"done": {id: ms reported}}`, less those reported before `oldest_ms`
    (they have left the window). An unreadable cursor reads as nothing done: the seen-ids dedupe."""
    try:
        done = {str(k): int(v) for k, v in (json.loads(cursor or "{}").get("done") or {}).items()}
    except (ValueError, AttributeError, TypeError):
        return {}
    return {k: v for k, v in done.items() if v >= oldest_ms}


def done_cursor(done: dict[str, int]) -> str:
    """The cursor text for `done`, keeping the `MAX_DONE` most recently reported."""
    if len(done) > MAX_DONE:
        done = dict(sorted(done.items(), key=lambda kv: kv[1])[-MAX_DONE:])
    return json.dumps({"done": done}, sort_keys=True)
