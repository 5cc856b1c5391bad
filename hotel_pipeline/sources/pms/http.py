"""The shared HTTP core of every PMS connector (httpx): budget, retries, backoff, typed errors, page recording.

Why one core: every vendor needs the same hard parts and they must behave identically everywhere:
- a client-side request budget (``RateLimit``) so we stay within the vendor's documented limit instead of
  discovering it through 429s (and, for credit schemes, a hook that reads the vendor's credit headers);
- retries of timeouts, connection failures, 5xx, 429 and unreadable bodies with exponential backoff and full
  jitter, never sooner than the server's ``Retry-After``;
- typed errors (``AuthError``, ``ThrottledError``, ``ServerError``, ``MalformedResponseError``) whose messages
  name the vendor, method, path, status and attempts, but never a credential;
- every successful response recorded as a raw page (request described with secrets replaced by ``<redacted>``)
  for the raw landing zone.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import orjson

from hotel_pipeline.sources.pms.errors import (
    AuthError,
    ClientRequestError,
    ConnectorError,
    HeavyQueryError,
    MalformedResponseError,
    ServerError,
    ThrottledError,
)

T = TypeVar("T")

REDACTED = "<redacted>"
#: Secrets shorter than this are never searched for *inside* text: a short value (an RMS ``agentId`` such as ``7``)
#: would otherwise blank out unrelated digits in bodies, paths and messages. Short credentials are redacted only as
#: whole values of known credential fields (``HttpCore.secret_fields``) and are never sent where they would be
#: recorded (token requests are not recorded).
MIN_SUBSTRING_SECRET = 8

#: Field names that carry a credential in some vendor's requests or answers, compared without case, ``_`` or ``-``
#: (``AccessToken``, ``access_token``, ``x-api-key``...): their values are redacted whole, whatever their length, in
#: every session, so a connector that forgets to list its own cannot leak a short one into the raw zone.
CREDENTIAL_FIELDS = frozenset({
    "accesstoken", "clienttoken", "refreshtoken", "idtoken", "token", "bearertoken", "authtoken",
    "apikey", "xapikey", "appkey", "xappkey", "clientsecret", "secret", "password", "passwd",
    "agentpassword", "clientpassword", "authorization", "proxyauthorization",
})


#: A JSON key that may be a credential field, to decide cheaply whether an answer needs redacting at all.
_NAMED_CREDENTIAL = re.compile(r'"[A-Za-z_-]*(?:token|key|secret|password|passwd|authorization)"', re.IGNORECASE)
#: The endings ``_NAMED_CREDENTIAL`` looks for, with their closing quote: a text holding none of them (lowercased)
#: cannot match it, and finding them is a plain substring search (the regex tries every quote of a page of megabytes).
_CREDENTIAL_ENDINGS = ('token"', 'key"', 'secret"', 'password"', 'passwd"', 'authorization"')
#: The non-ASCII letters ``re.IGNORECASE`` takes for i or s (after ``str.lower``, which already maps the Kelvin sign
#: to k and turns a dotted capital I into i + U+0307): folded too, so the substring test never misses a regex match.
_IGNORECASE_FOLD = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": ""})
_IGNORECASE_FOLD_FROM = ("\u0131", "\u017f", "\u0307")


def names_credential(text: str) -> bool:
    """Whether ``text`` holds a JSON string shaped like a credential field name (``_NAMED_CREDENTIAL``).

    The regex runs only when one of its endings is present in the lowercased text, so the answer is the regex's,
    at the cost of a substring search on the pages (nearly all of them) that name no such field.
    """
    lowered = text.lower()
    if not lowered.isascii() and any(ch in lowered for ch in _IGNORECASE_FOLD_FROM):
        lowered = lowered.translate(_IGNORECASE_FOLD)  # str.translate is slow: only when there is one to fold
    return any(end in lowered for end in _CREDENTIAL_ENDINGS) and _NAMED_CREDENTIAL.search(text) is not None


#: Every digit to "0", every other byte to a space: a body with ``_LONG_DIGITS`` after this may hold an integer
#: beyond 64 bits, which orjson would read as a float (losing digits). (A translate and a substring search cost a
#: quarter of orjson's parse; a regex for digit runs cost three times the parse.)
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * 19


def parse_json(content: bytes) -> tuple[Any, bool]:
    """(the parsed JSON of ``content``, whether it was strict UTF-8 JSON that may be copied into a JSON document as
    is); ValueError when it is not JSON.

    Why orjson first: it reads a vendor's page several times faster than ``json`` (decoding was the biggest cost of
    an extract). It is strict where ``json`` is lenient (a UTF-8 BOM, other encodings, NaN, lone surrogates) and
    reads integers beyond 64 bits as floats; such bodies, and any holding a run of 19+ digits, are read by ``json``
    exactly as before, and are not copied as bytes (see ``raw.write_raw``).
    """
    if _LONG_DIGITS not in content.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(content), True
        except orjson.JSONDecodeError:
            pass
    return json.loads(content), False


def is_credential_field(name: str) -> bool:
    """Whether a field of this name holds a credential (see ``CREDENTIAL_FIELDS``)."""
    return name.lower().replace("_", "").replace("-", "") in CREDENTIAL_FIELDS


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` (the vendor's documented budget per credential)."""

    requests: int
    per_seconds: float


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request. Defaults suit production; tests shrink the waits."""

    max_attempts: int = 8
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 60.0
    timeout_seconds: float = 30.0
    max_retry_after_seconds: float = 300.0


@dataclass
class HttpStats:
    """Counters of one extract, reported to integration_status and the asset's metadata."""

    requests: int = 0
    retries: int = 0
    throttle_waits: int = 0
    errors: int = 0
    last_error: str | None = None
    waited_seconds: float = 0.0


class RetryBody(Exception):
    """Raised by a vendor's body check: the body is a retryable in-band error (e.g. Cloudbeds success:false)."""


class Budget:
    """Client-side sliding window: waits before a request that would exceed the vendor's budget."""

    def __init__(self, limit: RateLimit | None, sleep: Callable[[float], None]) -> None:
        self.limit = limit
        self.sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a slot; returns the seconds waited (0 if none)."""
        if self.limit is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.limit.per_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.limit.requests:
                    self._sent.append(now)
                    return waited
                wait = self._sent[0] + self.limit.per_seconds - now
            self.sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """A server-imposed pause (credit exhausted): treat as time spent waiting for the budget."""
        if seconds > 0:
            self.sleep(seconds)


def redact(value: Any, secrets: list[str], fields: frozenset[str] | set[str] = frozenset()) -> Any:
    """``value`` with every secret replaced by ``<redacted>`` (deep, for request descriptions, bodies and messages).

    Secrets of at least ``MIN_SUBSTRING_SECRET`` characters are replaced wherever they occur inside a string; the
    value of any dict key named in ``fields`` (credential fields such as ``agentId``) is replaced whole, whatever
    its length, and so is the value of every field named like a credential (``CREDENTIAL_FIELDS``). Shorter secrets are not searched inside text, so data that merely contains their digits survives.
    """
    if isinstance(value, str):
        for secret in secrets:
            if secret and len(secret) >= MIN_SUBSTRING_SECRET and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if (k in fields or is_credential_field(str(k))) and v not in (None, "")
                else redact(v, secrets, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets, fields) for v in value]
    return value


def contains_secret(text: str, secrets: list[str]) -> bool:
    """Whether ``text`` holds a secret that ``redact`` would replace inside text."""
    return any(secret and len(secret) >= MIN_SUBSTRING_SECRET and secret in text for secret in secrets)


@dataclass
class RawPage:
    """One response as it lands in the raw zone."""

    seq: int
    method: str
    path: str
    request: dict[str, Any]
    status: int
    received_at: str
    body: Any
    label: str = ""
    #: the body exactly as received, when it may be written to the raw zone as is (strict JSON, nothing redacted);
    #: None otherwise (the raw zone then holds ``body`` serialised again)
    raw: bytes | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "label": self.label, "method": self.method, "path": self.path,
                "request": self.request, "status": self.status, "received_at": self.received_at, "body": self.body}


@dataclass
class HttpCore:
    """One vendor session: base URL, budget, retry policy, the secrets to keep out of everything it writes."""

    base_url: str
    vendor: str
    rate_limit: RateLimit | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    secrets: list[str] = field(default_factory=list)
    seed: int | None = None
    sleep: Callable[[float], None] = time.sleep
    #: Called with every response before retry decisions (credit headers; returns seconds to pause, or 0).
    on_response: Callable[[httpx.Response], float] | None = None
    #: Called on 401/403 once per request: refresh the token and return True to retry with new headers. Never
    #: called for a token request itself (``call(..., auth_request=True)``) nor while a refresh is under way.
    on_auth_failure: Callable[[], bool] | None = None
    #: Names of request/response fields whose values are credentials (redacted whole, whatever their length).
    secret_fields: set[str] = field(default_factory=set)
    #: How many requests ``parallel`` keeps in flight at once (1: one after the other, in the calling thread).
    concurrency: int = 1

    def __post_init__(self) -> None:
        self.stats = HttpStats()
        self.pages: list[RawPage] = []
        self._rng = random.Random(self.seed)
        self._budget = Budget(self.rate_limit, self.sleep)
        self._client = httpx.Client(base_url=self.base_url, timeout=self.retry.timeout_seconds)
        #: per thread: the pages of the ``parallel`` task it runs (None outside one), and whether it is refreshing
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._auth_lock = threading.RLock()

    def close(self) -> None:
        self._client.close()

    def add_secret(self, secret: str | None) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    # -- backoff -----------------------------------------------------------------------------------------------
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling, but never sooner than Retry-After."""
        ceiling = min(self.retry.backoff_cap_seconds, self.retry.backoff_base_seconds * 2 ** (attempt - 1))
        wait = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = min(retry_after, self.retry.max_retry_after_seconds) + self._rng.uniform(
                0, self.retry.backoff_base_seconds)
        return wait

    def _wait(self, seconds: float) -> None:
        self._count(waited_seconds=seconds)
        self.sleep(seconds)

    def _count(self, **deltas: float) -> None:
        """Add to the counters of ``stats`` (under a lock: ``parallel`` tasks share them)."""
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def _where(self, method: str, path: str) -> str:
        return f"{self.vendor} {method} {self.redact(path)}"

    def redact(self, value: Any) -> Any:
        """``value`` without this session's secrets (see ``redact``)."""
        return redact(value, self.secrets, self.secret_fields)

    def _refresh_auth(self) -> bool:
        """Run ``on_auth_failure`` once; a token call made during the refresh cannot trigger another refresh."""
        if self.on_auth_failure is None or getattr(self._local, "refreshing", False):
            return False
        with self._auth_lock:  # one refresh at a time; a thread refused meanwhile retries with the new token
            self._local.refreshing = True
            try:
                return bool(self.on_auth_failure())
            finally:
                self._local.refreshing = False

    # -- the call ----------------------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: dict[str, str] | None = None,
        headers: Callable[[], dict[str, str]] | dict[str, str] | None = None,
        check: Callable[[httpx.Response, Any], None] | None = None,
        record: bool = True,
        label: str = "",
        auth_request: bool = False,
    ) -> Any:
        """One logical request with retries; returns the parsed JSON body (and records it as a raw page).

        ``params`` values may be lists (sent as repeated keys, ``status=a&status=b``). ``data`` sends a form body
        (``application/x-www-form-urlencoded``, OAuth token endpoints) instead of ``json_body``. ``headers`` may be
        a callable so a refreshed token is picked up on retry. ``check`` may raise ``RetryBody`` (retry) or a
        ``ConnectorError`` (give up) for vendors that report errors in-body. ``auth_request=True`` marks the
        token/login call itself: a 401/403 is final (no refresh hook: a refused login must not log in again) and
        the call is never recorded (its request carries the credentials).
        """
        if data is not None and json_body is not None:
            raise ValueError("call() takes a JSON body or a form body, not both")
        record = record and not auth_request
        where = self._where(method, path)
        last = "no attempt"
        auth_retried = False
        for attempt in range(1, self.retry.max_attempts + 1):
            if attempt > 1:
                self._count(retries=1)
            waited = self._budget.acquire()
            if waited:
                self._count(throttle_waits=1, waited_seconds=waited)
            self._count(requests=1)
            hdrs = headers() if callable(headers) else (headers or {})
            try:
                response = self._client.request(method, path, params=params, json=json_body, data=data,
                                                headers=hdrs)
            except httpx.TimeoutException:
                last = f"timed out after {self.retry.timeout_seconds:g}s"
                self._fail(last)
                self._wait(self._backoff(attempt, None))
                continue
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
                self._fail(last)
                self._wait(self._backoff(attempt, None))
                continue
            pause = self.on_response(response) if self.on_response else 0.0
            if pause:
                self._count(throttle_waits=1)
                self._wait(pause)
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                last = f"throttled (429, Retry-After {retry_after})"
                self._fail(last)
                self._count(throttle_waits=1)
                self._wait(self._backoff(attempt, retry_after if retry_after is not None else None))
                continue
            # a token call answered 400 is a refusal too (OAuth invalid_grant/invalid_client, RFC 6749 5.2; Beds24
            # "Refresh token is invalid")
            if status in (401, 403) or (auth_request and status == 400):
                if not auth_request and not auth_retried and self._refresh_auth():
                    auth_retried = True
                    continue
                self._fail(f"HTTP {status}")
                raise AuthError(f"{where}: credentials refused (HTTP {status}): {self._snippet(response)}")
            if status == 408:
                self._fail("HTTP 408")
                raise HeavyQueryError(f"{where}: the vendor answered 408 (query too heavy): {self._snippet(response)}")
            if status >= 500:
                last = f"HTTP {status}"
                self._fail(last)
                self._wait(self._backoff(attempt, _retry_after(response)))
                continue
            if status >= 400:
                self._fail(f"HTTP {status}")
                raise ClientRequestError(f"{where}: HTTP {status}: {self._snippet(response)}")
            try:
                parsed, verbatim = parse_json(response.content)
            except ValueError:
                last = f"unreadable body (HTTP {status}, {len(response.content)} bytes, not JSON)"
                self._fail(last)
                self._wait(self._backoff(attempt, None))
                continue
            if check is not None:
                try:
                    check(response, parsed)
                except RetryBody as exc:
                    last = self.redact(str(exc))
                    self._fail(last)
                    self._wait(self._backoff(attempt, None))
                    continue
                except ConnectorError as exc:
                    self._fail(self.redact(str(exc)))
                    raise
            if record:
                body, raw = parsed, response.content if verbatim else None
                text = response.text
                if (contains_secret(text, self.secrets) or any(f'"{f}"' in text for f in self.secret_fields)
                        or names_credential(text)):
                    body, raw = self.redact(parsed), None  # a vendor echoing a credential must not leak it to raw/
                sink = getattr(self._local, "pages", None)
                sink = self.pages if sink is None else sink
                sink.append(RawPage(
                    seq=len(sink) + 1, method=method, path=self.redact(path),
                    request=self.redact({"params": params, "json": json_body, **({"form": data} if data else {})}),
                    status=status, received_at=datetime.now(UTC).isoformat(), body=body, label=label, raw=raw,
                ))
            return parsed
        attempts = self.retry.max_attempts
        if last.startswith("throttled"):
            raise ThrottledError(f"{where}: still throttled after {attempts} attempts ({last})")
        if last.startswith("unreadable"):
            raise MalformedResponseError(f"{where}: {last}; gave up after {attempts} attempts")
        raise ServerError(f"{where}: {last}; gave up after {attempts} attempts")

    def parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``tasks`` (each makes its calls through this core) with up to ``concurrency`` at once; their results,
        in task order.

        Why: against one vendor the client decodes a page while the vendor prepares the next; with one request at
        a time, each side waits for the other. What a sequential run would leave is kept: each task's pages are
        appended to ``pages`` in task order (numbered as if fetched one after the other), whatever order they
        arrived in. When a task fails, the tasks not started yet are not started, the running ones are waited for,
        and the error of the first failed task (in task order) is raised with ``pages`` holding exactly what a
        sequential run would hold at that failure: the pages of the tasks before it and its own up to the failure.
        The budget (``rate_limit``) is shared by every thread, so concurrency never exceeds it; retries, backoff
        and the counters of ``stats`` behave per request as in ``call``. A task run from inside a task, or with
        ``concurrency`` 1, runs in the calling thread.
        """
        if self.concurrency <= 1 or len(tasks) <= 1 or getattr(self._local, "pages", None) is not None:
            return [task() for task in tasks]
        collected: list[list[RawPage]] = [[] for _ in tasks]

        def run(n: int) -> T:
            self._local.pages = collected[n]
            try:
                return tasks[n]()
            finally:
                self._local.pages = None

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(tasks)),
                                thread_name_prefix=f"{self.vendor}-http") as pool:
            futures: list[Future[T]] = [pool.submit(run, n) for n in range(len(tasks))]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()  # after a failure: what has not started never starts
            wait(futures)
        results: list[T] = []
        for future, pages in zip(futures, collected, strict=True):
            for page in pages:
                page.seq = len(self.pages) + 1
                self.pages.append(page)
            error = future.exception() if not future.cancelled() else None
            if error is not None:
                raise error
            results.append(future.result())
        return results

    def _fail(self, what: str) -> None:
        with self._stats_lock:
            self.stats.errors += 1
            self.stats.last_error = what

    def _snippet(self, response: httpx.Response) -> str:
        text = response.text[:200].replace("\n", " ")
        return str(self.redact(text))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class TokenAuth:
    """A short-lived token (OAuth client credentials, Beds24 access token, RMS authToken): acquired on first use,
    renewed ``skew_seconds`` before it expires, and renewed once when the vendor answers 401/403.

    ``acquire()`` performs the vendor's token call (through the same ``HttpCore``, usually with ``record=False`` so
    token bodies never reach the raw zone) and returns ``(token, lifetime seconds or None)``. Every token is registered
    as a secret of the core, so it is redacted from messages and raw pages. Wire it as
    ``http.on_auth_failure = auth.refresh`` and build headers with ``auth.get()``.
    """

    def __init__(self, http: HttpCore, acquire: Callable[[], tuple[str, float | None]], skew_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.acquire = acquire
        self.skew = skew_seconds
        self.clock = clock
        self.token: str | None = None
        self.expires_at: float | None = None
        self.acquired = 0

    def get(self) -> str:
        if self.token is None or (self.expires_at is not None and self.clock() >= self.expires_at - self.skew):
            self._renew()
        assert self.token is not None
        return self.token

    def refresh(self) -> bool:
        """For ``HttpCore.on_auth_failure``: renew now; True means "retry the request"."""
        self._renew()
        return True

    def _renew(self) -> None:
        token, lifetime = self.acquire()
        if not token:
            raise AuthError(f"{self.http.vendor}: the token call returned no token")
        self.http.add_secret(token)
        self.token = token
        self.expires_at = self.clock() + lifetime if lifetime else None
        self.acquired += 1
