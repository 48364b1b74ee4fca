"""The `send_details` polling trigger: delivery reports from QuerySendDetails.

QuerySendDetails answers per phone number and per send day (Beijing time, last 30 days), page by
page. Each report is emitted once per status it reaches, so a recipe sees "delivered" or "failed"
exactly once; the cursor is the oldest day that still has a report waiting for its receipt.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from connectors.aliyun_sms.client import exchange
from hub.sdk.connector import PollingTrigger
from hub.sdk.context import Context
from hub.sdk.errors import PermanentError
from hub.sdk.polling import vendor_time
from hub.sdk.types import PollResult, TriggerEvent

BEIJING = timezone(timedelta(hours=8))
STATUS = {1: "waiting", 2: "failed", 3: "delivered"}
MAX_DAYS = 30
MAX_PAGES_PER_DAY = 20


def today_beijing(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(BEIJING).date()


def report_key(detail: dict[str, Any], biz_id: str | None) -> str:
    """BizId + phone + status; without a BizId filter the send time, template and OutId stand in."""
    status = str(detail.get("SendStatus"))
    phone = str(detail.get("PhoneNum") or "")
    if biz_id:
        return f"{biz_id}:{phone}:{status}"
    fields = [detail.get(k) or "" for k in ("SendDate", "TemplateCode", "OutId", "Content")]
    digest = hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()[:20]
    return f"{digest}:{phone}:{status}"


def normalise(detail: dict[str, Any], biz_id: str | None) -> dict[str, Any]:
    try:
        code = int(detail.get("SendStatus") or 0)
    except (TypeError, ValueError):
        code = 0
    return {
        "biz_id": biz_id,
        "phone_number": detail.get("PhoneNum"),
        "send_status": code,
        "status": STATUS.get(code, "unknown"),
        "err_code": detail.get("ErrCode"),
        "template_code": detail.get("TemplateCode"),
        "content": detail.get("Content"),
        "out_id": detail.get("OutId"),
        "send_date": detail.get("SendDate"),
        "receive_date": detail.get("ReceiveDate"),
    }


def parse_cursor(cursor: str | None) -> date | None:
    if not cursor:
        return None
    try:
        return datetime.strptime(json.loads(cursor)["from"], "%Y%m%d").date()
    except (ValueError, KeyError, TypeError):
        return None


class SendDetails(PollingTrigger):
    key = "send_details"
    title = "SMS delivery report"
    description = (
        "Polls QuerySendDetails for one phone number and starts a run when an SMS is delivered or fails."
    )
    default_interval_s = 120
    min_interval_s = 30
    config_schema = {
        "type": "object",
        "required": ["phone_number"],
        "additionalProperties": False,
        "properties": {
            "phone_number": {"type": "string", "title": "Phone number"},
            "biz_id": {"type": "string", "title": "Only this send (BizId)"},
            "page_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 50,
                "title": "Page size",
            },
            "include_pending": {
                "type": "boolean",
                "default": False,
                "title": "Also report messages still waiting for a receipt",
            },
        },
    }
    sample = {
        "biz_id": "9006197469364984^0",
        "phone_number": "1390000****",
        "send_status": 3,
        "status": "delivered",
        "err_code": "DELIVERED",
        "template_code": "SMS_12231****",
        "content": "【阿里云】验证码为：123，您正在登录，若非本人操作，请勿泄露",
        "out_id": "123",
        "send_date": "2019-01-08 16:44:10",
        "receive_date": "2019-01-08 16:44:13",
    }

    def poll(self, ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
        """Not a time window: reports are asked for by send day, and waiting ones hold the cursor back."""
        today = today_beijing()
        start = parse_cursor(cursor)
        if start is None:
            start = ctx.since.astimezone(BEIJING).date() if ctx.since else today
        start = max(min(start, today), today - timedelta(days=MAX_DAYS - 1))
        biz_id = config.get("biz_id") or None
        items: dict[str, TriggerEvent] = {}
        oldest_pending: date | None = None
        day, vendor_today = start, today
        while day <= today:
            details, vendor_now = self._details(ctx, config, day)
            if vendor_now is not None:
                vendor_today = min(vendor_today, today_beijing(vendor_now))
            for detail in details:
                item = normalise(detail, biz_id)
                if item["send_status"] == 1:
                    oldest_pending = oldest_pending or day
                if item["send_status"] != 1 or config.get("include_pending"):
                    key = report_key(detail, biz_id)
                    items.setdefault(key, TriggerEvent(data=item, id=key))
            day += timedelta(days=1)
        # Aliyun files a report under its own day: by a clock behind the hub's, today may still be
        # yesterday there, so the next poll starts at Aliyun's today.
        next_from = (oldest_pending or vendor_today).strftime("%Y%m%d")
        return PollResult(items=list(items.values()), cursor=json.dumps({"from": next_from}))

    def _details(
        self, ctx: Context, config: dict[str, Any], day: date
    ) -> tuple[list[dict[str, Any]], datetime | None]:
        """Every report of one day, page by page until TotalCount is reached or a page comes back empty,
        and Aliyun's clock (its first answer's Date header)."""
        size = int(config.get("page_size") or 50)
        if not 1 <= size <= 50:
            raise PermanentError("page_size must be between 1 and 50")
        found: list[dict[str, Any]] = []
        vendor_now: datetime | None = None
        for page in range(1, MAX_PAGES_PER_DAY + 1):
            params = {
                "PhoneNumber": str(config["phone_number"]),
                "SendDate": day.strftime("%Y%m%d"),
                "PageSize": str(size),
                "CurrentPage": str(page),
            }
            if config.get("biz_id"):
                params["BizId"] = str(config["biz_id"])
            answer, response = exchange(ctx, "QuerySendDetails", params)
            vendor_now = vendor_now or vendor_time(response)
            rows = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            found.extend(r for r in rows if isinstance(r, dict))
            if not rows or page * size >= _total(answer):
                break
        return found, vendor_now


def _total(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("TotalCount") or 0)
    except (TypeError, ValueError):
        return 0
