"""The `task_status_poll` trigger, for hubs 法大大 cannot reach (no public URL).

Reads the owner's sign tasks started in a window (POST /sign-task/owner/get-list, pages of 100,
filtered by status) and emits each once per status. FASC lists by start time, not by change, so each
poll re-reads the window; tasks already reported in a final status stay in the cursor.
"""

from __future__ import annotations

from typing import Any

from connectors.fadada.api import call
from connectors.fadada.tasks import FINAL, SAMPLE, STATUSES, TASK_SCHEMA, event_id, from_api
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import done_cursor, reread_window
from hub.sdk.types import PollResult, TriggerEvent

PAGE_SIZE = 100
MAX_PAGES = 50


OWNER_PROPERTIES: dict[str, Any] = {
    "owner_open_id": {"type": "string", "title": "Owner OpenId (default: the connection's OpenCorpId)"},
    "owner_id_type": {"enum": ["corp", "person"], "default": "corp", "title": "Owner type"},
}


def owner_id(ctx: Context, config: dict[str, Any]) -> dict[str, str]:
    open_id = config.get("owner_open_id") or ctx.connection.get("open_corp_id")
    if not open_id:
        raise PermanentError("give owner_open_id, or the connection's OpenCorpId")
    return {"idType": str(config.get("owner_id_type") or "corp"), "openId": str(open_id)}


class TaskStatusPoll(PollingTrigger):
    key = "task_status_poll"
    title = "Sign task changed (polling)"
    description = "Polls the owner's recent sign tasks and starts a run when one reaches a reported status."
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **OWNER_PROPERTIES,
            "statuses": {
                "type": "array",
                "items": {"enum": STATUSES},
                "default": FINAL,
                "title": "Statuses to report",
            },
            "window_days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 90,
                "default": 30,
                "title": "Watch tasks started in the last N days",
            },
        },
    }
    output_schema = TASK_SCHEMA
    sample = {**SAMPLE, "event": None, "source": "api"}

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: tasks are listed by start time, so each poll re-reads the window."""
        statuses = list(config.get("statuses") or FINAL)
        window = reread_window(ctx, cursor, int(config.get("window_days") or 30))
        done, now_ms = window.done, window.now_ms
        items: list[TriggerEvent] = []
        owner = owner_id(ctx, config)
        for page in range(1, MAX_PAGES + 1):
            data = call(
                ctx,
                "/sign-task/owner/get-list",
                {
                    "ownerId": owner,
                    "listFilter": {
                        "signTaskStatus": statuses,
                        "startTimeFrom": str(window.start_ms),
                        "startTimeTo": str(now_ms),
                    },
                    "listPageNo": page,
                    "listPageSize": PAGE_SIZE,
                },
            )
            tasks = [t for t in data.get("signTasks") or [] if isinstance(t, dict)]
            for task in tasks:
                item = from_api(task)
                if not item["sign_task_id"] or item["sign_task_id"] in done or item["status"] not in statuses:
                    continue
                items.append(TriggerEvent(data=item, id=event_id(item)))
                if item["status"] in FINAL:
                    done[item["sign_task_id"]] = now_ms
            if len(tasks) < PAGE_SIZE or page >= int(data.get("listPageCount") or page):
                break
        return PollResult(items=items, cursor=done_cursor(done))
