"""The `sign_flow_status_poll` trigger, for hubs e签宝 cannot reach (no public URL).

POST /v3/sign-flow/sign-flow-list lists the flows this App ID started in a start-time window
(at most one year), filtered by status, `pageNum`/`pageSize` paged against `total`. Each flow is
emitted once per status; flows already reported in a final status stay in the cursor until they
leave the window, so a flow is never reported twice even if the hub's seen-ids are reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.esign.api import call
from connectors.esign.flows import status_name
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.polling import done_cursor, reread_window
from hub.sdk.types import PollResult, TriggerEvent

FINAL = (2, 3, 5, 7)
MAX_PAGES = 50


def flow_event(info: dict[str, Any]) -> dict[str, Any]:
    """Same keys as the callback's SIGN_FLOW_COMPLETE event, so `wait_for` can match either."""
    code = info.get("signFlowStatus")
    final = code in FINAL
    return {
        "action": "SIGN_FLOW_COMPLETE" if final else "SIGN_FLOW_STATUS",
        "sign_flow_id": info.get("signFlowId"),
        "status_code": code,
        "status": status_name(code),
        "title": info.get("signFlowTitle"),
        "start_time": info.get("signFlowStartTime"),
        "end_time": info.get("signFlowEndTime"),
        "signers": info.get("signers") or [],
        "initiator": info.get("signFlowInitiator"),
        "source": "api",
    }


class SignFlowStatusPoll(PollingTrigger):
    key = "sign_flow_status_poll"
    title = "Sign flow finished (polling)"
    description = (
        "Polls the sign flows this app started; a run starts when one completes, is revoked, expires or "
        "is rejected."
    )
    default_interval_s = 300
    min_interval_s = 60
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "statuses": {
                "type": "array",
                "items": {"enum": [1, 2, 3, 5, 7]},
                "default": list(FINAL),
                "title": "Statuses to report (1 signing, 2 completed, 3 revoked, 5 expired, 7 rejected)",
            },
            "window_days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 365,
                "default": 30,
                "title": "Watch flows started in the last N days",
            },
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
        },
    }
    sample = {
        "action": "SIGN_FLOW_COMPLETE",
        "sign_flow_id": "a9084f284b4478ad0",
        "status_code": 2,
        "status": "completed",
        "title": "xx企业劳动合同签署",
        "start_time": 1649409511000,
        "end_time": 1649509511000,
        "signers": [],
        "initiator": {},
        "source": "api",
    }

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: flows are listed by start time, so each poll re-reads the watch window."""
        statuses = [int(s) for s in config.get("statuses") or FINAL]
        window = reread_window(ctx, cursor, min(int(config.get("window_days") or 30), 365))
        done, now_ms, start_ms = window.done, window.now_ms, window.start_ms
        query = {"signFlowStartTimeFrom": start_ms, "signFlowStartTimeTo": now_ms, "signFlowStatus": statuses}
        items: dict[str, TriggerEvent] = {}
        for info in _flows(ctx, query, int(config.get("page_size") or 100)):
            flow_id, code = str(info.get("signFlowId") or ""), info.get("signFlowStatus")
            event = flow_event(info)
            key = f"{flow_id}:{event['action']}:{code}"
            if flow_id and code in statuses and flow_id not in done and key not in items:
                items[key] = TriggerEvent(data=event, id=key)
                if code in FINAL:
                    done[flow_id] = now_ms
        return PollResult(items=list(items.values()), cursor=done_cursor(done))


def _flows(ctx: Context, query: dict[str, Any], size: int) -> Iterator[dict[str, Any]]:
    """The flows on every page of the list, `pageNum`/`pageSize` paged against `total`."""
    for page in range(1, MAX_PAGES + 1):
        body = {"pageNum": page, "pageSize": size, **query}
        data = call(ctx, "POST", "/v3/sign-flow/sign-flow-list", json=body) or {}
        infos = [i for i in data.get("signFlowInfos") or [] if isinstance(i, dict)]
        yield from infos
        if not infos or page * size >= int(data.get("total") or 0):
            return
