"""`record_changed`: poll SOQL by SystemModstamp, with an overlap window for late commits.

SystemModstamp is set when a transaction writes, but the row becomes visible at commit, so a
record can appear with a stamp slightly older than one already seen. Each poll therefore looks
back `overlap_s` before the cursor; the items' ids (record Id + SystemModstamp) make the repeats
harmless, and a later change of the same record is a new item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.salesforce.api import call, data_path, name
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import Page, TimeWindowPolling, vendor_time
from hub.sdk.types import TriggerEvent

DEFAULT_OVERLAP_S = 120
DEFAULT_MAX = 2000
MAX_PAGES = 100  # 2000 records a page: max_records (at most 50000) ends the read first


def parse_stamp(value: str) -> datetime:
    """Salesforce datetimes: 2026-11-23T09:16:40.000+0000 (also accepts Z and +00:00)."""
    text = value.strip().replace("Z", "+00:00")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            continue
    raise PermanentError(f"Salesforce: unreadable SystemModstamp {value!r}")


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal (no quotes), to the second: the overlap covers what it rounds off."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def cursor_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RecordChanged(TimeWindowPolling):
    key = "record_changed"
    title = "Record created or updated"
    description = "Polls an object for records whose SystemModstamp moved since the last poll."
    default_interval_s = 300
    min_interval_s = 60
    default_max_pages = MAX_PAGES
    config_schema = {
        "type": "object",
        "required": ["sobject"],
        "additionalProperties": False,
        "properties": {
            "sobject": {"type": "string", "title": "Object", "description": "API name, e.g. Opportunity"},
            "fields": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["Name"],
                "title": "Fields",
                "description": "Field API names to return; Id and SystemModstamp are always included.",
            },
            "where": {
                "type": "string",
                "title": "Extra condition",
                "description": "SOQL condition ANDed to the query, e.g. StageName = 'Closed Won'",
            },
            "overlap_s": {"type": "integer", "minimum": 0, "maximum": 3600, "default": DEFAULT_OVERLAP_S},
            "max_records": {"type": "integer", "minimum": 1, "maximum": 50000, "default": DEFAULT_MAX},
        },
    }
    sample = {
        "Id": "0065g00000AbCdEAAZ",
        "SystemModstamp": "2026-11-23T09:16:40.000+0000",
        "Name": "Acme renewal",
        "attributes": {"type": "Opportunity"},
    }

    def check_config(self, config: dict[str, Any]) -> None:
        name(config.get("sobject", ""), "sObject")
        for field in config.get("fields") or []:
            name(field.replace(".", "_"), "field")  # relationship paths like Account.Name are allowed

    def soql(self, config: dict[str, Any], after: datetime) -> str:
        self.check_config(config)
        fields = ["Id", "SystemModstamp"]
        for field in config.get("fields") or ["Name"]:
            if field.lower() not in {f.lower() for f in fields}:
                fields.append(field)
        where = f"SystemModstamp > {soql_datetime(after)}"
        if config.get("where"):
            where += f" AND ({config['where']})"
        order = "SystemModstamp ASC, Id ASC"
        # names are checked above; `where` is the recipe author's own SOQL, run with their connection
        return f"SELECT {', '.join(fields)} FROM {config['sobject']} WHERE {where} ORDER BY {order}"  # noqa: S608

    def fetch_page(self, ctx: Context, config: dict[str, Any], since: datetime, page_token: Any) -> Page:
        """One page of the query; `page_token` is (nextRecordsUrl, records taken so far)."""
        url, taken = page_token or (None, 0)
        if url is None:
            response = call(ctx, "GET", data_path(ctx, "query"), params={"q": self.soql(config, since)})
        elif str(url).startswith("/services/data/"):
            response = call(ctx, "GET", url)
        else:
            raise PermanentError(f"Salesforce: unexpected nextRecordsUrl {str(url)[:80]!r}")
        page = response.json()
        room = int(config["max_records"]) - taken
        records = list(page.get("records") or [])[:room]
        more = not page.get("done", True) and page.get("nextRecordsUrl") and len(records) < room
        following = (page["nextRecordsUrl"], taken + len(records)) if more else None
        return Page(items=records, next_page=following, vendor_now=vendor_time(response))

    def item_time(self, ctx: Context, config: dict[str, Any], item: Any) -> datetime:
        if not item.get("Id") or not item.get("SystemModstamp"):
            raise PermanentError("Salesforce: a record came back without Id or SystemModstamp")
        return parse_stamp(item["SystemModstamp"])

    def item_event(self, ctx: Context, config: dict[str, Any], item: Any, stamp: datetime) -> TriggerEvent:
        return TriggerEvent(data=item, id=f"{item['Id']}:{cursor_text(stamp)}")

    def read_cursor(self, ctx: Context, cursor: str) -> datetime:
        return parse_stamp(cursor)

    def write_cursor(self, ctx: Context, moment: datetime) -> str:
        return cursor_text(moment)
