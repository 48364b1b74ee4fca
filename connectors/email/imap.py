"""new_email: poll an IMAP folder by UID; the cursor is the folder's UIDVALIDITY and the last UID taken.

UIDs only grow within one UIDVALIDITY, so "UID last+1:*" is exactly the new mail, and
`f"{uidvalidity}:{uid}"` is an id that never names two messages. The folder is opened read-only
and bodies are fetched with BODY.PEEK[], so polling never marks mail as read.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import json
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, cast

from connectors.email.pinning import imap_client
from hub.sdk.context import Context
from hub.sdk.errors import AuthError, PermanentError, RetryableError
from hub.sdk.types import PollResult, TriggerEvent

BATCH = 50  # messages per poll; the next poll continues from the cursor
FETCH_CHUNK = 10  # messages per FETCH, so at most this many raw messages are in memory at once
MAX_BODY_CHARS = 262_144  # text and html are cut here: events are stored, not mailboxes
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FETCH_UID = re.compile(rb"UID (\d+)")
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030"}


def check_config(config: dict[str, Any]) -> tuple[str, str]:
    """The folder and search criteria; one line each, since they go into IMAP commands verbatim."""
    folder = str(config.get("folder") or "INBOX")
    criteria = str(config.get("search") or "ALL").strip() or "ALL"
    for field, value in (("folder", folder), ("search", criteria)):
        if "\r" in value or "\n" in value:
            raise PermanentError(f"{field}: line breaks are not allowed")
    if not criteria.isascii():
        raise PermanentError("search: only ASCII criteria are supported (IMAP needs literals for others)")
    return folder, criteria


def mailbox_name(folder: str) -> str:
    """A quoted IMAP mailbox name in modified UTF-7 (RFC 3501 5.1.3), e.g. 已发送 on Chinese servers."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + raw.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def imap_date(when: datetime) -> str:
    """IMAP's 1-Jan-2026 form, without strftime's locale-dependent month names."""
    day = when.astimezone(UTC) if when.tzinfo else when
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def _reason(exc: BaseException) -> str:
    """imaplib puts the server's bytes in its errors; say them as text."""
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def _open(ctx: Context) -> imaplib.IMAP4:
    conn = ctx.connection
    host = str(conn.get("imap_host") or conn.get("host") or "")
    if not host:
        raise PermanentError("imap_host: the IMAP host is not set")
    security = str(conn.get("imap_security") or "ssl")
    if security not in ("ssl", "starttls", "none"):
        raise PermanentError(f"imap_security: '{security}' is not one of ssl, starttls, none")
    port = int(conn.get("imap_port") or (993 if security == "ssl" else 143))
    try:
        client = imap_client(host, port, security, ctx.timeout_s, ctx.allow_private_network)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise RetryableError(f"cannot connect to IMAP server {host}:{port}: {exc}") from exc
    try:
        client.login(str(conn.get("username") or ""), str(conn.get("password") or ""))
    except imaplib.IMAP4.abort as exc:
        client.shutdown()
        raise RetryableError(f"IMAP server {host}:{port} dropped the login: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        client.shutdown()
        raise AuthError(f"IMAP login to {host}:{port} refused: {_reason(exc)}") from exc
    except OSError as exc:
        client.shutdown()
        raise RetryableError(f"IMAP login to {host}:{port} failed: {exc}") from exc
    _identify(client)
    return client


def _identify(client: imaplib.IMAP4) -> None:
    """NetEase (163/126) refuses SELECT ("Unsafe Login") until the client sends an RFC 2971 ID.

    Only sent when the server advertises ID: some servers (QQ Mail) drop the connection on
    commands they do not know.
    """
    if "ID" in client.capabilities:
        with contextlib.suppress(imaplib.IMAP4.error):
            client.xatom("ID", '("name" "integration-hub" "vendor" "integration-hub")')


def _code(client: imaplib.IMAP4, name: str) -> int | None:
    _name, data = client.response(name)
    try:
        return int(data[0]) if data and data[0] else None
    except (TypeError, ValueError):
        return None


def _select(client: imaplib.IMAP4, folder: str) -> tuple[int, int | None]:
    """EXAMINE the folder (read-only); its UIDVALIDITY and UIDNEXT, which SELECT must report."""
    status, data = client.select(mailbox_name(folder), readonly=True)
    if status != "OK":
        reply = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise PermanentError(f"folder: cannot open '{folder}': {reply}")
    validity, uidnext = _code(client, "UIDVALIDITY"), _code(client, "UIDNEXT")
    if validity is None:
        raise RetryableError(f"IMAP server did not report UIDVALIDITY for '{folder}'")
    return validity, uidnext


def _search(client: imaplib.IMAP4, criteria: str) -> list[int]:
    try:
        status, data = client.uid("SEARCH", criteria)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:  # BAD: the server could not parse the criteria
        raise PermanentError(f"search: the IMAP server rejected '{criteria}': {_reason(exc)}") from exc
    if status != "OK":
        raise PermanentError(f"search: the IMAP server refused '{criteria}': {data!r}")
    return sorted({int(n) for n in (data[0] or b"").split()})


def _top_uid(client: imaplib.IMAP4, uidnext: int | None) -> int:
    """The highest UID in the folder now; every later message gets a larger one."""
    if uidnext is not None:
        return uidnext - 1
    return max(_search(client, "ALL"), default=0)


def _decoded(part: EmailMessage | None) -> str | None:
    """A text part as str, tolerant of unknown charsets; GB2312 labels are read as GB18030."""
    if part is None:
        return None
    payload = part.get_payload(decode=True)  # bytes, or None for a multipart part
    if not isinstance(payload, bytes):
        payload = b""
    charset = str(part.get_content_charset() or "utf-8").lower()
    try:
        text = payload.decode(_CHARSET_ALIASES.get(charset, charset), "replace")
    except LookupError:
        text = payload.decode("utf-8", "replace")
    return text[:MAX_BODY_CHARS]


def _date(message: EmailMessage) -> str | None:
    try:
        header = message["Date"]
        when = parsedate_to_datetime(str(header)) if header else None
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = [str(v) for v in message.get_all(name, [])]
    return [addr for _name, addr in getaddresses(values) if addr]


def event(uidvalidity: int, uid: int, raw: bytes) -> TriggerEvent:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    data = {
        "uid": uid,
        "message_id": str(message["Message-ID"] or "").strip(),
        "from": str(message["From"] or ""),
        "to": _addresses(message, "To"),
        "cc": _addresses(message, "Cc"),
        "subject": str(message["Subject"] or ""),
        "date": _date(message),
        "text": _decoded(cast(EmailMessage | None, message.get_body(preferencelist=("plain",)))),
        "html": _decoded(cast(EmailMessage | None, message.get_body(preferencelist=("html",)))),
        "attachments": [
            {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(part.get_payload(decode=True) or b""),
            }
            for part in message.iter_attachments()
        ],
    }
    return TriggerEvent(data=data, id=f"{uidvalidity}:{uid}")


def _safe_event(validity: int, uid: int, raw: bytes) -> TriggerEvent:
    """A message the parser chokes on still becomes an event: one bad mail must not stall the trigger."""
    try:
        return event(validity, uid, raw)
    except Exception:  # the email package raises many kinds of error on malformed input
        data: dict[str, Any] = dict.fromkeys(("message_id", "from", "subject"), "")
        data.update(uid=uid, to=[], cc=[], date=None, text=None, html=None, attachments=[])
        return TriggerEvent(data=data, id=f"{validity}:{uid}")


def _fetch(client: imaplib.IMAP4, validity: int, uids: list[int]) -> list[TriggerEvent]:
    """Events for `uids`, oldest first; a message expunged since the search is skipped."""
    events: list[TriggerEvent] = []
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        status, data = client.uid("FETCH", ",".join(map(str, chunk)), "(UID BODY.PEEK[])")
        if status != "OK":
            raise RetryableError(f"IMAP FETCH failed: {data!r}")
        found: dict[int, bytes] = {}
        for part in data:
            if isinstance(part, tuple):
                match = _FETCH_UID.search(part[0])
                if match:
                    found[int(match.group(1))] = part[1]
        events.extend(_safe_event(validity, uid, found[uid]) for uid in chunk if uid in found)
    return events


def _cursor(validity: int, last_uid: int) -> str:
    return json.dumps({"uidvalidity": validity, "last_uid": last_uid})


def _take(client: imaplib.IMAP4, validity: int, uids: list[int], floor: int) -> PollResult:
    """The oldest BATCH of `uids`; the cursor moves to the last one taken, or to `floor` if all fit."""
    batch = uids[:BATCH]
    last = batch[-1] if len(uids) > BATCH else max([floor, *batch])
    return PollResult(items=_fetch(client, validity, batch), cursor=_cursor(validity, last))


def _parse_cursor(cursor: str | None) -> dict[str, int] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        return {"uidvalidity": int(state["uidvalidity"]), "last_uid": int(state["last_uid"])}
    except (ValueError, TypeError, KeyError) as exc:
        raise PermanentError(f"new_email: unreadable cursor {cursor!r}") from exc


def poll(ctx: Context, config: dict[str, Any], cursor: str | None) -> PollResult:
    """Not a NewestIdPolling: UIDs grow only within one UIDVALIDITY, and a session holds the folder."""
    folder, criteria = check_config(config)
    state = _parse_cursor(cursor)
    client = _open(ctx)
    try:
        validity, uidnext = _select(client, folder)
        if state is None or state["uidvalidity"] != validity:
            top = _top_uid(client, uidnext)
            if state is None and ctx.since is not None:  # a backfill: mail since that day, then onwards
                since = _search(client, f"SINCE {imap_date(ctx.since)} {criteria}")
                return _take(client, validity, since, top)
            return PollResult(items=[], cursor=_cursor(validity, top))  # start from now
        last = state["last_uid"]
        # "n:*" always matches the highest UID, even one <= last: filter it out.
        uids = [uid for uid in _search(client, f"UID {last + 1}:* {criteria}") if uid > last]
        # Everything below UIDNEXT existed when the search ran, so a full batch moves the cursor there.
        floor = last if uidnext is None else max(last, uidnext - 1)
        return _take(client, validity, uids, floor)
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise RetryableError(f"IMAP connection lost: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        raise RetryableError(f"IMAP error: {_reason(exc)}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def check(ctx: Context) -> str:
    """IMAP login and logout, for test_connection when the trigger is set up."""
    client = _open(ctx)
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()
    return f"IMAP login to {client.host}:{client.port} succeeded"
