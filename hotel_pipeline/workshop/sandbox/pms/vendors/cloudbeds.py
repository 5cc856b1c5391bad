"""Cloudbeds API v1.3 as the sandbox serves it, held to cloudbeds/openapi-specs src/pms-v1.3-openapi.yaml
(bundled in sandbox/specs/cloudbeds; every request and response is validated against it in the tests).

- Auth: ``x-api-key`` header (one key per property). 5 requests/s per property.
- ``GET /api/v1.3/getReservationsWithRateDetails``: the spec's parameters only — ``modifiedFrom``/``modifiedTo`` and
  ``resultsFrom``/``resultsTo`` (property-local ``YYYY-MM-DD HH:MM:SS``), ``reservationCheckOutFrom``/``To``
  (dates, on the booking's check-out), ``excludeStatuses``, ``reservationID``, ``includeGuestsDetails``,
  ``pageNumber`` (1-based), ``pageSize`` (<= 100); answers ``{success, data, count, total}``. A reservation carries
  the documented fields only: ``reservationID``, ``status`` (not_confirmed, confirmed, canceled, checked_in,
  checked_out, no_show), ``reservationCheckIn``/``reservationCheckOut`` (dates), ``dateCreated``/``dateModified``/
  ``dateCancelled`` (property-local) and their ``...UTC`` twins, ``sourceName`` and ``source``, ``mealPlans``
  (string), ``total``/``balance`` (numbers), ``detailedRates`` and ``rooms[]``: one entry per booked room, with
  ``roomTypeID``/``roomTypeName``, ``subReservationID``, ``adults``/``children`` **as strings**, ``roomID``/
  ``roomName`` (absent / null while unassigned), ``roomCheckIn``/``roomCheckOut`` (dates), ``roomStatus`` and
  ``detailedRoomRates`` ``{date: rate}`` (one key per reserved night). ``guestList`` with ``includeGuestsDetails``.
- ``GET /api/v1.3/getRoomTypes`` (``roomTypeNameShort`` per ``roomTypeID``) and ``GET /api/v1.3/getRooms``, both
  paged by ``pageNumber``/``pageSize`` (default 20, as the spec says).
- Traps reproduced: errors arrive as HTTP 200 ``{"success": false, "message": ...}`` (auth, bad parameters and some
  server errors); ``dateModified`` is NOT bumped by front-desk status changes (check-in, check-out, no-show), as the
  spec warns ("some reservations modification may not be reflected in this timestamp"), so a client relying on
  ``modifiedFrom`` alone never sees guests leave.
Sandbox readings where the spec is silent: a room checked out early has ``roomCheckOut`` = the day it was checked
out, while ``reservationCheckOut`` and ``detailedRoomRates`` keep the booked stay; a no-show carries
``dateCancelled`` (the spec describes it for cancellations only) so its date is known.
"""

from __future__ import annotations

import zlib
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

API = "/api/v1.3/"
MAX_PAGE = 100
ID_BASE = 2_300_000_000_000
GUEST_BASE = 50_000_000
PROPERTY_IDS = {"H1": 320754, "H2": 320755}
STATUS = {"confirmed": "confirmed", "checked_in": "checked_in", "checked_out": "checked_out",
          "cancelled": "canceled", "no_show": "no_show"}
MEAL_PLANS = {"BB": "Breakfast", "HB": "Half Board", "FB": "Full Board", "RO": "Room Only", "unknown": ""}
ROOM_STATUS = {"confirmed": "not_checked_in", "checked_in": "in_house", "checked_out": "checked_out",
               "cancelled": "cancelled", "no_show": "not_checked_in"}
VAT = 0.06


def _local(instant: datetime | None, tz: str) -> str | None:
    return None if instant is None else instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


class CloudbedsHandler(VendorHandler):
    name: ClassVar[str] = "cloudbeds"
    rate_limit: ClassVar[RateLimitSpec | None] = RateLimitSpec(5, 1.0)
    credential_fields: ClassVar[tuple[str, ...]] = ("api_key",)
    spec: ClassVar[str | None] = "cloudbeds"

    #: Whether front-desk status changes bump dateModified (False = the documented trap).
    modified_tracks_front_desk: bool = False

    @classmethod
    def reservation_id(cls, hotel_id: str, booking_ref: int) -> str:
        return str(ID_BASE + booking_ref)

    def error_response(self, status: int, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
        if status in (429, 502, 503, 504):
            return SandboxResponse(status, {"success": False, "message": message}, dict(headers or {}))
        return SandboxResponse(200, {"success": False, "message": message}, dict(headers or {}))

    def authenticate(self, request: SandboxRequest) -> tuple[str, str]:
        hotel_id = self.hotel_for("api_key", request.headers.get("x-api-key"))
        if hotel_id is None:
            raise SandboxError(401, "Invalid access token")
        return hotel_id, f"property:{hotel_id}"

    def route(self, request: SandboxRequest, hotel_id: str) -> SandboxResponse:
        if request.method != "GET":
            raise SandboxError(405, "Method not allowed")
        op = request.path.removeprefix(API).strip("/")
        prop = request.query.get("propertyID") or request.query.get("propertyIDs")
        if prop and prop != str(PROPERTY_IDS.get(hotel_id, 0)):
            raise SandboxError(403, "You don't have access to property ID " + prop)
        if op == "getReservationsWithRateDetails":
            return SandboxResponse(200, self.reservations(hotel_id, request.query))
        if op == "getRooms":
            return SandboxResponse(200, self.rooms(hotel_id, request.query))
        if op == "getRoomTypes":
            return SandboxResponse(200, self.room_types(hotel_id, request.query))
        raise SandboxError(404, f"Unknown endpoint {op}")

    # -- reservations ------------------------------------------------------------------------------------------
    def _filtered(self, hotel_id: str, q: dict[str, str]) -> pl.DataFrame:
        key = (hotel_id, self.world.now, tuple(sorted((k, v) for k, v in q.items() if k not in ("pageNumber",))))
        cache = self.__dict__.setdefault("_list_cache", {})
        if key in cache:
            return cache[key]
        tz = self.world.timezones[hotel_id]
        state = self.world.state(hotel_id)
        if self.modified_tracks_front_desk:
            modified = pl.col("modified_at")
        else:
            modified = pl.max_horizontal(pl.col("created_at"),
                                         pl.when(pl.col("status") == "cancelled").then(pl.col("cancelled_at")))
        state = state.with_columns(modified.alias("cb_modified"))

        def instant(name: str) -> datetime | None:
            value = q.get(name)
            if not value:
                return None
            try:
                return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
            except ValueError as exc:
                raise SandboxError(400, f"Invalid {name}") from exc

        def day(name: str) -> date | None:
            value = q.get(name)
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise SandboxError(400, f"Invalid {name}") from exc

        for name, column, ge in (("modifiedFrom", "cb_modified", True), ("modifiedTo", "cb_modified", False),
                                 ("resultsFrom", "created_at", True), ("resultsTo", "created_at", False)):
            if (value := instant(name)) is not None:
                state = state.filter(pl.col(column) >= value if ge else pl.col(column) <= value)
        for name, ge in (("reservationCheckOutFrom", True), ("reservationCheckOutTo", False)):
            if (d := day(name)) is not None:
                state = state.filter(pl.col("departure_date") >= d if ge else pl.col("departure_date") <= d)
        if q.get("excludeStatuses"):
            unwanted = set(q["excludeStatuses"].split(","))
            state = state.filter(~pl.col("status").replace_strict(STATUS, return_dtype=pl.String).is_in(unwanted))
        if q.get("reservationID"):
            wanted = set(q["reservationID"].split(","))
            ids = [r for r in state["booking_ref"].to_list() if self.reservation_id(hotel_id, r) in wanted]
            state = state.filter(pl.col("booking_ref").is_in(ids))
        state = state.sort("booking_ref")
        cache.clear()
        cache[key] = state
        return state

    def reservations(self, hotel_id: str, q: dict[str, str]) -> dict[str, Any]:
        size, number = self._paging(q, 100)
        state = self._filtered(hotel_id, q)
        start = (number - 1) * size
        window = state.slice(max(0, start - 1), size + 2).to_dicts()
        offset = 1 if start > 0 else 0
        rows = self.page_slice(window, offset, size) if start > 0 else window[:size]
        tz = self.world.timezones[hotel_id]
        details = q.get("includeGuestsDetails") == "true"
        data = [self._render(r, hotel_id, tz, details) for r in rows]
        return {"success": True, "data": data, "count": len(data), "total": state.height}

    @staticmethod
    def _paging(q: dict[str, str], default: int) -> tuple[int, int]:
        try:
            size = int(q.get("pageSize", default))
            number = int(q.get("pageNumber", 1))
        except ValueError as exc:
            raise SandboxError(400, "pageNumber and pageSize must be integers") from exc
        if not 1 <= size <= MAX_PAGE or number < 1:
            raise SandboxError(400, f"pageSize must be between 1 and {MAX_PAGE}")
        return size, number

    def _render(self, r: dict[str, Any], hotel_id: str, tz: str, details: bool) -> dict[str, Any]:
        prop = str(PROPERTY_IDS.get(hotel_id, 0))
        rid = self.reservation_id(hotel_id, r["booking_ref"])
        guest_id = str(GUEST_BASE + r["booking_ref"])
        rates = {(r["arrival_date"] + timedelta(days=n)).isoformat(): r["adr"] for n in range(r["nights"])}
        gross = round(sum(round(v * (1 + VAT), 2) for v in rates.values()), 2)
        cancelled = r["cancelled_at"] if r["status"] == "cancelled" else None
        modified = r["created_at"] if not cancelled else max(r["created_at"], cancelled)
        modified = r["modified_at"] if self.modified_tracks_front_desk else modified
        room_checkout = r["checked_out_on"] if r["status"] == "checked_out" and r["checked_out_on"] \
            else r["departure_date"]
        room: dict[str, Any] = {
            "roomTypeID": _room_type_id(prop, r["room_type"]),
            "roomTypeIsVirtual": False,
            "roomTypeName": f"Room type {r['room_type']}",
            "subReservationID": rid,
            "guestID": guest_id,
            "adults": str(r["adults"]),
            "children": "" if r["children"] is None else str(r["children"]),
            "reservationRoomID": f"{rid}-1",
            "roomName": r["room_number"],
            "roomCheckIn": r["arrival_date"].isoformat(),
            "roomCheckOut": room_checkout.isoformat(),
            "roomStatus": ROOM_STATUS[r["status"]],
            "detailedRoomRates": rates,
        }
        if r["room_number"]:
            room["roomID"] = f"{prop}-{r['room_number']}"
        source = r["channel"] or ""
        out: dict[str, Any] = {
            "propertyID": prop,
            "reservationID": rid,
            "isDeleted": False,
            "dateCreated": _local(r["created_at"], tz),
            "dateCreatedUTC": _utc(r["created_at"]),
            "dateModified": _local(modified, tz),
            "dateModifiedUTC": _utc(modified),
            "status": STATUS[r["status"]],
            "reservationCheckIn": r["arrival_date"].isoformat(),
            "reservationCheckOut": r["departure_date"].isoformat(),
            "guestID": guest_id,
            "guestCountry": r["country"] or "",
            "sourceName": source,
            "source": {"name": source, "paymentCollect": "hotel", "sourceID": f"s-{zlib.crc32(source.encode())}"},
            "propertyCurrency": r["currency"],
            "detailedRates": dict(rates),
            "rooms": [room],
            "mealPlans": MEAL_PLANS[r["meal_plan"]],
            "total": gross,
            "balance": 0 if r["status"] == "checked_out" else gross,
        }
        if r["status"] in ("cancelled", "no_show"):
            out["dateCancelled"] = _local(r["cancelled_at"], tz)
            out["dateCancelledUTC"] = _utc(r["cancelled_at"])
        if details:
            out["guestList"] = {guest_id: {"guestID": guest_id, "guestFirstName": r["first_name"],
                                           "guestLastName": r["last_name"], "guestEmail": r["email"],
                                           "guestPhone": r["phone"], "guestCountry": r["country"],
                                           "isMainGuest": True}}
        return out

    def room_types(self, hotel_id: str, q: dict[str, str]) -> dict[str, Any]:
        size, number = self._paging(q, 20)
        prop = str(PROPERTY_IDS.get(hotel_id, 0))
        types = [{"roomTypeID": _room_type_id(prop, t), "propertyID": prop, "roomTypeName": f"Room type {t}",
                  "roomTypeNameShort": t, "isPrivate": True} for t in self.world.room_types(hotel_id)]
        return {"success": True, "data": types[(number - 1) * size:number * size]}

    def rooms(self, hotel_id: str, q: dict[str, str]) -> dict[str, Any]:
        size, number = self._paging(q, 20)
        prop = str(PROPERTY_IDS.get(hotel_id, 0))
        every = [{"roomID": f"{prop}-{n}", "roomName": n, "roomTypeID": _room_type_id(prop, t),
                  "roomTypeNameShort": t, "roomTypeName": f"Room type {t}"}
                 for n, t in self.world.rooms(hotel_id).iter_rows()]
        page = every[(number - 1) * size:number * size]
        return {"success": True, "data": [{"propertyID": prop, "rooms": page}], "count": 1, "total": 1}


def _room_type_id(prop: str, room_type: str) -> str:
    return f"{prop}{ord(room_type[0]):03d}" if room_type else prop


def _utc(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


HANDLER = CloudbedsHandler
