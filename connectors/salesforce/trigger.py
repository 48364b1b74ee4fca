"""`record_changed`: poll SOQL by SystemModstamp, with an overlap window for late commits.

SystemModstamp is set when a transaction writes, but the row becomes visible at commit, so a
record can appear with a stamp slightly older than one already seen. Each poll therefore looks
back `overlap_s` before the cursor; the items' ids (record Id + SystemModstamp) make the repeats
harmless, and a later change of the same record is a new item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.salesforce.actions import query
from connectors.salesforce.api import name
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.types import PollResult, TriggerEvent

DEFAULT_OVERLAP_S = 120
DEFAULT_MAX = 2000


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


class RecordChanged(PollingTrigger):
    key = "record_changed"
    title = "Record created or updated"
    description = "Polls an object for records whose SystemModstamp moved since the last poll."
    default_interval_s = 300
    min_interval_s = 60
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

    def soql(self, config: dict[str, Any], after: datetime, newest_first: bool = False) -> str:
        self.check_config(config)
        fields = ["Id", "SystemModstamp"]
        for field in config.get("fields") or ["Name"]:
            if field.lower() not in {f.lower() for f in fields}:
                fields.append(field)
        where = f"SystemModstamp > {soql_datetime(after)}"
        if config.get("where"):
            where += f" AND ({config['where']})"
        order = "SystemModstamp DESC, Id DESC LIMIT 1" if newest_first else "SystemModstamp ASC, Id ASC"
        # names are checked above; `where` is the recipe author's own SOQL, run with their connection
        return f"SELECT {', '.join(fields)} FROM {config['sobject']} WHERE {where} ORDER BY {order}"  # noqa: S608

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        if cursor is None and ctx.since is None:
            # Start now, by the vendor's clock: the newest stamp there is becomes the cursor.
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            newest, _, _ = query(ctx, self.soql(config, epoch, newest_first=True), 1)
            stamp = parse_stamp(newest[0]["SystemModstamp"]) if newest else datetime.now(UTC)
            return PollResult(items=[], cursor=cursor_text(stamp))
        start = parse_stamp(cursor) if cursor else ctx.since.astimezone(UTC)  # type: ignore[union-attr]
        overlap = timedelta(seconds=int(config.get("overlap_s", DEFAULT_OVERLAP_S)))
        limit = int(config.get("max_records") or DEFAULT_MAX)
        records, _, _ = query(ctx, self.soql(config, start - overlap if cursor else start), limit)
        items: list[TriggerEvent] = []
        seen: set[str] = set()
        newest = start
        for record in records:
            stamp_text = record.get("SystemModstamp")
            if not record.get("Id") or not stamp_text:
                raise PermanentError("Salesforce: a record came back without Id or SystemModstamp")
            stamp = parse_stamp(stamp_text)
            item_id = f"{record['Id']}:{cursor_text(stamp)}"
            if item_id in seen:
                continue
            seen.add(item_id)
            items.append(TriggerEvent(data=record, id=item_id))
            newest = max(newest, stamp)
        return PollResult(items=items, cursor=cursor_text(newest) if items else cursor)
