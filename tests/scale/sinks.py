"""A local vendor stand-in that records when each request arrived and how many were in flight."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TimingSink:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.arrivals: list[tuple[float, str | None, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.items: list[dict[str, Any]] = []  # served on GET, as a polled vendor list
        self.polls: list[float] = []  # when each GET arrived
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with sink.lock:
                    sink.polls.append(time.monotonic())
                    payload = json.dumps({"data": {"items": list(sink.items)}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                with sink.lock:
                    sink.arrivals.append((time.monotonic(), self.headers.get("Idempotency-Key"), body))
                    sink.in_flight += 1
                    sink.max_in_flight = max(sink.max_in_flight, sink.in_flight)
                try:
                    if sink.delay_s:
                        time.sleep(sink.delay_s)
                finally:
                    with sink.lock:
                        sink.in_flight -= 1
                payload = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def max_in_window(self, window_s: float = 1.0, field: str | None = None) -> int:
        """The most requests that arrived (or, with `field`, whose body[field] time falls) within any
        `window_s` seconds: a sliding window."""
        times = sorted(body[field] if field else t for t, _, body in self.arrivals)
        best, start = 0, 0
        for end, stamp in enumerate(times):
            while stamp - times[start] >= window_s:
                start += 1
            best = max(best, end - start + 1)
        return best

    def max_surely_within(self, window_s: float, start: str, end: str) -> int:
        """The most requests whose moment certainly fell within one `window_s` window, each known
        only to lie between body[start] and body[end] (asked for and granted, in another process:
        a loaded machine may delay either reading, but never moves the moment outside them)."""
        spans = sorted((body[start], body[end]) for _t, _, body in self.arrivals)
        return max(
            (sum(1 for s, e in spans if s >= low and e <= low + window_s) for low, _ in spans), default=0
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
