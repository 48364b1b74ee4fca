"""Approval instances in one shape, whether they come from a callback or from the API.

Both triggers emit the same event so a `wait_for` step can match `instance_id` whichever is used;
the event id is instance id + status + result, so each change is delivered once.
"""

from __future__ import annotations

from typing import Any

# bpms_instance_change `type` -> the status names of GET /v1.0/workflow/processInstances.
TYPE_STATUS = {"start": "RUNNING", "finish": "COMPLETED", "terminate": "TERMINATED", "delete": "DELETED"}


def event_id(item: dict[str, Any]) -> str:
    return f"{item['instance_id']}:{item['status']}:{item.get('result') or ''}"


def from_callback(data: dict[str, Any]) -> dict[str, Any]:
    """A decrypted bpms_instance_change event."""
    kind = str(data.get("type") or "")
    return {
        "instance_id": data.get("processInstanceId"),
        "process_code": data.get("processCode"),
        "status": TYPE_STATUS.get(kind, kind.upper()),
        "result": data.get("result") or "",
        "title": data.get("title"),
        "originator_user_id": data.get("staffId"),
        "business_id": data.get("businessId"),
        "create_time": data.get("createTime"),
        "finish_time": data.get("finishTime"),
        "url": data.get("url"),
        "source": "callback",
        "raw": data,
    }


def from_instance(
    instance_id: str, result: dict[str, Any], process_code: str | None = None
) -> dict[str, Any]:
    """The `result` object of GET /v1.0/workflow/processInstances."""
    return {
        "instance_id": instance_id,
        "process_code": process_code or result.get("processCode"),
        "status": str(result.get("status") or ""),
        "result": result.get("result") or "",
        "title": result.get("title"),
        "originator_user_id": result.get("originatorUserId"),
        "originator_dept_id": result.get("originatorDeptId"),
        "business_id": result.get("businessId"),
        "create_time": result.get("createTime"),
        "finish_time": result.get("finishTime"),
        "form_component_values": result.get("formComponentValues") or [],
        "tasks": result.get("tasks") or [],
        "source": "api",
    }
