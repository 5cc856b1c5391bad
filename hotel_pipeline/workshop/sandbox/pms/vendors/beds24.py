"""Beds24 (API V2, pull side) as the sandbox serves it, held to Beds24's apiV2.yaml (bundled in sandbox/specs/beds24;
every request and response is validated against it in the tests).

Why: Beds24's traps are in its defaults. ``GET /bookings`` without ``status`` leaves cancelled bookings out; pages are
``page`` with ``pages.nextPageExists`` / ``nextPageLink``; every token of an account shares one five-minute credit
budget reported in ``X-FiveMinCreditLimit-Remaining`` / ``-ResetsIn`` and ``X-RequestCost``. Auth is two-step:
``GET /authentication/setup`` (header ``code``) -> refresh token, ``GET /authentication/token`` (header
``refreshToken``) -> 24 h access token sent as header ``token``.

A booking carries the spec's ``booking`` fields: ``id``, ``propertyId``, ``roomId`` (the room *type*), ``unitId``
(the unit; absent while unassigned), ``status`` (confirmed, request, new, cancelled, black, inquiry), ``subStatus``
(``none``, ``noShow``, ...), ``arrival``, ``departure`` (check-out day), ``numAdult``, ``numChild`` (integers),
``firstName``, ``lastName``, ``email``, ``phone``, ``price``, ``commission`` (numbers), ``referer`` (the booking's
origin as text), ``rateDescription`` (the rate's text, which names the board: Room only, Bed and breakfast, Half
board, Full board; empty = not stated), ``bookingTime`` / ``modifiedTime`` / ``cancelTime`` (UTC, ``Z``). Room type
and unit names come from ``GET /properties?includeAllRooms=true`` (``roomTypes[].units[]``). The spec has no infant
count (none is served).

Beds24 has no in-house status: the sandbox writes the front desk's arrival and departure as info items (with
``includeInfoItems=true``) the way a property's staff or auto-actions do, ``{"code": "NOTE", "text": "Checked in
15:20", "createTime": <UTC instant>}`` and ``"Checked out 11:05"``; a no-show is ``status: cancelled`` with
``subStatus: noShow``.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.workshop.sandbox.pms.base import (
    RateLimitSpec,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    VendorHandler,
    parse_instant,
)

STATUS_TO_BEDS24 = {
    "confirmed": "confirmed",
    "checked_in": "confirmed",
    "checked_out": "confirmed",
    "cancelled": "cancelled",
    "no_show": "cancelled",
}
BOARD_DESCRIPTIONS = {"RO": "Room only", "BB": "Bed and breakfast", "HB": "Half board", "FB": "Full board",
                      "unknown": ""}

#: What the sandbox returns when ``status`` is not given: Beds24's default hides cancelled bookings.
DEFAULT_STATUSES = ("confirmed", "request", "new", "black", "inquiry")
PAGE_SIZE = 100
#: Credits per five minutes per account (the sandbox's budget; Beds24 sets it per account).
FIVE_MIN_CREDITS = 1200


def room_id(room_type: str | None) -> int | None:
    """Deterministic Beds24 ``roomId`` of a room type code (``/properties`` lists the same pairs)."""
    return None if not room_type else 100000 + zlib.crc32(room_type.encode()) % 900000


def unit_id(room_number: str | None) -> int | None:
    """Deterministic ``unitId`` of a room number."""
    return None if not room_number else 1 + zlib.crc32(room_number.encode()) % 9_999_999


def beds24_time(instant: datetime) -> str:
    """Beds24's UTC timestamp (``2021-01-01T10:00:00Z``)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_booking(row: Mapping[str, Any], property_id: int = 1, timezone: str = "Europe/Lisbon") -> dict[str, Any]:
    """One world booking as an item of ``GET /bookings`` ``data`` (see opera.render_reservation for world fields).

    ``row`` may also carry ``cancelled_at`` / ``checked_in_at`` / ``checked_out_at`` (aware datetimes); else the event
    is stamped at noon UTC of its day (the same calendar day in any European hotel).
    """
    status = str(row["status"])
    meal = str(row["meal_plan"] or "unknown")
    booking_id = int(row["external_id"])
    info: list[dict[str, Any]] = []
    zone = ZoneInfo(timezone)
    if status in ("checked_in", "checked_out"):
        at = row.get("checked_in_at") or _noon(row["arrival_date"])
        info.append({"id": booking_id * 10 + 1, "bookingId": booking_id, "code": "NOTE",
                     "text": f"Checked in {at.astimezone(zone):%H:%M}", "createTime": beds24_time(at)})
    if status == "checked_out":
        at = row.get("checked_out_at") or _noon(row["checked_out_on"] or row["departure_date"])
        info.append({"id": booking_id * 10 + 2, "bookingId": booking_id, "code": "NOTE",
                     "text": f"Checked out {at.astimezone(zone):%H:%M}", "createTime": beds24_time(at)})
    record: dict[str, Any] = {
        "id": booking_id,
        "propertyId": property_id,
        "roomId": room_id(row["room_type"]),
        "roomQty": 1,
        "status": STATUS_TO_BEDS24[status],
        "subStatus": "noShow" if status == "no_show" else "none",
        "arrival": row["arrival_date"].isoformat(),
        "departure": row["departure_date"].isoformat(),
        "numAdult": row["adults"],
        "numChild": row["children"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"],
        "phone": row["phone"],
        "price": round(float(row["net_amount"] or 0.0), 2),
        "commission": 0,
        "referer": row["channel"],
        "apiReference": "",
        "rateDescription": BOARD_DESCRIPTIONS.get(meal, ""),
        "bookingTime": beds24_time(row["created_at"]),
        "modifiedTime": beds24_time(row["modified_at"]),
        "cancelTime": None,
        "infoItems": info,
    }
    if row["room_number"]:
        record["unitId"] = unit_id(row["room_number"])
    if status in ("cancelled", "no_show"):
        at = row.get("cancelled_at")
        if at is None and row["cancelled_on"] is not None:
            at = _noon(row["cancelled_on"])
        record["cancelTime"] = beds24_time(at or row["modified_at"])
    # the spec types these as strings / integers, never null: an unknown value is left out
    return {k: v for k, v in record.items() if v is not None or k == "cancelTime"}


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


# -- the HTTP side -------------------------------------------------------------------------------------------------
class CreditBudget:
    """Beds24's five-minute credit budget per account: a fixed window that every token of the account shares."""

    def __init__(self, credits: int, seconds: float) -> None:
        self.credits = credits
        self.seconds = seconds
        self._windows: dict[str, tuple[float, int]] = {}  # account -> (window start, credits used)
        self._lock = threading.Lock()

    def spend(self, account: str, cost: int) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until reset); a refused request spends nothing."""
        now = time.monotonic()
        with self._lock:
            start, used = self._windows.get(account, (now, 0))
            if now - start >= self.seconds:
                start, used = now, 0
            allowed = used + cost <= self.credits
            if allowed:
                used += cost
            self._windows[account] = (start, used)
            return allowed, self.credits - used, max(0.0, start + self.seconds - now)


class Beds24Handler(VendorHandler):
    """Beds24 API v2 over the world: two-step token auth, ``/properties`` and ``/bookings`` (pull side).

    Credentials per hotel: refresh_token (the long-lived secret; ``invite_code`` too if ``/authentication/setup``
    should work). Traps: without ``status`` cancelled bookings are left out; without any date filter only upcoming
    arrivals are listed; ``infoItems`` come only with ``includeInfoItems=true``. ``status`` may be repeated or
    comma-separated. Every answer carries ``X-FiveMinCreditLimit-Remaining``, ``X-FiveMinCreditLimit-ResetsIn`` and
    ``X-RequestCost``; an exhausted budget answers 429 with those headers and Retry-After.
    """

    name: ClassVar[str] = "beds24"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(FIVE_MIN_CREDITS, 300.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("refresh_token",)
    spec: ClassVar[str | None] = "beds24"

    credit_window_seconds: float = 300.0
    credits: int = FIVE_MIN_CREDITS
    token_ttl_seconds: float = 86400.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._budget: CreditBudget | None = None
        self._last: dict[str, tuple[int, float, int]] = {}
        self.tokens_issued = 0

    @property
    def budget(self) -> CreditBudget:
        if self._budget is None or (self._budget.credits, self._budget.seconds) != (
                self.credits, self.credit_window_seconds):
            self._budget = CreditBudget(self.credits, self.credit_window_seconds)
        return self._budget

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        body = {"success": False, "type": "error", "code": status, "error": message}
        return SandboxResponse(status, body, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.path == "/authentication/setup":
            hotel_id = self.hotel_for("invite_code", request.headers.get("code"))
            if hotel_id is None:
                raise SandboxError(400, "Invite code invalid or already used")
            return hotel_id, hotel_id
        if request.path == "/authentication/token":
            hotel_id = self.hotel_for("refresh_token", request.headers.get("refreshtoken"))
            if hotel_id is None:
                raise SandboxError(400, "Refresh token is invalid")
            return hotel_id, hotel_id
        issued = self._tokens.get(request.headers.get("token", ""))
        if issued is None or issued[1] < time.monotonic():
            raise SandboxError(401, "Token is missing, invalid or expired")
        return issued[0], issued[0]  # the budget is per account, shared by every token

    def _cost(self, request: SandboxRequest) -> int:
        return 1 if request.path != "/bookings" else 2

    def throttle_check(self, key: str, request: SandboxRequest) -> SandboxResponse | None:
        cost = self._cost(request)
        if not self.throttle_enabled:
            self._last[key] = (self.credits, self.credit_window_seconds, cost)
            return None
        allowed, remaining, resets = self.budget.spend(key, cost)
        self._last[key] = (remaining, resets, cost)
        if allowed:
            return None
        return self.error_response(429, "Credit limit exceeded", {"Retry-After": str(max(1, math.ceil(resets)))})

    def decorate(self, response: SandboxResponse, key: str) -> SandboxResponse:
        remaining, resets, cost = self._last.get(key, (self.credits, self.credit_window_seconds, 0))
        response.headers.update({
            "X-FiveMinCreditLimit-Remaining": str(remaining),
            "X-FiveMinCreditLimit-ResetsIn": str(max(0, math.ceil(resets))),
            "X-RequestCost": str(cost),
        })
        return response

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        if request.method != "GET":
            raise SandboxError(405, "this sandbox serves the pull side only")
        if request.path in ("/authentication/setup", "/authentication/token"):
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (hotel_id, time.monotonic() + self.token_ttl_seconds)
            self.tokens_issued += 1
            body: dict[str, Any] = {"token": token, "expiresIn": int(self.token_ttl_seconds)}
            if request.path == "/authentication/setup":
                body["refreshToken"] = self.credentials[hotel_id].get("refresh_token")
            return SandboxResponse(200, body)
        if request.path == "/properties":
            return SandboxResponse(200, self._properties(hotel_id))
        if request.path == "/bookings":
            return SandboxResponse(200, self._bookings(request, hotel_id))
        raise SandboxError(404, f"no Beds24 endpoint {request.path}")

    def _properties(self, hotel_id: str) -> dict[str, Any]:
        rooms = self.world.rooms(hotel_id)
        room_types = [
            {"id": room_id(t), "name": t, "qty": min(99, max(1, rooms.filter(pl.col("room_type") == t).height)),  # the spec: 1..99
             "units": [{"id": unit_id(n), "name": n} for n in rooms.filter(pl.col("room_type") == t)["room_number"]]}
            for t in self.world.room_types(hotel_id)
        ]
        prop = {"id": 1, "name": hotel_id, "currency": self.world.currencies[hotel_id], "roomTypes": room_types}
        return {"success": True, "type": "property", "count": 1, "pages": {"nextPageExists": False}, "data": [prop]}

    def _bookings(self, request: SandboxRequest, hotel_id: str) -> dict[str, Any]:
        q = request.query
        try:
            page = int(q.get("page", 1))
            arrival_from = date.fromisoformat(q["arrivalFrom"]) if q.get("arrivalFrom") else None
            arrival_to = date.fromisoformat(q["arrivalTo"]) if q.get("arrivalTo") else None
        except ValueError as exc:
            raise SandboxError(400, f"invalid parameter: {exc}") from exc
        modified_from = parse_instant(q.get("modifiedFrom"), "modifiedFrom")
        modified_to = parse_instant(q.get("modifiedTo"), "modifiedTo")
        # ``status`` repeated (as Beds24 documents it: an array in the query) or comma-separated; absent = default
        statuses = {s for value in request.query_list("status") for s in value.split(",") if s}
        statuses = statuses or set(DEFAULT_STATUSES)
        try:  # ``id`` repeated (an array in the query, as the spec has it) or comma-separated
            ids = {int(v) for value in request.query_list("id") for v in value.split(",") if v}
        except ValueError as exc:
            raise SandboxError(400, f"invalid parameter id: {exc}") from exc
        state = self.world.state(hotel_id)
        if ids:  # named bookings: the "upcoming only" default does not apply
            state = state.filter(pl.col("external_id").cast(pl.Int64, strict=False).is_in(sorted(ids)))
        elif not any((arrival_from, arrival_to, modified_from, modified_to)):
            tz = self.world.timezones[hotel_id]
            arrival_from = self.world.now.astimezone(ZoneInfo(tz)).date()
        if arrival_from is not None:
            state = state.filter(pl.col("arrival_date") >= arrival_from)
        if arrival_to is not None:
            state = state.filter(pl.col("arrival_date") <= arrival_to)
        if modified_from is not None:
            state = state.filter(pl.col("modified_at") >= modified_from)
        if modified_to is not None:
            state = state.filter(pl.col("modified_at") <= modified_to)
        beds24_status = pl.col("status").replace_strict(STATUS_TO_BEDS24, return_dtype=pl.String)
        state = state.filter(beds24_status.is_in(sorted(statuses))).sort("booking_ref")
        start = (page - 1) * PAGE_SIZE
        window_start = max(0, start - PAGE_SIZE)
        rows = state.slice(window_start, 2 * PAGE_SIZE + 2).to_dicts()
        chosen = self.page_slice(rows, start - window_start, PAGE_SIZE) if start else rows[:PAGE_SIZE]
        with_info = q.get("includeInfoItems") in ("true", "1")
        data = []
        tz = self.world.timezones[hotel_id]
        for r in chosen:
            booking = render_booking(r, timezone=tz)
            if not with_info:
                booking.pop("infoItems")
            data.append(booking)
        more = start + PAGE_SIZE < state.height
        pages: dict[str, Any] = {"nextPageExists": more}  # nextPageLink is a string: absent on the last page
        if more:
            pages["nextPageLink"] = "/bookings?" + urlencode([(k, v) for k, v in request.query_pairs if k != "page"]
                                                             + [("page", str(page + 1))])
        return {"success": True, "type": "booking", "count": len(data), "pages": pages, "data": data}


HANDLER = Beds24Handler
