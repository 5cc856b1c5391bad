"""The Beds24 API v2 client of the push side: token auth, the five-minute credit budget, retries with jitter.

Why its own client (httpx + tenacity): the push must spend Beds24's account-wide credit budget carefully (every
token of the account shares it) and must never retry a non-idempotent request blindly. So:
- before each request it compares ``X-FiveMinCreditLimit-Remaining`` (or the lower-case ``x-five-min-limit-*``
  spelling some clients see) of the previous answer with the cost of the last request of that kind
  (``X-RequestCost``) and waits ``X-FiveMinCreditLimit-ResetsIn`` seconds when the budget would run out;
- 429 and 5xx, timeouts, dropped connections and unreadable bodies are retried with exponential backoff and full
  jitter (tenacity), never sooner than ``Retry-After`` - but only when the caller says the request is idempotent
  (reads); a calendar or booking POST is tried once and the caller reads Beds24 back before trying again (a lost
  answer would otherwise cost a blind resend of the whole request);
- an expired token (401) is renewed once from the refresh token (``GET /authentication/token``).
Messages never contain the refresh token or the access token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

#: Every booking status Beds24 knows: a read-back must ask for all of them (the default hides cancellations).
ALL_STATUSES = ["confirmed", "request", "new", "cancelled", "black", "inquiry"]


class Beds24Error(Exception):
    """Beds24 refused the request itself (400, 401 after renewal, 404): retrying will not help."""


class TransientError(Exception):
    """A fault that may pass: 429, 5xx, timeout, dropped connection, unreadable body."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class PushStats:
    requests: int = 0
    credits: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers
    server_errors: int = 0
    budget_waits: int = 0  # waits for the credit window to reset before sending
    waited_seconds: float = 0.0
    remaining: int | None = None
    resets_in: float | None = None
    cost: dict[str, int] = field(default_factory=dict)  # "METHOD path" -> last X-RequestCost


def _header(response: httpx.Response, *names: str) -> str | None:
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            return value
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


class Beds24Client:
    """One Beds24 account. ``sleep`` is injectable so tests and benches can account for waits."""

    def __init__(self, base_url: str, refresh_token: str, *, timeout: float = 30.0, max_attempts: int = 8,
                 backoff_base: float = 0.5, backoff_cap: float = 60.0, credit_reserve: int = 0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._refresh_token = refresh_token
        self._token: str | None = None
        self.http = httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.credit_reserve = credit_reserve
        self._sleep = sleep
        self.stats = PushStats()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Beds24Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- waits -----------------------------------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited_seconds += seconds
            self._sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        jitter = wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_cap)(state)
        exc = state.outcome.exception() if state.outcome else None
        floor = exc.retry_after if isinstance(exc, TransientError) and exc.retry_after else 0.0
        return max(jitter, floor)

    def retrying(self) -> Retrying:
        """The retry policy (also used by callers that retry a whole read-back-then-write unit)."""
        def count(state: RetryCallState) -> None:
            self.stats.retries += 1
            self.stats.waited_seconds += state.upcoming_sleep

        return Retrying(stop=stop_after_attempt(self.max_attempts), wait=self._wait, sleep=self._sleep,
                        retry=retry_if_exception_type(TransientError), before_sleep=count, reraise=True)

    def _respect_budget(self, key: str) -> None:
        cost = self.stats.cost.get(key, 1)
        remaining, resets = self.stats.remaining, self.stats.resets_in
        if remaining is not None and resets and remaining < cost + self.credit_reserve:
            self.stats.budget_waits += 1
            self.sleep(resets)
            self.stats.remaining = None

    # -- requests --------------------------------------------------------------------------------------------
    def _access_token(self, renew: bool = False) -> str:
        if self._token and not renew:
            return self._token
        response = self._once("GET", "/authentication/token", headers={"refreshToken": self._refresh_token},
                              auth=False)
        token = response.json().get("token") if response.content else None
        if not token:
            raise Beds24Error("Beds24 answered the token request without a token")
        self._token = str(token)
        return self._token

    def _once(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              headers: dict[str, str] | None = None, auth: bool = True) -> httpx.Response:
        key = f"{method} {path}"
        self._respect_budget(key)
        sent_headers = dict(headers or {})
        if auth:
            sent_headers["token"] = self._access_token()
        self.stats.requests += 1
        try:
            response = self.http.request(method, self.base_url + path, params=params, json=body,
                                         headers=sent_headers)
        except httpx.TransportError as exc:
            raise TransientError(f"{key}: {type(exc).__name__}") from exc
        self._read_credit(response, key)
        if response.status_code == 401 and auth:
            self._token = None
            sent_headers["token"] = self._access_token(renew=True)
            self.stats.requests += 1
            try:
                response = self.http.request(method, self.base_url + path, params=params, json=body,
                                             headers=sent_headers)
            except httpx.TransportError as exc:
                raise TransientError(f"{key}: {type(exc).__name__}") from exc
            self._read_credit(response, key)
        status = response.status_code
        if status == 429:
            self.stats.throttled += 1
            wait = _number(response.headers.get("Retry-After")) or self.stats.resets_in
            raise TransientError(f"{key}: 429 credit limit", retry_after=wait)
        if status >= 500:
            self.stats.server_errors += 1
            raise TransientError(f"{key}: HTTP {status}")
        if status >= 400:
            raise Beds24Error(f"{key}: HTTP {status}: {response.text[:300]}")
        try:
            response.json()
        except ValueError as exc:
            raise TransientError(f"{key}: HTTP {status} with an unreadable body") from exc
        return response

    def _read_credit(self, response: httpx.Response, key: str) -> None:
        remaining = _number(_header(response, "X-FiveMinCreditLimit-Remaining", "x-five-min-limit-remaining"))
        resets = _number(_header(response, "X-FiveMinCreditLimit-ResetsIn", "x-five-min-limit-resets-in"))
        cost = _number(_header(response, "X-RequestCost", "x-request-cost"))
        if remaining is not None:
            self.stats.remaining = int(remaining)
        if resets is not None:
            self.stats.resets_in = resets
        if cost is not None and response.status_code != 429:
            self.stats.cost[key] = int(cost)
            self.stats.credits += int(cost)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             idempotent: bool = True) -> Any:
        """The JSON answer; retried on transient faults only when ``idempotent``."""
        if not idempotent:
            return self._once(method, path, params=params, body=body).json()
        for attempt in self.retrying():
            with attempt:
                return self._once(method, path, params=params, body=body).json()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- operations ------------------------------------------------------------------------------------------
    def post_calendar(self, rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``POST /inventory/rooms/calendar`` once; one answer per room, in order (a lost answer is read back)."""
        return list(self.call("POST", "/inventory/rooms/calendar", body=rooms, idempotent=False))

    def post_bookings(self, bookings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``POST /bookings`` once (a lost answer must be read back, not retried)."""
        return list(self.call("POST", "/bookings", body=bookings, idempotent=False))

    def get_bookings(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of ``GET /bookings`` (all statuses unless ``status`` is given)."""
        params = {"status": ALL_STATUSES, **params}
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.call("GET", "/bookings", params={**params, "page": page} if page > 1 else params)
            out.extend(body.get("data") or [])
            if not (body.get("pages") or {}).get("nextPageExists"):
                return out
            page += 1

    def get_calendar(self, room_ids: list[int], start: str, end: str) -> list[dict[str, Any]]:
        """``GET /inventory/rooms/calendar`` with availability, minimum stay and prices, every page."""
        params: dict[str, Any] = {"roomId": room_ids, "startDate": start, "endDate": end, "includeNumAvail": "true",
                                  "includeMinStay": "true", "includePrices": "true"}
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.call("GET", "/inventory/rooms/calendar", params={**params, "page": page} if page > 1
                             else params)
            out.extend(body.get("data") or [])
            if not (body.get("pages") or {}).get("nextPageExists"):
                return out
            page += 1
