"""Fetch policy pages: a bounded worker pool over one keep-alive session, polite per host, every failure classified."""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import itertools
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from policywatch.config import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, PolicySpec

RETRY_STATUSES = {429, 502, 503, 504}
# Phrases of bot walls, captchas and access-denied pages (Cloudflare, Akamai, Imperva, PerimeterX, DataDome…).
_BOT_WALL_MARKERS = (
    "captcha",
    "verify you are a human",
    "verify you are human",
    "are you a robot",
    "are you a human",
    "access denied",
    "access to this page has been denied",
    "checking your browser",
    "attention required",
    "unusual traffic",
    "request blocked",
    "request unsuccessful",
    "enable javascript and cookies to continue",
    "just a moment...",
    "pardon our interruption",
    "incapsula incident",
    "you have been blocked",
)
BOT_WALL_MAX_TEXT = 2000  # a real policy is longer than this; a page this short with such phrases is a wall
MAX_REDIRECTS = 10
KEEP_ALIVE_HOSTS = 256
MAX_RETRY_AFTER = 60.0  # seconds: a server asking for longer is treated as a failure, not waited on
_UNREADABLE_TYPES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip")
# Servers often label every file with a generic binary type: such a body is read if it looks like markup.
_GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream")
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last accepted fetch returned, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# Failure classes shown in reports and JSON.
NETWORK = "network"
BLOCKED = "blocked"
EMPTY = "empty"
TOO_LARGE = "too-large"
NOT_A_POLICY = "not-a-policy"
SUSPICIOUS = "suspicious"


class FetchError(Exception):
    def __init__(self, kind: str, message: str, hint: str):
        super().__init__(message)
        self.kind, self.message, self.hint = kind, message, hint


def http_error(status: int, reason: str = "") -> FetchError:
    hints = {
        401: "the page needs a login; watch a public URL instead",
        403: "the site refuses the request; try a browser-like User-Agent in `headers:`",
        404: "the page moved or was removed; find its new URL and update policies.yaml",
        410: "the page was removed; find its new URL and update policies.yaml",
        429: "the site rate-limits us; run less often or raise the polite delay",
    }
    hint = hints.get(status, "a server-side error; it is retried on the next run" if status >= 500 else "check the URL")
    return FetchError(f"http-{status}", f"HTTP {status} {reason}".strip(), hint)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _HostGate:
    """At most `limit` requests in flight per host, and at least `delay` seconds between starts."""

    def __init__(self, limit: int, delay: float):
        self._limit, self._delay = limit, delay
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = defaultdict(float)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.Semaphore(self._limit))
        with semaphore:
            if self._delay:
                with self._lock:
                    start = max(time.monotonic(), self._next_start[host])
                    self._next_start[host] = start + self._delay
                time.sleep(max(0.0, start - time.monotonic()))
            yield


class Fetcher:
    def __init__(
        self,
        *,
        workers: int = 10,
        per_host: int = 2,
        delay: float = 0.0,
        retries: int = 2,
        backoff: float = 1.0,
        verify_tls: bool = True,
    ):
        self.workers = workers
        self.retries, self.backoff = retries, backoff
        self._gate = _HostGate(per_host, delay)
        self._stopping = threading.Event()  # the run was interrupted: no more attempts, no more waiting
        self._session = _Session()
        self._session.max_redirects = MAX_REDIRECTS
        self._session.verify = verify_tls
        # pool_connections is how many hosts keep their keep-alive connections: with fewer than the hosts of a
        # run, round-robin over hosts evicts every pool before its reuse and each request opens a new connection.
        adapter = HTTPAdapter(pool_connections=KEEP_ALIVE_HOSTS, pool_maxsize=max(workers, 10))
        adapter.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, spec: PolicySpec, validators: Validators | None = None) -> FetchResult:
        headers = dict(spec.headers)
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        host = urlsplit(spec.url).hostname or ""
        attempt = 0
        while True:
            wait_seconds: float | None = None
            try:
                with self._gate.slot(host):
                    return self._get_once(spec, headers)
            except _RetryableStatus as status:
                failure = http_error(status.code, status.reason)
                wait_seconds = status.retry_after
            except FetchError:
                raise
            except Exception as error:
                failure, transient = classify_exception(error, spec.timeout)
                if not transient:
                    raise failure from None
            if attempt >= self.retries:
                raise failure
            delay = self.backoff * (2**attempt) if wait_seconds is None else wait_seconds
            if delay > MAX_RETRY_AFTER or self._interrupted_during(delay):
                raise failure
            attempt += 1

    def _interrupted_during(self, seconds: float) -> bool:
        """Wait before another attempt; True when the run was interrupted meanwhile (or before)."""
        return self._stopping.wait(seconds)

    def _get_once(self, spec: PolicySpec, headers: dict[str, str]) -> FetchResult:
        # `timeout` bounds the connection, every read, and the whole attempt: the headers (_DeadlineConnection)
        # and the body (_read_capped), so that a server dripping bytes cannot hold a run.
        deadline = _attempt.deadline = time.monotonic() + spec.timeout
        with self._session.get(spec.url, headers=headers, timeout=spec.timeout, stream=True) as response:
            status = response.status_code
            if status in _WALL_STATUSES and looks_blocked(_read_capped(response, 256 * 1024, deadline, quiet=True)):
                raise blocked_error(f"HTTP {status} with a bot-wall page")
            if status in RETRY_STATUSES:
                raise _RetryableStatus(status, response.reason or "", _retry_after_seconds(response.headers.get("Retry-After")))
            if status >= 400:
                raise http_error(status, response.reason or "")
            content_type = response.headers.get("Content-Type")
            body = b""
            if status == 304:
                # Read the empty body: an unread response closes its connection instead of returning it to the
                # keep-alive pool, and a warm run of 304s then opened a new connection for every request.
                response.raw.read()
            else:
                _check_readable(content_type)
                body = _read_capped(response, spec.max_bytes, deadline)
                _check_generic(content_type, body)
            return FetchResult(
                url=spec.url,
                final_url=response.url,
                status=status,
                body=body,
                content_type=content_type,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                fetched_at=datetime.now(timezone.utc),
            )

    def fetch_many(
        self,
        specs: Iterable[PolicySpec],
        validators: Callable[[PolicySpec], Validators | None] = lambda spec: None,
    ) -> Iterator[tuple[PolicySpec, FetchResult | FetchError]]:
        """Fetch concurrently, yielding results as they complete; at most 2×workers bodies are held at once.

        validators(spec) is called on the fetching thread just before the request, so that whatever it reads
        overlaps the other requests' network time. It must not raise.
        """
        pending = deque(_interleave_hosts(list(specs)))
        in_flight: dict[Future, PolicySpec] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="fetch") as pool:
            try:
                while pending or in_flight:
                    while pending and len(in_flight) < 2 * self.workers:
                        spec = pending.popleft()
                        in_flight[pool.submit(self._fetch_or_error, spec, validators)] = spec
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield in_flight.pop(future), future.result()
            except BaseException:  # Ctrl-C or a failure downstream: start no more fetches or retries
                self._stopping.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _fetch_or_error(self, spec: PolicySpec, validators: Callable[[PolicySpec], Validators | None]) -> FetchResult | FetchError:
        try:
            return self.fetch(spec, validators(spec))
        except FetchError as error:
            return error
        except Exception as error:  # a fetch bug must not stop the other policies
            return classify_exception(error, spec.timeout)[0]


class _RetryableStatus(Exception):
    def __init__(self, code: int, reason: str, retry_after: float | None):
        self.code, self.reason, self.retry_after = code, reason, retry_after


# Bot walls (Cloudflare, Akamai, DataDome…) answer with these statuses as often as with 200.
_WALL_STATUSES = {403, 429, 503}
_UNREACHABLE_HINT = "the site is unreachable or slow; it is retried on the next run"


class _TooSlow(Exception):
    def __init__(self, answered: bool):
        super().__init__()
        self.answered = answered  # the headers had come: the body was too slow


_attempt = threading.local()  # the deadline of the attempt this fetch thread is making


class _Session(requests.Session):
    """requests reads the environment (proxy variables and NO_PROXY, the CA bundle) again for every request,
    a fifth of the CPU a 304 costs; nothing changes it during a run, so each host's answer is kept."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies:  # proxies given for this very request: requests' own way
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (*urlsplit(url)[:2], stream, verify, cert)
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        settings = self._environment[key]
        return {**settings, "proxies": dict(settings["proxies"])}


class _Watchdog:
    """One thread that calls each registered action when its deadline passes, unless it was cancelled first.

    A threading.Timer per request started a thread per request: on a warm run of 1,000 pages answered 304,
    that was a sixth of the fetch threads' time.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, list]] = []  # heap of (deadline, order, [action or None])
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, action: Callable[[], None]) -> list:
        """Call action() at `deadline`; returns the handle for cancel()."""
        entry = [action]
        with self._changed:
            heapq.heappush(self._due, (deadline, next(self._order), entry))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is entry:  # due before what the thread sleeps until; otherwise let it sleep
                self._changed.notify()
        return entry

    def cancel(self, entry: list) -> None:
        """After this returns the action has either run already or never will."""
        with self._changed:
            entry[0] = None

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][2][0] is None or self._due[0][0] <= now):
                    _, _, entry = heapq.heappop(self._due)
                    action, entry[0] = entry[0], None
                    if action is not None:
                        action()
                self._changed.wait(self._due[0][0] - now if self._due else None)


_deadlines = _Watchdog()


class _DeadlineConnection:
    """Hangs up when the attempt's deadline passes while the headers are still arriving: a server dripping
    them a byte at a time never trips the per-read timeout, and would otherwise hold a fetch for hours."""

    def getresponse(self):
        expired = threading.Event()
        watch = _deadlines.watch(_attempt.deadline, lambda: self._hang_up(expired))
        try:
            response = super().getresponse()
        except Exception:
            if expired.is_set():
                raise _TooSlow(answered=False) from None
            raise
        finally:
            _deadlines.cancel(watch)
        if expired.is_set():  # the socket was shut while the last header bytes were read
            response.close()
            raise _TooSlow(answered=False)
        return response

    def _hang_up(self, expired: threading.Event) -> None:
        expired.set()
        with contextlib.suppress(OSError, AttributeError):
            self.sock.shutdown(socket.SHUT_RDWR)


class _DeadlineHTTPConnection(_DeadlineConnection, urllib3.connection.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnection, urllib3.connection.HTTPSConnection):
    pass


class _DeadlineHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


def classify_exception(error: Exception, timeout: float) -> tuple[FetchError, bool]:
    """The failure class of an exception raised while fetching, and whether another attempt may succeed."""
    if isinstance(error, requests.TooManyRedirects):
        return FetchError(NETWORK, f"more than {MAX_REDIRECTS} redirects", "the URL redirects in a loop; use the final URL"), False
    if isinstance(error, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        return FetchError(NETWORK, f"TLS error: {_reason(error)}", "the site's certificate is not valid (or not trusted by this machine)"), False
    if isinstance(error, (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return FetchError(NETWORK, f"unusable URL: {_short(error)}", "the site redirects to an address that is not a web page; check the URL"), False
    if isinstance(error, (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError)):
        return FetchError(NETWORK, f"the body could not be decompressed ({_reason(error)})", "the server sends a broken compressed body; it is retried on the next run"), False
    if isinstance(error, (_TooSlow, requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
        if isinstance(error, _TooSlow) and error.answered:
            waited_for = "the page did not arrive"
        else:
            waited_for = "no connection" if isinstance(error, requests.ConnectTimeout) else "no answer"
        return FetchError(NETWORK, f"{waited_for} within {timeout:g} seconds", _UNREACHABLE_HINT), True
    # Connection refused or reset, a body cut short: the next attempt may well succeed.
    if isinstance(error, (requests.RequestException, urllib3.exceptions.HTTPError, OSError)):
        return FetchError(NETWORK, _reason(error), _UNREACHABLE_HINT), True
    return FetchError(NETWORK, f"unexpected error: {_short(error)}", "please report this as a policywatch bug"), False


def _reason(error: BaseException) -> str:
    """What went wrong, in words: requests wraps urllib3 wraps the socket error, whose text the user needs."""
    chain = [error]
    while (inner := _wrapped(chain[-1])) is not None and inner not in chain:
        chain.append(inner)
    innermost = chain[-1]
    if isinstance(innermost, (urllib3.exceptions.IncompleteRead, http.client.IncompleteRead)):
        received = innermost.partial if isinstance(innermost.partial, int) else len(innermost.partial)
        return f"the connection closed after {received} bytes of the body, {innermost.expected} more were expected"
    text = innermost.strerror if isinstance(innermost, OSError) and innermost.strerror else _short(innermost)
    if isinstance(innermost, socket.gaierror):
        return f"the host name was not found ({text})"
    if any(isinstance(link, urllib3.exceptions.NewConnectionError) for link in chain):
        return f"cannot connect ({text})"
    return text


def _wrapped(error: BaseException) -> BaseException | None:
    for inner in (getattr(error, "reason", None), error.args[-1] if error.args else None, error.__cause__):
        if isinstance(inner, BaseException):
            return inner
    return None


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _not_readable(mime: str) -> FetchError:
    return FetchError(NOT_A_POLICY, f"content type {mime} is not a readable page", "point the URL at the HTML version of the policy")


def _check_readable(content_type: str | None) -> None:
    mime = _mime(content_type)
    if mime.startswith(_UNREADABLE_TYPES):
        raise _not_readable(mime)


def _check_generic(content_type: str | None, body: bytes) -> None:
    mime = _mime(content_type)
    if mime in _GENERIC_TYPES and not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise _not_readable(mime)


def looks_blocked(body: bytes) -> bool:
    """A bot wall, captcha or access-denied page rather than content (only meaningful for short pages)."""
    head = body[:200_000].decode("utf-8", "replace").lower()
    return any(marker in head for marker in _BOT_WALL_MARKERS)


def blocked_error(detail: str) -> FetchError:
    return FetchError(
        BLOCKED,
        f"the site served a bot wall / captcha instead of the policy ({detail})",
        "the site blocks automated requests; try a browser-like User-Agent, a lower rate, or another URL",
    )


def _read_capped(response: requests.Response, max_bytes: int, deadline: float, *, quiet: bool = False) -> bytes:
    """Read the decoded body by `deadline`, refusing more than max_bytes (this also stops decompression bombs).

    With quiet=True an oversized or slow body is cut instead (for peeking at error pages).
    """
    declared = response.headers.get("Content-Length")
    if not quiet and declared and declared.isdigit() and "Content-Encoding" not in response.headers and int(declared) > max_bytes:
        raise FetchError(TOO_LARGE, f"body of {int(declared)} bytes exceeds the {max_bytes}-byte limit", "raise max_bytes for this policy if the page is really that large")
    chunks: list[bytes] = []
    size = 0
    # read1 returns whatever has arrived, so the deadline is checked even while a server drips bytes,
    # and it decompresses at most _READ_SIZE bytes per call, so a bomb never inflates in memory.
    while chunk := response.raw.read1(_READ_SIZE, decode_content=True):
        size += len(chunk)
        if size > max_bytes:
            if quiet:
                break
            raise FetchError(TOO_LARGE, f"body exceeds the {max_bytes}-byte limit (after decompression)", "raise max_bytes for this policy if the page is really that large")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            if quiet:
                break
            raise _TooSlow(answered=True)
    return b"".join(chunks)


def _interleave_hosts(specs: list[PolicySpec]) -> list[PolicySpec]:
    """Round-robin over hosts so that per-host limits do not leave workers idle behind one busy site."""
    by_host: dict[str, deque] = defaultdict(deque)
    for spec in specs:
        by_host[urlsplit(spec.url).hostname or ""].append(spec)
    queues = list(by_host.values())
    ordered = []
    while queues:
        for queue in queues:
            ordered.append(queue.popleft())
        queues = [queue for queue in queues if queue]
    return ordered


def read_source(location: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> FetchResult:
    """A local file or an http(s) URL, for commands that work without a config (compare, scan)."""
    if location.startswith(("http://", "https://")):
        spec = PolicySpec(id="source", url=location, name=location, headers=(("User-Agent", DEFAULT_USER_AGENT),), timeout=timeout, max_bytes=max_bytes)
        with Fetcher(workers=1, retries=1) as fetcher:
            return fetcher.fetch(spec)
    path = Path(location.removeprefix("file://"))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(TOO_LARGE, f"{path} is {size} bytes, over the {max_bytes}-byte limit", "raise the limit or trim the file")
        body = path.read_bytes()
    except OSError as error:
        raise FetchError(NETWORK, f"cannot read {path}: {error.strerror or error}", "check the path") from None
    return FetchResult(
        url=str(path),
        final_url=str(path),
        status=200,
        body=body,
        content_type=None,
        etag=None,
        last_modified=None,
        fetched_at=datetime.now(timezone.utc),
    )
