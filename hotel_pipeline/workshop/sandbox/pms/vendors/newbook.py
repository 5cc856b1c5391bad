"""Newbook as the sandbox serves it, after the fields third-party client code reads
(jtricerolph/forecasting-app-docker ``newbook_client.py`` and its sync job).

Why: there is no public Newbook reference, so the sandbox fixes one plausible reading of what client code relies on:
every call is ``POST /rest/<action>`` with HTTP Basic *and* ``api_key`` + ``region`` in the JSON body;
``bookings_list`` takes ``list_type`` (``all`` = every booking created or modified in ``period_from``..``period_to``,
cancellations included; ``staying``/``arrived``/``cancelled``/... by stay dates) and pages with
``data_offset``/``data_limit`` (<= 1000), answering ``{success, data, data_total}``. Bookings carry ``booking_id``,
``booking_status`` (Unconfirmed, Confirmed, Arrived, Departed, Cancelled, No Show), ``booking_arrival`` /
``booking_departure`` (``YYYY-MM-DD HH:MM:SS``), ``booking_length``, ``booking_adults``/``_children``/``_infants``,
``site_name`` (room number), ``category_name`` (room type), ``guests[]``, ``tariffs_quoted[]`` (one per night,
``stay_date`` + ``calculated_amount``) and ``inventory_items[]`` whose ``description`` "DBB" / "Dinner" marks a
dinner package.

Sandbox conventions: ``booking_modified`` (when the booking last changed), ``booking_cancelled`` (day of a
cancellation or no-show), ``booking_departed`` (real check-out day); ``tariff_name`` "Room Only" tells room-only from
unknown ("Standard Rate").
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import polars as pl

from hotel_pipeline.workshop.sandbox.pms.base import (
    RateLimitSpec,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    VendorHandler,
)

STATUS_TO_NEWBOOK = {
    "confirmed": "Confirmed",
    "checked_in": "Arrived",
    "checked_out": "Departed",
    "cancelled": "Cancelled",
    "no_show": "No Show",
}

#: Newbook inventory items per unified meal plan; "DBB" is the idiom client code matches for dinner.
MEAL_ITEMS: dict[str, list[str]] = {
    "RO": [],
    "BB": ["Breakfast"],
    "HB": ["DBB"],
    "FB": ["Full Board - Breakfast, Lunch, Dinner"],
    "unknown": [],
}
TARIFF_NAMES = {"RO": "Room Only", "BB": "Bed & Breakfast", "HB": "Dinner, Bed & Breakfast", "FB": "Full Board",
                "unknown": "Standard Rate"}

MAX_DATA_LIMIT = 1000


def newbook_timestamp(instant: datetime, timezone: str) -> str:
    """Newbook's property-local ``YYYY-MM-DD HH:MM:SS``."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def render_booking(row: Mapping[str, Any], timezone: str) -> dict[str, Any]:
    """One world booking as an item of ``bookings_list`` ``data`` (see opera.render_reservation for world fields)."""
    status = str(row["status"])
    meal = str(row["meal_plan"] or "unknown")
    nights = int(row["nights"])
    adr = float(row["adr"] or 0.0)
    record: dict[str, Any] = {
        "booking_id": int(row["external_id"]),
        "booking_reference_id": f"NB{int(row['external_id']):07d}",
        "booking_placed": newbook_timestamp(row["created_at"], timezone),
        "booking_modified": newbook_timestamp(row["modified_at"], timezone),
        "booking_arrival": f"{row['arrival_date'].isoformat()} 14:00:00",
        "booking_departure": f"{row['departure_date'].isoformat()} 10:00:00",
        "booking_length": nights,
        "booking_adults": row["adults"],
        "booking_children": row["children"],
        "booking_infants": row["babies"],
        "booking_status": STATUS_TO_NEWBOOK[status],
        "category_name": row["room_type"],
        "site_name": row["room_number"],
        "booking_source_name": row["channel"],
        "tariff_name": TARIFF_NAMES.get(meal, "Standard Rate"),
        "tariff_total": round(float(row["net_amount"] or 0.0), 2),
        "tariffs_quoted": [
            {"stay_date": (row["arrival_date"] + timedelta(days=i)).isoformat(), "calculated_amount": round(adr, 2)}
            for i in range(nights)
        ],
        "inventory_items": [{"description": d, "amount": 0} for d in MEAL_ITEMS.get(meal, [])],
        "guests": [
            {
                "primary_client": "1",
                "firstname": row["first_name"],
                "lastname": row["last_name"],
                "contact_details": [
                    {"type": "email", "content": row["email"]},
                    {"type": "mobile", "content": row["phone"]},
                ],
            }
        ],
    }
    if status in ("cancelled", "no_show") and row["cancelled_on"] is not None:
        record["booking_cancelled"] = f"{row['cancelled_on'].isoformat()} 12:00:00"
    if status == "checked_out" and row["checked_out_on"] is not None:
        record["booking_departed"] = f"{row['checked_out_on'].isoformat()} 10:00:00"
    return record


# -- the HTTP side -------------------------------------------------------------------------------------------------
def parse_local(text: Any, timezone: str, what: str, end_of_day: bool = False) -> datetime | None:
    """``YYYY-MM-DD[ HH:MM:SS]`` property-local as an aware instant (a bare date means its start, or its end)."""
    if text in (None, ""):
        return None
    raw = str(text).replace("T", " ")
    try:
        value = datetime.fromisoformat(raw[:19])
    except ValueError as exc:
        raise SandboxError(200, f"{what} must be 'YYYY-MM-DD HH:MM:SS'") from exc
    if len(raw) <= 10 and end_of_day:
        value = value.replace(hour=23, minute=59, second=59)
    return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


class NewbookHandler(VendorHandler):
    """Newbook over the world: ``POST /rest/bookings_list`` (and ``site_list``), Basic auth + api_key in the body.

    Credentials per hotel: username, password, api_key (region must be present and equal to ``region``). A wrong
    Basic login is an HTTP 401; a wrong api_key, a bad parameter or ``data_limit`` > 1000 is HTTP 200 with
    ``success: false`` (client code checks both). Budget: 100 requests per minute per api_key, 429 + Retry-After.
    ``list_type``: all (created or modified in the period, cancellations included), placed (created in the period),
    staying (staying in the period, cancellations excluded), cancelled (cancelled in the period).
    """

    name: ClassVar[str] = "newbook"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(100, 60.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("username", "password", "api_key")

    region: str = "eu"

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        return SandboxResponse(status, {"success": False, "message": message}, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.method != "POST":
            raise SandboxError(405, "every Newbook action is a POST")
        try:
            user, password = base64.b64decode(
                request.headers.get("authorization", "").removeprefix("Basic ")).decode().split(":", 1)
        except ValueError as exc:
            raise SandboxError(401, "HTTP Basic authentication required") from exc
        hotel_id = self.hotel_for("username", user)
        if hotel_id is None or self.credentials[hotel_id].get("password") != password:
            raise SandboxError(401, "Invalid username or password")
        body = request.json()
        if body.get("api_key") != self.credentials[hotel_id].get("api_key") or body.get("region") != self.region:
            raise SandboxError(200, "Invalid API Key or region")
        return hotel_id, str(body.get("api_key"))

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        action = request.path.removeprefix("/rest/").strip("/")
        body = request.json()
        if action == "site_list":
            rooms = self.world.rooms(hotel_id)
            data = [{"site_id": i + 1, "site_name": n, "category_name": t} for i, (n, t) in enumerate(rooms.iter_rows())]
            return SandboxResponse(200, {"success": True, "data": data, "data_total": len(data)})
        if action != "bookings_list":
            raise SandboxError(404, f"unknown action {action}")
        return SandboxResponse(200, self._bookings(body, hotel_id))

    def _bookings(self, body: dict[str, Any], hotel_id: str) -> dict[str, Any]:
        try:
            offset = int(body.get("data_offset", 0))
            limit = int(body.get("data_limit", 100))
        except (TypeError, ValueError) as exc:
            raise SandboxError(200, "data_offset and data_limit must be integers") from exc
        if not 1 <= limit <= MAX_DATA_LIMIT or offset < 0:
            raise SandboxError(200, f"data_limit must be between 1 and {MAX_DATA_LIMIT}")
        tz = self.world.timezones[hotel_id]
        start = parse_local(body.get("period_from"), tz, "period_from")
        end = parse_local(body.get("period_to"), tz, "period_to", end_of_day=True)
        list_type = body.get("list_type", "all")
        state = self.world.state(hotel_id)

        def within(col: pl.Expr) -> pl.Expr:
            cond = pl.lit(True)
            if start is not None:
                cond = cond & (col >= start)
            if end is not None:
                cond = cond & (col <= end)
            return cond

        if list_type == "all":
            state = state.filter(within(pl.col("modified_at")) | within(pl.col("created_at")))
        elif list_type == "placed":
            state = state.filter(within(pl.col("created_at")))
        elif list_type == "cancelled":
            state = state.filter(pl.col("cancelled_at").is_not_null() & within(pl.col("cancelled_at")))
        elif list_type == "staying":
            lo = start.date() if start else None
            hi = end.date() if end else None
            cond = ~pl.col("status").is_in(["cancelled", "no_show"])
            if lo is not None:
                cond = cond & (pl.col("departure_date") > lo)
            if hi is not None:
                cond = cond & (pl.col("arrival_date") <= hi)
            state = state.filter(cond)
        else:
            raise SandboxError(200, f"unknown list_type {list_type!r}")
        state = state.sort("booking_ref")
        window_start = max(0, offset - limit)
        rows = state.slice(window_start, 2 * limit + 2).to_dicts()
        chosen = self.page_slice(rows, offset - window_start, limit) if offset else rows[:limit]
        return {"success": True, "message": "", "data": [render_booking(r, tz) for r in chosen],
                "data_total": state.height}


HANDLER = NewbookHandler
