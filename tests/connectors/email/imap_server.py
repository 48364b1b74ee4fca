"""A small IMAP4rev1 server for tests: just enough of RFC 3501 for imaplib and the new_email trigger.

CAPABILITY, LOGIN, ID (RFC 2971), SELECT/EXAMINE, UID SEARCH (UID sets, ALL, SINCE, UNSEEN),
UID FETCH of RFC822 / BODY[] / BODY.PEEK[] as literals (only the non-PEEK forms set \\Seen), NOOP
and LOGOUT. Every command line is recorded so tests can check what the client asked for.
"""

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
    """One account with one folder (`folder`, modified UTF-7 as on the wire)."""

    user: str = "ops@example.com"
    password: str = "imap-pass"
    folder: str = "INBOX"
    uidvalidity: int = 1000
    send_uidnext: bool = True
    require_id: bool = False  # like NetEase 163: no SELECT before the client identifies itself
    messages: dict[int, bytes] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    commands: list[str] = field(default_factory=list)
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
        selected = identified = False
        self.send("* OK IMAP4rev1 test server ready")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().strip()
            parts = [a if a or not b else b for a, b in TOKEN.findall(line)]
            if len(parts) < 2:
                continue
            tag, command, args = parts[0], parts[1].upper(), parts[2:]
            box.commands.append(line.split(" ", 1)[1])
            if command == "UID" and args:
                command, args = "UID " + args[0].upper(), args[1:]
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN ID")
                self.send(f"{tag} OK CAPABILITY done")
            elif command == "LOGIN":
                if args[:2] == [box.user, box.password]:
                    self.send(f"{tag} OK LOGIN done")
                else:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
            elif command == "ID":
                identified = True
                self.send('* ID ("name" "test-server")')
                self.send(f"{tag} OK ID completed")
            elif command in ("SELECT", "EXAMINE"):
                if box.require_id and not identified:
                    self.send(f"{tag} NO {command} Unsafe Login. Please contact kefu@188.com for help")
                elif not args or args[0] != box.folder:
                    self.send(f"{tag} NO [NONEXISTENT] no such mailbox")
                else:
                    selected = True
                    self.select(box, tag, command)
            elif command in ("UID SEARCH", "UID FETCH") and not selected:
                self.send(f"{tag} BAD no mailbox selected")
            elif command == "UID SEARCH":
                found = self.search(box, args)
                if found is None:
                    self.send(f"{tag} BAD could not parse search")
                else:
                    self.send(" ".join(["* SEARCH", *map(str, found)]))
                    self.send(f"{tag} OK SEARCH done")
            elif command == "UID FETCH":
                self.fetch(box, tag, args[0], " ".join(args[1:]).upper())
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP done")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT done")
                return
            else:
                self.send(f"{tag} BAD unknown command {command}")

    def select(self, box: Mailbox, tag: str, command: str) -> None:
        with box.lock:
            self.send(f"* {len(box.messages)} EXISTS")
            self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid")
            if box.send_uidnext:
                self.send(f"* OK [UIDNEXT {box.next_uid}] predicted next UID")
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {command} done")

    def fetch(self, box: Mailbox, tag: str, spec: str, items: str) -> None:
        peek = "BODY.PEEK[]" in items
        if not peek and "RFC822" not in items and "BODY[]" not in items:
            self.send(f"{tag} BAD only whole-message fetches are supported")
            return
        name = "RFC822" if "RFC822" in items else "BODY[]"
        for uid in self.uid_set(box, spec):
            body = box.messages[uid]
            if not peek:
                box.seen.add(uid)
            head = f"* {uid} FETCH (UID {uid} {name} {{{len(body)}}}"
            self.send(head.encode() + b"\r\n" + body + b")\r\n")
        self.send(f"{tag} OK FETCH done")

    @staticmethod
    def uid_set(box: Mailbox, spec: str) -> list[int]:
        with box.lock:
            uids = sorted(box.messages)
        top = max(uids, default=0)
        chosen: set[int] = set()
        for piece in spec.split(","):
            low, _, high = piece.partition(":")
            first = top if low == "*" else int(low)
            last = first if not high else top if high == "*" else int(high)
            # RFC 3501: a range may be given in either order, and "n:*" includes the highest UID.
            chosen.update(u for u in uids if min(first, last) <= u <= max(first, last))
        return sorted(chosen)

    def search(self, box: Mailbox, args: list[str]) -> list[int] | None:
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
            elif word == "UNSEEN":
                found -= box.seen
                index += 1
            elif word == "ALL":
                index += 1
            else:
                return None
        return sorted(found)


class ImapServer:
    """Serves `mailbox` on 127.0.0.1 on a free port, one thread per connection."""

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
