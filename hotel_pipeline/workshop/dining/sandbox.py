"""A Resy-style reservation platform on loopback: ``GET /4/find`` bodies built from a simulated ``Market``.

It behaves like the real service where that matters to the poller: ``Authorization: ResyAPI api_key="..."`` plus an
``x-resy-auth-token`` session token (from ``POST /3/auth/password``) that expires (401), a per-credential request budget
(429 with ``Retry-After``), and fault knobs: random 500s, slow answers (timeouts), and outage windows that answer 503,
an empty body or a body without the venue (the "empty because of an error" case a poller must not read as sold out).

``SandboxPlatform.handle`` is the whole request handler; ``SandboxServer`` only moves bytes between it and a
``ThreadingHTTPServer``. The week-long simulations call ``build_find_body`` and ``Market.open_slots`` in process
(see docs/dining.md): the same code that builds every body the server sends.
"""

from __future__ import annotations

import json
import random
import threading
import time as _time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hotel_pipeline.workshop.dining.market import Market

API_KEY = "sandbox-api-key"  # a sandbox value, not a secret
LOGIN_EMAIL = "poller@example.com"
LOGIN_PASSWORD = "sandbox-password"  # noqa: S105 - sandbox credential


#: The template segment of the sandbox's config tokens (one table configuration per seating).
SLOT_TEMPLATE = "1"


def slot_token(venue_id: int, day: date, slot_time: str, party_size: int, seating: str) -> str:
    """Resy's ``config.token`` shape: stable for one bookable slot."""
    return (f"rgs://resy/{venue_id}/{SLOT_TEMPLATE}/1/{day.isoformat()}/{day.isoformat()}/{slot_time}:00/"
            f"{party_size}/{seating}")


def venue_object(v: dict) -> dict:
    """``results.venues[].venue`` as Resy returns it (the fields the pipeline reads, plus a few it ignores)."""
    return {
        "id": {"resy": v["venue_id"]},
        "name": v["name"],
        "type": v["cuisine"],
        "url_slug": v["name"].lower().replace(" ", "-"),
        "price_range": v["price_range"],
        "rating": 4.5,
        "location": {"time_zone": v["time_zone"], "neighborhood": v["neighborhood"],
                     "geo": {"lat": 40.73, "lon": -73.99}, "code": "ny", "name": "New York"},
    }


def build_find_body(venue: dict, day: date, party_size: int, open_slots: list[tuple[str, str]]) -> dict:
    """One ``GET /4/find`` response for a venue, day and party size listing ``open_slots`` (time, seating)."""
    slots = []
    for slot_time, seating in open_slots:
        hh, mm = (int(x) for x in slot_time.split(":"))
        start = datetime.combine(day, datetime.min.time()).replace(hour=hh, minute=mm)
        slots.append({
            "config": {"id": zlib.crc32(f"{venue['venue_id']}|{slot_time}|{seating}".encode()) % 10**7, "type": seating,
                       "token": slot_token(venue["venue_id"], day, slot_time, party_size, seating)},
            "date": {"start": start.strftime("%Y-%m-%d %H:%M:%S"),
                     "end": (start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")},
            "size": {"min": party_size, "max": party_size},
            "quantity": 1,
            "payment": {"is_paid": False, "cancellation_fee": None, "deposit_fee": None},
            "shift": {"service": {"type": {"id": 1}}, "day": day.isoformat()},
        })
    return {
        "query": {"day": day.isoformat(), "party_size": party_size},
        "bookmark": None,
        "results": {"venues": [{"venue": venue_object(venue), "templates": {}, "slots": slots, "notifies": [],
                                "pickups": {"slots": []}}],
                    "meta": {"offset": 1, "limit": None}},
    }


@dataclass
class Faults:
    """Fault knobs, as for the PMS sandbox. Outage windows are naive-UTC [start, end) of the platform clock."""

    error_rate: float = 0.0          # share of requests answered 500
    empty_rate: float = 0.0          # share answered 200 with an empty body
    slow_rate: float = 0.0           # share that sleep ``slow_seconds`` before answering (client timeouts)
    slow_seconds: float = 2.0
    outages: list[tuple[datetime, datetime, str]] = field(default_factory=list)  # (start, end, "503"|"empty"|"novenue")
    seed: int = 11


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class SandboxPlatform:
    """The platform's behaviour, independent of HTTP: auth, budget, faults and bodies at the platform clock's time."""

    def __init__(self, market: Market, now: Callable[[], datetime], *, faults: Faults | None = None,
                 requests_per_second: float = 200.0, burst: int = 50, token_ttl: timedelta = timedelta(hours=6)) -> None:
        self.market = market
        self.now = now
        self.faults = faults or Faults()
        self.rate = requests_per_second
        self.burst = burst
        self.token_ttl = token_ttl
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.RLock()
        self._tokens: dict[str, datetime] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._venues = market.venue_rows()
        self.stats = {"requests": 0, "throttled": 0, "unauthorized": 0, "errors": 0, "ok": 0}

    # -- auth and budget ---------------------------------------------------------------------------------------
    def issue_token(self) -> str:
        with self._lock:
            token = f"tok-{len(self._tokens) + 1}-{self._rng.randrange(10**9)}"
            self._tokens[token] = self.now() + self.token_ttl
            return token

    def expire_tokens(self) -> None:
        """Test hook: every session expires now (the next request answers 401)."""
        with self._lock:
            self._tokens = {t: self.now() - timedelta(seconds=1) for t in self._tokens}

    def _take(self, credential: str) -> float:
        """Token bucket per credential on the real monotonic clock; returns 0 or the seconds to wait."""
        now = _time.monotonic()
        tokens, last = self._buckets.get(credential, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[credential] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[credential] = (tokens - 1.0, now)
        return 0.0

    # -- the handler -------------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes = b"") -> Response:
        with self._lock:
            self.stats["requests"] += 1
        auth = headers.get("authorization", "")
        if auth != f'ResyAPI api_key="{API_KEY}"':
            return self._count(Response(401, b'{"message": "Not authorized"}'), "unauthorized")
        if method == "POST" and path == "/3/auth/password":
            form = parse_qs(body.decode("utf-8"))
            if form.get("email") == [LOGIN_EMAIL] and form.get("password") == [LOGIN_PASSWORD]:
                return self._count(Response(200, json.dumps({"token": self.issue_token()}).encode()), "ok")
            return self._count(Response(419, b'{"message": "bad credentials"}'), "unauthorized")
        if method != "GET" or path != "/4/find":
            return Response(404, b'{"message": "not found"}')
        token = headers.get("x-resy-auth-token", "")
        with self._lock:
            expires = self._tokens.get(token)
            if expires is None or expires <= self.now():
                return self._count(Response(401, b'{"message": "session expired"}'), "unauthorized")
            wait = self._take(token)
        if wait > 0:
            return self._count(Response(429, b'{"message": "rate limited"}', {"Retry-After": f"{wait:.3f}"}),
                               "throttled")
        return self._find(query)

    def _count(self, response: Response, key: str) -> Response:
        with self._lock:
            self.stats[key] += 1
        return response

    def _find(self, query: dict[str, str]) -> Response:
        try:
            venue = self._venues[int(query["venue_id"])]
            day = date.fromisoformat(query["day"])
            party = int(query["party_size"])
            if "lat" not in query or "long" not in query:
                raise KeyError("lat/long")
        except (KeyError, ValueError):
            return Response(400, b'{"message": "bad request"}')
        now = self.now()
        for o_start, o_end, mode in self.faults.outages:
            if o_start <= now < o_end:
                if mode == "503":
                    return self._count(Response(503, b"Service Unavailable"), "errors")
                if mode == "empty":
                    return self._count(Response(200, b""), "errors")
                return self._count(Response(200, json.dumps(
                    {"query": {"day": day.isoformat(), "party_size": party}, "results": {"venues": []}}).encode()),
                    "errors")
        with self._lock:
            roll = self._rng.random()
        f = self.faults
        if roll < f.error_rate:
            return self._count(Response(500, b'{"message": "internal error"}'), "errors")
        if roll < f.error_rate + f.empty_rate:
            return self._count(Response(200, b""), "errors")
        if roll < f.error_rate + f.empty_rate + f.slow_rate:
            _time.sleep(f.slow_seconds)
        body = build_find_body(venue, day, party, self.market.open_slots(venue["venue_id"], day, party, now))
        return self._count(Response(200, json.dumps(body).encode()), "ok")


class _Handler(BaseHTTPRequestHandler):
    platform: SandboxPlatform
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; do not wait for delayed ACKs

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = self.platform.handle(method, split.path, query, headers, body)
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(resp.body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return


class SandboxServer:
    """``with SandboxServer(platform) as url:`` serves the platform on 127.0.0.1 at a free port."""

    def __init__(self, platform: SandboxPlatform) -> None:
        handler = type("Handler", (_Handler,), {"platform": platform})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
