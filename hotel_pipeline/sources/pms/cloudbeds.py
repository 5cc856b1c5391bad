"""Cloudbeds API v1.3 -> unified model (cloudbeds/openapi-specs, src/pms-v1.3-openapi.yaml).

Why it looks the way it does:
- it reads ``getReservationsWithRateDetails`` as that operation documents it (not ``getReservations``, whose fields
  differ): stay dates per booked room (``rooms[].roomCheckIn``, the nights of ``rooms[].detailedRoomRates``),
  guests per room (``rooms[].adults``/``children``, strings), the room type's short name from ``getRoomTypes``
  (the reservation carries only ``roomTypeID``/``roomTypeName``);
- **one unified reservation per booked room**: a one-room booking keeps the ``reservationID``; a booking of n rooms
  gives ``<reservationID>:1`` ... ``<reservationID>:n`` in the order of ``rooms[]``, each with its own dates, guests,
  room and net amount (its ``detailedRoomRates``); the booking's ``total`` (gross) is split across the rooms in
  proportion to their net (Cloudbeds gives the gross per booking only);
- filters are the operation's own: ``modifiedFrom``/``modifiedTo`` and ``reservationCheckOutFrom``/``To`` (there is
  no check-in or status filter on this endpoint);
- errors arrive as HTTP 200 ``{"success": false, "message": ...}``: every body is checked, an auth message is an
  ``AuthError``, anything else is retried (a client that only checks the status code silently loses data);
- ``dateModified`` misses front-desk changes (check-in, check-out, no-show; the spec: "some reservations
  modification may not be reflected in this timestamp"), so every incremental run also re-reads the stays around
  today (check-out from ``stay_window_days`` (2) before the window to ``stay_horizon_days`` (31) after today), and the
  reconciliation re-reads the stays of the last ``reconcile_days`` (7) plus that period's changes;
- offset paging (``pageNumber``/``pageSize <= 100``) can shift between calls: a listing whose distinct ids do not add up
  to the announced ``total`` is read again and the reads are merged (``IncompleteListingError`` after 4 reads);
- hotel-local dates: ``dateCreatedUTC``/``dateModifiedUTC``/``dateCancelledUTC`` (UTC, naive or with an offset) are
  turned into the hotel's date; the property-local ``dateCreated``... are the fallback;
- 5 requests/s per property (documented).
Status, meal plans: see docs/connectors.md (every value of the ``status`` enum is mapped; an unknown status or a
``mealPlans`` text the ``meal_plans`` option does not know sends the reservation to quarantine naming the value).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.core.vocabularies import OFF_THE_BOOKS
from hotel_pipeline.privacy.pii import pii_key
from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    Normalised,
    PmsConnector,
    Window,
    guest_token,
    guests_frame,
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
    concurrent_requests: ClassVar[int] = 2
    credential_options: ClassVar[dict[str, str]] = {"api_key": "api_key_env"}
    default_options: ClassVar[dict[str, Any]] = {
        "property_id": None,
        "reconcile_days": 7,
        "stay_window_days": 2,
        "stay_horizon_days": 31,
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
            read = [self._reservations_page(base, 1, label)]
            # The first page announces the total, so the other pages are known: they are asked for concurrently
            # (``HttpCore.parallel``, pages recorded in page order). A total that grew meanwhile is read on below.
            page, total = read[0]
            last = max(1, -(-total // PAGE)) if page else 1
            read += self.http.parallel([partial(self._reservations_page, base, n, label) for n in range(2, last + 1)])
            page, total = read[-1]
            number = last
            while page and number * PAGE < total:
                number += 1
                page, total = self._reservations_page(base, number, label)
                read.append((page, total))
            for records, _total in read:
                ids.update(str(r.get("reservationID")) for r in records)
            if len(ids) >= total:
                return
        raise IncompleteListingError(f"cloudbeds listing {sorted(params)}: pages kept shifting; "
                                     f"{len(ids)} of {total} reservations after 4 reads")

    def _reservations_page(self, base: dict[str, str], number: int, label: str) -> tuple[list[Any], int]:
        """Page ``number`` of a listing: (its reservations, the total it announces)."""
        data = self.http.call("GET", API + "getReservationsWithRateDetails", params={**base, "pageNumber": str(number)},
                              headers=self._headers, check=_check, label=label)
        page = data.get("data")
        if not isinstance(page, list):
            raise MalformedResponseError("cloudbeds getReservationsWithRateDetails: data is not a list")
        return page, int(data.get("total") or 0)

    def _catalogue(self, op: str, label: str) -> None:
        """A paged catalogue (getRoomTypes, getRooms): pages of ``pageSize`` until a short one."""
        number = 1
        while True:
            data = self.http.call("GET", API + op, params={"pageNumber": str(number), "pageSize": str(PAGE)},
                                  headers=self._headers, check=_check, label=label)
            items = data.get("data") or []
            if op == "getRooms":
                items = [room for prop in items for room in (prop.get("rooms") or [])]
            if len(items) < PAGE or number >= 100:
                return
            number += 1

    def fetch(self, window: Window) -> None:
        tz = ZoneInfo(self.hotel.timezone)

        def local(instant: datetime) -> str:
            return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

        today = window.until.astimezone(tz).date()
        horizon = timedelta(days=int(self.options["stay_horizon_days"]))
        if window.mode == "full":
            self._listing({})
        else:
            since = window.since or window.until
            self._listing({"modifiedFrom": local(since), "modifiedTo": local(window.until)})
            if window.mode == "incremental":
                start = since.astimezone(tz).date() - timedelta(days=int(self.options["stay_window_days"]))
                end = today + horizon
            else:
                start, end = window.start_date or today, (window.end_date or today) + horizon
            self._listing({"reservationCheckOutFrom": start.isoformat(), "reservationCheckOutTo": end.isoformat()})
        self._catalogue("getRoomTypes", "room_types")
        self._catalogue("getRooms", "rooms")

    def fetch_ids(self, ids: list[str]) -> None:
        """``getReservationsWithRateDetails`` with ``reservationID`` (the spec's comma-separated id filter), so
        the named reservations come in the same shape as an extract's, and the catalogues beside them. A
        multi-room id (``<id>:<n>``) asks for its reservation."""
        wanted = sorted({i.split(":", 1)[0] for i in ids})
        for start in range(0, len(wanted), PAGE):
            self._listing({"reservationID": ",".join(wanted[start:start + PAGE])})
        self._catalogue("getRoomTypes", "room_types")
        self._catalogue("getRooms", "rooms")

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        meal_map = {k.lower(): v for k, v in (ctx.options.get("meal_plans") or
                                              cls.default_options["meal_plans"]).items()}
        short_names: dict[str, str] = {}
        for page in pages_with(pages, "room_types"):
            for kind in page["body"].get("data") or []:
                if kind.get("roomTypeID") and kind.get("roomTypeNameShort"):
                    short_names[str(kind["roomTypeID"])] = str(kind["roomTypeNameShort"])
        rooms, room_types = [], {}
        for page in pages_with(pages, "rooms"):
            for prop in page["body"].get("data") or []:
                for room in prop.get("rooms") or []:
                    kind = short_names.get(str(room.get("roomTypeID")), room.get("roomTypeNameShort"))
                    rooms.append({"external_id": room["roomID"], "room_number": room.get("roomName"),
                                  "room_type": kind})
                    if room.get("roomTypeID") and room.get("roomTypeNameShort"):
                        room_types.setdefault(str(room["roomTypeID"]), str(room["roomTypeNameShort"]))
        short_names = {**room_types, **short_names}
        records: dict[str, dict[str, Any]] = {}
        for page in pages_with(pages, "reservations"):
            for r in page["body"].get("data") or []:
                records[str(r.get("reservationID"))] = r
        rows, guests, rejects, newest = [], [], [], None
        key = pii_key()
        for rid, r in records.items():
            try:
                booking = _booking_rows(rid, r, ctx, meal_map, short_names, key)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                rejects.append({"location": f"cloudbeds reservation {rid}", "reason": f"cloudbeds reservation {rid}: "
                                f"{exc}", "payload": json.dumps(_without_pii(r), default=str)})
                continue
            modified = _instant(r, "dateModified", ctx.timezone)
            if modified is not None:
                newest = modified if newest is None or modified > newest else newest
            rows.extend(booking)
            for guest in (r.get("guestList") or {}).values():
                guests.append({"external_id": guest.get("guestID"), "first_name": guest.get("guestFirstName"),
                               "last_name": guest.get("guestLastName"), "email": guest.get("guestEmail"),
                               "phone": guest.get("guestPhone"), "country": guest.get("guestCountry")})
        return Normalised(reservations_frame(rows, ctx), rooms_frame(rooms, ctx), guests_frame(guests, ctx),
                          rejects=rejects, newest_modified=newest)


def _without_pii(record: dict[str, Any]) -> dict[str, Any]:
    """A quarantined reservation without guest names, e-mails and phones (the raw zone keeps the original)."""
    out = {k: v for k, v in record.items() if k not in ("guestList", "guestName")}
    out["rooms"] = [{k: v for k, v in room.items() if k != "guestName"} for room in record.get("rooms") or []
                    if isinstance(room, dict)]
    return out


def _instant(record: dict[str, Any], name: str, timezone: str) -> datetime | None:
    """``<name>UTC`` (UTC; naive or with an offset) or else ``<name>`` (property-local), as an aware UTC instant."""
    utc, local = record.get(name + "UTC"), record.get(name)
    if utc:
        value = datetime.fromisoformat(str(utc).replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if local:
        value = datetime.fromisoformat(str(local).replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))).astimezone(UTC)
    return None


def _local_day(record: dict[str, Any], name: str, timezone: str) -> date | None:
    instant = _instant(record, name, timezone)
    return None if instant is None else instant.astimezone(ZoneInfo(timezone)).date()


def _count(value: Any, what: str) -> int | None:
    """A guest count the spec types as a string ("2"); numbers are read too, "" is unknown."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{what} is not a count: {value!r}")
    return int(text)


def _day(value: Any, what: str) -> date | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{what} is not a date: {value!r}") from None


def _booking_rows(rid: str, r: dict[str, Any], ctx: ExtractContext, meal_map: dict[str, str],
                  short_names: dict[str, str], key: bytes) -> list[dict[str, Any]]:
    """The unified rows of one reservation: one per booked room (see the module docstring); ``key`` is the PII key
    of the guest tokens (read once per extract, not once per room)."""
    raw_status = r.get("status")
    if raw_status not in STATUS_FROM_CLOUDBEDS:
        raise ValueError(f"unknown status {raw_status!r}")
    status = STATUS_FROM_CLOUDBEDS[raw_status]
    meal_text = (r.get("mealPlans") or "").strip()
    if meal_text and meal_text.lower() not in meal_map:
        raise ValueError(f"unknown mealPlans {meal_text!r} (map it with the meal_plans option)")
    meal = meal_map[meal_text.lower()] if meal_text else "unknown"
    rooms = [room for room in r.get("rooms") or [] if isinstance(room, dict)]
    if not rooms:
        raise ValueError("no rooms[]")
    booked_on = _local_day(r, "dateCreated", ctx.timezone)
    cancelled_on = _local_day(r, "dateCancelled", ctx.timezone) if status in OFF_THE_BOOKS else None
    nets = [round(sum(float(v) for v in (room.get("detailedRoomRates") or {}).values()), 2) for room in rooms]
    total = float(r["total"]) if r.get("total") not in (None, "") else None
    channel = r.get("sourceName") or (r.get("source") or {}).get("name") or None
    out = []
    for n, (room, net) in enumerate(zip(rooms, nets, strict=True), start=1):
        nights = sorted(_day(d, "a detailedRoomRates date") for d in (room.get("detailedRoomRates") or {}))
        arrival = _day(room.get("roomCheckIn") or r.get("reservationCheckIn"), "roomCheckIn")
        room_out = _day(room.get("roomCheckOut") or r.get("reservationCheckOut"), "roomCheckOut")
        departure = nights[-1] + timedelta(days=1) if nights else room_out
        if arrival is None or departure is None:
            raise ValueError("no stay dates (roomCheckIn/roomCheckOut)")
        gross = None
        if total is not None:
            gross = total if len(rooms) == 1 else round(total * net / sum(nets), 2) if sum(nets) else \
                round(total / len(rooms), 2)
        kind = room.get("roomTypeID")
        out.append({
            "external_id": rid if len(rooms) == 1 else f"{rid}:{n}",
            "status": status,
            "booked_on": booked_on,
            "cancelled_on": cancelled_on,
            "checked_out_on": room_out if status == "checked_out" else None,
            "arrival_date": arrival,
            "departure_date": departure,
            "nights": (departure - arrival).days,
            "room_type": short_names.get(str(kind)) if kind is not None and str(kind) in short_names
            else room.get("roomTypeName"),
            "room_number": room.get("roomName") or None,
            "guest_token": guest_token(ctx, room.get("guestID") or r.get("guestID"), key),
            "adults": _count(room.get("adults"), "rooms[].adults"),
            "children": _count(room.get("children"), "rooms[].children"),
            "babies": None,
            "meal_plan": meal,
            "net_amount": net,
            "gross_amount": gross,
            "channel": channel,
        })
    return out


CONNECTOR = CloudbedsConnector
