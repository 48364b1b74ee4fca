"""Jotform answers and deliveries shaped like the documented ones, shared by the Jotform tests."""

from __future__ import annotations

import json
from typing import Any

FORM_ID = "241018298765432"
API = "https://api.jotform.com"
KEY = "jf-test-key-0123456789abcdef"

RAW_REQUEST = {
    "slug": f"submit/{FORM_ID}",
    "jsExecutionTracker": "build-date-1732345678901=>init-started:1732345679000",
    "submitSource": "form",
    "submitDate": "1732345712345",
    "buildDate": "1732345678901",
    "uploadServerUrl": "https://upload.jotform.com/upload",
    "eventObserver": "1",
    "q3_name": {"first": "Li", "last": "Lei"},
    "q4_email": "li.lei@example.com",
    "q5_phoneNumber": {"full": "(555) 555-0100"},
    "q6_budget": "12800.50",
    "q7_message": "想了解企业版价格",
    "q8_products": ["CRM", "ERP"],
    "event_id": "1732345679000_241018298765432_abc1234",
    "timeToSubmit": "33",
    "validatedNewRequiredFieldIDs": '{"new":1}',
    "path": f"/submit/{FORM_ID}",
}


def delivery_fields(submission_id: str = "5931738482018634071", form_id: str = FORM_ID) -> dict[str, str]:
    """The form fields of one webhook delivery, as Jotform posts them."""
    return {
        "action": "",
        "webhookURL": "",
        "username": "acme_sales",
        "formID": form_id,
        "type": "WEB",
        "customParams": "",
        "product": "false",
        "formTitle": "Contact us",
        "customTitle": "",
        "submissionID": submission_id,
        "event": "",
        "documentID": "",
        "teamID": "",
        "subject": "",
        "isSilent": "false",
        "customBody": "",
        "rawRequest": json.dumps(RAW_REQUEST, ensure_ascii=False),
        "fromTable": "",
        "appID": "",
        "pretty": "Name:Li Lei, E-mail:li.lei@example.com, Phone Number:(555) 555-0100, Budget:12800.50",
        "unread": "",
        "parent": "",
        "ip": "203.0.113.7",
    }


def multipart(
    fields: dict[str, str], boundary: str = "------------------------a1b2c3d4e5f6"
) -> tuple[bytes, str]:
    """A multipart/form-data body (fields only, CRLF line ends) and its Content-Type."""
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def submission(sid: str, created_at: str, *, status: str = "ACTIVE") -> dict[str, Any]:
    """One element of `GET /form/{id}/submissions` content."""
    return {
        "id": sid,
        "form_id": FORM_ID,
        "ip": "203.0.113.7",
        "created_at": created_at,
        "status": status,
        "new": "1",
        "flag": "0",
        "notes": "",
        "updated_at": None,
        "answers": {
            "1": {"name": "heading", "order": "1", "text": "Contact us", "type": "control_head"},
            "2": {"name": "submit2", "order": "9", "text": "Submit", "type": "control_button"},
            "3": {
                "name": "name",
                "order": "2",
                "text": "Name",
                "type": "control_fullname",
                "answer": {"first": "Li", "last": "Lei"},
                "prettyFormat": "Li Lei",
            },
            "4": {
                "name": "email",
                "order": "3",
                "text": "E-mail",
                "type": "control_email",
                "answer": f"{sid}@example.com",
            },
        },
    }


def page(items: list[dict[str, Any]], offset: int = 0, limit: int = 100) -> dict[str, Any]:
    return {
        "responseCode": 200,
        "message": "success",
        "content": items,
        "duration": "21.34ms",
        "resultSet": {"offset": offset, "limit": limit, "count": len(items)},
        "limit-left": 9876,
    }
