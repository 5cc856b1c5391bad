"""Polling a Resy-style ``/4/find``: auth, a per-credential request budget, backoff, and strict body validation.

Every request ends as a ``PollAttempt``. Only an attempt with ``ok=True`` is an observation; a 5xx, a timeout, an
empty body, a body that is not JSON or that does not name the requested venue/day/party is *not* one, whatever it
seems to say about availability (DropFeed read such answers as "everything sold" and emitted mass closures).
A venue present with ``slots: []`` is a real observation: sold out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from hotel_pipeline.dining.config import PROVIDER, time_bucket

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) hotel-pipeline-dining/1.0"


class InvalidBody(ValueError):
    """A 200 answer that is not an observation (empty, not JSON, or not about what was asked)."""


@dataclass(frozen=True)
class PollAttempt:
    """One request's outcome; ``slots`` is meaningful only when ``ok``."""

    venue_id: int
    slot_date: date
    party_size: int
    polled_at: datetime  # naive UTC, from the pipeline's clock
    ok: bool
    status: int | None
    error: str | None
    slots: list[dict[str, Any]] = field(default_factory=list)
    body: bytes | None = None


#: A seating this many hours past midnight, listed without a ``shift.day``, still belongs to the day's service.
LATE_SERVICE_HOURS = 6


def token_template(config: dict[str, Any]) -> str:
    """The template segment of ``config.token`` (``rgs://resy/{venue}/{template}/{service}/...``): with the time and
    seating it tells two real slots apart. A token of another shape is its own template; no token, ``config.id``."""
    token = str(config.get("token") or "")
    if token.startswith("rgs://"):
        parts = token.removeprefix("rgs://").split("/")
        return parts[2] if len(parts) > 2 else ""
    return token or str(config.get("id") or "")


def service_time(start: str, day: date, shift: Any = None) -> str:
    """The slot's ``HH:MM`` on the service day ``day``; a seating past midnight that belongs to ``day``'s service
    (its ``shift.day`` is ``day``, or it starts before 06:00 the next morning) is ``24:MM``-style (00:30 -> 24:30).
    Anything else outside the day is ``InvalidBody``."""
    if len(start) < 16:
        raise InvalidBody(f"slot without a start: {start!r}")
    hhmm = start[11:16]
    if start[:10] == day.isoformat():
        return hhmm
    shift_day = str((shift or {}).get("day") or "") if isinstance(shift, dict) else ""
    next_day = (day + timedelta(days=1)).isoformat()
    if start[:10] == next_day and (shift_day == day.isoformat()
                                   or (not shift_day and int(hhmm[:2]) < LATE_SERVICE_HOURS)):
        return f"{24 + int(hhmm[:2]):02d}:{hhmm[3:]}"
    raise InvalidBody(f"slot outside the requested day's service: {start!r}")


@dataclass(frozen=True)
class RoundPlan:
    """What one poll round costs at the credential's budget, and whether it fits the poll interval."""

    requests: int
    seconds: float
    interval_s: float

    @property
    def fits(self) -> bool:
        return self.seconds <= self.interval_s

    def describe(self) -> str:
        if self.fits:
            return (f"{self.requests} requests per round take {self.seconds:.0f} s at the budget, within the "
                    f"{self.interval_s:.0f} s poll interval")
        return (f"{self.requests} requests per round take {self.seconds:.0f} s at the budget: longer than the "
                f"{self.interval_s:.0f} s poll interval, so a round starts every {self.seconds:.0f} s")


def round_plan(requests: int, min_request_interval_s: float, poll_interval_s: float) -> RoundPlan:
    """A round of ``requests`` calls at one request per ``min_request_interval_s`` (default budget: Resy's polite
    one per 2 s per credential) against the poll interval. Why: a plan that does not fit must say how long a round
    really takes, not silently poll less often than configured."""
    return RoundPlan(requests, requests * min_request_interval_s, poll_interval_s)


def parse_find_body(body: bytes | dict, venue_id: int, day: date, party_size: int) -> list[dict[str, Any]]:
    """The open slots of one ``/4/find`` answer, or ``InvalidBody`` if the answer is not an observation."""
    if isinstance(body, bytes | str):
        if not body or not body.strip():
            raise InvalidBody("empty body")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InvalidBody(f"not JSON: {exc}") from exc
    else:
        data = body
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise InvalidBody("no results object")
    query = data.get("query") or {}
    if str(query.get("day")) != day.isoformat() or int(query.get("party_size", -1)) != party_size:
        raise InvalidBody("answer is about another day or party size")
    entry = next((v for v in data["results"].get("venues") or []
                  if str(((v.get("venue") or {}).get("id") or {}).get("resy")) == str(venue_id)), None)
    if entry is None:
        raise InvalidBody("requested venue missing from the answer")
    venue = entry["venue"]
    location = venue.get("location") or {}
    rows = []
    for slot in entry.get("slots") or []:
        start = (slot.get("date") or {}).get("start") or ""
        config = slot.get("config") or {}
        slot_time = service_time(start, day, slot.get("shift"))
        rows.append({
            "provider": PROVIDER,
            "venue_id": str(venue_id),
            "venue_name": venue.get("name"),
            "neighborhood": location.get("neighborhood"),
            "price_range": int(venue.get("price_range") or 0),
            "time_zone": location.get("time_zone") or "UTC",
            "seating": config.get("type") or "unknown",
            "party_size": party_size,
            "slot_date": day,
            "slot_time": slot_time,
            "time_bucket": time_bucket(slot_time),
            "template": token_template(config),
            "token": config.get("token"),
        })
    return rows


class Throttle:
    """At most one request per ``min_interval_s`` per credential (Resy: about 2 s; the sandbox allows much more)."""

    def __init__(self, min_interval_s: float, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.min_interval_s = min_interval_s
        self.sleep = sleep
        self.monotonic = monotonic
        self._next = 0.0
        self.waits = 0

    def wait(self) -> None:
        now = self.monotonic()
        if now < self._next:
            self.waits += 1
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.min_interval_s


class ResyClient:
    """httpx client for one credential: logs in, re-logs in once on 401, backs off on 429/5xx/timeouts."""

    def __init__(self, base_url: str, *, api_key: str, email: str, password: str, min_interval_s: float = 2.0,
                 max_retries: int = 3, backoff_base_s: float = 0.05, timeout_s: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep, keep_bodies: bool = False) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, headers={
            "Authorization": f'ResyAPI api_key="{api_key}"', "User-Agent": USER_AGENT,
            "Origin": "https://resy.com", "Referer": "https://resy.com/"})
        self.email, self.password = email, password
        self.throttle = Throttle(min_interval_s, sleep=sleep)
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.sleep = sleep
        self.keep_bodies = keep_bodies
        self._token: str | None = None
        self.stats = {"requests": 0, "retries": 0, "throttled": 0, "relogins": 0, "failed": 0, "ok": 0}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ResyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def login(self) -> None:
        self.throttle.wait()
        resp = self.http.post("/3/auth/password", data={"email": self.email, "password": self.password})
        resp.raise_for_status()
        self._token = resp.json()["token"]

    def find(self, venue_id: int, day: date, party_size: int, polled_at: datetime) -> PollAttempt:
        """One poll; never raises for platform trouble, which is reported as a failed attempt instead."""
        params = {"venue_id": venue_id, "day": day.isoformat(), "party_size": party_size, "lat": 0, "long": 0}
        status: int | None = None
        error = "no attempt"
        relogged = False
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats["retries"] += 1
            try:
                if self._token is None:
                    self.login()
                self.throttle.wait()
                self.stats["requests"] += 1
                resp = self.http.get("/4/find", params=params, headers={"x-resy-auth-token": self._token or ""})
            except httpx.HTTPError as exc:  # timeouts, refused connections
                status, error = None, f"{type(exc).__name__}"
                self.sleep(self.backoff_base_s * 2**attempt)
                continue
            status = resp.status_code
            if status in (401, 419) and not relogged:
                self.stats["relogins"] += 1
                relogged, self._token = True, None
                continue
            if status == 429:
                self.stats["throttled"] += 1
                error = "429 rate limited"
                self.sleep(max(float(resp.headers.get("Retry-After", "0") or 0), self.backoff_base_s * 2**attempt))
                continue
            if status >= 500:
                error = f"HTTP {status}"
                self.sleep(self.backoff_base_s * 2**attempt)
                continue
            if status != 200:
                error = f"HTTP {status}"
                break
            try:
                slots = parse_find_body(resp.content, venue_id, day, party_size)
            except InvalidBody as exc:
                error = f"invalid body: {exc}"
                self.sleep(self.backoff_base_s * 2**attempt)
                continue
            self.stats["ok"] += 1
            return PollAttempt(venue_id, day, party_size, polled_at, True, status, None, slots,
                               resp.content if self.keep_bodies else None)
        self.stats["failed"] += 1
        return PollAttempt(venue_id, day, party_size, polled_at, False, status, error)
