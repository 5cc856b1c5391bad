"""RMS Cloud as the sandbox serves it: a world booking in the words of the RMS REST API (v1.4, praveenaj/rms-docs).

Why: the RMS connector must meet RMS's quirks, not our model's. RMS speaks property-local ``YYYY-MM-DD HH:MM:SS``
strings, ``status`` words such as Confirmed/Arrived/Departed/Cancelled/NoShow, the room as ``areaName`` and the room
type as ``categoryName``, the guest as ``guestGiven``/``guestSurname``, and meals only as a ``mealPlanId`` that
points into the property's meal-plan setup (``GET /mealPlans``). The documented example even spells the modified
time ``ModifiedDate`` with a capital M; the sandbox keeps that spelling so the connector has to cope with it.

Amounts are not on a reservation: RMS documents them per night under ``POST /reservations/dailyRevenue/search``
(``{"ids": [...]}`` -> ``[{reservationId, dailyRevenue: [{theDate, accommodation, accommodationTax, accommodationGST,
foodAndBeverage..., other...}]}]``); the sandbox property prices net of tax (``accommodation`` = the night's rate,
``accommodationGST`` the 6 % VAT on top). ``listOfStatus`` takes the documented enum (unconfirmed, confirmed, arrived,
departed, cancelled, maintenance, quote, stopSell, ownerOccupied, noShow, pencil) and refuses anything else (400).

Sandbox conventions (fields RMS does not document under these names): ``departedDate`` carries the real check-out day
of a Departed booking (early departures), ``guestEmail``/``guestMobile`` the guest's contact details (RMS keeps them on
the guest record).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
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

STATUS_TO_RMS = {
    "confirmed": "Confirmed",
    "checked_in": "Arrived",
    "checked_out": "Departed",
    "cancelled": "Cancelled",
    "no_show": "NoShow",
}

#: The property's meal-plan setup as ``GET /mealPlans`` lists it: id -> name.
MEAL_PLANS = {1: "Room Only", 2: "Bed & Breakfast", 3: "Half Board", 4: "Full Board"}
MEAL_PLAN_IDS = {"RO": 1, "BB": 2, "HB": 3, "FB": 4}

#: RMS check-in / check-out times used to render dates as the datetimes RMS returns.
CHECK_IN_TIME = "14:00:00"
CHECK_OUT_TIME = "10:00:00"

#: ``listOfStatus`` values RMS documents (reservationSearch), compared case-insensitively.
STATUS_ENUM = ("unconfirmed", "confirmed", "arrived", "departed", "cancelled", "maintenance", "quote", "stopSell",
               "ownerOccupied", "noShow", "pencil")
VAT = 0.06


def render_daily_revenue(row: Mapping[str, Any]) -> dict[str, Any]:
    """One world booking as an item of ``POST /reservations/dailyRevenue/search``: one entry per night."""
    nights = int(row["nights"])
    adr = float(row["adr"] or 0.0)
    return {"reservationId": int(row["external_id"]), "dailyRevenue": [
        {"theDate": _day(row["arrival_date"] + timedelta(days=i), "00:00:00"), "accommodation": round(adr, 2),
         "accommodationTax": 0, "accommodationGST": round(adr * VAT, 2), "foodAndBeverage": 0,
         "foodAndBeverageTax": 0, "foodAndBeverageGST": 0, "other": 0, "otherTax": 0, "otherGST": 0}
        for i in range(nights)]}


#: RMS's documented limit for ``/reservations/search``: 60 requests per 10 seconds; page size ceiling.
SEARCH_LIMIT_PER_10S = 60
MAX_LIMIT = 500


def rms_timestamp(instant: datetime, timezone: str) -> str:
    """RMS's property-local ``YYYY-MM-DD HH:MM:SS``."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _day(value: date, clock: str) -> str:
    return f"{value.isoformat()} {clock}"


def render_reservation(row: Mapping[str, Any], timezone: str, property_id: int = 1) -> dict[str, Any]:
    """One world booking as an item of the ``POST /reservations/search`` response (see opera.render_reservation
    for the world fields)."""
    status = str(row["status"])
    meal = str(row["meal_plan"] or "unknown")
    record: dict[str, Any] = {
        "id": int(row["external_id"]),
        "propertyId": property_id,
        "status": STATUS_TO_RMS[status],
        "arrivalDate": _day(row["arrival_date"], CHECK_IN_TIME),
        "departureDate": _day(row["departure_date"], CHECK_OUT_TIME),
        "adults": row["adults"],
        "children": row["children"],
        "infants": row["babies"],
        "areaName": row["room_number"],
        "categoryName": row["room_type"],
        "guestGiven": row["first_name"],
        "guestSurname": row["last_name"],
        "guestEmail": row["email"],
        "guestMobile": row["phone"],
        "mealPlanId": MEAL_PLAN_IDS.get(meal, 0),
        "rateTypeName": "BAR",
        "bookingSourceName": row["channel"],
        "createdDate": rms_timestamp(row["created_at"], timezone),
        "ModifiedDate": rms_timestamp(row["modified_at"], timezone),
    }
    if status in ("cancelled", "no_show") and row["cancelled_on"] is not None:
        record["cancelledDate"] = _day(row["cancelled_on"], "12:00:00")
    if status == "checked_out" and row["checked_out_on"] is not None:
        record["departedDate"] = _day(row["checked_out_on"], CHECK_OUT_TIME)
    return record


# -- the HTTP side -------------------------------------------------------------------------------------------------
def parse_local(text: str | None, timezone: str, what: str) -> datetime | None:
    """An RMS property-local ``YYYY-MM-DD HH:MM:SS`` (or a bare date) as an aware instant; 400 when unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("T", " ")[:19])
    except ValueError as exc:
        raise SandboxError(400, f"{what} must be 'YYYY-MM-DD HH:MM:SS'") from exc
    return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


class RmsHandler(VendorHandler):
    """RMS Cloud over the world: ``/authToken``, ``/mealPlans`` and ``/reservations/search``.

    Credentials per hotel: agent_id, agent_password, client_id, client_password. Three failed logins of an agent lock
    it (403) for the rest of the sandbox's life (RMS: one hour). The search is limited per token *and endpoint* to
    60 requests per 10 s; pages are ``limit`` (<= 500) / ``offset`` query parameters and the answer is a bare list, so
    the end is a short page. ``modifiedFrom``/``modifiedTo`` and ``arriveFrom``/``arriveTo`` are inclusive.
    """

    name: ClassVar[str] = "rms"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(SEARCH_LIMIT_PER_10S, 10.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("agent_id", "agent_password", "client_id", "client_password")

    token_ttl_seconds: float = 3600.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._failed_logins: dict[str, int] = {}
        self.tokens_issued = 0

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        return SandboxResponse(status, {"Message": message}, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        if request.path == "/authToken":
            body = request.json()
            agent = str(body.get("agentId", ""))
            if self._failed_logins.get(agent, 0) >= 3:
                raise SandboxError(403, "Too many failed login attempts; the agent is locked for one hour")
            hotel_id = self.hotel_for("client_id", str(body.get("clientId", "")))
            creds = self.credentials.get(hotel_id or "", {})
            if (hotel_id is None or creds.get("agent_id") != agent
                    or creds.get("agent_password") != body.get("agentPassword")
                    or creds.get("client_password") != body.get("clientPassword")):
                self._failed_logins[agent] = self._failed_logins.get(agent, 0) + 1
                raise SandboxError(401, "Invalid credentials")
            return hotel_id, f"login:{agent}"
        token = request.headers.get("authtoken", "")
        issued = self._tokens.get(token)
        if issued is None or issued[1] < time.monotonic():
            raise SandboxError(401, "Token is invalid or has expired")
        return issued[0], f"{token}:{request.path}"

    def spoilable(self, request: SandboxRequest) -> bool:
        return request.path == "/reservations/search"

    def throttle_check(self, key: str, request: SandboxRequest) -> SandboxResponse | None:
        """Only ``/reservations/search`` is budgeted in the sandbox (per token and endpoint)."""
        if request.path != "/reservations/search":
            return None
        return super().throttle_check(key, request)

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        if request.path == "/authToken" and request.method == "POST":
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (hotel_id, time.monotonic() + self.token_ttl_seconds)
            self.tokens_issued += 1
            expiry = self.now().replace(microsecond=0)
            return SandboxResponse(200, {"token": token, "expiryDate": expiry.strftime("%Y-%m-%d %H:%M:%S"),
                                         "rmsClientId": 1, "allowedProperties": [{"clientId": 1,
                                                                                  "clientName": hotel_id}]})
        if request.path == "/mealPlans" and request.method == "GET":
            return SandboxResponse(200, [{"id": k, "name": v, "inactive": False} for k, v in MEAL_PLANS.items()])
        if request.path == "/reservations/search" and request.method == "POST":
            return SandboxResponse(200, self._search(request, hotel_id))
        if request.path == "/reservations/dailyRevenue/search" and request.method == "POST":
            return SandboxResponse(200, self._daily_revenue(request, hotel_id))
        raise SandboxError(404, f"No RMS endpoint {request.method} {request.path}")

    def _search(self, request: SandboxRequest, hotel_id: str) -> list[dict[str, Any]]:
        try:
            limit = int(request.query.get("limit", 100))
            offset = int(request.query.get("offset", 0))
        except ValueError as exc:
            raise SandboxError(400, "limit and offset must be integers") from exc
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise SandboxError(400, f"limit must be between 1 and {MAX_LIMIT}")
        body = request.json()
        tz = self.world.timezones[hotel_id]
        state = self.world.state(hotel_id)
        ids = body.get("reservationIds")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise SandboxError(400, "reservationIds must be a list of integers")
            state = state.filter(pl.col("external_id").cast(pl.Int64, strict=False).is_in(ids))
        for key, column, op in (("modifiedFrom", "modified_at", "ge"), ("modifiedTo", "modified_at", "le"),
                                ("createdFrom", "created_at", "ge"), ("createdTo", "created_at", "le")):
            bound = parse_local(body.get(key), tz, key)
            if bound is not None:
                state = state.filter(pl.col(column) >= bound if op == "ge" else pl.col(column) <= bound)
        for key, op in (("arriveFrom", "ge"), ("arriveTo", "le")):
            bound = parse_local(body.get(key), tz, key)
            if bound is not None:
                day = bound.date()
                state = state.filter(pl.col("arrival_date") >= day if op == "ge" else pl.col("arrival_date") <= day)
        statuses = body.get("listOfStatus")
        if statuses:
            known = {s.lower() for s in STATUS_ENUM}
            unknown = [s for s in statuses if str(s).lower() not in known]
            if unknown:
                raise SandboxError(400, f"listOfStatus holds unknown values {unknown}")
            wanted = {s.replace(" ", "").lower() for s in statuses}
            unified = [u for u, word in STATUS_TO_RMS.items() if word.lower() in wanted]
            state = state.filter(pl.col("status").is_in(unified))
        state = state.sort("booking_ref")
        window_start = max(0, offset - limit)
        rows = state.slice(window_start, 2 * limit + 2).to_dicts()
        page = self.page_slice(rows, offset - window_start, limit) if offset else rows[:limit]
        return [render_reservation(r, tz) for r in page]

    def _daily_revenue(self, request: SandboxRequest, hotel_id: str) -> list[dict[str, Any]]:
        ids = request.json().get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise SandboxError(400, "ids must be a non-empty array of reservation ids")
        state = self.world.state(hotel_id).filter(pl.col("external_id").cast(pl.Int64).is_in(ids))
        return [render_daily_revenue(r) for r in state.sort("booking_ref").to_dicts()]


HANDLER = RmsHandler
