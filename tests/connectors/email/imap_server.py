"""A small IMAP4rev1 server for tests: LOGIN, SELECT/EXAMINE, STATUS, UID SEARCH, UID FETCH, LOGOUT."""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass
class Mailbox:
    user: str = "ops@example.com"
    password: str = "imap-pass"
    uidvalidity: int = 1000
    messages: dict[int, bytes] = field(default_factory=dict)
    next_uid: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = self.next_uid
            self.messages[uid] = raw
            self.next_uid += 1
            return uid


def _date_of(raw: bytes) -> date:
    match = re.search(rb"^Date: (.+)$", raw, re.M)
    return parsedate_to_datetime(match.group(1).decode().strip()).date() if match else date.today()


class _Handler(socketserver.StreamRequestHandler):
    server: Any

    def send(self, line: str | bytes) -> None:
        self.wfile.write(line if isinstance(line, bytes) else line.encode() + b"\r\n")

    def handle(self) -> None:
        box: Mailbox = self.server.mailbox
        self.send("* OK IMAP4rev1 test server ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            parts = [a or b for a, b in TOKEN.findall(raw.decode().strip())]
            if len(parts) < 2:
                continue
            tag, command, args = parts[0], parts[1].upper(), parts[2:]
            if command == "UID":
                command, args = "UID " + args[0].upper(), args[1:]
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY done")
            elif command == "LOGIN":
                if args[:2] == [box.user, box.password]:
                    self.send(f"{tag} OK LOGIN done")
                else:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
            elif command in ("SELECT", "EXAMINE"):
                with box.lock:
                    self.send(f"* {len(box.messages)} EXISTS")
                    self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
                    self.send(f"* OK [UIDNEXT {box.next_uid}] next")
                self.send(f"{tag} OK [READ-ONLY] {command} done")
            elif command == "UID SEARCH":
                self.send("* SEARCH " + " ".join(map(str, self.search(box, args))))
                self.send(f"{tag} OK SEARCH done")
            elif command == "UID FETCH":
                for uid in self.uid_set(box, args[0]):
                    body = box.messages[uid]
                    self.send(
                        f"* {uid} FETCH (UID {uid} BODY[] {{{len(body)}}}".encode()
                        + b"\r\n"
                        + body
                        + b")\r\n"
                    )
                self.send(f"{tag} OK FETCH done")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP done")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT done")
                return
            else:
                self.send(f"{tag} BAD unknown command {command}")

    @staticmethod
    def uid_set(box: Mailbox, spec: str) -> list[int]:
        with box.lock:
            uids = sorted(box.messages)
        chosen: set[int] = set()
        for piece in spec.split(","):
            if ":" in piece:
                low, high = piece.split(":")
                top = max(uids, default=0) if high == "*" else int(high)
                start = int(low)
                low_, high_ = min(start, top), max(start, top)
                found = [u for u in uids if low_ <= u <= high_]
                if high == "*" and not found and uids:
                    found = [uids[-1]]  # RFC 3501: n:* always includes the highest UID
                chosen.update(found)
            elif int(piece) in uids:
                chosen.add(int(piece))
        return sorted(chosen)

    def search(self, box: Mailbox, args: list[str]) -> list[int]:
        with box.lock:
            found = set(box.messages)
        index = 0
        while index < len(args):
            word = args[index].upper()
            if word == "UID":
                found &= set(self.uid_set(box, args[index + 1]))
                index += 2
            elif word == "SINCE":
                since = datetime.strptime(args[index + 1], "%d-%b-%Y").date()
                found = {u for u in found if _date_of(box.messages[u]) >= since}
                index += 2
            else:
                index += 1  # ALL, UNSEEN and the like: everything matches here
        return sorted(found)


class ImapServer:
    def __init__(self, mailbox: Mailbox) -> None:
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.mailbox = mailbox  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
