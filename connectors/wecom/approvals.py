"""WeCom approvals (审批申请) in one shape, whether they come from a callback or from the API.

Both triggers emit the same event, so a `wait_for` step can match `sp_no` whichever is used; the
event id is sp_no + sp_status, so each status is delivered once however often WeCom reports it
(a reminder or a comment re-sends the same status).
"""

from __future__ import annotations

from typing import Any

# sp_status -> a stable name for recipes (getapprovaldetail / sys_approval_change).
STATUS_NAMES = {
    1: "approving",
    2: "approved",
    3: "rejected",
    4: "revoked",
    6: "revoked_after_approval",
    7: "deleted",
    10: "paid",
}
FINAL_STATUSES = ["approved", "rejected", "revoked", "revoked_after_approval", "deleted", "paid"]
STATUS_ENUM = list(STATUS_NAMES.values())

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sp_no": {"type": "string", "title": "Approval number (sp_no)"},
        "sp_name": {"type": ["string", "null"], "title": "Template name"},
        "sp_status": {"type": ["integer", "null"], "title": "Status code"},
        "status": {"type": "string", "title": "Status", "enum": [*STATUS_ENUM, "unknown"]},
        "template_id": {"type": ["string", "null"]},
        "apply_time": {"type": ["integer", "null"], "title": "Submitted (Unix seconds)"},
        "applyer_userid": {"type": ["string", "null"]},
        "change_event": {"type": ["integer", "null"], "title": "What changed (callback only)"},
        "source": {"enum": ["callback", "api"]},
    },
}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def status_name(sp_status: int | None) -> str:
    return STATUS_NAMES.get(sp_status or 0, "unknown")


def event_id(item: dict[str, Any]) -> str:
    return f"{item['sp_no']}:{item['sp_status']}"


def from_callback(info: dict[str, Any]) -> dict[str, Any]:
    """The `ApprovalInfo` of a decrypted sys_approval_change event (XML read by callback.xml_dict)."""
    sp_status = _int(info.get("SpStatus"))
    applyer = info.get("Applyer")
    applyer = applyer if isinstance(applyer, dict) else {}
    return {
        "sp_no": str(info.get("SpNoStr") or info.get("SpNo") or ""),
        "sp_name": info.get("SpName"),
        "sp_status": sp_status,
        "status": status_name(sp_status),
        "template_id": info.get("TemplateId"),
        "apply_time": _int(info.get("ApplyTime")),
        "applyer_userid": applyer.get("UserId"),
        "change_event": _int(info.get("StatuChangeEvent")),
        "source": "callback",
        "raw": info,
    }


def from_detail(info: dict[str, Any]) -> dict[str, Any]:
    """The `info` object of POST /cgi-bin/oa/getapprovaldetail."""
    sp_status = _int(info.get("sp_status"))
    applyer = info.get("applyer")
    applyer = applyer if isinstance(applyer, dict) else {}
    return {
        "sp_no": str(info.get("sp_no") or ""),
        "sp_name": info.get("sp_name"),
        "sp_status": sp_status,
        "status": status_name(sp_status),
        "template_id": info.get("template_id"),
        "apply_time": _int(info.get("apply_time")),
        "applyer_userid": applyer.get("userid"),
        "change_event": None,
        "source": "api",
        "raw": info,
    }


CALLBACK_SAMPLE: dict[str, Any] = {
    "sp_no": "202611240001",
    "sp_name": "合同审批",
    "sp_status": 2,
    "status": "approved",
    "template_id": "3TmmcVxSXNgmZJM8ZpbrZVuucxadbweg7pdtEmaQ",
    "apply_time": 1763960000,
    "applyer_userid": "WangXiaoMing",
    "change_event": 2,
    "source": "callback",
    "raw": {},
}
