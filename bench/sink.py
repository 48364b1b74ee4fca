"""A light HTTP/1.1 sink and poll stand-in on asyncio, so the bench measures the hub and not its peer.

POST anything: counted, and remembered by Idempotency-Key (a deduping vendor).
GET /items: the poll stand-in; `[]` while idle, fresh items once POST /mode {"fresh": n} is sent.
GET /stats: {"posts", "unique_keys", "polls", "items_served"}; POST /reset clears them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys


class SinkState:
    def __init__(self) -> None:
        self.posts = 0
        self.keys: set[str] = set()
        self.polls = 0
        self.items_served = 0
        self.fresh_per_poll = 0
        self.ids = itertools.count(1)

    def stats(self) -> dict[str, int]:
        return {
            "posts": self.posts,
            "unique_keys": len(self.keys),
            "polls": self.polls,
            "items_served": self.items_served,
        }

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if method == "GET" and path.startswith("/stats"):
            return 200, json.dumps(self.stats()).encode()
        if method == "GET" and path.startswith("/items"):
            self.polls += 1
            items = [{"id": next(self.ids), "amount": "12.50"} for _ in range(self.fresh_per_poll)]
            self.items_served += len(items)
            return 200, json.dumps({"items": items}).encode()
        if method == "POST" and path.startswith("/reset"):
            self.__init__()
            return 200, b"{}"
        if method == "POST" and path.startswith("/mode"):
            self.fresh_per_poll = int(json.loads(body or b"{}").get("fresh", 0))
            return 200, b"{}"
        self.posts += 1
        key = headers.get("idempotency-key")
        if key:
            self.keys.add(key)
        return 200, b'{"ok":true}'


async def serve_client(state: SinkState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            status, payload = state.handle(method, path, headers, body)
            writer.write(
                b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, len(payload), payload)
            )
            if headers.get("connection", "").lower() == "close":
                break
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    state = SinkState()
    server = await asyncio.start_server(lambda r, w: serve_client(state, r, w), "127.0.0.1", port)
    print(f"sink listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
