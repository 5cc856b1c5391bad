"""Cloudbeds API v1.3 as the sandbox serves it (cloudbeds/openapi-specs, src/pms-v1.3-openapi.yaml).

- Auth: ``x-api-key`` header (one key per property). 5 requests/s per property.
- ``GET /api/v1.3/getReservationsWithRateDetails`` with ``modifiedFrom``/``modifiedTo`` (property-local
  ``YYYY-MM-DD HH:MM:SS``), ``checkInFrom``/``checkInTo``/``checkOutFrom``/``checkOutTo`` (dates), ``status``,
  ``pageNumber`` (1-based), ``pageSize`` (<= 100); answers ``{success, data, count, total}``. Each reservation has
  ``reservationID``, ``status`` (not_confirmed, confirmed, canceled, checked_in, checked_out, no_show), ``startDate``,
  ``endDate``, ``dateCreated``, ``dateModified``, ``adults``, ``children``, ``mealPlans`` (string), ``sourceName``,
  ``total`` (with tax), ``rooms[]`` with ``roomTypeNameShort``, ``roomName``, ``roomID``, ``detailedRoomRates``
  ``{date: rate}`` and the actual ``roomCheckIn``/``roomCheckOut`` instants, and ``guestList`` (with
  ``includeGuestsDetails``). ``GET /api/v1.3/getRooms`` lists the rooms.
- Traps reproduced: errors arrive as HTTP 200 ``{"success": false, "message": ...}`` (auth, bad parameters and some
  server errors); ``dateModified`` is NOT bumped by front-desk status changes (check-in, check-out, no-show), as the
  spec warns, so a client relying on ``modifiedFrom`` alone never sees guests leave.
Sandbox conventions (not in the spec's examples): ``dateCancelled`` carries the cancellation/no-show instant.
"""

from __future__ import annotations

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
MEAL_PLANS = {"BB": "Breakfast", "HB": "Half Board", "FB": "Full Board", "RO": "Room Only", "unknown": None}
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
        prop = request.query.get("propertyID")
        if prop and prop != str(PROPERTY_IDS.get(hotel_id, 0)):
            raise SandboxError(403, "You don't have access to property ID " + prop)
        if op == "getReservationsWithRateDetails":
            return SandboxResponse(200, self.reservations(hotel_id, request.query))
        if op == "getRooms":
            return SandboxResponse(200, self.rooms(hotel_id))
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

        if (mf := instant("modifiedFrom")) is not None:
            state = state.filter(pl.col("cb_modified") >= mf)
        if (mt := instant("modifiedTo")) is not None:
            state = state.filter(pl.col("cb_modified") <= mt)
        for name, column, op in (("checkInFrom", "arrival_date", "ge"), ("checkInTo", "arrival_date", "le"),
                                 ("checkOutFrom", "departure_date", "ge"), ("checkOutTo", "departure_date", "le")):
            if (d := day(name)) is not None:
                state = state.filter(pl.col(column) >= d if op == "ge" else pl.col(column) <= d)
        if q.get("status"):
            wanted = set(q["status"].split(","))
            state = state.filter(pl.col("status").replace_strict(STATUS, return_dtype=pl.String).is_in(wanted))
        state = state.sort("booking_ref")
        cache.clear()
        cache[key] = state
        return state

    def reservations(self, hotel_id: str, q: dict[str, str]) -> dict[str, Any]:
        try:
            size = int(q.get("pageSize", 100))
            number = int(q.get("pageNumber", 1))
        except ValueError as exc:
            raise SandboxError(400, "pageNumber and pageSize must be integers") from exc
        if not 1 <= size <= MAX_PAGE or number < 1:
            raise SandboxError(400, f"pageSize must be between 1 and {MAX_PAGE}")
        state = self._filtered(hotel_id, q)
        start = (number - 1) * size
        window = state.slice(max(0, start - 1), size + 2).to_dicts()
        offset = 1 if start > 0 else 0
        rows = self.page_slice(window, offset, size) if start > 0 else window[:size]
        tz = self.world.timezones[hotel_id]
        details = q.get("includeGuestsDetails") == "true"
        data = [self._render(r, hotel_id, tz, details) for r in rows]
        return {"success": True, "data": data, "count": len(data), "total": state.height}

    def _render(self, r: dict[str, Any], hotel_id: str, tz: str, details: bool) -> dict[str, Any]:
        guest_id = str(GUEST_BASE + r["booking_ref"])
        rates = {(r["arrival_date"] + timedelta(days=n)).isoformat(): r["adr"] for n in range(r["nights"])}
        gross = round(sum(round(v * (1 + VAT), 2) for v in rates.values()), 2)
        cancelled = r["cancelled_at"] if r["status"] == "cancelled" else None
        modified = r["created_at"] if not cancelled else max(r["created_at"], cancelled)
        out: dict[str, Any] = {
            "propertyID": str(PROPERTY_IDS.get(hotel_id, 0)),
            "reservationID": self.reservation_id(hotel_id, r["booking_ref"]),
            "dateCreated": _local(r["created_at"], tz),
            "dateModified": _local(r["modified_at"] if self.modified_tracks_front_desk else modified, tz),
            "dateCancelled": _local(r["cancelled_at"], tz),
            "status": STATUS[r["status"]],
            "guestID": guest_id,
            "guestName": f"{r['first_name']} {r['last_name']}",
            "startDate": r["arrival_date"].isoformat(),
            "endDate": r["departure_date"].isoformat(),
            "adults": str(r["adults"]),
            "children": "" if r["children"] is None else str(r["children"]),
            "sourceName": r["channel"],
            "mealPlans": MEAL_PLANS[r["meal_plan"]],
            "total": gross,
            "balance": 0 if r["status"] == "checked_out" else gross,
            "rooms": [{
                "roomTypeName": f"Room type {r['room_type']}",
                "roomTypeNameShort": r["room_type"],
                "roomID": f"{PROPERTY_IDS.get(hotel_id, 0)}-{r['room_number']}" if r["room_number"] else None,
                "roomName": r["room_number"],
                "roomCheckIn": _local(r["checked_in_at"], tz),
                "roomCheckOut": _local(r["checked_out_at"], tz),
                "detailedRoomRates": rates,
            }],
        }
        if details:
            out["guestList"] = {guest_id: {"guestID": guest_id, "guestFirstName": r["first_name"],
                                           "guestLastName": r["last_name"], "guestEmail": r["email"],
                                           "guestPhone": r["phone"], "guestCountry": r["country"],
                                           "isMainGuest": True}}
        return out

    def rooms(self, hotel_id: str) -> dict[str, Any]:
        prop = PROPERTY_IDS.get(hotel_id, 0)
        rooms = [{"roomID": f"{prop}-{n}", "roomName": n, "roomTypeNameShort": t, "roomTypeName": f"Room type {t}"}
                 for n, t in self.world.rooms(hotel_id).iter_rows()]
        return {"success": True, "data": [{"propertyID": str(prop), "rooms": rooms}], "count": len(rooms),
                "total": len(rooms)}


HANDLER = CloudbedsHandler
