"""Beds24 connector (API V2, pull side): Beds24 bookings in the unified model, read as apiV2.yaml documents them.

Why it looks the way it does: ``GET /bookings`` hides cancelled bookings unless ``status`` is passed, so the connector
always passes every status explicitly (``STATUSES``) or it would never see a cancellation. Paging follows
``pages.nextPageExists``; the account's five-minute credit budget is read from ``X-FiveMinCreditLimit-Remaining`` /
``-ResetsIn`` (and the lower-case ``x-five-min-limit-*`` some clients see) and the connector waits for the reset
rather than running the budget dry. Instants (``bookingTime``, ``modifiedTime``, ``cancelTime``, info items'
``createTime``) are UTC (``Z``; an offset is honoured, a naive one is read as UTC) and become hotel-local dates.

Status (the spec's enum, every value on purpose; see docs/connectors.md): confirmed / new -> confirmed (then
checked_in / checked_out from the front desk's info items, below); cancelled -> cancelled, or no_show when
``subStatus`` is ``noShow``; ``request`` (a booking request awaiting the host, Beds24's waitlist) and ``inquiry`` are
not bookings, nor is ``black`` (a block), nor any booking whose ``subStatus`` is ``waitlist``: skipped and counted. An
unknown status is quarantined naming it.

Beds24 reports no in-house state. Info items whose text starts "Checked in" / "Checked out" (e.g. "Checked out
11:05", as a front desk or an auto-action writes them) mark the arrival and departure, dated by the item's
``createTime``; every other info item is ignored (an info item never fails a booking). There is no infant count
(babies: null). Meals: ``rateDescription`` read with negations ("Breakfast not included" is room only, not BB).
Channel: ``channel`` (the OTA code, e.g. ``booking``), else ``apiSource``, else ``referer``. A booking of
``roomQty`` n > 1 gives n unified reservations ``<id>:1..n`` with ``price`` split evenly (Beds24 gives one price);
the rooms of a group booking (``masterId`` / ``bookingGroup``) are bookings of their own already.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

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
    records_of,
    room_external_id,
)
from hotel_pipeline.sources.pms.http import RetryBody

SOURCE = "beds24"

#: Every booking status, passed explicitly: Beds24's default leaves out "cancelled".
STATUSES = ["confirmed", "request", "new", "cancelled", "black", "inquiry"]
#: Statuses of records that are not bookings (skipped and counted), with why.
NOT_BOOKINGS = {"request": "a booking request, Beds24's waitlist", "inquiry": "an inquiry", "black": "a block"}


class Beds24RecordError(ValueError):
    """A Beds24 booking the connector cannot read."""


#: Phrases that say the board is NOT included; checked before the positive ones.
_NO_MEAL = ("room only", "no breakfast", "breakfast not included", "without breakfast", "breakfast excluded",
            "excluding breakfast", "breakfast is not included", "self catering", "no meals")
_MEALS = (
    ("FB", ("full board", "all inclusive", "all-inclusive")),
    ("HB", ("half board", "dinner, bed and breakfast", "dinner bed and breakfast", "dinner bed & breakfast",
            "dbb", "breakfast and dinner", "breakfast & dinner")),
    ("BB", ("bed and breakfast", "bed & breakfast", "b&b", "breakfast included", "with breakfast",
            "including breakfast", "incl. breakfast", "breakfast")),
)


def meal_plan_from(description: str | None) -> str:
    """``rateDescription`` -> RO/BB/HB/FB/unknown; negations first ("Breakfast not included" is RO, not BB)."""
    text = " ".join((description or "").lower().split())
    if not text:
        return "unknown"
    if any(phrase in text for phrase in _NO_MEAL):
        return "RO"
    for plan, phrases in _MEALS:
        if any(phrase in text for phrase in phrases):
            return plan
    return "unknown"  # a rate's own name ("Flexible rate") that says nothing about meals


def parse_utc(text: str) -> datetime:
    """``2021-01-01T10:00:00Z`` (or with an offset; naive = UTC) -> aware UTC datetime."""
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace(" ", "T", 1))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _local_date(text: str | None, timezone: str) -> date | None:
    return None if not text else parse_utc(text).astimezone(ZoneInfo(timezone)).date()


def _text(value: Any) -> str | None:
    """A guest field as text: Beds24's own example sends ``"mobile": 123456789`` (a number) for a string field."""
    return None if value in (None, "") else str(value)


def front_desk(info_items: list[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
    """The front desk's "Checked in ..." / "Checked out ..." info items, by event ("in" / "out"); the rest ignored."""
    found: dict[str, Mapping[str, Any]] = {}
    for item in info_items or []:
        if not isinstance(item, Mapping):
            continue
        text = str(item.get("text") or "").strip().lower()
        if text.startswith("checked out") or text.startswith("check out") or text.startswith("checked-out"):
            found["out"] = item
        elif text.startswith("checked in") or text.startswith("check in") or text.startswith("checked-in"):
            found["in"] = item
    return found


def room_lookup(properties: list[Mapping[str, Any]]) -> tuple[dict[int, str], dict[int, str]]:
    """``GET /properties?includeAllRooms=true`` ``data`` -> (roomId -> room type name, unitId -> unit name)."""
    types: dict[int, str] = {}
    units: dict[int, str] = {}
    for prop in properties:
        for room in prop.get("roomTypes") or []:
            types[int(room["id"])] = str(room["name"])
            for unit in room.get("units") or []:
                units[int(unit["id"])] = str(unit["name"])
    return types, units


def normalise(
    record: Mapping[str, Any], timezone: str, room_types: Mapping[int, str], units: Mapping[int, str]
) -> list[dict[str, Any]]:
    """One Beds24 booking -> its unified rows (one per room of ``roomQty``), each with ``external_id``,
    ``source_modified_at`` (aware UTC) and ``guest``. Raises ``NotABooking`` for a request, inquiry, block or
    waitlisted booking, ``Beds24RecordError`` for what cannot be read."""
    raw = str(record.get("status") or "")
    sub = str(record.get("subStatus") or "")
    if raw in NOT_BOOKINGS:
        raise NotABooking(f"beds24 status {raw} ({NOT_BOOKINGS[raw]})")
    if sub == "waitlist" and raw != "cancelled":
        raise NotABooking(f"beds24 subStatus waitlist (status {raw})")
    desk = front_desk(record.get("infoItems"))
    if raw == "cancelled":
        status = "no_show" if sub == "noShow" else "cancelled"
    elif raw in ("confirmed", "new"):
        status = "checked_out" if "out" in desk else "checked_in" if "in" in desk else "confirmed"
    else:
        raise Beds24RecordError(f"unknown Beds24 status {record.get('status')!r}")
    try:
        arrival = date.fromisoformat(str(record["arrival"]))
        departure = date.fromisoformat(str(record["departure"]))
    except (KeyError, ValueError) as exc:
        raise Beds24RecordError(f"unreadable arrival/departure {record.get('arrival')!r}/"
                                f"{record.get('departure')!r}") from exc
    checked_out_on = None
    if status == "checked_out":
        out = desk["out"]
        checked_out_on = _local_date(out.get("createTime"), timezone) if out.get("createTime") else departure
    meal = meal_plan_from(record.get("rateDescription"))
    price, tax = record.get("price"), record.get("tax")
    room, unit = record.get("roomId"), record.get("unitId")
    quantity = int(record.get("roomQty") or 1)
    net = None if price is None else float(price)
    gross = None if price is None or tax is None else float(price) + float(tax)
    channel = record.get("channel") or record.get("apiSource") or record.get("referer") or None
    booking_id = record["id"]
    rows = []
    for n in range(1, max(1, quantity) + 1):
        share = 1 / max(1, quantity)
        rows.append({
            "external_id": room_external_id(booking_id, n, quantity),
            "status": status,
            "booked_on": _local_date(record.get("bookingTime"), timezone),
            "cancelled_on": _local_date(record.get("cancelTime") or record.get("modifiedTime"), timezone)
            if status in OFF_THE_BOOKS else None,
            "checked_out_on": checked_out_on,
            "arrival_date": arrival,
            "departure_date": departure,
            "nights": (departure - arrival).days,
            "room_type": room_types.get(int(room)) if room else None,
            "room_number": units.get(int(unit)) if unit and n == 1 else None,
            "adults": record.get("numAdult"),
            "children": record.get("numChild"),
            "babies": None,
            "meal_plan": meal,
            "is_dbb": meal in DINNER_PLANS,
            "is_package": False,
            "net_amount": None if net is None else round(net * share, 2),
            "gross_amount": None if gross is None else round(gross * share, 2),
            "currency": None,  # Beds24 amounts are in the property's currency: filled from the portfolio
            "channel": channel,
            "source_modified_at": parse_utc(record["modifiedTime"]),
            "guest": {
                "first_name": _text(record.get("firstName")),
                "last_name": _text(record.get("lastName")),
                "email": _text(record.get("email")),
                "phone": _text(record.get("phone") or record.get("mobile")),
            },
        })
    return rows


# -- the connector -------------------------------------------------------------------------------------------------
def _check(response: Any, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise RetryBody("beds24: the body has no data list")


def credit_pause(response: httpx.Response, floor: int = 5) -> float:
    """Seconds to wait before the next call: the reset time once the five-minute credit is (nearly) spent.

    Reads ``X-FiveMinCreditLimit-*`` and the lower-case ``x-five-min-limit-*`` spelling some clients see.
    """
    headers = response.headers
    remaining = headers.get("X-FiveMinCreditLimit-Remaining") or headers.get("x-five-min-limit-remaining")
    resets = headers.get("X-FiveMinCreditLimit-ResetsIn") or headers.get("x-five-min-limit-resetsin")
    if remaining is None or resets is None or response.status_code == 429:
        return 0.0  # a 429 waits through Retry-After already
    try:
        return float(resets) if int(remaining) < floor else 0.0
    except ValueError:
        return 0.0


class Beds24Connector(PmsConnector):
    """Beds24 API v2 (pull): refresh token -> access token, ``/properties`` for names, ``/bookings`` by modified time
    with every status and ``includeInfoItems``; paging by ``pages.nextPageExists``; credit headers obeyed.

    Credential: refresh_token (env). The budget is the account's credit, not a request rate, so no client-side
    RateLimit: ``credit_pause`` waits for the reset when the remaining credit runs low.
    """

    source: ClassVar[str] = "beds24"
    credential_options: ClassVar[dict[str, str]] = {"refresh_token": "refresh_token_env"}
    default_options: ClassVar[dict[str, Any]] = {"history_start": "2013-01-01T00:00:00Z", "credit_floor": 5,
                                                 "reconcile_days": 7}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_token(self._acquire)
        floor = int(self.options["credit_floor"])
        self.http.on_response = lambda response: credit_pause(response, floor)

    def _acquire(self) -> tuple[str, float | None]:
        """``GET /authentication/token`` with the refresh token: a 24 h access token (``expiresIn`` seconds)."""
        data = self.http.call("GET", "/authentication/token",
                              headers={"refreshToken": self.credentials["refresh_token"]}, auth_request=True)
        return answer_token(data, "token", "beds24 GET /authentication/token", "expiresIn")

    def _headers(self) -> dict[str, str]:
        return {"token": self.auth.get()}

    def fetch(self, window: Window) -> None:
        self.http.call("GET", "/properties", params={"includeAllRooms": "true"}, headers=self._headers,
                       check=_check, label="properties")
        if window.mode == "full":
            since = datetime.fromisoformat(str(self.options["history_start"]).replace("Z", "+00:00"))
        else:
            since = window.since or window.until - timedelta(days=int(self.options["reconcile_days"]))
        modified_from = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        modified_to = window.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._bookings({"modifiedFrom": modified_from, "modifiedTo": modified_to},
                       f"beds24 bookings modified {modified_from}..{modified_to}")

    def fetch_ids(self, ids: list[str]) -> None:
        """``GET /bookings?id=...`` (the documented id filter, repeated per id) for the named bookings, every
        status, with the properties the normaliser maps room types from. A multi-room id (``<id>:<n>``) asks for
        its booking."""
        self.http.call("GET", "/properties", params={"includeAllRooms": "true"}, headers=self._headers,
                       check=_check, label="properties")
        wanted = sorted({int(i.split(":", 1)[0]) for i in ids if i.split(":", 1)[0].isdigit()})
        for start in range(0, len(wanted), 100):
            chunk = wanted[start:start + 100]
            self._bookings({"id": chunk}, f"beds24 bookings {chunk[0]}..{chunk[-1]} by id")

    def _bookings(self, params: dict[str, Any], what: str) -> None:
        """Every page of ``GET /bookings`` with ``params``, every status, info items included."""
        def page(index: int) -> ListingPage:
            # ``status`` repeated once per value, as Beds24 documents the array parameter
            query = {**params, "status": list(STATUSES), "includeInfoItems": "true", "page": index + 1}
            data = self.http.call("GET", "/bookings", params=query, headers=self._headers, check=_check,
                                  label="bookings")
            more = bool((data.get("pages") or {}).get("nextPageExists"))
            return [str(b.get("id")) for b in data["data"]], more, None

        read_listing(page, what=what)

    @classmethod
    def normalise(cls, pages: list[dict[str, Any]], ctx: ExtractContext) -> Normalised:
        props: list[dict[str, Any]] = []
        for page in pages_with(pages, "properties"):
            props.extend((page.get("body") or {}).get("data") or [])
        types, units = room_lookup(props)
        records = records_of(pages, "bookings", lambda body: (body or {}).get("data"))
        return assemble(records, lambda item: normalise(item, ctx.timezone, types, units), ctx, "beds24 booking",
                        (Beds24RecordError,))



CONNECTOR = Beds24Connector
