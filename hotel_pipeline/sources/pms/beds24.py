"""Beds24 connector (API v2, pull side): Beds24 bookings in the unified model.

Why it looks the way it does: ``GET /bookings`` hides cancelled bookings unless ``status`` is passed, so the connector
always passes every status explicitly (``STATUSES``) or it would never see a cancellation. Paging follows
``pages.nextPageExists``; the account's five-minute credit budget is read from ``X-FiveMinCreditLimit-Remaining`` /
``-ResetsIn`` (and the lower-case ``x-five-min-limit-*`` some clients see) and the connector waits for the reset
rather than running the budget dry. Times are UTC (``modifiedTime``), so dates of events are converted to the hotel's
calendar with its time zone.

Status mapping in Beds24 words: confirmed / new / request -> confirmed, or checked_in / checked_out when the booking's
``infoItems`` hold CHECKIN / CHECKOUT; cancelled -> cancelled (no_show when ``subStatus`` is noShow); black (a
block) and inquiry are not reservations and are skipped. Meals: ``rateDescription`` (Room only, Bed and breakfast,
Half board / DBB, Full board).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from hotel_pipeline.sources.pms.base import (
    ExtractContext,
    ListingPage,
    Normalised,
    PmsConnector,
    Window,
    answer_token,
    assemble,
    pages_with,
    read_listing,
    records_of,
)
from hotel_pipeline.sources.pms.http import RetryBody

SOURCE = "beds24"

#: Every booking status, passed explicitly: Beds24's default leaves out "cancelled".
STATUSES = ["confirmed", "request", "new", "cancelled", "black", "inquiry"]
NOT_RESERVATIONS = {"black", "inquiry"}


class Beds24RecordError(ValueError):
    """A Beds24 booking the connector cannot read."""


def meal_plan_from(description: str | None) -> str:
    """``rateDescription`` -> RO/BB/HB/FB/unknown."""
    text = (description or "").lower()
    if "full board" in text:
        return "FB"
    if "half board" in text or "dbb" in text or "dinner" in text:
        return "HB"
    if "breakfast" in text:
        return "BB"
    if "room only" in text:
        return "RO"
    return "unknown"


def parse_utc(text: str) -> datetime:
    """``2021-01-01T10:00:00Z`` -> aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local_date(text: str | None, timezone: str) -> date | None:
    return None if not text else parse_utc(text).astimezone(ZoneInfo(timezone)).date()


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
) -> dict[str, Any] | None:
    """One Beds24 booking -> unified fields + ``external_id``, ``source_modified_at`` (aware UTC) and ``guest``;
    None for a block (``black``) or an inquiry."""
    raw = str(record.get("status") or "").lower()
    if raw in NOT_RESERVATIONS:
        return None
    info = {str(i.get("code", "")).upper(): i.get("text") for i in record.get("infoItems") or []}
    if raw == "cancelled":
        status = "no_show" if str(record.get("subStatus") or "").lower() == "noshow" else "cancelled"
    elif raw in ("confirmed", "new", "request"):
        status = "checked_out" if "CHECKOUT" in info else "checked_in" if "CHECKIN" in info else "confirmed"
    else:
        raise Beds24RecordError(f"unknown Beds24 status {record.get('status')!r}")
    arrival = date.fromisoformat(record["arrival"])
    departure = date.fromisoformat(record["departure"])
    meal = meal_plan_from(record.get("rateDescription"))
    price = record.get("price")
    tax = record.get("tax")
    room = record.get("roomId")
    unit = record.get("unitId")
    return {
        "external_id": str(record["id"]),
        "status": status,
        "booked_on": _local_date(record.get("bookingTime"), timezone),
        "cancelled_on": _local_date(record.get("cancelTime") or record.get("modifiedTime"), timezone)
        if status in ("cancelled", "no_show")
        else None,
        "checked_out_on": date.fromisoformat(str(info["CHECKOUT"])) if status == "checked_out" else None,
        "arrival_date": arrival,
        "departure_date": departure,
        "nights": (departure - arrival).days,
        "room_type": room_types.get(int(room)) if room else None,
        "room_number": units.get(int(unit)) if unit else None,
        "adults": record.get("numAdult"),
        "children": record.get("numChild"),
        "babies": int(info.get("INFANTS") or 0),
        "meal_plan": meal,
        "is_dbb": meal in ("HB", "FB"),
        "is_package": False,
        "net_amount": None if price is None else float(price),
        "gross_amount": None if price is None or tax is None else float(price) + float(tax),
        "currency": None,  # Beds24 amounts are in the property's currency: the connector fills it from the portfolio
        "channel": record.get("referer"),
        "source_modified_at": parse_utc(record["modifiedTime"]),
        "guest": {
            "first_name": record.get("firstName"),
            "last_name": record.get("lastName"),
            "email": record.get("email"),
            "phone": record.get("phone") or record.get("mobile"),
        },
    }


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

        def page(index: int) -> ListingPage:
            # ``status`` repeated once per value, as Beds24 documents the array parameter
            params = {"modifiedFrom": modified_from, "modifiedTo": modified_to, "status": list(STATUSES),
                      "includeInfoItems": "true", "page": index + 1}
            data = self.http.call("GET", "/bookings", params=params, headers=self._headers, check=_check,
                                  label="bookings")
            more = bool((data.get("pages") or {}).get("nextPageExists"))
            return [str(b.get("id")) for b in data["data"]], more, None

        read_listing(page, what=f"beds24 bookings modified {modified_from}..{modified_to}")

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
