"""Oracle OPERA Cloud (OHIP) as the sandbox serves it, held to OPERA's rsv.json (Swagger 2.0, bundled in
sandbox/specs/opera; every request and response is validated against it in the tests).

Why this module exists: the connector must be tested against something that behaves like OHIP, not like our model.
So the sandbox renders every booking as the list operation ``GET /rsv/v1/hotels/{hotelId}/reservations`` documents
its ``reservationInfoType``:

- ids live in ``reservationIdList`` (``Reservation`` = internal id, ``Confirmation`` = guest-facing number);
- statuses are OPERA's ``pMS_ResStatusType`` words (Reserved, InHouse, CheckedOut, Cancelled, NoShow);
- the stay is ``roomStay.arrivalDate``/``departureDate`` (the current stay); ``roomStay.originalTimeSpan`` holds the
  dates the reservation was made with ("dates of the original reservation"): an early departure moves
  ``departureDate`` to the day the guest left while ``originalTimeSpan.endDate`` keeps the booked one;
- counts and amounts are the schema's integers and numbers (``adultCount``, ``rateAmount.amount``; the spec's own
  example prints them as strings, which the connector reads too);
- dates are property-local strings; ``createDateTime`` / ``lastModifyDateTime`` look like ``2016-01-09 10:02:48.0``;
- meals are packages of the list type, ``pkgConsumptionInfo[].packageCode`` (BRKF, LNCH, DINR), and room-only is a
  rate-code idiom (``ratePlanCode`` ending ``-RO``); a booking with neither says nothing about meals (unknown);
- a cancellation is ``cancellationInfo`` (``code``, ``description``, ``date``), fetched with
  ``fetchInstructions=CancellationInfo``;
- the channel is ``roomStay.sourceCode`` (source of business), the assigned room ``roomStay.roomId`` (the
  schema's name; the spec's own example says ``roomNumber``).

Sandbox readings (no verbatim OPERA source for them): a no-show carries ``cancellationInfo`` with code ``NOSHOW``
and the day it was processed; ``roomStay.totalAmount`` is the stay total; ``roomStay.childBuckets.bucket1Count``
(the first age bucket) counts infants.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping
from datetime import date, datetime
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

#: Unified status -> OPERA ``reservationStatus``.
STATUS_TO_OPERA = {
    "confirmed": "Reserved",
    "checked_in": "InHouse",
    "checked_out": "CheckedOut",
    "cancelled": "Cancelled",
    "no_show": "NoShow",
}

#: Unified meal plan -> OPERA package codes attached to the reservation.
MEAL_PACKAGES: dict[str, list[str]] = {
    "RO": [],
    "BB": ["BRKF"],
    "HB": ["BRKF", "DINR"],
    "FB": ["BRKF", "LNCH", "DINR"],
    "unknown": [],
}
PACKAGE_DESCRIPTIONS = {"BRKF": "Breakfast", "LNCH": "Lunch", "DINR": "Dinner"}

#: Rate plan code per unified meal plan: room-only is told by the rate code, not by a package.
RATE_PLANS = {"RO": "BAR-RO", "BB": "BAR-BB", "HB": "BAR-HB", "FB": "BAR-FB", "unknown": "BAR"}

#: OPERA's documented page-size ceiling and the offset ceiling users hit (oracle/hospitality-api-docs issue 103).
MAX_LIMIT = 200
MAX_OFFSET = 1000


def opera_timestamp(instant: datetime, timezone: str) -> str:
    """OPERA's property-local timestamp format (``2020-01-09 01:02:48.0``)."""
    local = instant.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S") + ".0"


def _money(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The schema types none of these fields as nullable: an unknown value is left out."""
    return {k: v for k, v in values.items() if v is not None}


def render_reservation(row: Mapping[str, Any], timezone: str) -> dict[str, Any]:
    """One world booking as an item of ``reservations.reservationInfo`` (GET /rsv/v1/hotels/{hotelId}/reservations).

    ``row`` holds the world fields: external_id, hotel_id, status, booked_on, cancelled_on, checked_out_on,
    arrival_date, departure_date, nights, room_type, room_number, adults, children, babies, meal_plan, adr,
    net_amount, currency, channel, first_name, last_name, email, phone, created_at, modified_at.
    """
    status = str(row["status"])
    meal = str(row["meal_plan"] or "unknown")
    arrival: date = row["arrival_date"]
    departure: date = row["departure_date"]
    actual_departure = row["checked_out_on"] if status == "checked_out" and row["checked_out_on"] else departure
    currency = row["currency"]
    stay = _present({
        "arrivalDate": arrival.isoformat(),
        "departureDate": actual_departure.isoformat(),
        "originalTimeSpan": {"startDate": arrival.isoformat(), "endDate": departure.isoformat()},
        "adultCount": row["adults"],
        "childCount": row["children"],
        "childBuckets": {"bucket1Count": int(row["babies"] or 0)},
        "roomClass": "ALL",
        "roomType": row["room_type"],
        "numberOfRooms": 1,
        "roomId": row["room_number"],
        "ratePlanCode": RATE_PLANS.get(meal, "BAR"),
        "rateAmount": _present({"amount": _money(row["adr"]), "currencyCode": currency}),
        "totalAmount": _present({"amount": _money(row["net_amount"]), "currencyCode": currency}),
        "marketCode": str(row["channel"] or "").upper().replace("/", "") or None,
        "sourceCode": row["channel"],
    })
    record: dict[str, Any] = {
        "reservationIdList": [
            {"id": str(row["external_id"]), "type": "Reservation"},
            {"id": f"{int(row['external_id']) + 500000}", "type": "Confirmation"},
        ],
        "roomStay": stay,
        "reservationGuest": _present({
            "givenName": row["first_name"],
            "surname": row["last_name"],
            "email": row["email"],
            "phoneNumber": row["phone"],
        }),
        "hotelId": row["hotel_id"],
        "roomStayReservation": True,
        "createDateTime": opera_timestamp(row["created_at"], timezone),
        "lastModifyDateTime": opera_timestamp(row["modified_at"], timezone),
        "reservationStatus": STATUS_TO_OPERA[status],
        "computedReservationStatus": STATUS_TO_OPERA[status],
    }
    packages = MEAL_PACKAGES.get(meal, [])
    if packages:
        record["pkgConsumptionInfo"] = [{"packageCode": code, "packageDescription": PACKAGE_DESCRIPTIONS[code]}
                                        for code in packages]
    if status in ("cancelled", "no_show") and row["cancelled_on"] is not None:
        code = "NOSHOW" if status == "no_show" else "CANCEL"
        record["cancellationInfo"] = {"code": code, "description": "No show" if code == "NOSHOW" else "Cancelled",
                                      "date": row["cancelled_on"].isoformat()}
    return record


# -- the HTTP side -------------------------------------------------------------------------------------------------
TOKEN_PATH = "/oauth/v1/tokens"
LIST_PREFIX = "/rsv/v1/hotels/"


class OperaHandler(VendorHandler):
    """OHIP over the world: OAuth token endpoint plus the plain reservation list of one hotel.

    Credentials per hotel: client_id, client_secret, app_key. The list is ordered by arrival date then id, takes
    ``arrivalStartDate``/``arrivalEndDate``, ``limit`` (<= 200) and ``offset`` (<= 1000, beyond it a 400) and ignores
    any modified-since parameter a client may invent (OPERA has none on this list). Above 50 requests per second the
    request is delayed by one second (OHIP's documented behaviour), not refused.
    """

    name: ClassVar[str] = "opera"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(50, 1.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "app_key")
    spec: ClassVar[str | None] = "opera"
    #: OHIP issues tokens from its OAuth API, a separate spec from the reservation API bundled here
    spec_exempt_paths: ClassVar[tuple[str, ...]] = (TOKEN_PATH,)

    token_ttl_seconds: float = 3600.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}
        self.tokens_issued = 0

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        body = {"type": "https://tools.ietf.org/html/rfc7231", "title": message, "status": status,
                "o:errorCode": f"OPERA-{status}"}
        return SandboxResponse(status, body, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        app_key = request.headers.get("x-app-key")
        if request.path == TOKEN_PATH:
            auth = request.headers.get("authorization", "")
            try:
                client_id, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)
            except ValueError as exc:
                raise SandboxError(401, "Basic client credentials required") from exc
            hotel_id = self.hotel_for("client_id", client_id)
            creds = self.credentials.get(hotel_id or "", {})
            if hotel_id is None or creds.get("client_secret") != secret or creds.get("app_key") != app_key:
                raise SandboxError(401, "invalid_client")
            return hotel_id, client_id
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        issued = self._tokens.get(token)
        if issued is None or issued[1] < time.monotonic():
            raise SandboxError(401, "invalid or expired access token")
        hotel_id = issued[0]
        if self.credentials[hotel_id].get("app_key") != app_key:
            raise SandboxError(401, "x-app-key does not match the token")
        if request.headers.get("x-hotelid") != hotel_id:
            raise SandboxError(403, "x-hotelid is not a hotel of this token")
        return hotel_id, token

    def throttle_check(self, key: str, request: SandboxRequest) -> SandboxResponse | None:
        """OHIP delays calls above the budget by one second instead of refusing them."""
        if self.throttle_enabled and self._window is not None and self._window.hit(key) > 0:
            time.sleep(1.0)
        return None

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        if request.path == TOKEN_PATH:
            return self._token(request, hotel_id)
        parts = request.path.removeprefix(LIST_PREFIX).strip("/").split("/")
        if request.method == "GET" and request.path.startswith(LIST_PREFIX) and parts[1:] == ["reservations"]:
            if parts[0] != hotel_id:
                raise SandboxError(403, f"hotel {parts[0]} is not accessible with this token")
            return SandboxResponse(200, self._reservations(request, hotel_id))
        raise SandboxError(404, f"no OPERA operation {request.method} {request.path}")

    def _token(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        form = dict(parse_qsl(request.body.decode() if request.body else ""))
        if form.get("grant_type") != "client_credentials":
            raise SandboxError(400, "unsupported_grant_type")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (hotel_id, time.monotonic() + self.token_ttl_seconds)
        self.tokens_issued += 1
        return SandboxResponse(200, {"access_token": token, "token_type": "Bearer",
                                     "expires_in": int(self.token_ttl_seconds)})

    def _reservations(self, request: SandboxRequest, hotel_id: str) -> dict[str, Any]:
        q = request.query
        try:
            limit = int(q.get("limit", 20))
            offset = int(q.get("offset", 0))
            start = date.fromisoformat(q["arrivalStartDate"]) if q.get("arrivalStartDate") else None
            end = date.fromisoformat(q["arrivalEndDate"]) if q.get("arrivalEndDate") else None
        except ValueError as exc:
            raise SandboxError(400, f"invalid query parameter: {exc}") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise SandboxError(400, f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0 or offset > MAX_OFFSET:
            raise SandboxError(400, f"offset must not exceed {MAX_OFFSET}; narrow the search instead")
        state = self.world.state(hotel_id)
        wanted = [v for value in request.query_list("reservationIdList") for v in value.split(",") if v]
        if wanted:  # the internal (type Reservation) ids
            state = state.filter(pl.col("external_id").cast(pl.String).is_in(wanted))
        if start is not None:
            state = state.filter(pl.col("arrival_date") >= start)
        if end is not None:
            state = state.filter(pl.col("arrival_date") <= end)
        state = state.sort("arrival_date", "booking_ref")
        total = state.height
        tz = self.world.timezones[hotel_id]
        rows = self.page_slice(state.slice(max(0, offset - limit), 2 * limit + 2).to_dicts(),
                               min(offset, limit), limit) if offset else state.head(limit).to_dicts()
        items = [render_reservation(r, tz) for r in rows]
        return {"reservations": {
            "reservationInfo": items,
            "totalResults": total,
            "offset": offset,
            "limit": limit,
            "totalPages": (total + limit - 1) // limit,
            "hasMore": offset + limit < total,
        }}


HANDLER = OperaHandler
