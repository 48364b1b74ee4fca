"""new_email: poll an IMAP folder by UID; the cursor is the folder's UIDVALIDITY and the last UID taken."""

from __future__ import annotations

import contextlib
import imaplib
import json
import re
from datetime import UTC
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from connectors.email.pinning import imap_client
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.types import PollResult, TriggerEvent

BATCH = 50
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def _open(ctx: Context) -> imaplib.IMAP4:
    conn = ctx.connection
    host = str(conn.get("imap_host") or conn["host"])
    security = conn.get("imap_security") or "ssl"
    port = int(conn.get("imap_port") or (993 if security == "ssl" else 143))
    try:
        client = imap_client(host, port, security, ctx.timeout_s, ctx.allow_private_network)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise RetryableError(f"cannot connect to IMAP server {host}:{port}: {exc}") from exc
    try:
        client.login(str(conn.get("username") or ""), str(conn.get("password") or ""))
    except imaplib.IMAP4.error as exc:
        client.shutdown()
        raise AuthError(f"IMAP login to {host}:{port} refused: {exc}") from exc
    return client


def _check(answer: tuple[str, list[Any]], what: str) -> list[Any]:
    if answer[0] != "OK":
        raise RetryableError(f"IMAP {what} failed: {answer[1]!r}")
    return answer[1]


def _uidvalidity(client: imaplib.IMAP4) -> int:
    _code, data = client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status = _check(client.status(client._hub_folder, "(UIDVALIDITY)"), "STATUS")  # type: ignore[attr-defined]
    found = _UIDVALIDITY.search(status[0] or b"")
    if not found:
        raise RetryableError("IMAP server did not report UIDVALIDITY")
    return int(found.group(1))


def _search(client: imaplib.IMAP4, criteria: str) -> list[int]:
    data = _check(client.uid("SEARCH", None, criteria), "SEARCH")
    return sorted({int(n) for n in (data[0] or b"").split()})


def _event(uidvalidity: int, uid: int, raw: bytes) -> TriggerEvent:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    try:
        date = (
            parsedate_to_datetime(str(message["Date"])).astimezone(UTC).isoformat()
            if message["Date"]
            else None
        )
    except (TypeError, ValueError):
        date = None
    attachments = [
        {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(part.get_payload(decode=True) or b""),
        }
        for part in message.iter_attachments()
    ]
    data = {
        "uid": uid,
        "message_id": str(message["Message-ID"] or ""),
        "from": str(message["From"] or ""),
        "to": [addr for _n, addr in getaddresses([str(v) for v in message.get_all("To", [])])],
        "cc": [addr for _n, addr in getaddresses([str(v) for v in message.get_all("Cc", [])])],
        "subject": str(message["Subject"] or ""),
        "date": date,
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
        "attachments": attachments,
    }
    return TriggerEvent(data=data, id=f"{uidvalidity}:{uid}")


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    data = _check(client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])"), "FETCH")
    found: dict[int, bytes] = {}
    for part in data:
        if isinstance(part, tuple):
            match = re.search(rb"UID (\d+)", part[0])
            if match:
                found[int(match.group(1))] = part[1]
    return found


def poll(ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
    folder = str(config.get("folder") or "INBOX")
    criteria = str(config.get("search") or "ALL")
    if any(c in folder + criteria for c in "\r\n"):
        raise PermanentError("folder and search must be one line each")
    state = json.loads(cursor) if cursor else None
    client = _open(ctx)
    try:
        client._hub_folder = folder  # type: ignore[attr-defined]
        _check(client.select(f'"{folder}"', readonly=True), f"SELECT {folder}")
        validity = _uidvalidity(client)
        if state is None or state.get("uidvalidity") != validity:
            if state is None and ctx.since is not None:
                since = ctx.since.strftime("%d-%b-%Y")
                uids = _search(client, f"SINCE {since} {criteria}")
                return _take(client, validity, uids, 0)
            everything = _search(client, "ALL")
            return PollResult(
                items=[], cursor=json.dumps({"uidvalidity": validity, "last_uid": max(everything, default=0)})
            )
        last = int(state.get("last_uid") or 0)
        uids = [uid for uid in _search(client, f"UID {last + 1}:* {criteria}") if uid > last]
        return _take(client, validity, uids, last)
    except imaplib.IMAP4.error as exc:
        raise RetryableError(f"IMAP error: {exc}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def _take(client: imaplib.IMAP4, validity: int, uids: list[int], last: int) -> PollResult:
    batch = uids[:BATCH]
    bodies = _fetch(client, batch) if batch else {}
    items = [_event(validity, uid, bodies[uid]) for uid in batch if uid in bodies]
    newest = max(batch, default=last)
    return PollResult(items=items, cursor=json.dumps({"uidvalidity": validity, "last_uid": newest}))
