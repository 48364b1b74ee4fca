"""The `approval_status_poll` trigger, for hubs DingTalk cannot reach (no public URL).

Lists instance ids of one approval template created in a time window (POST
/v1.0/workflow/processes/instanceIds/query, nextToken paging, 20 per page), then reads each
instance. Instances already reported in a final state are kept in the cursor (with the time they
were reported, pruned after the window) so they are not fetched again on every poll.
"""

from __future__ import annotations

from typing import Any

from connectors.dingtalk.api import new_api
from connectors.dingtalk.approvals import event_id, from_instance
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.polling import done_cursor, reread_window
from hub.sdk.types import PollResult, TriggerEvent

FINAL = ("COMPLETED", "TERMINATED")
PAGE_SIZE = 20  # DingTalk's maximum for instanceIds/query
MAX_PAGES = 50


def list_instance_ids(
    ctx: Context, process_code: str, start_ms: int, end_ms: int, statuses: list[str]
) -> list[str]:
    ids: list[str] = []
    next_token: Any = 0
    for _ in range(MAX_PAGES):
        body: dict[str, Any] = {
            "processCode": process_code,
            "startTime": start_ms,
            "endTime": end_ms,
            "nextToken": next_token,
            "maxResults": PAGE_SIZE,
        }
        if statuses:
            body["statuses"] = statuses
        result = (
            new_api(ctx, "POST", "/v1.0/workflow/processes/instanceIds/query", json=body).get("result") or {}
        )
        page = [str(i) for i in result.get("list") or []]
        ids.extend(i for i in page if i not in ids)
        next_token = result.get("nextToken")
        if not page or next_token in (None, "", 0, "0"):
            break
    return ids


def get_instance(ctx: Context, instance_id: str) -> dict[str, Any]:
    answer = new_api(ctx, "GET", "/v1.0/workflow/processInstances", params={"processInstanceId": instance_id})
    return answer.get("result") or {}


class ApprovalStatusPoll(PollingTrigger):
    key = "approval_status_poll"
    title = "Approval instance finished (polling)"
    description = (
        "Polls one approval template's instances and starts a run when one is completed or terminated."
    )
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "required": ["process_code"],
        "additionalProperties": False,
        "properties": {
            "process_code": {"type": "string", "title": "Approval template (process code)"},
            "statuses": {
                "type": "array",
                "items": {"enum": ["RUNNING", "COMPLETED", "TERMINATED"]},
                "default": list(FINAL),
                "title": "Statuses to report",
            },
            "window_days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 120,
                "default": 30,
                "title": "Watch instances created in the last N days",
            },
        },
    }
    sample = {
        "instance_id": "a171de6c-8bxxxx",
        "process_code": "PROC-FF6Y4BE1N2-XXXX",
        "status": "COMPLETED",
        "result": "agree",
        "title": "张三提交的请假",
        "originator_user_id": "manager7675",
        "originator_dept_id": "1",
        "business_id": "202611231200000123",
        "create_time": "2026-11-23T09:00Z",
        "finish_time": "2026-11-23T10:00Z",
        "form_component_values": [{"name": "请假类型", "value": "年假"}],
        "tasks": [],
        "source": "api",
    }

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: instances are listed by creation time, so each poll re-reads the window."""
        process_code = str(config["process_code"])
        statuses = list(config.get("statuses") or FINAL)
        window = reread_window(ctx, cursor, int(config.get("window_days") or 30))
        done, now_ms, start_ms = window.done, window.now_ms, window.start_ms
        items: list[TriggerEvent] = []
        for instance_id in list_instance_ids(ctx, process_code, start_ms, now_ms, statuses):
            if instance_id in done:
                continue
            item = from_instance(instance_id, get_instance(ctx, instance_id), process_code)
            if item["status"] not in statuses:
                continue
            items.append(TriggerEvent(data=item, id=event_id(item)))
            if item["status"] in FINAL:
                done[instance_id] = now_ms  # kept until it leaves the window
        return PollResult(items=items, cursor=done_cursor(done))
