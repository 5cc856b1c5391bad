"""Beds24 API v2, write side, as the sandbox serves it: the calendar and bookings a channel manager holds.

Why: the channel push must be tested against a service that keeps state, answers in Beds24's words and misbehaves
like the real one. Every request is checked against Beds24's own apiV2.yaml (``sandbox/spec.py``): a request that
breaks it is answered 400 and recorded in ``violations`` (tests assert there are none).

Served under ``/beds24``: ``GET /authentication/token`` (header ``refreshToken``) -> access token for header
``token``; ``POST /inventory/rooms/calendar`` (``[{roomId, calendar: [{from, to, numAvail, minStay, priceN}]}]``,
201 with one ``{success, modified, errors, warnings}`` per room); ``GET /inventory/rooms/calendar`` (``startDate``,
``endDate``, ``roomId``, ``includeX``: runs of equal days); ``POST /bookings`` (no ``id`` creates, an ``id``
updates, ``status: cancelled`` cancels; 201 with ``{success, new: {id}}`` / ``{success, modified: {id}}`` per item);
``GET /bookings`` (``id``, ``apiReference``, ``roomId``, ``status``; without ``status`` cancelled bookings are left
out, as on Beds24; pages of 100).

Credits: each account has ``credits`` per ``window_seconds`` (Beds24 documents 100 per 5 minutes); every answer
carries ``X-FiveMinCreditLimit``, ``-Remaining``, ``-ResetsIn`` and ``X-RequestCost``; an exhausted budget answers 429.
Beds24 publishes no per-request price list, so the sandbox charges 1 credit per request plus 1 per 100 calendar
entries or bookings beyond the first 100 (``request_cost``).

Fault knobs (``Faults`` of the PMS sandbox, seeded): ``error_rate`` (500/502/503, nothing applied), ``throttle_rate``
(429), ``timeout_rate``; and ``lost_response_rate``: the request IS applied, then answered 502, the case that makes
a retried create dangerous; ``post_answer_delay_seconds``: a POST is applied at once and answered that much later
(a client killed in between died after sending, before it stored the answer). ``ops`` records every create, update and cancellation applied, for exactly-once checks.
``edit_calendar`` / ``edit_booking`` change state behind the pipeline's back (what a hotelier does in the Beds24 UI).
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from hotel_pipeline.workshop.sandbox.pms.base import SandboxError, SandboxRequest, SandboxResponse, VendorHandler
from hotel_pipeline.workshop.sandbox.pms.faults import FaultDice, Faults
from hotel_pipeline.workshop.sandbox.pms.server import SandboxServer
from hotel_pipeline.workshop.sandbox.spec import OpenApiSpec

DOCUMENTED_CREDITS = 100  # per five minutes per account (channels-and-webhooks.md, "Rate limits")
DOCUMENTED_WINDOW_SECONDS = 300.0
PAGE_SIZE = 100
CALENDAR_FIELDS = ("numAvail", "minStay", "maxStay", "multiplier", "override",
                   *(f"price{i}" for i in range(1, 17)))
DEFAULT_STATUSES = ("confirmed", "request", "new", "black", "inquiry")


@dataclass
class Account:
    """One Beds24 account (a hotel): its refresh token and its rooms (roomId -> units)."""

    refresh_token: str
    rooms: dict[int, int]
    property_id: int = 1


@dataclass
class AppliedOp:
    hotel_id: str
    op: str  # create, update, cancel
    booking_id: int
    api_reference: str | None


@dataclass
class _Window:
    start: float
    used: int = 0


def request_cost(request: SandboxRequest, body: Any) -> int:
    """Credits a request costs in the sandbox (1, plus 1 per 100 written items beyond the first 100)."""
    if request.method != "POST" or not isinstance(body, list):
        return 1
    if request.path == "/inventory/rooms/calendar":
        items = sum(len(r.get("calendar") or []) for r in body if isinstance(r, dict))
    else:
        items = len(body)
    return 1 + max(0, math.ceil(items / 100) - 1)


class Beds24PushHandler(VendorHandler):
    """The write side's state and answers (one instance serves every account)."""

    name: ClassVar[str] = "beds24"

    def __init__(self, accounts: dict[str, Account], faults: Faults | None = None, *,
                 credits: int = DOCUMENTED_CREDITS, window_seconds: float = DOCUMENTED_WINDOW_SECONDS,
                 lost_response_rate: float = 0.0, post_answer_delay_seconds: float = 0.0,
                 validate: bool = True) -> None:
        super().__init__(world=None, credentials={h: {"refresh_token": a.refresh_token} for h, a in accounts.items()},
                         dice=FaultDice(faults or Faults()), throttle=True)
        self.accounts = accounts
        self.credits = credits
        self.window_seconds = window_seconds
        self.lost_response_rate = lost_response_rate
        self.post_answer_delay_seconds = post_answer_delay_seconds
        self._lost = random.Random((faults or Faults()).seed + 7)
        self.spec = OpenApiSpec.load("beds24") if validate else None
        self.calendar: dict[tuple[str, int, date], dict[str, Any]] = {}
        self.bookings: dict[str, dict[int, dict[str, Any]]] = {h: {} for h in accounts}
        self.ops: list[AppliedOp] = []
        self.violations: list[str] = []
        self.calendar_posts = 0
        self.credits_charged = 0
        self._tokens: dict[str, str] = {}
        self._windows: dict[str, _Window] = {}
        self._next_id = 70_000_001
        self._lock = threading.RLock()
        self._last: dict[str, tuple[int, int, int]] = {}  # account -> (remaining, resets in, cost)

    # -- idioms ----------------------------------------------------------------------------------------------
    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        return SandboxResponse(status, {"success": False, "type": "error", "code": status, "error": message},
                               dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.path == "/authentication/token":
            hotel_id = self.hotel_for("refresh_token", request.headers.get("refreshtoken"))
            if hotel_id is None:
                raise SandboxError(400, "Refresh token is invalid")
            return hotel_id, hotel_id
        hotel_id = self._tokens.get(request.headers.get("token", ""))
        if hotel_id is None:
            raise SandboxError(401, "Token is missing, invalid or expired")
        return hotel_id, hotel_id

    def spend(self, account: str, cost: int) -> bool:
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(account)
            if window is None or now - window.start >= self.window_seconds:
                window = self._windows[account] = _Window(now)
            allowed = window.used + cost <= self.credits
            if allowed:
                window.used += cost
                self.credits_charged += cost
            resets = max(0, math.ceil(window.start + self.window_seconds - now))
            self._last[account] = (self.credits - window.used, resets, cost if allowed else 0)
            return allowed

    def decorate(self, response: SandboxResponse, key: str) -> SandboxResponse:
        remaining, resets, cost = self._last.get(key, (self.credits, int(self.window_seconds), 0))
        response.headers.update({"X-FiveMinCreditLimit": str(self.credits),
                                 "X-FiveMinCreditLimit-Remaining": str(remaining),
                                 "X-FiveMinCreditLimit-ResetsIn": str(resets), "X-RequestCost": str(cost)})
        return response

    # -- the request path ------------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> tuple[SandboxResponse, float]:
        """(response, delay) of one request below /beds24."""
        faults = self.dice.faults
        try:
            hotel_id, key = self.authenticate(request)
        except SandboxError as err:
            return self.error_response(err.status, err.message, err.headers), 0.0
        body = request.json() if request.body else None
        if self.spec is not None and request.path != "/authentication/token":
            query: dict[str, list[str]] = {}
            for k, v in request.query_pairs:
                query.setdefault(k, []).append(v)
            problems = self.spec.request_violations(request.method, request.path, query, body)
            if problems:
                self.violations.extend(problems)
                return self.decorate(self.error_response(400, "; ".join(problems)[:500]), key), 0.0
        fault = self.dice.draw()
        if fault == "timeout":
            return self.error_response(504, "Gateway timeout"), faults.timeout_seconds
        if fault == "error":
            return self.error_response(self.dice.choice([500, 502, 503]), "Internal server error"), 0.0
        if fault == "throttle":
            return self.error_response(429, "Too many requests", {"Retry-After": str(faults.retry_after_seconds)}), 0.0
        if not self.spend(key, request_cost(request, body)):
            resets = self._last[key][1]
            return self.decorate(self.error_response(429, "Credit limit exceeded",
                                                     {"Retry-After": str(max(1, resets))}), key), 0.0
        with self._lock:
            try:
                response = self.route_body(request, hotel_id, body)
            except SandboxError as err:
                response = self.error_response(err.status, err.message, err.headers)
            if request.method == "POST" and self._lost.random() < self.lost_response_rate:
                response = self.error_response(502, "Bad gateway")  # applied, but the answer is lost
        held = self.post_answer_delay_seconds if request.method == "POST" else 0.0
        return self.decorate(response, key), faults.latency_seconds + held

    def route_body(self, request: SandboxRequest, hotel_id: str, body: Any) -> SandboxResponse:
        path, method = request.path, request.method
        if path == "/authentication/token" and method == "GET":
            token = secrets.token_urlsafe(24)
            self._tokens[token] = hotel_id
            return SandboxResponse(200, {"token": token, "expiresIn": 86400})
        if path == "/inventory/rooms/calendar" and method == "POST":
            return SandboxResponse(201, [self._calendar_item(hotel_id, item) for item in body or []])
        if path == "/inventory/rooms/calendar" and method == "GET":
            return SandboxResponse(200, self._get_calendar(request, hotel_id))
        if path == "/bookings" and method == "POST":
            return SandboxResponse(201, [self._booking_item(hotel_id, item) for item in body or []])
        if path == "/bookings" and method == "GET":
            return SandboxResponse(200, self._get_bookings(request, hotel_id))
        raise SandboxError(404, f"no Beds24 endpoint {method} {path} in this sandbox")

    # -- calendar --------------------------------------------------------------------------------------------
    def _calendar_item(self, hotel_id: str, item: dict[str, Any]) -> dict[str, Any]:
        room_id = item.get("roomId")
        rooms = self.accounts[hotel_id].rooms
        if room_id not in rooms:
            return {"success": False, "errors": [{"action": "modify", "field": "roomId",
                                                  "message": f"room {room_id} is not in this account"}]}
        warnings, days = [], 0
        for entry in item.get("calendar") or []:
            start, end = date.fromisoformat(entry["from"]), date.fromisoformat(entry["to"])
            if end < start:
                return {"success": False, "errors": [{"action": "modify", "field": "to",
                                                      "message": "to is before from"}]}
            values = {k: v for k, v in entry.items() if k in CALENDAR_FIELDS}
            if values.get("numAvail") is not None and values["numAvail"] > rooms[room_id]:
                warnings.append({"action": "modify", "field": "numAvail",
                                 "message": f"numAvail {values['numAvail']} is more than the room's "
                                            f"{rooms[room_id]} units"})
            day = start
            while day <= end:
                self.calendar.setdefault((hotel_id, room_id, day), {}).update(values)
                day += timedelta(days=1)
                days += 1
        self.calendar_posts += 1
        return {"success": True, "modified": {"roomId": room_id, "days": days}, "errors": [], "warnings": warnings}

    def calendar_of(self, hotel_id: str, room_id: int) -> dict[date, dict[str, Any]]:
        """The room's per-night values (for tests)."""
        return {d: dict(v) for (h, r, d), v in sorted(self.calendar.items()) if h == hotel_id and r == room_id}

    def edit_calendar(self, hotel_id: str, room_id: int, night: date, **values: Any) -> None:
        """A change made in the Beds24 UI, not by the pipeline."""
        with self._lock:
            self.calendar.setdefault((hotel_id, room_id, night), {}).update(values)

    def _get_calendar(self, request: SandboxRequest, hotel_id: str) -> dict[str, Any]:
        start = date.fromisoformat(request.query["startDate"])
        end = date.fromisoformat(request.query["endDate"])
        wanted = {int(v) for v in request.query_list("roomId")} or set(self.accounts[hotel_id].rooms)
        include = {f for f, flag in (("numAvail", "includeNumAvail"), ("minStay", "includeMinStay"),
                                      ("maxStay", "includeMaxStay"), ("override", "includeOverride"))
                   if request.query.get(flag) == "true"}
        prices = request.query.get("includePrices") == "true"
        data = []
        for room_id in sorted(wanted & set(self.accounts[hotel_id].rooms)):
            entries: list[dict[str, Any]] = []
            day = start
            while day <= end:
                raw = self.calendar.get((hotel_id, room_id, day), {})
                values = {k: v for k, v in raw.items() if k in include or (prices and k.startswith("price"))}
                last = entries[-1] if entries else None
                if last and {k: v for k, v in last.items() if k not in ("from", "to")} == values and \
                        date.fromisoformat(last["to"]) == day - timedelta(days=1):
                    last["to"] = day.isoformat()
                elif values:
                    entries.append({"from": day.isoformat(), "to": day.isoformat(), **values})
                day += timedelta(days=1)
            data.append({"roomId": room_id, "propertyId": self.accounts[hotel_id].property_id, "calendar": entries})
        return {"success": True, "type": "calendar", "count": len(data),
                "pages": {"nextPageExists": False, "nextPageLink": None}, "data": data}

    # -- bookings --------------------------------------------------------------------------------------------
    def _booking_item(self, hotel_id: str, item: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        book = self.bookings[hotel_id]
        room_id = item.get("roomId")
        if room_id is not None and room_id not in self.accounts[hotel_id].rooms:
            return {"success": False, "errors": [{"action": "new" if "id" not in item else "modify",
                                                  "field": "roomId", "message": f"room {room_id} not found"}]}
        if "id" in item:
            current = book.get(int(item["id"]))
            if current is None:
                return {"success": False, "errors": [{"action": "modify", "field": "id",
                                                      "message": f"booking {item['id']} not found"}]}
            cancelling = item.get("status") == "cancelled" and current.get("status") != "cancelled"
            current.update({k: v for k, v in item.items() if k != "id"})
            current["modifiedTime"] = now
            if cancelling:
                current["cancelTime"] = now
            op = "cancel" if cancelling else "update"
            self.ops.append(AppliedOp(hotel_id, op, current["id"], current.get("apiReference")))
            return {"success": True, "modified": {"id": current["id"]}, "errors": [], "warnings": []}
        booking_id = self._next_id
        self._next_id += 1
        record = {"id": booking_id, "propertyId": self.accounts[hotel_id].property_id, "status": "confirmed",
                  **item, "bookingTime": now, "modifiedTime": now}
        book[booking_id] = record
        self.ops.append(AppliedOp(hotel_id, "create", booking_id, item.get("apiReference")))
        return {"success": True, "new": {"id": booking_id}, "errors": [], "warnings": []}

    def edit_booking(self, hotel_id: str, booking_id: int, **values: Any) -> None:
        with self._lock:
            self.bookings[hotel_id][booking_id].update(values)

    def _get_bookings(self, request: SandboxRequest, hotel_id: str) -> dict[str, Any]:
        ids = {int(v) for value in request.query_list("id") for v in value.split(",") if v}
        refs = set(request.query_list("apiReference"))
        rooms = {int(v) for v in request.query_list("roomId")}
        statuses = {s for value in request.query_list("status") for s in value.split(",") if s} or set(
            DEFAULT_STATUSES)
        rows = [b for _, b in sorted(self.bookings[hotel_id].items())
                if (not ids or b["id"] in ids) and (not refs or b.get("apiReference") in refs)
                and (not rooms or b.get("roomId") in rooms) and b.get("status", "confirmed") in statuses]
        page = int(request.query.get("page", 1))
        chosen = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(rows)
        link = None
        if more:
            link = "/bookings?" + urlencode([(k, v) for k, v in request.query_pairs if k != "page"]
                                            + [("page", str(page + 1))])
        return {"success": True, "type": "booking", "count": len(chosen),
                "pages": {"nextPageExists": more, "nextPageLink": link}, "data": [dict(b) for b in chosen]}

    def state(self) -> dict[str, Any]:
        """Everything held, as JSON (``GET /_sandbox/state``)."""
        return {
            "calendar": [{"hotel_id": h, "roomId": r, "date": d.isoformat(), **v}
                         for (h, r, d), v in sorted(self.calendar.items())],
            "bookings": {h: list(b.values()) for h, b in self.bookings.items()},
            "ops": [op.__dict__ for op in self.ops],
            "violations": list(self.violations),
            "requests": self.requests_served,
            "credits_charged": self.credits_charged,
        }


@dataclass
class PushSandbox:
    """The write side behind ``/beds24`` on a loopback HTTP server, with control endpoints under ``/_sandbox``."""

    handler: Beds24PushHandler
    _server: SandboxServer | None = field(default=None, init=False)

    def dispatch(self, request: SandboxRequest) -> tuple[SandboxResponse, float, str | None]:
        parts = request.path.lstrip("/").split("/", 1)
        rest = "/" + (parts[1] if len(parts) > 1 else "")
        if parts[0] == "_sandbox":
            if rest == "/state":
                return SandboxResponse(200, self.handler.state()), 0.0, None
            if rest == "/faults" and request.method == "POST":
                knobs = request.json()
                self.handler.lost_response_rate = float(knobs.pop("lost_response_rate", 0.0))
                self.handler.post_answer_delay_seconds = float(knobs.pop("post_answer_delay_seconds", 0.0))
                self.handler.dice = FaultDice(Faults.from_dict(knobs))
                return SandboxResponse(200, {"ok": True}), 0.0, None
            return SandboxResponse(404, {"message": "unknown control endpoint"}), 0.0, None
        if parts[0] != "beds24":
            return SandboxResponse(404, {"message": f"no vendor at /{parts[0]}"}), 0.0, None
        request.path = rest
        with self.handler._lock:
            self.handler.requests_served += 1
        response, delay = self.handler.handle(request)
        return response, delay, None

    def served(self, request: SandboxRequest, response: SandboxResponse, payload: bytes,
               body_fault: str | None) -> None:
        """Called by the server after each answer; the write side checked the request against the spec when it
        received it, and keeps nothing of its answers."""

    def start(self, port: int = 0) -> SandboxServer:
        self._server = SandboxServer(self, port=port).start()  # type: ignore[arg-type] - duck-typed dispatch
        return self._server

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.base_url("beds24")

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> PushSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
