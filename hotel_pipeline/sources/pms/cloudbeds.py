"""Cloudbeds API v1.3 -> unified model (cloudbeds/openapi-specs).

Why it looks the way it does:
- errors arrive as HTTP 200 ``{"success": false, "message": ...}``: every body is checked, an auth message is an
  ``AuthError``, anything else is retried (a client that only checks the status code silently loses data);
- ``dateModified`` misses front-desk changes (check-in, check-out, no-show), so ``modifiedFrom`` alone never sees a
  guest leave: every incremental run also re-reads the stays around today (``stay_window_days``, default 2), and the
  reconciliation re-reads every stay overlapping the last ``reconcile_days`` (default 7) plus that period's changes;
- offset paging (``pageNumber``/``pageSize <= 100``) can shift between calls: a listing whose distinct ids do not add up
  to the announced ``total`` is read again and the reads are merged (``IncompleteListingError`` after 4 reads);
- 5 requests/s per property (documented).
Status (Cloudbeds ``status``): not_confirmed/confirmed -> confirmed, checked_in, checked_out, canceled -> cancelled,
no_show. Meal plans (``mealPlans`` string, by the ``meal_plans`` option): "Breakfast" -> BB, "Half Board" -> HB,
"Full Board" -> FB, "Room Only" -> RO, empty -> unknown. Amounts: net = sum of ``detailedRoomRates``; gross = ``total``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    Normalised,
    PmsConnector,
    Window,
    guest_token,
    guests_frame,
    local_date,
    pages_with,
    reservations_frame,
    rooms_frame,
)
from hotel_pipeline.sources.pms.errors import AuthError, IncompleteListingError, MalformedResponseError
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

API = "/api/v1.3/"
PAGE = 100
STATUS_FROM_CLOUDBEDS = {"not_confirmed": "confirmed", "confirmed": "confirmed", "checked_in": "checked_in",
                         "checked_out": "checked_out", "canceled": "cancelled", "no_show": "no_show"}
AUTH_MESSAGES = ("access token", "api key", "unauthorized", "don't have access")


def _check(response: Any, data: Any) -> None:
    """Cloudbeds reports errors in-body with HTTP 200."""
    if not isinstance(data, dict):
        raise RetryBody("cloudbeds: the body is not a JSON object")
    if data.get("success") is False:
        message = str(data.get("message") or "no message")
        if any(m in message.lower() for m in AUTH_MESSAGES):
            raise AuthError(f"cloudbeds refused the credentials (HTTP 200, success: false): {message[:120]}")
        raise RetryBody(f"cloudbeds success: false ({message[:120]})")
    if "data" not in data:
        raise RetryBody("cloudbeds: the body has no data")


class CloudbedsConnector(PmsConnector):
    source: ClassVar[str] = "cloudbeds"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(5, 1.0)
    credential_options: ClassVar[dict[str, str]] = {"api_key": "api_key_env"}
    default_options: ClassVar[dict[str, Any]] = {
        "property_id": None,
        "reconcile_days": 7,
        "stay_window_days": 2,
        "meal_plans": {"breakfast": "BB", "half board": "HB", "full board": "FB", "room only": "RO"},
    }

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.credentials["api_key"]}

    def _listing(self, params: dict[str, str], label: str = "reservations") -> None:
        """Every page of one listing; re-read while the distinct ids fall short of ``total``."""
        base = {k: v for k, v in params.items() if v is not None}
        if self.options.get("property_id"):
            base["propertyID"] = str(self.options["property_id"])
        base.update({"pageSize": str(PAGE), "includeGuestsDetails": "true"})
        ids: set[str] = set()  # union over re-reads: a record skipped by one read turns up in the next
        total = 0
        for _attempt in range(4):
            number = 1
            while True:
                data = self.http.call("GET", API + "getReservationsWithRateDetails",
                                      params={**base, "pageNumber": str(number)}, headers=self._headers,
                                      check=_check, label=label)
                page = data.get("data")
                if not isinstance(page, list):
                    raise MalformedResponseError("cloudbeds getReservationsWithRateDetails: data is not a list")
                ids.update(str(r.get("reservationID")) for r in page)
                total = int(data.get("total") or 0)
                if not page or number * PAGE >= total:
                    break
                number += 1
            if len(ids) >= total:
                return
        raise IncompleteListingError(f"cloudbeds listing {sorted(params)}: pages kept shifting; "
                                     f"{len(ids)} of {total} reservations after 4 reads")

    def fetch(self, window: Window) -> None:
        tz = ZoneInfo(self.hotel.timezone)

        def local(instant: datetime) -> str:
            return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

        today = window.until.astimezone(tz).date()
        if window.mode == "full":
            self._listing({})
        elif window.mode == "incremental":
            since = window.since or window.until
            self._listing({"modifiedFrom": local(since), "modifiedTo": local(window.until)})
            start = since.astimezone(tz).date() - timedelta(days=int(self.options["stay_window_days"]))
            self._listing({"checkOutFrom": start.isoformat(), "checkInTo": today.isoformat()})
        else:
            since = window.since or window.until
            self._listing({"modifiedFrom": local(since), "modifiedTo": local(window.until)})
            start = window.start_date or today
            self._listing({"checkOutFrom": start.isoformat(), "checkInTo": (window.end_date or today).isoformat()})
        self.http.call("GET", API + "getRooms", params={}, headers=self._headers, check=_check, label="rooms")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        meal_map = {k.lower(): v for k, v in (ctx.options.get("meal_plans") or
                                              cls.default_options["meal_plans"]).items()}
        records: dict[str, dict[str, Any]] = {}
        for page in pages_with(pages, "reservations"):
            for r in page["body"].get("data") or []:
                records[str(r["reservationID"])] = r
        rows, guests, newest = [], [], None
        for rid, r in records.items():
            room = (r.get("rooms") or [{}])[0]
            rates = room.get("detailedRoomRates") or {}
            status = STATUS_FROM_CLOUDBEDS.get(r.get("status"), r.get("status"))
            arrival = local_date(r.get("startDate"), ctx.timezone)
            departure = local_date(r.get("endDate"), ctx.timezone)
            meal_text = (r.get("mealPlans") or "").strip().lower()
            modified = r.get("dateModified")
            if modified:
                instant = datetime.fromisoformat(modified).replace(tzinfo=ZoneInfo(ctx.timezone)).astimezone(UTC)
                newest = instant if newest is None or instant > newest else newest
            children = r.get("children")
            rows.append({
                "external_id": rid,
                "status": status,
                "booked_on": local_date(r.get("dateCreated"), ctx.timezone),
                "cancelled_on": local_date(r.get("dateCancelled"), ctx.timezone)
                if status in ("cancelled", "no_show") else None,
                "checked_out_on": local_date(room.get("roomCheckOut"), ctx.timezone)
                if status == "checked_out" else None,
                "arrival_date": arrival,
                "departure_date": departure,
                "nights": (departure - arrival).days if arrival and departure else None,
                "room_type": room.get("roomTypeNameShort") or room.get("roomTypeName"),
                "room_number": room.get("roomName") or None,
                "guest_token": guest_token(ctx, r.get("guestID")),
                "adults": int(r["adults"]) if str(r.get("adults") or "").isdigit() else None,
                "children": int(children) if str(children or "").isdigit() else None,
                "babies": None,
                "meal_plan": meal_map.get(meal_text, "unknown") if meal_text else "unknown",
                "net_amount": round(sum(float(v) for v in rates.values()), 2),
                "gross_amount": float(r["total"]) if r.get("total") is not None else None,
                "channel": r.get("sourceName"),
            })
            for guest in (r.get("guestList") or {}).values():
                guests.append({"external_id": guest.get("guestID"), "first_name": guest.get("guestFirstName"),
                               "last_name": guest.get("guestLastName"), "email": guest.get("guestEmail"),
                               "phone": guest.get("guestPhone"), "country": guest.get("guestCountry")})
        rooms = []
        for page in pages_with(pages, "rooms"):
            for prop in page["body"].get("data") or []:
                for room in prop.get("rooms") or []:
                    rooms.append({"external_id": room["roomID"], "room_number": room.get("roomName"),
                                  "room_type": room.get("roomTypeNameShort")})
        return Normalised(reservations_frame(rows, ctx), rooms_frame(rooms, ctx), guests_frame(guests, ctx),
                          newest_modified=newest)


CONNECTOR = CloudbedsConnector
