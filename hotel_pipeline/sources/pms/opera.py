"""Oracle OPERA Cloud (OHIP) connector: OPERA reservations in the unified model, read as rsv.json documents them.

Why it looks the way it does: the plain list ``GET /rsv/v1/hotels/{hotelId}/reservations`` has no modified-since
parameter and users report its offset is capped at 1000 (oracle/hospitality-api-docs issues 90 and 103). So the
connector reads by *arrival window*: a full extract walks the arrival calendar in windows small enough that no window
pages past the offset cap (a window that would is split in two), and an incremental run re-reads a rolling arrival
window (reconciliation) instead of trusting a cursor the API cannot honour. It asks for
``fetchInstructions=Reservation`` and ``CancellationInfo`` (the list type's ``cancellationInfo``).

Mapping in OPERA's own words (every value of ``pMS_ResStatusType``, docs/connectors.md):
- ``reservationStatus``: Reserved/DueIn -> confirmed; InHouse/DueOut/PendingCheckout/Walkin -> checked_in;
  CheckedOut -> checked_out; Cancelled -> cancelled; NoShow -> no_show; Requested and Waitlisted are not bookings
  (skipped and counted); anything else is quarantined naming the value.
- stay: ``roomStay.arrivalDate``/``departureDate`` (the current stay; ``originalTimeSpan`` is the stay as first
  booked, so a moved stay is read on its new nights). The one exception is an early departure: a CheckedOut stay
  whose ``departureDate`` is before ``originalTimeSpan.endDate`` keeps the booked departure, and the day it left
  is ``checked_out_on``.
- cancellation/no-show date: ``cancellationInfo.date`` (else a no-show's arrival day, a cancellation's day of
  ``lastModifyDateTime``).
- meals: ``pkgConsumptionInfo[].packageCode`` (the list type's packages; ``reservationPackages`` of the detail type
  is read too): BRKF+LNCH+DINR = FB, DINR = HB, BRKF = BB; a rate plan ending ``-RO`` is room only; else unknown.
- channel: ``roomStay.sourceCode`` (source of business; ``sourceOfBusiness`` in the spec's own example), else
  ``roomStay.bookingChannelCode``, else ``sourceOfSale.sourceCode``.
- counts and amounts are integers/numbers in the schema and strings in the spec's example: both are read.
- ``numberOfRooms`` n > 1: n unified reservations ``<id>:1..n``, each at ``rateAmount`` (OPERA's rate is per room)
  and ``totalAmount`` split evenly.
- timestamps (``createDateTime``...) are property-local (``2020-01-09 01:02:48.0``); with an offset or ``Z`` they are
  turned into the hotel's date.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hotel_pipeline.core.vocabularies import DINNER_PLANS, OFF_THE_BOOKS
from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    ListingPage,
    Normalised,
    NotABooking,
    PmsConnector,
    Window,
    answer_token,
    assemble,
    pages_with,
    read_listing,
    reject,
    room_external_id,
)
from hotel_pipeline.sources.pms.errors import ClientRequestError, MalformedResponseError
from hotel_pipeline.sources.pms.http import RateLimit, RetryBody

SOURCE = "opera"

STATUS_FROM_OPERA = {
    "Reserved": "confirmed",
    "DueIn": "confirmed",
    "InHouse": "checked_in",
    "DueOut": "checked_in",
    "PendingCheckout": "checked_in",
    "Walkin": "checked_in",
    "CheckedOut": "checked_out",
    "Cancelled": "cancelled",
    "NoShow": "no_show",
}

#: OPERA statuses of records that are not bookings (skipped and counted), with why.
NOT_BOOKINGS = {"Requested": "a reservation request", "Waitlisted": "a waitlist entry"}

#: Package codes (and common long forms) that mean a meal is included.
BREAKFAST_CODES = {"BRKF", "BKFST", "BREAKFAST", "BB"}
LUNCH_CODES = {"LNCH", "LUNCH"}
DINNER_CODES = {"DINR", "DINNER", "DBB", "HB", "HALFBOARD"}


class OperaRecordError(ValueError):
    """An OPERA reservation the connector cannot read (unknown status, missing id or dates)."""


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def parse_opera_timestamp(text: str, timezone: str | None = None) -> datetime:
    """``2020-01-09 01:02:48.0`` (property-local, naive) as a naive datetime; with an offset or ``Z`` (and a
    ``timezone``), the hotel-local wall time of that instant (naive)."""
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace(" ", "T", 1))
    if value.tzinfo is not None and timezone:
        return value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def meal_plan_from(packages: list[Mapping[str, Any]], rate_plan: str | None) -> str:
    """OPERA packages + rate plan code -> RO/BB/HB/FB/unknown (see module doc)."""
    codes = {str(p.get("packageCode", "")).upper() for p in packages or []}
    has = {
        "breakfast": bool(codes & BREAKFAST_CODES),
        "lunch": bool(codes & LUNCH_CODES),
        "dinner": bool(codes & DINNER_CODES),
    }
    if has["dinner"] and has["lunch"]:
        return "FB"
    if has["dinner"]:
        return "HB"
    if has["breakfast"]:
        return "BB"
    if rate_plan and str(rate_plan).upper().endswith("-RO"):
        return "RO"
    return "unknown"


def reservation_id(record: Mapping[str, Any]) -> str:
    """The internal id (``type: Reservation``) from ``reservationIdList``."""
    for item in record.get("reservationIdList") or []:
        if item.get("type") == "Reservation" and item.get("id"):
            return str(item["id"])
    raise OperaRecordError("reservation without a reservationIdList entry of type Reservation")


def _day(value: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        raise OperaRecordError(f"unreadable {what} {value!r}") from None


def normalise(record: Mapping[str, Any], timezone: str = "UTC") -> list[dict[str, Any]]:
    """One OPERA ``reservationInfo`` item -> its unified rows (one per room of ``numberOfRooms``), each with
    ``external_id``, ``source_modified_at`` and ``guest``; raises ``NotABooking`` for a request or waitlist entry.

    ``guest`` holds the raw PII (name, e-mail, phone) for the framework to tokenise; it never reaches
    ``reservations``. ``source_modified_at`` is OPERA's property-local ``lastModifyDateTime`` (naive).
    """
    raw_status = record.get("reservationStatus")
    if raw_status in NOT_BOOKINGS:
        raise NotABooking(f"opera reservationStatus {raw_status} ({NOT_BOOKINGS[raw_status]})")
    if raw_status not in STATUS_FROM_OPERA:
        raise OperaRecordError(f"unknown OPERA reservationStatus {raw_status!r}")
    status = STATUS_FROM_OPERA[raw_status]
    stay = record.get("roomStay") or {}
    span = stay.get("originalTimeSpan") or {}
    arrival = _day(stay.get("arrivalDate") or span.get("startDate"), "roomStay.arrivalDate")
    departure = _day(stay.get("departureDate") or span.get("endDate"), "roomStay.departureDate")
    checked_out_on = None
    if status == "checked_out":
        checked_out_on = departure
        booked_end = _day(span["endDate"], "originalTimeSpan.endDate") if span.get("endDate") else None
        if booked_end is not None and booked_end > departure:  # an early departure: the booked stay stands
            departure = booked_end
    cancelled_on = None
    if status in OFF_THE_BOOKS:
        when = (record.get("cancellationInfo") or {}).get("date") or (record.get("cancellation") or {}).get(
            "cancellationDate")
        if when:
            cancelled_on = _day(when, "cancellationInfo.date")
        elif status == "no_show":
            cancelled_on = arrival  # a no-show is processed on its arrival day
        else:
            cancelled_on = parse_opera_timestamp(record.get("lastModifyDateTime") or record["createDateTime"],
                                                 timezone).date()
    packages = [*(record.get("pkgConsumptionInfo") or []), *(record.get("reservationPackages") or [])]
    meal = meal_plan_from(packages, stay.get("ratePlanCode"))
    rooms = max(1, _int(stay.get("numberOfRooms")) or 1)
    total = _float((stay.get("totalAmount") or {}).get("amount"))
    nights = (departure - arrival).days
    rate = stay.get("rateAmount") or {}
    nightly = _float(rate.get("amount"))
    per_room = round(total / rooms, 2) if total is not None else None if nightly is None else round(nightly * nights,
                                                                                                      2)
    guest = record.get("reservationGuest") or {}
    channel = stay.get("sourceCode") or stay.get("sourceOfBusiness") or stay.get("bookingChannelCode") or (
        record.get("sourceOfSale") or {}).get("sourceCode")
    rid = reservation_id(record)
    base = {
        "status": status,
        "booked_on": parse_opera_timestamp(record["createDateTime"], timezone).date(),
        "cancelled_on": cancelled_on,
        "checked_out_on": checked_out_on,
        "arrival_date": arrival,
        "departure_date": departure,
        "nights": nights,
        "room_type": stay.get("roomType"),
        "adults": _int(stay.get("adultCount")),
        "children": _int(stay.get("childCount")),
        "babies": _int((stay.get("childBuckets") or {}).get("bucket1Count")),
        "meal_plan": meal,
        "is_dbb": meal in DINNER_PLANS,
        # OPERA meal packages are inclusions of the rate, not a package deal: nothing here says "package".
        "is_package": False,
        "net_amount": per_room,
        "gross_amount": None,
        "currency": (stay.get("totalAmount") or rate).get("currencyCode"),
        "channel": channel,
        "source_modified_at": parse_opera_timestamp(record.get("lastModifyDateTime") or record["createDateTime"],
                                                    timezone),
        "guest": {
            "first_name": guest.get("givenName"),
            "last_name": guest.get("surname"),
            "email": guest.get("email"),
            "phone": guest.get("phoneNumber"),
        },
    }
    room_number = stay.get("roomId") or stay.get("roomNumber")
    return [{**base, "external_id": room_external_id(rid, n, rooms), "room_number": room_number if n == 1 else None,
             "guest": dict(base["guest"])} for n in range(1, rooms + 1)]


# -- the connector -------------------------------------------------------------------------------------------------
MAX_OFFSET = 1000  # users report OHIP refuses offsets above 1000 (oracle/hospitality-api-docs issue 103)


def _safe_id(item: Mapping[str, Any]) -> str:
    """The reservation id for paging checks (a record without one still counts, by its content)."""
    try:
        return reservation_id(item)
    except OperaRecordError:
        return repr(sorted(item.items()))


def _expect_list(response: Any, data: Any) -> None:
    """A reservations page must be an object with ``reservations``; anything else is retried (truncated bodies)."""
    if not isinstance(data, dict) or not isinstance(data.get("reservations"), dict):
        raise RetryBody("opera: the body has no reservations object")


class OperaConnector(PmsConnector):
    """OHIP: OAuth client credentials, then the reservation list by arrival window (see module doc).

    Options: ``hotel_code`` (OPERA hotelId, default the portfolio id), ``arrival_from`` (first arrival a full extract
    reads), ``horizon_days`` (how far past today arrivals are read), ``window_days`` (initial arrival window),
    ``lookback_days`` (how far before the cursor an incremental re-read starts: OPERA has no modified-since).
    """

    source: ClassVar[str] = "opera"
    rate_limit: ClassVar[RateLimit | None] = RateLimit(50, 1.0)
    credential_options: ClassVar[dict[str, str]] = {"client_id": "client_id_env", "client_secret": "client_secret_env",
                                                    "app_key": "app_key_env"}
    default_options: ClassVar[dict[str, Any]] = {
        "hotel_code": None,
        "arrival_from": None,  # default: the hotel's history_start (portfolio)
        "horizon_days": 730,
        "window_days": 31,
        "lookback_days": 90,
        "page_size": 200,
        "reconcile_days": 7,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_token(self._acquire)
        self.http.add_secret(base64.b64encode(
            f"{self.credentials['client_id']}:{self.credentials['client_secret']}".encode()).decode())

    @property
    def hotel_code(self) -> str:
        return str(self.options.get("hotel_code") or self.hotel.id)

    def _acquire(self) -> tuple[str, float | None]:
        """``POST /oauth/v1/tokens`` with Basic client credentials and ``x-app-key`` (``expires_in`` seconds)."""
        basic = base64.b64encode(
            f"{self.credentials['client_id']}:{self.credentials['client_secret']}".encode()).decode()
        data = self.http.call("POST", "/oauth/v1/tokens", data={"grant_type": "client_credentials"},
                              headers={"Authorization": f"Basic {basic}", "x-app-key": self.credentials["app_key"]},
                              auth_request=True)
        return answer_token(data, "access_token", "opera POST /oauth/v1/tokens", "expires_in")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.get()}", "x-app-key": self.credentials["app_key"],
                "x-hotelid": self.hotel_code}

    def _page(self, start: date, end: date, offset: int) -> dict[str, Any]:
        return self._search({"arrivalStartDate": start.isoformat(), "arrivalEndDate": end.isoformat(),
                             "offset": offset})

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of ``GET /rsv/v1/hotels/{hotelId}/reservations`` (the reservations and their cancellations)."""
        query = {**params, "limit": int(self.options["page_size"]),
                 "fetchInstructions": ["Reservation", "CancellationInfo"]}
        data = self.http.call("GET", f"/rsv/v1/hotels/{self.hotel_code}/reservations", params=query,
                              headers=self._headers, check=_expect_list, label="reservations")
        return data["reservations"]

    def fetch_ids(self, ids: list[str]) -> None:
        """The same search with ``reservationIdList`` (the spec's id filter, repeated per id): only the named
        reservations, in the listing's shape, whatever their arrival date."""
        size = int(self.options["page_size"])
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), size):
            chunk = wanted[start:start + size]

            def page(index: int, chunk: list[str] = chunk) -> ListingPage:
                body = self._search({"reservationIdList": chunk, "offset": index * size})
                found = [_safe_id(item) for item in body.get("reservationInfo") or []]
                total = int(body.get("totalResults") or 0)
                return found, bool(body.get("hasMore")) and (index + 1) * size < total, total

            read_listing(page, what=f"opera reservations {chunk[0]}..{chunk[-1]} by id")

    def _arrivals(self, start: date, end: date) -> Iterator[int]:
        """Read every reservation arriving in [start, end]; a window that would page past the offset cap is split
        in two first (the only way to read it all). Pages are checked by ``read_listing`` against repeats, shifts
        and ``totalResults``. Yields the number of distinct reservations of each window read."""
        size = int(self.options["page_size"])
        first = self._page(start, end, 0)
        total = int(first.get("totalResults") or 0)
        if total > MAX_OFFSET + size and end > start:
            middle = start + (end - start) / 2
            yield from self._arrivals(start, middle)
            yield from self._arrivals(middle + timedelta(days=1), end)
            return
        if total > MAX_OFFSET + size:
            raise MalformedResponseError(f"opera: {total} arrivals on {start} exceed what offset paging can read")
        cached = {0: first}

        def page(index: int) -> ListingPage:
            body = cached.pop(index) if index in cached else self._page(start, end, index * size)
            ids = [_safe_id(item) for item in body.get("reservationInfo") or []]
            return ids, bool(body.get("hasMore")) and (index + 1) * size < total, total

        yield read_listing(page, what=f"opera arrivals {start}..{end}")

    def fetch(self, window: Window) -> None:
        today = window.until.astimezone(ZoneInfo(self.hotel.timezone)).date()
        horizon = today + timedelta(days=int(self.options["horizon_days"]))
        if window.mode == "full":
            start = date.fromisoformat(str(self.options["arrival_from"] or self.hotel.history_start))
        elif window.mode == "reconcile" and window.start_date is not None:
            start = window.start_date - timedelta(days=int(self.options["lookback_days"]))
        else:
            since = (window.since or window.until).astimezone(ZoneInfo(self.hotel.timezone)).date()
            start = since - timedelta(days=int(self.options["lookback_days"]))
        step = timedelta(days=int(self.options["window_days"]))
        chunk = start
        while chunk <= horizon:
            chunk_end = min(chunk + step - timedelta(days=1), horizon)
            for _ in self._arrivals(chunk, chunk_end):
                pass
            chunk = chunk_end + timedelta(days=1)

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        records: dict[str, dict[str, Any]] = {}
        rejects: list[dict[str, Any]] = []
        for page in pages_with(pages, "reservations"):
            for item in ((page.get("body") or {}).get("reservations") or {}).get("reservationInfo") or []:
                try:
                    records[reservation_id(item)] = item
                except OperaRecordError as exc:
                    rejects.append(reject("opera reservation", "(no id)", exc, item))
        return assemble(records, lambda item: normalise(item, ctx.timezone), ctx, "opera reservation",
                        (OperaRecordError,), rejects)


CONNECTOR = OperaConnector
__all__ = ["CONNECTOR", "ClientRequestError", "OperaConnector", "normalise"]
