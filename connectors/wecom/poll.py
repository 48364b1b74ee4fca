"""The `approval_status_poll` trigger, for hubs WeCom cannot reach (no public URL).

Lists approval numbers submitted in a window (POST /cgi-bin/oa/getapprovalinfo, `new_cursor`
paging, 100 per page, optionally one template), then reads each with getapprovaldetail. Approvals
already reported in a final status stay in the cursor (pruned as they leave the window) so they
are not read again on every poll.
"""

from __future__ import annotations

from typing import Any

from connectors.wecom.api import call
from connectors.wecom.approvals import (
    CALLBACK_SAMPLE,
    EVENT_SCHEMA,
    FINAL_STATUSES,
    STATUS_ENUM,
    event_id,
    from_detail,
)
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.polling import done_cursor, reread_window
from hub.sdk.types import PollResult, TriggerEvent

PAGE_SIZE = 100  # getapprovalinfo's maximum
MAX_PAGES = 50


def list_sp_nos(ctx: Context, start_s: int, end_s: int, template_id: str | None) -> list[str]:
    numbers: list[str] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        body: dict[str, Any] = {
            "starttime": str(start_s),
            "endtime": str(end_s),
            "new_cursor": cursor,
            "size": PAGE_SIZE,
        }
        if template_id:
            body["filters"] = [{"key": "template_id", "value": template_id}]
        answer = call(ctx, "/cgi-bin/oa/getapprovalinfo", body)
        page = [str(n) for n in answer.get("sp_no_list") or []]
        numbers.extend(n for n in page if n not in numbers)
        cursor = str(answer.get("new_next_cursor") or "")
        if not page or not cursor:
            break
    return numbers


def approval_detail(ctx: Context, sp_no: str) -> dict[str, Any]:
    info = call(ctx, "/cgi-bin/oa/getapprovaldetail", {"sp_no": sp_no}).get("info")
    return from_detail(info if isinstance(info, dict) else {"sp_no": sp_no})


class ApprovalStatusPoll(PollingTrigger):
    key = "approval_status_poll"
    title = "Approval status changed (polling)"
    description = (
        "Polls approvals submitted in the last days and starts a run when one reaches a reported status."
    )
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "template_id": {"type": "string", "title": "Only this approval template (template_id)"},
            "statuses": {
                "type": "array",
                "items": {"enum": STATUS_ENUM},
                "default": FINAL_STATUSES,
                "title": "Statuses to report",
            },
            "window_days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 31,
                "default": 7,
                "title": "Watch approvals submitted in the last N days",
                "description": "WeCom lists at most 31 days per request.",
            },
        },
    }
    output_schema = EVENT_SCHEMA
    sample = {**CALLBACK_SAMPLE, "change_event": None, "source": "api"}

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: WeCom lists by submission time, not by change, so each poll re-reads it."""
        statuses = list(config.get("statuses") or FINAL_STATUSES)
        window = reread_window(ctx, cursor, int(config.get("window_days") or 7))
        done = window.done
        items: list[TriggerEvent] = []
        for sp_no in list_sp_nos(
            ctx, window.start_ms // 1000, window.now_ms // 1000, config.get("template_id")
        ):
            if sp_no in done:
                continue
            item = approval_detail(ctx, sp_no)
            if item["status"] not in statuses:
                continue
            items.append(TriggerEvent(data=item, id=event_id(item)))
            if item["status"] in FINAL_STATUSES:
                done[sp_no] = window.now_ms  # kept until it leaves the window
        return PollResult(items=items, cursor=done_cursor(done))
