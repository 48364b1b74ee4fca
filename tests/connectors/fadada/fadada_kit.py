"""What 法大大 sends to a callback URL, signed with the documented algorithm (tests and the e2e)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from connectors.fadada.signing import CALLBACK_HEADERS, signature

APP_ID = "80000123"
APP_SECRET = "fasc-app-secret-7"


def signed_callback(
    event: str,
    biz: dict[str, Any],
    *,
    stamp: str | None = None,
    secret: str = APP_SECRET,
    app_id: str = APP_ID,
) -> tuple[dict[str, str], bytes]:
    """(headers, form body) of a callback POST."""
    biz_content = json.dumps(biz, ensure_ascii=False)
    headers = {
        "X-FASC-App-Id": app_id,
        "X-FASC-Sign-Type": "HMAC-SHA256",
        "X-FASC-Timestamp": stamp or str(int(time.time() * 1000)),
        "X-FASC-Nonce": "8f1c5e7a00004000800000000000e2aa",
        "X-FASC-Event": event,
    }
    parameters = {name: headers[name] for name in CALLBACK_HEADERS}
    parameters["bizContent"] = biz_content
    headers["X-FASC-Sign"] = signature(parameters, headers["X-FASC-Timestamp"], secret)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers, urlencode({"bizContent": biz_content}).encode()


def finished(task_id: str, status: str = "task_finished") -> dict[str, Any]:
    return {
        "signTaskId": task_id,
        "signTaskStatus": status,
        "transReferenceId": "C-7",
        "eventTime": "1763960000000",
    }
