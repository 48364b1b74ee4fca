"""The `schedule` connector: start recipes on an interval or a cron expression, in a time zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from hub.sdk.connector import Connector, ScheduleTrigger
from hub.sdk.errors import PermanentError


class Interval(ScheduleTrigger):
    key = "interval"
    title = "Every N seconds"
    config_schema = {
        "type": "object",
        "required": ["seconds"],
        "additionalProperties": False,
        "properties": {
            "seconds": {"type": "integer", "minimum": 10, "maximum": 31536000, "title": "Seconds"}
        },
    }
    sample = {"scheduled_at": "2026-01-01T09:00:00+00:00"}

    def job_spec(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"type": "interval", "seconds": int(config["seconds"])}


class Cron(ScheduleTrigger):
    key = "cron"
    title = "On a cron schedule"
    config_schema = {
        "type": "object",
        "required": ["expression"],
        "additionalProperties": False,
        "properties": {
            "expression": {"type": "string", "title": "Cron expression", "examples": ["0 9 * * 1-5"]},
            "timezone": {
                "type": "string",
                "default": "UTC",
                "title": "Time zone",
                "examples": ["Asia/Shanghai"],
            },
        },
    }
    sample = {"scheduled_at": "2026-01-01T01:00:00+00:00"}

    def job_spec(self, config: dict[str, Any]) -> dict[str, Any]:
        timezone = config.get("timezone") or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PermanentError(f"unknown time zone '{timezone}'") from exc
        try:
            CronTrigger.from_crontab(config["expression"], timezone=timezone)
        except ValueError as exc:
            raise PermanentError(f"invalid cron expression '{config['expression']}': {exc}") from exc
        return {"type": "cron", "expression": config["expression"], "timezone": timezone}


class ScheduleConnector(Connector):
    id = "schedule"
    name = "Schedule"
    category = "utility"
    description = "Start a recipe on a timer: every N seconds, or on a cron schedule in your time zone."
    icon = "clock"
    docs_url = "docs/connectors/schedule.md"
    triggers = (Interval, Cron)


connector = ScheduleConnector()
