"""Stayntouch (Connect API) as the sandbox serves it, after the fields of omniboost/go-stayntouch.

Why: the Stayntouch connector is written against third-party client code only, so the sandbox pins down what that
code shows: ``GET /connect/reservations?hotel_id=&date_filter=updated&from_date=&to_date=&page=&per_page=`` answering
``{results, total_count}``; reservations with ``confirmation_number``, lower-case ``status`` words (the documented
webhook says ``reserved``), ``arrival_date``/``departure_date``, ``currency_code``, ``room.number``, one
``stay_dates[]`` entry per night (``amount``, ``net_amount``, ``tax_amount``, ``room_type_id``, ``adults``,
``children``, ``infants``) and ``addons[]`` (meal inclusions, ``included_in_rate``). Room types are ids resolved
through ``GET /connect/room_types?hotel_id=``.

Sandbox conventions: ``stay_dates[].rate_code`` names the rate (``BAR-RO`` tells room-only from unknown),
``canceled_date`` / ``checked_out_date`` carry the day of a cancellation or no-show and of the real check-out.
A zero-night (day-use) booking has a single stay date with amount 0 so the room type is still known.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.workshop.sandbox.pms.base import (
    RateLimitSpec,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    VendorHandler,
)

STATUS_TO_STAYNTOUCH = {
    "confirmed": "reserved",
    "checked_in": "checked_in",
    "checked_out": "checked_out",
    "cancelled": "canceled",
    "no_show": "no_show",
}

#: Meal add-ons per unified meal plan (Stayntouch sells meals as add-ons included in the rate).
MEAL_ADDONS: dict[str, list[str]] = {
    "RO": [],
    "BB": ["Breakfast"],
    "HB": ["Breakfast", "Dinner"],
    "FB": ["Breakfast", "Lunch", "Dinner"],
    "unknown": [],
}
RATE_CODES = {"RO": "BAR-RO", "BB": "BAR-BB", "HB": "BAR-HB", "FB": "BAR-FB", "unknown": "BAR"}

#: Default and maximum ``per_page`` of the Connect API.
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


def room_type_id(code: str | None) -> int | None:
    """A deterministic numeric id for a room type code (the sandbox's ``/room_types`` lists the same pairs)."""
    if not code:
        return None
    return 100 + sum((i + 1) * ord(c) for i, c in enumerate(code))


def stayntouch_timestamp(instant: datetime, timezone: str) -> str:
    """ISO-8601 with the hotel's UTC offset and milliseconds (``2018-10-15T19:11:40.622+01:00``)."""
    local = instant.astimezone(ZoneInfo(timezone))
    return local.isoformat(timespec="milliseconds")


def render_reservation(row: Mapping[str, Any], timezone: str, hotel_id: int | str = 777) -> dict[str, Any]:
    """One world booking as an item of ``results`` (see opera.render_reservation for the world fields)."""
    status = str(row["status"])
    meal = str(row["meal_plan"] or "unknown")
    nights = int(row["nights"])
    rt_id = room_type_id(row["room_type"])
    room = None if not row["room_number"] else {"number": row["room_number"], "room_type_id": rt_id}
    adr = float(row["adr"] or 0.0)
    nightly = [
        {
            "date": (row["arrival_date"] + timedelta(days=i)).isoformat(),
            "amount": f"{adr:.2f}" if nights else "0.00",
            "net_amount": f"{adr:.2f}" if nights else "0.00",
            "tax_amount": None,
            "rate_code": RATE_CODES.get(meal, "BAR"),
            "room_type_id": rt_id,
            "adults": row["adults"],
            "children": row["children"],
            "infants": row["babies"],
            "room": room,
        }
        for i in range(max(nights, 1))
    ]
    record: dict[str, Any] = {
        "id": int(row["external_id"]),
        "hotel_id": hotel_id,
        "confirmation_number": str(row["external_id"]),
        "currency_code": row["currency"],
        "status": STATUS_TO_STAYNTOUCH[status],
        "arrival_date": row["arrival_date"].isoformat(),
        "arrival_time": None,
        "departure_date": row["departure_date"].isoformat(),
        "departure_time": None,
        "addons": [
            {"name": name, "included_in_rate": True, "post_type": "Every Night", "amount": 0.0}
            for name in MEAL_ADDONS.get(meal, [])
        ],
        "created_time": stayntouch_timestamp(row["created_at"], timezone),
        "updated_time": stayntouch_timestamp(row["modified_at"], timezone),
        "market_segment_code": row["channel"],
        "source_code": row["channel"],
        "room": room,
        "stay_dates": nightly,
        "guests": [
            {
                "is_primary": True,
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "email": row["email"],
                "mobile_phone": row["phone"],
            }
        ],
    }
    if status in ("cancelled", "no_show") and row["cancelled_on"] is not None:
        record["canceled_date"] = row["cancelled_on"].isoformat()
    if status == "checked_out" and row["checked_out_on"] is not None:
        record["checked_out_date"] = row["checked_out_on"].isoformat()
    return record


# -- the HTTP side -------------------------------------------------------------------------------------------------
#: Which world column each ``date_filter`` reads (dates are compared as hotel-local days, inclusive).
DATE_FILTERS = {"updated": "modified_at", "created": "created_at", "arrival": "arrival_date",
                "departure": "departure_date"}


class StayntouchHandler(VendorHandler):
    """Stayntouch Connect over the world: ``POST /oauth/token`` and ``GET /connect/reservations|room_types``.

    Credentials per hotel: client_id, client_secret (sent in the form body, AuthStyleInParams). ``hotel_id`` in the
    query must be the hotel of the token. Paging is ``page`` (1-based) / ``per_page`` (default 25, at most 100); the
    answer is ``{results, total_count}``. Stayntouch publishes no rate limit; the sandbox budgets 300 requests per
    minute per token (an assumption, answered with 429 + Retry-After).
    """

    name: ClassVar[str] = "stayntouch"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(300, 60.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    token_ttl_seconds: float = 7200.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}
        self.tokens_issued = 0

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        if status == 401:
            return SandboxResponse(401, {"error": "invalid_token", "error_description": message}, dict(headers or {}))
        return SandboxResponse(status, {"errors": [message]}, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.path == "/oauth/token":
            form = dict(parse_qsl(request.body.decode() if request.body else ""))
            hotel_id = self.hotel_for("client_id", form.get("client_id"))
            if hotel_id is None or self.credentials[hotel_id].get("client_secret") != form.get("client_secret"):
                raise SandboxError(401, "Client authentication failed")
            if form.get("grant_type") != "client_credentials":
                raise SandboxError(400, "unsupported_grant_type")
            return hotel_id, f"client:{form.get('client_id')}"
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        issued = self._tokens.get(token)
        if issued is None or issued[1] < time.monotonic():
            raise SandboxError(401, "The access token is invalid or expired")
        return issued[0], token

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        if request.path == "/oauth/token" and request.method == "POST":
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (hotel_id, time.monotonic() + self.token_ttl_seconds)
            self.tokens_issued += 1
            return SandboxResponse(200, {"access_token": token, "token_type": "bearer",
                                         "expires_in": int(self.token_ttl_seconds),
                                         "created_at": int(self.now().timestamp())})
        if request.method != "GET":
            raise SandboxError(405, "method not allowed")
        if request.query.get("hotel_id") != hotel_id:
            raise SandboxError(403, "hotel_id is not a hotel of this client")
        if request.path == "/connect/room_types":
            types = self.world.room_types(hotel_id)
            results = [{"id": room_type_id(t), "code": t, "name": f"Room type {t}", "pseudo": False} for t in types]
            return SandboxResponse(200, {"results": results, "total_count": len(results)})
        if request.path == "/connect/reservations":
            return SandboxResponse(200, self._reservations(request, hotel_id))
        raise SandboxError(404, f"no Stayntouch endpoint {request.path}")

    def _reservations(self, request: SandboxRequest, hotel_id: str) -> dict[str, Any]:
        q = request.query
        try:
            page = int(q.get("page", 1))
            per_page = int(q.get("per_page", DEFAULT_PER_PAGE))
            from_date = date.fromisoformat(q["from_date"]) if q.get("from_date") else None
            to_date = date.fromisoformat(q["to_date"]) if q.get("to_date") else None
        except ValueError as exc:
            raise SandboxError(422, f"invalid parameter: {exc}") from exc
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise SandboxError(422, f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
        column = DATE_FILTERS.get(q.get("date_filter", "arrival"))
        if column is None:
            raise SandboxError(422, f"unknown date_filter {q.get('date_filter')!r}")
        tz = self.world.timezones[hotel_id]
        state = self.world.state(hotel_id)
        day = pl.col(column)
        if column.endswith("_at"):
            day = day.dt.convert_time_zone(tz).dt.date()
        if from_date is not None:
            state = state.filter(day >= from_date)
        if to_date is not None:
            state = state.filter(day <= to_date)
        if q.get("exclude_canceled") in ("true", "1"):
            state = state.filter(~pl.col("status").is_in(["cancelled", "no_show"]))
        state = state.sort("booking_ref")
        start = (page - 1) * per_page
        window_start = max(0, start - per_page)
        rows = state.slice(window_start, 2 * per_page + 2).to_dicts()
        chosen = self.page_slice(rows, start - window_start, per_page) if start else rows[:per_page]
        return {"results": [render_reservation(r, tz, hotel_id) for r in chosen], "total_count": state.height}


HANDLER = StayntouchHandler
