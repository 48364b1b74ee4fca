"""Sign tasks (签署任务) in one shape, whether from a callback, the detail API or the task list.

Both triggers emit it, so a `wait_for` step can match `sign_task_id` and `status` whichever is used.
"""

from __future__ import annotations

from typing import Any

STATUSES = [
    "task_created",
    "finish_creation",
    "fill_progress",
    "fill_completed",
    "sign_progress",
    "sign_completed",
    "task_finished",
    "task_terminated",
    "expired",
    "abolishing",
    "revoked",
]
FINAL = ["task_finished", "task_terminated", "expired", "revoked"]

TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sign_task_id": {"type": "string", "title": "Sign task id"},
        "status": {"type": ["string", "null"], "title": "Status (signTaskStatus)"},
        "subject": {"type": ["string", "null"], "title": "Subject"},
        "event": {"type": ["string", "null"], "title": "Callback event (X-FASC-Event)"},
        "actor_id": {"type": ["string", "null"], "title": "Actor the event is about"},
        "trans_reference_id": {"type": ["string", "null"]},
        "source": {"enum": ["callback", "api"]},
    },
}

SAMPLE: dict[str, Any] = {
    "sign_task_id": "1681234567890123456",
    "status": "task_finished",
    "subject": "合同 C-7",
    "event": "sign-task-finished",
    "actor_id": None,
    "trans_reference_id": "C-7",
    "source": "callback",
    "raw": {},
}


def event_id(item: dict[str, Any]) -> str:
    parts = (item["sign_task_id"], item["status"], item.get("event"), item.get("actor_id"))
    return ":".join(str(part or "") for part in parts)


def from_callback(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sign_task_id": str(data.get("signTaskId") or ""),
        "status": data.get("signTaskStatus"),
        "subject": data.get("signTaskSubject"),
        "event": event,
        "actor_id": data.get("actorId"),
        "trans_reference_id": data.get("transReferenceId"),
        "source": "callback",
        "raw": data,
    }


def from_api(data: dict[str, Any]) -> dict[str, Any]:
    """A task of /sign-task/app/get-detail or of the /sign-task/owner/get-list page."""
    return {
        "sign_task_id": str(data.get("signTaskId") or ""),
        "status": data.get("signTaskStatus"),
        "subject": data.get("signTaskSubject"),
        "event": None,
        "actor_id": None,
        "trans_reference_id": data.get("transReferenceId"),
        "source": "api",
        "raw": data,
    }
