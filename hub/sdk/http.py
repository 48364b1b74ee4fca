"""The one HTTP client connectors use: guarded, deadline-bound, redacting, and it turns every
failure into the error type the engine needs to decide between retrying and failing the step."""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import functools
import http
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3 import Timeout
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from hub import jsonutil
from hub.redaction import is_secret_key, redact_text
from hub.sdk import tls
from hub.sdk.errors import (
    AuthError,
    BlockedAddressError,
    HubError,
    PermanentError,
    RetryableError,
    VendorResponseError,
)
from hub.sdk.netguard import GuardedAdapter, guarded_session

logger = logging.getLogger("hub.http")

AuthHook = Callable[[requests.PreparedRequest], Any] | requests.auth.AuthBase
ErrorParser = Callable[["HttpResponse"], tuple[str, str | None] | None]
RetryAfterHook = Callable[["HttpResponse"], float | None]

_REDIRECTS = {301, 302, 303, 307, 308}
_RATE_HEADER = re.compile(r"rate-?limit|limit-remaining|retry-after", re.I)
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_ERROR_BODY_LIMIT = 64 * 1024
_CHUNK = 64 * 1024
_PHRASES = {s.value: s.phrase for s in http.HTTPStatus}
_WRAPPERS = (requests.RequestException, Urllib3Error)

_sessions: dict[tuple[bool, Path | None], requests.Session] = {}
_sessions_lock = threading.Lock()


def shared_session(allow_private: bool) -> requests.Session:
    """The process-wide pooled session for one guard mode and CA bundle (so keep-alive spans calls)."""
    key = (allow_private, tls.ca_bundle())
    with _sessions_lock:
        if key not in _sessions:
            _sessions[key] = guarded_session(allow_private=allow_private)
        return _sessions[key]


def _charset(headers: Mapping[str, str]) -> str:
    match = re.search(r"charset=\"?([^\";\s]+)", headers.get("Content-Type", ""), re.I)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


@dataclass
class HttpResponse:
    """A fully read response: the body is bytes in memory, so it can be parsed more than once."""

    status: int
    headers: CaseInsensitiveDict[str]
    content: bytes
    url: str
    elapsed_ms: float

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.headers), errors="replace")

    @property
    def is_json(self) -> bool:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return ctype == "application/json" or ctype.endswith("+json")

    def json(self) -> Any:
        """Parse the body under the hub's strict JSON policy (numbers with a fraction become Decimal so
        money stays exact); VendorResponseError when it is not JSON the hub can read and store."""
        try:
            return jsonutil.strict_loads(self.content)
        except jsonutil.InvalidJSON as e:
            ctype = self.headers.get("Content-Type") or "no content type"
            raise VendorResponseError(
                f"response is not valid JSON ({ctype}): {e} [HTTP {self.status}]", status=self.status
            ) from None


def dumps_json(value: Any) -> bytes:
    """A request body: JSON with Decimals digit for digit and dates as ISO-8601."""
    return jsonutil.dumps(value, compact=True).encode("utf-8")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP-date."""
    try:
        return max(0.0, float(value or ""))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret (also URL-encoded) and secret-named query value by [REDACTED]."""
    return redact_text(text, secrets)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """The URL with passwords, secret-looking query values and known secrets replaced."""
    return redact_text(url, secrets)


@functools.lru_cache(maxsize=1024)
def _prepared_url(url: str) -> str:
    """requests' `prepare_url` of a URL without params (~20 µs: parsing, IDNA, requoting), kept per
    URL: a step's URL is often the same for every run. Errors are raised each time, never kept."""
    prep = requests.PreparedRequest()
    prep.prepare_url(url, None)
    return prep.url or url


def _prepare(
    method: str, url: str, headers: CaseInsensitiveDict[str], params: Any, body: Any
) -> requests.PreparedRequest:
    """requests' own preparation, less the parts a call never uses: the cookie jar (shared sessions
    keep no cookies and calls send none) and hooks; auth is the connection's hook, applied after."""
    prep = requests.PreparedRequest()
    prep.prepare_method(method.upper())
    if params:
        prep.prepare_url(url, params)
    else:
        prep.url = _prepared_url(url)
    prep.prepare_headers(headers)
    prep.prepare_body(body, None)
    prep.prepare_auth(None, url)  # user:password in the URL becomes Basic auth, as requests does
    return prep


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps, outermost first (requests nests urllib3 errors)."""
    found: list[BaseException] = []
    stack = [exc]
    while stack:
        e = stack.pop(0)
        if all(e is not f for f in found):
            found.append(e)
            nested = [*e.args, getattr(e, "reason", None), e.__cause__, e.__context__]
            stack.extend(n for n in nested if isinstance(n, BaseException))
    return found


class HttpClient:
    """One connector call's client: base URL, auth, secrets and vendor name for messages."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        allow_private: bool = False,
        timeout: float = 30.0,
        max_response_bytes: int = 10 * 2**20,
        max_redirects: int = 5,
        default_headers: dict[str, str] | None = None,
        auth: AuthHook | None = None,
        secrets: Iterable[str] = (),
        vendor: str = "HTTP",
        error_parser: ErrorParser | None = None,
        retry_after: RetryAfterHook | None = None,
        session: requests.Session | None = None,
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        self.base_url = base_url
        # Where `auth` may go: None trusts the first request's origin (the connector chose the URL);
        # a set (exact names, or "*.example.com") refuses other hosts and drops auth on redirects off it.
        self.allowed_hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        self.allow_private = allow_private
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_redirects = max_redirects
        self.default_headers = dict(default_headers or {})
        self.auth = auth
        self.secrets = [str(s) for s in secrets if s]
        self.vendor = vendor
        self.error_parser = error_parser
        self.retry_after = retry_after
        self.session = session or shared_session(allow_private)

    def describe(self, method: str, url: str) -> str:
        """'METHOD url' safe for logs and messages."""
        return f"{method.upper()} {redact_url(url, self.secrets)}"

    def get(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("DELETE", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        raise_for_status: bool = True,
        expected: Iterable[int] | None = None,
        idempotency_key: str | None = None,
    ) -> HttpResponse:
        """Send one call (following redirects by hand) and return the fully read response.

        `timeout` is the whole call's budget. `expected` statuses are returned instead of raised."""
        if sum(x is not None for x in (json, data, content)) > 1:
            raise ValueError("pass only one of json, data and content")
        started = time.monotonic()
        deadline = started + (self.timeout if timeout is None else timeout)
        merged = CaseInsensitiveDict(self.session.headers)
        merged.update(self.default_headers)
        merged.update(headers or {})
        body: Any = data if content is None else content
        if json is not None:
            body = dumps_json(json)
            merged.setdefault("Content-Type", "application/json")
        if idempotency_key:
            merged["Idempotency-Key"] = idempotency_key
        full_url = self._check_url(self._join(url))
        self._check_credential_host(full_url)
        try:
            prep = _prepare(method, full_url, merged, params, body)
        except requests.RequestException as e:
            raise PermanentError(f"{self.vendor}: invalid request: {redact(str(e), self.secrets)}") from e
        resp, prep = self._follow(prep, deadline)
        failing = resp.status_code >= 400 and raise_for_status and resp.status_code not in set(expected or ())
        limit = min(self.max_response_bytes, _ERROR_BODY_LIMIT) if failing else self.max_response_bytes
        body_bytes = self._read(resp, deadline, limit, truncate=failing)
        elapsed = round((time.monotonic() - started) * 1000, 1)
        # requests built resp.headers for this response alone: it is the HttpResponse's own
        result = HttpResponse(resp.status_code, resp.headers, body_bytes, prep.url or "", elapsed)
        if failing:
            raise self._status_error(result, prep.method or method)
        return result

    def _follow(
        self, prep: requests.PreparedRequest, deadline: float
    ) -> tuple[requests.Response, requests.PreparedRequest]:
        """Send and follow redirects by hand, so each hop is guarded and credentials stay home."""
        origin, auth_headers, trusted = _origin(prep.url or ""), self._apply_auth(prep), True
        for hop in range(self.max_redirects + 1):
            resp = self._send(prep, deadline, hop)
            status, location = resp.status_code, resp.headers.get("Location")
            if status not in _REDIRECTS or not location:
                return resp, prep
            resp.close()
            if hop == self.max_redirects:
                break
            prep = prep.copy()
            prep.prepare_url(self._check_url(urljoin(prep.url or "", location), redirect=True), None)
            if (status == 303 and prep.method != "HEAD") or (status in (301, 302) and prep.method == "POST"):
                prep.method, prep.body = "GET", None
                for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                    prep.headers.pop(name, None)
            if trusted and not self._credentials_may_follow(origin, prep.url or ""):
                trusted = False  # once off the trusted hosts, credentials never come back
                for name in list(prep.headers):
                    if name.lower() in auth_headers or is_secret_key(name):
                        del prep.headers[name]
            elif trusted:
                self._apply_auth(prep)
        raise PermanentError(f"{self.vendor}: more than {self.max_redirects} redirects [HTTP {status}]")

    def host_allowed(self, host: str) -> bool:
        """Whether `host` is one the credentials may go to (always true without allowed_hosts)."""
        if self.allowed_hosts is None:
            return True
        host = host.lower().rstrip(".")
        return any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
            for allowed in self.allowed_hosts
        )

    def _check_credential_host(self, url: str) -> None:
        """Refuse to send the connection's credentials to a host the connection does not name."""
        if self.auth is None:
            return
        host = urlsplit(url).hostname or ""
        if not self.host_allowed(host):
            allowed = ", ".join(sorted(self.allowed_hosts or ())) or "none"
            raise PermanentError(
                f"{self.vendor}: refusing to send the connection's credentials to {host}: "
                f"not one of its allowed hosts ({allowed})",
                details={"host": host, "allowed_hosts": sorted(self.allowed_hosts or ())},
            )

    def _credentials_may_follow(self, origin: tuple[str, str, int | None], url: str) -> bool:
        """A redirect keeps credentials on the same origin, or (with allowed_hosts) on an allowed
        host without a downgrade from https to http."""
        target = _origin(url)
        if self.allowed_hosts is None:
            return target == origin
        return self.host_allowed(target[1]) and not (origin[0] == "https" and target[0] != "https")

    def _join(self, url: str) -> str:
        if _ABSOLUTE.match(url):
            return url
        if self.base_url is None:
            raise PermanentError(f"{self.vendor}: relative URL {url!r} needs a base_url")
        return self.base_url.rstrip("/") + "/" + url.lstrip("/")

    def _check_url(self, url: str, *, redirect: bool = False) -> str:
        parts = urlsplit(url)
        if parts.scheme.lower() in ("http", "https") and parts.hostname:
            return url
        what = f"redirect target {parts.scheme!r}" if redirect else repr(parts.scheme or url[:40])
        raise PermanentError(
            f"{self.vendor}: only http and https URLs are allowed, not {redact(what, self.secrets)}"
        )

    def _apply_auth(self, prep: requests.PreparedRequest) -> set[str]:
        """Run the auth hook; return the (lower-case) names of the headers it set or changed."""
        if self.auth is None:
            return set()
        before = dict(prep.headers)
        result = self.auth(prep)
        if isinstance(result, requests.PreparedRequest) and result is not prep:
            prep.__dict__.update(result.__dict__)
        return {k.lower() for k, v in prep.headers.items() if before.get(k) != v}

    def _send(self, prep: requests.PreparedRequest, deadline: float, hop: int) -> requests.Response:
        method = prep.method or "GET"

        def shown() -> str:  # redacted only for a message or log line that shows it: most calls need none
            return redact_url(prep.url or "", self.secrets)

        adapter = self.session.get_adapter(prep.url or "")
        if not self.allow_private and not (
            isinstance(adapter, GuardedAdapter) and not adapter.guard.allow_private
        ):
            raise BlockedAddressError(
                f"{self.vendor}: refusing to send {method} {shown()} through an unguarded session"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RetryableError(
                f"{self.vendor}: time budget used up before {method} {shown()}", outcome_unknown=hop > 0
            )
        t0, line = time.monotonic(), "%s %s -> %s in %.0f ms"
        try:
            resp = adapter.send(
                prep,
                stream=True,
                # requests handles a urllib3 Timeout here (documented, isinstance-checked in send);
                # its TimeoutType alias lists only floats and tuples.
                timeout=Timeout(total=remaining),  # type: ignore[arg-type]
                verify=self.session.verify,
                cert=self.session.cert,
                proxies={},
            )
        except Exception as e:
            logger.info(line, method, shown(), type(e).__name__, (time.monotonic() - t0) * 1000)
            err = self._transport_error(e, method, shown(), hop)
            if err is e:
                raise
            raise err from (None if any(err is c for c in _causes(e)) else e)
        # Every attempt is recorded with the run; the log keeps the failures, and all calls at DEBUG.
        level = logging.INFO if resp.status_code >= 400 else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(level, line, method, shown(), resp.status_code, (time.monotonic() - t0) * 1000)
        return resp

    def _transport_error(self, exc: Exception, method: str, shown: str, hop: int) -> Exception:
        """Map a requests/urllib3 failure to what the engine needs: was the request maybe sent?"""
        causes = list(_causes(exc))
        ours = [c for c in causes if isinstance(c, HubError)]
        if ours:  # e.g. BlockedAddressError raised inside the guarded connection
            return next((c for c in ours if isinstance(c, BlockedAddressError)), ours[0])
        root = next((c for c in causes if isinstance(c, OSError) and not isinstance(c, _WRAPPERS)), exc)
        detail = redact(str(root), self.secrets)
        if any(isinstance(c, NameResolutionError) for c in causes):
            what, unknown = "DNS lookup failed", False
        elif any(isinstance(c, ConnectTimeoutError) for c in causes):  # NewConnectionError included
            what, unknown = "could not connect", False
        elif any(isinstance(c, ReadTimeoutError) for c in causes):
            what, unknown = "no answer in time (read timeout)", True
        elif isinstance(exc, requests.exceptions.SSLError):
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                return PermanentError(f"{self.vendor}: TLS certificate rejected for {shown}: {detail}")
            what, unknown = "TLS handshake failed", False
        elif isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidHeader | ValueError):
            return PermanentError(f"{self.vendor}: invalid request {method} {shown}: {detail}")
        elif isinstance(exc, requests.RequestException | Urllib3Error | OSError):
            what, unknown = "connection lost after sending", True
        else:
            return exc
        return RetryableError(
            f"{self.vendor}: {what} ({method} {shown}): {detail}",
            outcome_unknown=unknown or hop > 0,  # after a hop the vendor has already seen the call
            details={"method": method, "url": shown},
        )

    def _read(self, resp: requests.Response, deadline: float, limit: int, *, truncate: bool) -> bytes:
        """Read the body in chunks under the call's deadline and the size cap (truncate: keep a prefix)."""
        too_big = PermanentError(
            f"{self.vendor}: response larger than {limit} bytes", status=resp.status_code
        )
        declared, buf = resp.headers.get("Content-Length", ""), bytearray()
        try:
            if not truncate and declared.isdigit() and int(declared) > limit:
                raise too_big
            while len(buf) <= limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ReadTimeoutError(None, None, "deadline passed")  # type: ignore[arg-type]
                sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(remaining)  # one slow recv must not outlive the budget
                chunk = resp.raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    return bytes(buf)
                buf += chunk
            if truncate:
                return bytes(buf[:limit])
            raise too_big
        except (Urllib3Error, OSError) as e:
            late = time.monotonic() >= deadline
            what = "time budget ran out while reading the body" if late else "connection broke while reading"
            raise RetryableError(
                f"{self.vendor}: {what}: {redact(str(e), self.secrets)}",
                outcome_unknown=True,
                status=resp.status_code,
            ) from e
        finally:
            resp.close()  # after a full read the connection is already back in the pool

    def _wait(self, resp: HttpResponse) -> float | None:
        """Seconds until the vendor takes calls again: the connector's hook first, then Retry-After."""
        if self.retry_after is not None:
            try:
                wait = self.retry_after(resp)
            except Exception:  # a broken hook must not hide the vendor's answer
                logger.warning("%s retry_after hook failed", self.vendor, exc_info=True)
                wait = None
            if wait is not None:
                return max(0.0, float(wait))
        return parse_retry_after(resp.headers.get("Retry-After"))

    def _status_error(self, resp: HttpResponse, method: str) -> Exception:
        """One actionable line: "<vendor>: <message> (code <code>) [HTTP <status>]"."""
        parsed = None
        if self.error_parser is not None:
            try:
                parsed = self.error_parser(resp)
            except Exception:  # a broken parser must not hide the vendor's answer
                logger.warning("%s error_parser failed", self.vendor, exc_info=True)
        message, code = parsed or (" ".join(resp.text.split())[:300], None)
        if not message:
            message = _PHRASES.get(resp.status, "error")
        text = f"{self.vendor}: {message}" + (f" (code {code})" if code else "") + f" [HTTP {resp.status}]"
        kwargs: dict[str, Any] = {
            "vendor_code": None if code is None else str(code),
            "status": resp.status,
            "details": {"method": method, "url": redact_url(resp.url, self.secrets)},
        }
        if resp.status == 429 or resp.status >= 500:
            limits = {k.lower(): v for k, v in resp.headers.items() if _RATE_HEADER.search(k)}
            if limits:
                kwargs["details"]["rate_limit"] = limits
            return RetryableError(redact(text, self.secrets), retry_after=self._wait(resp), **kwargs)
        cls = AuthError if resp.status in (401, 403) else PermanentError
        return cls(redact(text, self.secrets), **kwargs)
