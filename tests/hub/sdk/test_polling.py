"""The SDK's polling bases: cursors from the vendor's clock, so a vendor 15 minutes behind loses nothing.

The skew tests run the real engine (first poll primes, later polls take new items) against vendor
stand-ins whose clock, in their Date header and in their records, runs 15 minutes behind the hub's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import responses
from requests.structures import CaseInsensitiveDict

from hub.config import Settings
from hub.connections import create_connection
from hub.engine.executor import InlineExecutor
from hub.engine.poller import poll_recipe
from hub.recipe_store import save_recipe
from hub.registry import Registry
from hub.runtime import Runtime
from hub.sdk.connector import Action, Connector, PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.http import HttpResponse
from hub.sdk.polling import (
    MAX_DONE,
    NEWEST_FIRST,
    NewestIdPolling,
    Page,
    TimeWindowPolling,
    done_cursor,
    iso_ms,
    load_done,
    reread_window,
    vendor_time,
    with_defaults,
)
from hub.sdk.types import TriggerEvent

SKEW = timedelta(minutes=15)


class SkewedVendor:
    """A vendor whose clock runs SKEW behind the hub's; records are stamped by that clock."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC) - SKEW

    def create(self) -> str:
        record_id = str(next(self._ids))
        self.records.append({"id": record_id, "modified": self.now()})
        return record_id

    def since(self, moment: datetime) -> list[dict[str, Any]]:
        return sorted((r for r in self.records if r["modified"] >= moment), key=lambda r: r["modified"])


class Changes(TimeWindowPolling):
    """The smallest TimeWindowPolling: two-record pages, the vendor's clock given with each page."""

    key = "changes"
    config_schema = {"type": "object", "properties": {"overlap_s": {"type": "integer", "default": 60}}}

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        kit: SkewKit = self.connector  # type: ignore[assignment]
        found = kit.vendor.since(since)
        offset = page_token or 0
        rest = offset + 2 < len(found)
        return Page(found[offset : offset + 2], offset + 2 if rest else None, kit.vendor.now())

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        return item["modified"]

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data={"id": item["id"]}, id=f"{item['id']}:{stamp.isoformat()}")


class Record(Action):
    key = "record"
    input_schema = {"type": "object", "properties": {"id": {}}}

    def perform(self, ctx: Context, inputs: dict[str, Any]) -> dict[str, Any]:
        kit: SkewKit = self.connector  # type: ignore[assignment]
        kit.ran.append(str(inputs["id"]))
        return {}


class SkewKit(Connector):
    id = "skewkit"
    name = "Skewed vendor"
    triggers = (Changes,)
    actions = (Record,)

    def __init__(self) -> None:
        super().__init__()
        self.vendor = SkewedVendor()
        self.ran: list[str] = []


@pytest.fixture
def skew_rt(settings: Settings) -> Iterator[tuple[Runtime, SkewKit]]:
    registry = Registry()
    registry.load_entry_points()
    kit = SkewKit()
    registry.register(kit, source="tests")
    rt = Runtime.create(settings, registry=registry)
    rt.executor = InlineExecutor(rt)
    yield rt, kit
    rt.close()


def activate(rt: Runtime, trigger: dict[str, Any], ref: str = "{{ event.id }}") -> int:
    document = {
        "name": "skew",
        "trigger": trigger,
        "steps": [{"id": "a", "connector": "skewkit", "action": "record", "input": {"id": ref}}],
    }
    with rt.db.transaction() as session:
        return save_recipe(session, rt, document).id


def test_vendor_time_reads_the_date_header() -> None:
    def answer(headers: dict[str, str]) -> HttpResponse:
        return HttpResponse(200, CaseInsensitiveDict(headers), b"", "https://vendor.test/", 0.0)

    assert vendor_time(answer({"Date": "Fri, 04 Dec 2026 10:00:00 GMT"})) == datetime(
        2026, 12, 4, 10, tzinfo=UTC
    )
    assert vendor_time(answer({"Date": "Fri, 04 Dec 2026 18:00:00 +0800"})) == datetime(
        2026, 12, 4, 10, tzinfo=UTC
    )
    assert vendor_time(answer({})) is None and vendor_time(answer({"Date": "yesterday"})) is None


def test_schema_defaults_fill_only_missing_keys() -> None:
    schema = {"properties": {"a": {"default": [1]}, "b": {"default": 2}, "c": {"type": "string"}}}
    filled = with_defaults(schema, {"b": 5})
    assert filled == {"a": [1], "b": 5}
    filled["a"].append(2)
    assert schema["properties"]["a"]["default"] == [1]  # a copy, never the schema's own list


def test_time_window_base_takes_every_record_of_a_vendor_15_minutes_behind(
    skew_rt: tuple[Runtime, SkewKit],
) -> None:
    rt, kit = skew_rt
    before = [kit.vendor.create() for _ in range(3)]
    recipe_id = activate(rt, {"connector": "skewkit", "trigger": "changes", "config": {}})
    assert poll_recipe(rt, recipe_id)["runs"] == 0  # the first poll primes
    created = [kit.vendor.create()]
    poll_recipe(rt, recipe_id)
    created += [kit.vendor.create() for _ in range(5)]  # more than one page
    poll_recipe(rt, recipe_id)
    created.append(kit.vendor.create())
    poll_recipe(rt, recipe_id)
    poll_recipe(rt, recipe_id)
    assert sorted(kit.ran, key=int) == created
    assert not set(before) & set(kit.ran)


def test_a_quiet_vendor_still_yields_a_vendor_cursor_and_an_item_in_the_future_does_not_skip() -> None:
    kit = SkewKit()
    trigger = kit.trigger("changes")
    assert isinstance(trigger, TimeWindowPolling)
    ctx = Context(connector=kit)
    first = trigger.poll(ctx, {}, None)
    assert first.items == [] and abs(
        datetime.fromisoformat(first.cursor or "") - kit.vendor.now()
    ) < timedelta(seconds=5)
    kit.vendor.records.append({"id": "future", "modified": kit.vendor.now() + timedelta(hours=1)})
    later = trigger.poll(ctx, {}, first.cursor)
    assert [e.data["id"] for e in later.items] == ["future"]
    assert datetime.fromisoformat(later.cursor or "") < kit.vendor.now() + timedelta(minutes=1)


HUBSPOT_SEARCH = "https://api.hubapi.com/crm/v3/objects/deals/search"


def hubspot_search(vendor: SkewedVendor) -> Any:
    """HubSpot's search over the skewed vendor: GTE on hs_lastmodifieddate (ms), ascending, Date header."""

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        floor = int(body["filterGroups"][0]["filters"][0]["value"])
        found = vendor.since(datetime.fromtimestamp(floor / 1000, UTC))
        results = [
            {
                "id": r["id"],
                "properties": {"hs_lastmodifieddate": r["modified"].isoformat(timespec="milliseconds")},
                "createdAt": r["modified"].isoformat(),
                "updatedAt": r["modified"].isoformat(),
                "archived": False,
            }
            for r in found
        ]
        headers = {"Date": format_datetime(vendor.now(), usegmt=True)}
        return 200, headers, json.dumps({"total": len(results), "results": results})

    return reply


@responses.activate
def test_hubspot_poll_takes_every_deal_of_a_portal_15_minutes_behind(
    skew_rt: tuple[Runtime, SkewKit],
) -> None:
    """Before: the first cursor was the hub's clock, so every deal changed after activation was lost."""
    rt, kit = skew_rt
    responses.add_callback(responses.POST, HUBSPOT_SEARCH, callback=hubspot_search(kit.vendor))
    with rt.db.transaction() as session:
        create_connection(
            session,
            rt.registry,
            rt.vault,
            name="hs",
            connector_id="hubspot",
            config={"private_app_token": "pat"},
        )
    before = kit.vendor.create()
    recipe_id = activate(
        rt,
        {
            "connector": "hubspot",
            "trigger": "object_changed_poll",
            "connection": "hs",
            "config": {"object_type": "deals"},
        },
    )
    assert poll_recipe(rt, recipe_id)["runs"] == 0
    created = [kit.vendor.create(), kit.vendor.create()]
    poll_recipe(rt, recipe_id)
    created.append(kit.vendor.create())
    poll_recipe(rt, recipe_id)
    poll_recipe(rt, recipe_id)
    assert sorted(kit.ran, key=int) == created and before not in kit.ran


class Serials(NewestIdPolling):
    """Newest-id polling over the skewed vendor's serial numbers."""

    key = "serials"

    def newest_id(self, ctx: Context, config: dict[str, Any]) -> str | None:
        kit: SkewKit = self.connector  # type: ignore[assignment]
        return kit.vendor.records[-1]["id"] if kit.vendor.records else None

    def fetch_after(
        self, ctx: Context, config: dict[str, Any], after: str | None, since: datetime | None, page_token: Any
    ) -> Page:
        kit: SkewKit = self.connector  # type: ignore[assignment]
        floor = int(page_token or after or 0)
        rows = [r for r in kit.vendor.records if int(r["id"]) > floor][:2]
        return Page(rows, rows[-1]["id"] if len(rows) == 2 else None)

    def item_id(self, item: Any) -> str:
        return str(item["id"])

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any) -> TriggerEvent:
        return TriggerEvent(data={"id": item["id"]}, id=item["id"])


def test_newest_id_base_on_an_empty_source_takes_its_first_items() -> None:
    kit = SkewKit()
    trigger = Serials(kit)
    ctx = Context(connector=kit)
    cursor = trigger.poll(ctx, {}, None).cursor
    created = [kit.vendor.create() for _ in range(3)]
    result = trigger.poll(ctx, {}, cursor)
    assert [e.id for e in result.items] == created and result.cursor == "3"
    assert trigger.poll(ctx, {}, result.cursor).items == []


@responses.activate
def test_typeform_poll_of_an_empty_form_takes_every_response_after_activation(
    skew_rt: tuple[Runtime, SkewKit],
) -> None:
    """Before: an empty form kept no cursor, so the next poll primed again and skipped its response."""
    rt, kit = skew_rt
    url = "https://api.typeform.com/forms/F1/responses"

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        after = request.params.get("after")
        rows = (
            kit.vendor.records
            if request.params.get("sort") != "submitted_at,desc"
            else kit.vendor.records[::-1]
        )
        if after:
            rows = [r for r in rows if int(r["id"]) > int(after)]
        items = [
            {"token": r["id"], "submitted_at": r["modified"].isoformat(), "answers": [], "hidden": {}}
            for r in rows[: int(request.params["page_size"])]
        ]
        return 200, {"Date": format_datetime(kit.vendor.now(), usegmt=True)}, json.dumps({"items": items})

    responses.add_callback(responses.GET, url, callback=reply)
    with rt.db.transaction() as session:
        create_connection(
            session,
            rt.registry,
            rt.vault,
            name="tf",
            connector_id="typeform",
            config={"personal_token": "tfp_x"},
        )
    recipe_id = activate(
        rt,
        {"connector": "typeform", "trigger": "new_response", "connection": "tf", "config": {"form_id": "F1"}},
        "{{ event.token }}",
    )
    poll_recipe(rt, recipe_id)
    created = [kit.vendor.create()]
    poll_recipe(rt, recipe_id)
    created += [kit.vendor.create(), kit.vendor.create()]
    poll_recipe(rt, recipe_id)
    poll_recipe(rt, recipe_id)
    assert sorted(kit.ran, key=int) == created


def test_polling_kinds_are_types() -> None:
    assert issubclass(TimeWindowPolling, PollingTrigger) and issubclass(NewestIdPolling, PollingTrigger)
    assert Changes(SkewKit()).describe()["kind"] == "polling"


def test_a_re_read_window_cursor_forgets_what_left_the_window_and_keeps_the_newest() -> None:
    cursor = json.dumps({"done": {"old": 99, "edge": 100, "new": 150}})
    assert load_done(cursor, oldest_ms=100) == {"edge": 100, "new": 150}
    assert load_done(None, 0) == {} and load_done("not json", 0) == {} and load_done("[1]", 0) == {}
    many = {f"i{n}": n for n in range(MAX_DONE + 2)}
    kept = json.loads(done_cursor(many))["done"]
    assert len(kept) == MAX_DONE and "i0" not in kept and "i1" not in kept and f"i{MAX_DONE + 1}" in kept
    assert done_cursor({"b": 2, "a": 1}) == '{"done": {"a": 1, "b": 2}}'


def test_a_re_read_window_spans_the_days_and_a_backfill_starts_at_since() -> None:
    day = 86_400_000
    now = 100 * day
    ctx = Context(connector=Connector())
    cursor = json.dumps({"done": {"gone": now - 3 * day - 1, "kept": now - day}})
    window = reread_window(ctx, cursor, 3, now_ms=now)
    assert (window.now_ms, window.start_ms, window.done) == (now, now - 3 * day, {"kept": now - day})
    ctx.since = datetime.fromtimestamp((now - day) / 1000, UTC)
    assert reread_window(ctx, None, 3, now_ms=now).start_ms == now - day  # a backfill's first poll
    assert reread_window(ctx, cursor, 3, now_ms=now).start_ms == now - 3 * day  # later polls: whole window
    ctx.since = datetime.fromtimestamp((now - 9 * day) / 1000, UTC)
    assert reread_window(ctx, None, 3, now_ms=now).start_ms == now - 3 * day  # never before the window


LISTED_START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ListedBy(TimeWindowPolling):
    """A vendor of ten records a minute apart, listed two a page in the order `page_order` says."""

    key = "listed"
    config_schema = {"type": "object", "properties": {"max_pages": {"type": "integer"}}}
    start = LISTED_START
    records = [{"id": str(n), "modified": LISTED_START + timedelta(minutes=n)} for n in range(10)]

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        found = sorted((r for r in self.records if r["modified"] >= since), key=lambda r: r["modified"])
        if self.page_order == NEWEST_FIRST:
            found.reverse()
        offset = page_token or 0
        more = offset + 2 < len(found)
        return Page(found[offset : offset + 2], offset + 2 if more else None, self.start + timedelta(hours=1))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        return item["modified"]

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data={"id": item["id"]}, id=item["id"])


class ListedNewestFirst(ListedBy):
    page_order = NEWEST_FIRST


def poll_in_turn(trigger: TimeWindowPolling, max_pages: int) -> list[str]:
    """Every record a series of polls capped at `max_pages` takes, from a cursor before the first."""
    ctx, taken = Context(connector=SkewKit()), []
    cursor = iso_ms(ListedBy.start - timedelta(minutes=1))
    for _ in range(10):
        result = trigger.poll(ctx, {"max_pages": max_pages, "overlap_s": 0}, cursor)
        taken += [e.id for e in result.items if e.id not in taken]
        cursor = result.cursor
    return taken


def test_a_poll_cut_short_over_oldest_first_pages_takes_the_rest_at_the_next_poll() -> None:
    trigger = ListedBy(SkewKit())
    first = trigger.poll(
        Context(connector=SkewKit()),
        {"max_pages": 2, "overlap_s": 0},
        iso_ms(ListedBy.start - timedelta(minutes=1)),
    )
    assert [e.id for e in first.items] == ["0", "1", "2", "3"]
    assert first.cursor == iso_ms(ListedBy.start + timedelta(minutes=3))
    assert poll_in_turn(trigger, max_pages=2) == [str(n) for n in range(10)]


def test_a_poll_cut_short_over_newest_first_pages_fails_clearly_and_keeps_its_cursor() -> None:
    trigger = ListedNewestFirst(SkewKit())
    with pytest.raises(
        PermanentError, match=r"listed: more than 2 pages .* listed newest first: .*max_pages"
    ):
        trigger.poll(
            Context(connector=SkewKit()),
            {"max_pages": 2, "overlap_s": 0},
            iso_ms(ListedBy.start - timedelta(minutes=1)),
        )
    # Read whole, newest-first pages move the cursor to the newest item and miss nothing.
    assert sorted(poll_in_turn(trigger, max_pages=5), key=int) == [str(n) for n in range(10)]
    whole = trigger.poll(
        Context(connector=SkewKit()), {"max_pages": 5, "overlap_s": 0}, iso_ms(ListedBy.start)
    )
    assert whole.cursor == iso_ms(ListedBy.start + timedelta(minutes=9))


def test_an_unknown_page_order_is_refused_when_the_trigger_is_defined() -> None:
    with pytest.raises(TypeError, match="page_order is 'by_id'"):
        type("Odd", (ListedBy,), {"page_order": "by_id"})
