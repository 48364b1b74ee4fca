"""Vendor stand-ins shared by the end-to-end tests: a routing stand-in that records every request, a
Kingdee K3Cloud server (sessions, receivable queries filtered the way K3Cloud does), and an SMTP
mailbox for aiosmtpd."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any, dict[str, str]]
Route = Callable[["Seen"], Reply]


class Seen:
    """One request as the stand-in received it."""

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        self.method, self.path, self.headers, self.body = method, parts.path, headers, body
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


class StandIn:
    """A vendor API on 127.0.0.1: routes by (method, path); every request is recorded."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
                with stand_in.lock:
                    stand_in.seen.append(seen)
                status, payload, headers = stand_in.answer(seen)
                body = payload if isinstance(payload, bytes) else json.dumps(payload, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, seen: Seen) -> Reply:
        route = self.routes.get((seen.method, seen.path))
        return route(seen) if route else (404, {"message": "no route"}, {})

    def calls(self, method: str, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == method and s.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bearer(seen: Seen, token: str) -> Reply | None:
    if seen.headers.get("Authorization") != f"Bearer {token}":
        return (
            401,
            {
                "status": "error",
                "message": "Authentication credentials not found.",
                "category": "INVALID_AUTHENTICATION",
            },
            {},
        )
    return None


KD_PATH = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
KD_FIELDS = "FID,FModifyDate,FBillNo,FDocumentStatus,FALLAMOUNTFOR,F_ora_HubSpotDealId"


class Kingdee:
    """A K3Cloud server: logins hand out sessions, ExecuteBillQuery filters receivables honestly."""

    def __init__(self) -> None:
        self.bills: list[dict[str, Any]] = [
            {"FID": 100012, "FModifyDate": "2026-11-20T10:00:00.123", "FBillNo": "AR00000123",
             "FDocumentStatus": "C", "FALLAMOUNTFOR": Decimal("12000.50"), "F_ora_HubSpotDealId": "7001"},
            {"FID": 100013, "FModifyDate": "2026-11-20T11:00:00", "FBillNo": "AR00000124",
             "FDocumentStatus": "B", "FALLAMOUNTFOR": Decimal("999.99"), "F_ora_HubSpotDealId": "7002"},
        ]  # fmt: skip
        self.sessions: list[str] = []
        self.live: set[str] = set()
        self.lock = threading.Lock()
        self.standin = StandIn(
            {
                ("POST", KD_PATH.format("AuthService.ValidateUser")): self.login,
                ("POST", KD_PATH.format("DynamicFormService.ExecuteBillQuery")): self.query,
            }
        )

    def login(self, seen: Seen) -> Reply:
        body = seen.json()
        if body != {"acctID": "62f8ff01e0b76e", "username": "hub-api", "password": "kd-pass", "lcid": 2052}:
            return 200, {"Message": "用户名或密码错误！", "LoginResultType": 0, "IsSuccessByAPI": False}, {}
        with self.lock:
            sid = f"kd-{len(self.sessions) + 1}"
            self.sessions.append(sid)
            self.live.add(sid)
        answer = {"LoginResultType": 1, "IsSuccessByAPI": True, "KDSVCSessionId": sid, "Context": {}}
        return 200, answer, {"Set-Cookie": f"kdservice-sessionid={sid}; path=/; HttpOnly"}

    def forget_sessions(self) -> None:
        with self.lock:
            self.live.clear()

    def query(self, seen: Seen) -> Reply:
        cookie = seen.headers.get("Cookie", "")
        sid = cookie.removeprefix("kdservice-sessionid=")
        with self.lock:
            alive = sid in self.live
        if not alive:
            error = {"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}
            lost = {"ErrorCode": 500, "IsSuccess": False, "MsgCode": 1, "Errors": [error]}
            return 200, [[{"Result": {"ResponseStatus": lost}}]], {}
        data = seen.json()["data"]
        assert data["FormId"] == "AR_receivable" and data["FieldKeys"] == KD_FIELDS, data
        assert data["OrderString"] == "FModifyDate ASC, FID ASC", data
        prefix = "(FModifyDate >= '"
        assert data["FilterString"].startswith(prefix), data
        assert data["FilterString"].endswith("') AND (FDocumentStatus = 'C')"), data
        since = data["FilterString"][len(prefix) : len(prefix) + 19].replace(" ", "T")
        with self.lock:
            rows = sorted(
                (b for b in self.bills if b["FDocumentStatus"] == "C" and b["FModifyDate"] >= since),
                key=lambda b: (b["FModifyDate"], b["FID"]),
            )
        page = rows[data["StartRow"] : data["StartRow"] + data["Limit"]]
        keys = data["FieldKeys"].split(",")
        cells = [[str(b[k]) if isinstance(b[k], Decimal) else json.dumps(b[k]) for k in keys] for b in page]
        body = (
            "[" + ",".join("[" + ",".join(row) + "]" for row in cells) + "]"
        )  # amounts as exact JSON numbers
        return 200, body.encode(), {}

    def audit(self, number: str, modified: str) -> None:
        with self.lock:
            for bill in self.bills:
                if bill["FBillNo"] == number:
                    bill["FDocumentStatus"], bill["FModifyDate"] = "C", modified

    def queries(self) -> list[Seen]:
        return self.standin.calls("POST", KD_PATH.format("DynamicFormService.ExecuteBillQuery"))


class Mailbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"
